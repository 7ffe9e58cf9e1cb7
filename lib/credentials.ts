/**
 * Access tokens, taken at run time from the environment and never stored.
 *
 * DefaultAzureCredential covers what a deployer has: AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID
 * (CI with a secret), workload identity (CI with OIDC federation), managed identity, Azure CLI login.
 * AZURE_AUTHORITY_HOST points it at a sovereign cloud or at the offline emulator; for a host that is
 * not one of Microsoft's, instance discovery (a call to login.microsoftonline.com) is turned off.
 *
 * One credential per process and identity, and in front of it one token per scope: every provider
 * call of a deployment (all resources share one provider host process) and the environment check
 * use the same token, so a run asks Entra once per audience, and the authority's discovery document
 * is fetched once, by that credential.
 */
import { createHash } from "crypto";
import { DefaultAzureCredential, type AccessToken, type GetTokenOptions, type TokenCredential } from "@azure/identity";

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

/** A token is asked for again this long before it expires, so that no request carries an expiring one. */
export const tokenRefreshMarginMs = 5 * 60 * 1000;

interface CachedToken {
  readonly token: Promise<AccessToken | null>;
  /** Epoch ms after which the token is asked for again; Infinity while the request is in flight. */
  refreshAfterMs: number;
}

/**
 * Puts a per-scope token cache in front of a credential. Callers that ask at the same time share
 * one request; a failed request is not kept, so the next call tries again. Requests with claims
 * (a claims challenge) or another tenant bypass the cache, as they must reach Entra. The first
 * request goes alone: the credential fetches the authority's metadata then, and the requests for
 * other scopes that wait for it reuse that metadata instead of fetching it in parallel.
 */
export function cachingCredential(inner: TokenCredential, now: () => number = Date.now): TokenCredential {
  const tokens: Record<string, CachedToken> = {};
  let first: Promise<unknown> | undefined;
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      if (options?.claims || options?.tenantId) return inner.getToken(scopes, options);
      const key = [scopes].flat().join(" ");
      const cached = tokens[key];
      if (cached && now() < cached.refreshAfterMs) return cached.token;
      const before = first;
      const entry: CachedToken = {
        token: (async () => {
          if (before) await before.catch(() => undefined);
          return inner.getToken(scopes, options);
        })(),
        refreshAfterMs: Number.POSITIVE_INFINITY,
      };
      first ??= entry.token;
      tokens[key] = entry;
      try {
        const token = await entry.token;
        entry.refreshAfterMs = token ? token.expiresOnTimestamp - tokenRefreshMarginMs : 0;
        return token;
      } catch (error) {
        if (tokens[key] === entry) delete tokens[key];
        if (first === entry.token) first = undefined;
        throw error;
      }
    },
  };
}

/**
 * One credential per process and identity, so that its token cache serves every call of a
 * deployment. Only the dynamic-provider host and the program's preview check fill it.
 */
const credentialsByIdentity: Record<string, TokenCredential> = {};

/** The identity the environment selects; the secret only as a digest, so the key holds no credential. */
function identityKey(environment: NodeJS.ProcessEnv): string {
  return [
    environment.AZURE_AUTHORITY_HOST,
    environment.AZURE_TENANT_ID,
    environment.AZURE_CLIENT_ID,
    environment.AZURE_CLIENT_SECRET ? createHash("sha256").update(environment.AZURE_CLIENT_SECRET).digest("hex") : "",
    environment.AZURE_FEDERATED_TOKEN_FILE,
    environment.AZURE_CLIENT_CERTIFICATE_PATH,
  ].join("|");
}

/** Builds (or reuses) the credential of the environment. Called inside provider methods, never at program load. */
export function credentialFromEnvironment(): TokenCredential {
  const environment = process.env;
  const authorityHost = environment.AZURE_AUTHORITY_HOST;
  const key = identityKey(environment);
  credentialsByIdentity[key] ??= cachingCredential(
    new DefaultAzureCredential({
      ...(authorityHost ? { authorityHost } : {}),
      disableInstanceDiscovery: authorityHost ? !isMicrosoftAuthorityHost(authorityHost) : false,
    }),
  );
  return credentialsByIdentity[key];
}

/** The `.default` scope of a resource such as https://org.crm.dynamics.com. */
export function defaultScope(resourceUrl: string): string {
  return `${resourceUrl.replace(/\/+$/, "")}/.default`;
}
