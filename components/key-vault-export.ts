/**
 * Optional export of an integration's connection values to an Azure Key Vault, so that a consumer
 * (an Azure Function, a Logic App, a pipeline) reads them from the vault instead of from stack
 * outputs. The client secret is written with the vault's own expiry attribute set to the Entra
 * expiry, so the vault's near-expiry events and the portal show the same date as Entra.
 *
 * Writes through the ARM control plane (`Microsoft.KeyVault/vaults/secrets`): the deploying identity
 * needs `Microsoft.KeyVault/vaults/secrets/write` on the vault (e.g. Contributor), not data-plane
 * access. A rotated client secret is
 * written as a new version of the same secret: a consumer that reads the versionless URI picks it
 * up on its next read. ARM never returns a secret's value, so a value changed outside the stack is
 * not seen as drift; the expiry, content type, tags and enabled flag are.
 */
import * as pulumi from "@pulumi/pulumi";
// Only the Key Vault module: loading the package root would load every Azure service's SDK.
import * as keyvault from "@pulumi/azure-native/keyvault";
import { checked } from "./input-checks";

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

/**
 * Parses a Key Vault id: a plain string at once (throwing before anything is declared), an output
 * inside its chain (failing the run when it resolves). Errors start with `context`.
 */
export function resolveKeyVaultId(id: pulumi.Input<string>, context: string): pulumi.Input<KeyVaultId> {
  return checked(id, (value) => {
    const problem = keyVaultIdProblem(value);
    if (problem) throw new Error(`${context}: ${problem}`);
    return parseKeyVaultId(value);
  });
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
export const maxSecretNamePrefixLength = maxSecretNameLength - longestSuffix - 1;

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

export interface KeyVaultExportArgs {
  /** ARM resource id of the vault: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>. */
  readonly keyVaultId: pulumi.Input<string>;
  /** Prefix of the secret names (letters, digits, dashes); default: this component's name, sanitized. */
  readonly secretNamePrefix?: pulumi.Input<string>;
  /** The client secret, a Pulumi secret; absent for an integration that authenticates without one. */
  readonly clientSecret?: pulumi.Input<string>;
  /** ISO 8601 expiry of the client secret, written as the vault secret's expiry attribute. */
  readonly secretExpiresAt?: pulumi.Input<string>;
  /** The application (client) id. */
  readonly clientId: pulumi.Input<string>;
  /** The Dataverse environment URL, e.g. https://contoso.crm.dynamics.com. */
  readonly environmentUrl: pulumi.Input<string>;
  /** The Entra tenant id. */
  readonly tenantId: pulumi.Input<string>;
}

/** One value per secret written; `clientSecret` is absent when no client secret is exported. */
export interface KeyVaultSecretValues<T> {
  readonly clientSecret?: T;
  readonly clientId: T;
  readonly environmentUrl: T;
  readonly tenantId: T;
}

export class KeyVaultExport extends pulumi.ComponentResource {
  /** The vault's name, parsed from its id. */
  public readonly vaultName: pulumi.Output<string>;
  /** The vault's resource group, parsed from its id. */
  public readonly resourceGroupName: pulumi.Output<string>;
  /** Names of the secrets written. */
  public readonly secretNames: pulumi.Output<KeyVaultSecretValues<string>>;
  /** Versionless URIs: a consumer reading these always gets the current value, also after a rotation. */
  public readonly secretUris: pulumi.Output<KeyVaultSecretValues<string>>;
  /** URIs of the versions this run wrote. */
  public readonly secretUrisWithVersion: pulumi.Output<KeyVaultSecretValues<string>>;

  constructor(name: string, args: KeyVaultExportArgs, opts?: pulumi.ComponentResourceOptions) {
    const vault = resolveKeyVaultId(args.keyVaultId, name);
    const prefix =
      args.secretNamePrefix === undefined
        ? defaultPrefix(name)
        : checked(args.secretNamePrefix, (value) => {
            const problem = secretNamePrefixProblem(value);
            if (problem) throw new Error(`${name}: ${problem}`);
            return value;
          });
    if ((args.clientSecret === undefined) !== (args.secretExpiresAt === undefined)) {
      throw new Error(`${name}: give clientSecret and secretExpiresAt together (the vault secret carries the Entra expiry), or neither.`);
    }
    const expires =
      args.secretExpiresAt === undefined
        ? undefined
        : checked(args.secretExpiresAt, (value) => {
            try {
              return epochSeconds(value);
            } catch (error) {
              throw new Error(`${name}: ${(error as Error).message}`);
            }
          });

    // Plain inputs are validated above, before even this component is registered.
    super("dataverse-s2s:azure:KeyVaultExport", name, {}, opts);

    const vaultName = pulumi.output(vault).apply((id) => id.vaultName);
    const resourceGroupName = pulumi.output(vault).apply((id) => id.resourceGroupName);
    const tags = { clientId: args.clientId, environmentUrl: args.environmentUrl, tenantId: args.tenantId, managedBy: "dataverse-s2s" };
    const write = (role: keyof typeof keyVaultSecretSuffixes, value: pulumi.Input<string>, expiresAt?: pulumi.Input<number>) => {
      const secretName = pulumi.output(prefix).apply((text) => `${text}-${keyVaultSecretSuffixes[role]}`);
      const secret = new keyvault.Secret(
        `${name}-${keyVaultSecretSuffixes[role]}`,
        {
          resourceGroupName,
          vaultName,
          secretName,
          properties: { value, contentType: "text/plain", attributes: { enabled: true, expires: expiresAt } },
          tags,
        },
        { parent: this },
      );
      // `properties` is secret as a whole because it holds the value; the URIs in it reveal nothing.
      return {
        name: secretName,
        uri: pulumi.unsecret(secret.properties.apply((properties) => properties.secretUri)),
        uriWithVersion: pulumi.unsecret(secret.properties.apply((properties) => properties.secretUriWithVersion)),
      };
    };

    const written = {
      clientId: write("clientId", args.clientId),
      environmentUrl: write("environmentUrl", args.environmentUrl),
      tenantId: write("tenantId", args.tenantId),
      clientSecret: args.clientSecret === undefined ? undefined : write("clientSecret", pulumi.secret(args.clientSecret), expires),
    };
    const collect = (pick: (secret: ReturnType<typeof write>) => pulumi.Output<string>): pulumi.Output<KeyVaultSecretValues<string>> =>
      pulumi.output({
        clientId: pick(written.clientId),
        environmentUrl: pick(written.environmentUrl),
        tenantId: pick(written.tenantId),
        ...(written.clientSecret ? { clientSecret: pick(written.clientSecret) } : {}),
      });

    this.vaultName = vaultName;
    this.resourceGroupName = resourceGroupName;
    this.secretNames = collect((secret) => secret.name);
    this.secretUris = collect((secret) => secret.uri);
    this.secretUrisWithVersion = collect((secret) => secret.uriWithVersion);
    this.registerOutputs({
      vaultName: this.vaultName,
      resourceGroupName: this.resourceGroupName,
      secretNames: this.secretNames,
      secretUris: this.secretUris,
      secretUrisWithVersion: this.secretUrisWithVersion,
    });
  }
}

function defaultPrefix(name: string): string {
  const prefix = sanitizeSecretNamePrefix(name);
  if (!prefix)
    throw new Error(`${name}: no Key Vault secret name prefix can be made from this name; set secretNamePrefix (letters, digits, dashes).`);
  return prefix;
}
