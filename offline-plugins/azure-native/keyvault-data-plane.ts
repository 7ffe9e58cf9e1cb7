/**
 * The one call azure-native makes outside ARM for the served types: deleting a Key Vault secret.
 * ARM has no DELETE for `Microsoft.KeyVault/vaults/secrets`, so the real provider's custom resource
 * (provider/pkg/resources/customresources/custom_keyvault.go, `keyVaultSecret`) deletes it through
 * the vault's data plane with azsecrets (v1.4.0): DELETE https://<vault><Key Vault DNS suffix>/secrets/<name>
 * (api-version 7.6), a 404 being "already gone", `vaultName` and `secretName` taken from the inputs.
 *
 * azsecrets authenticates with Key Vault's challenge policy (security/keyvault/internal
 * challenge_policy.go): the first request goes without a token; the 401's `WWW-Authenticate` names
 * the authority (its tenant) and the resource (or scope); the resource's host must be a parent
 * domain of the vault's host ("challenge resource ... doesn't match the requested domain"); then the
 * request is sent again with a token for `<resource>/.default`.
 *
 * Departure, offline only (vaultAddress): a cloud whose metadata names no Key Vault DNS suffix (no
 * real cloud's does; the offline emulator's does not, its vaults answering on
 * https://127.0.0.1:<port>/) has no vault host to build. There the vault's address is its
 * `properties.vaultUri` from ARM, and the challenge's host check, which no address outside a Key
 * Vault domain can pass, is skipped (as `DisableChallengeResourceVerification` would).
 */
import type { TokenCredential } from "@azure/identity";
import { RestApiError, RestClient } from "../../lib/rest-client";
import { RetryPolicy } from "../../lib/retry";
import { Plain } from "../shared/values";

export const keyVaultDataPlaneApiVersion = "7.6";

/** azcore's default retry options (3 retries, 800 ms doubling with jitter, at most 60 s), which azsecrets keeps. */
const azsecretsRetryPolicy: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 800,
  maxDelayMs: 60_000,
  capRetryAfter: false,
  backoffMs: (attempt) => Math.min((2 ** attempt - 1) * 800 * (Math.random() / 2 + 0.8), 60_000),
};

export interface KeyVaultChallenge {
  readonly scope: string;
  readonly tenantId: string;
}

/** updateTokenRequestOptions of challenge_policy.go. */
export function parseChallenge(header: string | undefined, vaultHost: string, verifyResource = true): KeyVaultChallenge {
  if (!header) throw new Error("response has no WWW-Authenticate header for challenge authentication");
  const values: Record<string, string> = {};
  for (const part of header.replace(/Bearer /g, "").split(" ")) {
    const pieces = part.split("=");
    if (pieces.length === 2) values[pieces[0]] = pieces[1].replace(/"/g, "").replace(/,$/, "");
  }
  let scope = values.scope ?? values.resource ?? "";
  if (scope === "") throw new Error("could not find a valid resource in the WWW-Authenticate header");
  if (verifyResource) {
    let host: string;
    try {
      host = new URL(scope).host;
    } catch {
      throw new Error(`invalid challenge resource "${scope}"`);
    }
    if (!vaultHost.endsWith(`.${host}`)) {
      throw new Error(
        `challenge resource "${scope}" doesn't match the requested domain. Set DisableChallengeResourceVerification to true in your client options to disable. See https://aka.ms/azsdk/blog/vault-uri for more information`,
      );
    }
  }
  if (!scope.endsWith("/.default")) scope += "/.default";
  const authorization = values.authorization ?? "";
  const tenantId = authorization ? (authorization.split("/")[3] ?? "").replace(/,/g, "") : "";
  return { scope, tenantId };
}

/** Where a vault's data plane answers, and whether the challenge's resource must be a parent domain of it. */
export interface VaultAddress {
  /** The vault's base URL, without a trailing slash. */
  readonly url: string;
  readonly verifyChallengeResource: boolean;
}

/**
 * custom_keyvault.go's vault URL, https://<vault><Key Vault DNS suffix>, with the challenge checked.
 * Departure, offline only: with no suffix, the vault's `properties.vaultUri` (`vaultUriFromArm`,
 * called only then) and no host check; undefined when ARM has no such vault.
 */
export async function vaultAddress(
  keyVaultDnsSuffix: string,
  vaultName: string,
  vaultUriFromArm: () => Promise<string | undefined>,
): Promise<VaultAddress | undefined> {
  if (keyVaultDnsSuffix) return { url: `https://${vaultName}${keyVaultDnsSuffix}`, verifyChallengeResource: true };
  const vaultUri = await vaultUriFromArm();
  return vaultUri === undefined ? undefined : { url: vaultUri.replace(/\/+$/, ""), verifyChallengeResource: false };
}

export interface KeyVaultDataPlaneOptions {
  readonly credential: TokenCredential;
  readonly vault: VaultAddress;
  readonly log?: (message: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** keyVaultSecret's Delete: DELETE the secret through the data plane; a 404 is done. */
export async function deleteKeyVaultSecret(options: KeyVaultDataPlaneOptions, vaultName: string, secretName: string): Promise<void> {
  const vaultUrl = options.vault.url;
  const vaultHost = new URL(vaultUrl).host;
  const operation = `delete Key Vault secret '${secretName}' of vault '${vaultName}'`;
  const path = `secrets/${encodeURIComponent(secretName)}?api-version=${keyVaultDataPlaneApiVersion}`;
  const client = (token?: string) =>
    new RestClient({
      service: "Azure Key Vault",
      baseUrl: `${vaultUrl}/`,
      retryPolicy: azsecretsRetryPolicy,
      defaultHeaders: { Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      classify: (error: RestApiError) =>
        error.status === undefined
          ? { kind: error.network === undefined ? "final" : "refused" }
          : [408, 429, 500, 502, 503, 504].includes(error.status)
            ? { kind: "refused", retryAfterSeconds: error.retryAfterSeconds }
            : { kind: "final" },
      log: options.log,
      sleep: options.sleep,
    });
  // The challenge: the first request carries no token.
  const first = await client().request<Plain>({ operation, method: "DELETE", path, acceptStatus: [401, 404] });
  if (first.status !== 401) return;
  const challenge = parseChallenge(first.headers["www-authenticate"], vaultHost, options.vault.verifyChallengeResource);
  const token = await options.credential.getToken(challenge.scope, challenge.tenantId ? { tenantId: challenge.tenantId } : undefined);
  if (!token) throw new Error(`azure-native (offline stand-in): ${operation}: no token for ${challenge.scope}`);
  try {
    await client(token.token).request<Plain>({ operation, method: "DELETE", path, acceptStatus: [404] });
  } catch (error) {
    if (error instanceof RestApiError) {
      throw new Error(
        `azure-native (offline stand-in): ${operation}: DELETE ${error.path}: Status=${error.status ?? "none"} ` +
          `Code="${error.code ?? ""}" Message="${error.serviceMessage}"`,
      );
    }
    throw error;
  }
}
