/**
 * Access tokens, taken at run time from the environment and never stored.
 *
 * DefaultAzureCredential covers what a deployer has: AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID
 * (CI with a secret), workload identity (CI with OIDC federation), managed identity, Azure CLI login.
 * AZURE_AUTHORITY_HOST points it at a sovereign cloud or at the offline emulator; for a host that is
 * not one of Microsoft's, instance discovery (a call to login.microsoftonline.com) is turned off.
 */
import type { TokenCredential } from "@azure/identity";

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

/** Builds the credential from the environment. Called inside provider methods, never at program load. */
export function credentialFromEnvironment(): TokenCredential {
  // Required lazily so that a serialized dynamic provider captures no credential object.
  const identity: typeof import("@azure/identity") = require("@azure/identity");
  const authorityHost = process.env.AZURE_AUTHORITY_HOST;
  return new identity.DefaultAzureCredential({
    ...(authorityHost ? { authorityHost } : {}),
    disableInstanceDiscovery: authorityHost ? !isMicrosoftAuthorityHost(authorityHost) : false,
  });
}

/** The `.default` scope of a resource such as https://org.crm.dynamics.com. */
export function defaultScope(resourceUrl: string): string {
  return `${resourceUrl.replace(/\/+$/, "")}/.default`;
}
