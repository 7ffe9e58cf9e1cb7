/**
 * Access tokens, taken at run time from the environment and never stored.
 *
 * DefaultAzureCredential covers what a deployer has: AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID
 * (CI with a secret), workload identity (CI with OIDC federation), managed identity, Azure CLI login.
 * AZURE_AUTHORITY_HOST points it at a sovereign cloud or at the offline emulator; for a host that is
 * not one of Microsoft's, instance discovery (a call to login.microsoftonline.com) is turned off.
 */
import { createHash } from "crypto";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";

const microsoftAuthorityHosts = [
  "login.microsoftonline.com",
  "login.microsoftonline.us",
  "login.chinacloudapi.cn",
  "login.partner.microsoftonline.cn",
];

export function isMicrosoftAuthorityHost(authorityHost: string): boolean {
  try {
    return microsoftAuthorityHosts.includes(new URL(authorityHost).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/**
 * One credential per process and identity, so that its token cache serves every call of a
 * deployment. Only the dynamic-provider host fills it (the program never calls this).
 */
const credentialsByIdentity: Record<string, TokenCredential> = {};

/** Builds (or reuses) the credential of the environment. Called inside provider methods, never at program load. */
export function credentialFromEnvironment(): TokenCredential {
  const environment = process.env;
  const authorityHost = environment.AZURE_AUTHORITY_HOST;
  // The secret is part of the identity, but only as a digest: the key stays free of credentials.
  const identityKey = [
    authorityHost,
    environment.AZURE_TENANT_ID,
    environment.AZURE_CLIENT_ID,
    environment.AZURE_CLIENT_SECRET ? createHash("sha256").update(environment.AZURE_CLIENT_SECRET).digest("hex") : "",
    environment.AZURE_FEDERATED_TOKEN_FILE,
    environment.AZURE_CLIENT_CERTIFICATE_PATH,
  ].join("|");
  credentialsByIdentity[identityKey] ??= new DefaultAzureCredential({
    ...(authorityHost ? { authorityHost } : {}),
    disableInstanceDiscovery: authorityHost ? !isMicrosoftAuthorityHost(authorityHost) : false,
  });
  return credentialsByIdentity[identityKey];
}

/** The `.default` scope of a resource such as https://org.crm.dynamics.com. */
export function defaultScope(resourceUrl: string): string {
  return `${resourceUrl.replace(/\/+$/, "")}/.default`;
}
