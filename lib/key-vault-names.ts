/**
 * Pure rules for Key Vault names: a vault's ARM resource id and the names of the secrets written to
 * it. Used by the config reader and by components/key-vault-export.ts.
 */

/** The parts of a Key Vault's ARM resource id. */
export interface KeyVaultId {
  readonly subscriptionId: string;
  readonly resourceGroupName: string;
  readonly vaultName: string;
}

const keyVaultIdExample =
  "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg/providers/Microsoft.KeyVault/vaults/my-vault";
const keyVaultIdHowTo =
  "find it in the Azure portal (Key vault > Properties > Resource ID) or with 'az keyvault show --name <vault> --query id -o tsv'";
// ARM segment names are case-insensitive; the values follow Azure's naming rules for resource groups
// (1-90 of letters, digits, _ . ( ) -, not ending with a dot) and vaults (3-24 of letters, digits, -).
const keyVaultIdPattern =
  /^\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/resourceGroups\/([\p{L}\p{N}_.()-]{0,89}[\p{L}\p{N}_()-])\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/iu;
const vaultNamePattern = /^[a-z](?!.*--)[a-z0-9-]{1,22}[a-z0-9]$/i;

/** Why `value` is not a Key Vault resource id, or undefined when it is one. */
export function keyVaultIdProblem(value: unknown): string | undefined {
  const expected = `a Key Vault resource id such as '${keyVaultIdExample}'; ${keyVaultIdHowTo}`;
  if (typeof value !== "string" || value.trim() === "") return `The Key Vault id is required: ${expected}.`;
  const id = value.trim();
  if (/^https?:\/\//i.test(id)) return `'${id}' is the vault's URI, not its resource id; use ${expected}.`;
  if (/^[a-z0-9-]{3,24}$/i.test(id)) return `'${id}' looks like a vault name; use the whole resource id instead, ${expected}.`;
  if (/\/providers\/Microsoft\.KeyVault\/managedHSMs\//i.test(id))
    return `'${id}' is a Managed HSM; secrets need a Key Vault, ${expected}.`;
  const match = keyVaultIdPattern.exec(id);
  if (!match) return `'${id}' is not ${expected}.`;
  if (!vaultNamePattern.test(match[3])) {
    return `'${id}' names the vault '${match[3]}', which is not a Key Vault name (3 to 24 letters, digits and single dashes, starting with a letter); use ${expected}.`;
  }
  return undefined;
}

/** Splits a Key Vault resource id into its parts; throws an error saying what a correct id looks like. */
export function parseKeyVaultId(value: string): KeyVaultId {
  const problem = keyVaultIdProblem(value);
  if (problem) throw new Error(problem);
  const [, subscriptionId, resourceGroupName, vaultName] = keyVaultIdPattern.exec(value.trim())!;
  return { subscriptionId, resourceGroupName, vaultName };
}

/** Suffixes appended to the prefix, one per secret written. */
export const keyVaultSecretSuffixes = {
  clientSecret: "client-secret",
  clientId: "client-id",
  environmentUrl: "environment-url",
  tenantId: "tenant-id",
} as const;

const maxSecretNameLength = 127;
const longestSuffix = Math.max(...Object.values(keyVaultSecretSuffixes).map((suffix) => suffix.length));
/** The longest prefix that leaves room for every suffix within Key Vault's 127 characters. */
const maxSecretNamePrefixLength = maxSecretNameLength - longestSuffix - 1;

/** Why `value` cannot prefix Key Vault secret names, or undefined when it can. */
export function secretNamePrefixProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") {
    return `The Key Vault secret name prefix must be 1 to ${maxSecretNamePrefixLength} letters, digits or dashes, e.g. 'etl'.`;
  }
  if (!/^[0-9a-zA-Z-]+$/.test(value)) {
    const suggestion = sanitizeSecretNamePrefix(value);
    return (
      `The Key Vault secret name prefix '${value}' may only hold letters, digits and dashes (Key Vault's rule for secret names)` +
      (suggestion ? `; use e.g. '${suggestion}'.` : ".")
    );
  }
  if (value.length > maxSecretNamePrefixLength) {
    return `The Key Vault secret name prefix '${value}' is ${value.length} characters; shorten it to at most ${maxSecretNamePrefixLength} so that '<prefix>-${Object.values(keyVaultSecretSuffixes).find((s) => s.length === longestSuffix)}' fits Key Vault's 127.`;
  }
  return undefined;
}

/** Turns any name into a valid prefix: runs of other characters become one dash; undefined if nothing is left. */
export function sanitizeSecretNamePrefix(value: string): string | undefined {
  const sanitized = value
    .replace(/[^0-9a-zA-Z-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, maxSecretNamePrefixLength)
    .replace(/-+$/, "");
  return sanitized === "" ? undefined : sanitized;
}

/** Epoch seconds of an ISO 8601 date, as Key Vault's `expires` attribute wants; throws on a bad date. */
export function epochSeconds(isoDate: string): number {
  const millis = typeof isoDate === "string" && /^\d{4}-\d{2}-\d{2}/.test(isoDate) ? Date.parse(isoDate) : NaN;
  if (Number.isNaN(millis)) {
    throw new Error(`The client secret's expiry '${String(isoDate)}' is not an ISO 8601 date such as 2026-06-30T00:00:00Z.`);
  }
  return Math.floor(millis / 1000);
}
