/**
 * Optional export of an integration's connection values to an Azure Key Vault, so that a consumer
 * (an Azure Function, a Logic App, a pipeline) reads them from the vault instead of from stack
 * outputs. The client secret is written with the vault's own expiry attribute set to the Entra
 * expiry, so the vault's near-expiry events and the portal show the same date as Entra.
 *
 * Writes through the ARM control plane (`Microsoft.KeyVault/vaults/secrets`): the deploying identity
 * needs `Microsoft.KeyVault/vaults/secrets/write` on the vault (e.g. Key Vault Contributor). azure-native
 * deletes a secret (destroy, replacement) through the vault's data plane, where Key Vault soft-deletes
 * it: that needs `Microsoft.KeyVault/vaults/secrets/delete` (Key Vault Secrets Officer; README, "Key
 * Vault export"). A rotated client secret is written as a new version of the same secret: a
 * consumer that reads the versionless URI picks it up on its next read. ARM never returns a secret's
 * value, so a value changed outside the stack is not seen as drift; the expiry, content type, tags
 * and enabled flag are.
 */
import * as pulumi from "@pulumi/pulumi";
// Only the Key Vault module: loading the package root would load every Azure service's SDK.
import * as keyvault from "@pulumi/azure-native/keyvault";
import { checked } from "./input-checks";
import {
  epochSeconds,
  KeyVaultId,
  keyVaultIdProblem,
  keyVaultSecretSuffixes,
  parseKeyVaultId,
  sanitizeSecretNamePrefix,
  secretNamePrefixProblem,
} from "../lib/key-vault-names";

/**
 * Parses a Key Vault id: a plain string at once (throwing before anything is declared), an output
 * inside its chain (failing the run when it resolves). Errors start with `context` and are
 * ResourceErrors against `resource()` when given.
 */
export function resolveKeyVaultId(
  id: pulumi.Input<string>,
  context: string,
  resource: () => pulumi.Resource | undefined = () => undefined,
): pulumi.Input<KeyVaultId> {
  return checked(id, (value) => {
    const problem = keyVaultIdProblem(value);
    if (problem) throw new pulumi.ResourceError(`${context}: ${problem}`, resource());
    return parseKeyVaultId(value);
  });
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
    // Errors name the resource at fault: the parent while plain inputs are checked (this component is
    // not registered yet), this component for values that resolve later.
    let owner: pulumi.Resource | undefined = opts?.parent;
    const { vault, prefix, expires } = checkedInputs(name, args, () => owner);

    // Plain inputs are validated above, before even this component is registered.
    super("dataverse-s2s:azure:KeyVaultExport", name, {}, opts);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the checks above run in output chains after this point and name this component
    owner = this;

    const vaultName = pulumi.output(vault).apply((id) => id.vaultName);
    const resourceGroupName = pulumi.output(vault).apply((id) => id.resourceGroupName);
    const tags = { clientId: args.clientId, environmentUrl: args.environmentUrl, tenantId: args.tenantId, managedBy: "dataverse-s2s" };
    const target: SecretTarget = { name, prefix, resourceGroupName, vaultName, tags };
    const write = (role: SecretRole, value: pulumi.Input<string>, expiresAt?: pulumi.Input<number>) =>
      this.writeSecret(target, role, value, expiresAt);

    const written = {
      clientId: write("clientId", args.clientId),
      environmentUrl: write("environmentUrl", args.environmentUrl),
      tenantId: write("tenantId", args.tenantId),
      clientSecret: args.clientSecret === undefined ? undefined : write("clientSecret", pulumi.secret(args.clientSecret), expires),
    };
    const collect = (pick: (secret: WrittenSecret) => pulumi.Output<string>): pulumi.Output<KeyVaultSecretValues<string>> =>
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

  /** One vault secret, named `<prefix>-<suffix of its role>`. */
  private writeSecret(
    target: SecretTarget,
    role: SecretRole,
    value: pulumi.Input<string>,
    expiresAt?: pulumi.Input<number>,
  ): WrittenSecret {
    const secretName = pulumi.output(target.prefix).apply((text) => `${text}-${keyVaultSecretSuffixes[role]}`);
    const secret = new keyvault.Secret(
      `${target.name}-${keyVaultSecretSuffixes[role]}`,
      {
        resourceGroupName: target.resourceGroupName,
        vaultName: target.vaultName,
        secretName,
        properties: { value, contentType: "text/plain", attributes: { enabled: true, expires: expiresAt } },
        tags: target.tags,
      },
      { parent: this },
    );
    // `properties` is secret as a whole because it holds the value; the URIs in it reveal nothing.
    return {
      name: secretName,
      uri: pulumi.unsecret(secret.properties.apply((properties) => properties.secretUri)),
      uriWithVersion: pulumi.unsecret(secret.properties.apply((properties) => properties.secretUriWithVersion)),
    };
  }
}

type SecretRole = keyof typeof keyVaultSecretSuffixes;

/** Where the component's secrets go and what they carry besides the value. */
interface SecretTarget {
  /** The component's name: each secret resource is `<name>-<suffix>`. */
  readonly name: string;
  readonly prefix: pulumi.Input<string>;
  readonly resourceGroupName: pulumi.Output<string>;
  readonly vaultName: pulumi.Output<string>;
  readonly tags: Record<string, pulumi.Input<string>>;
}

interface WrittenSecret {
  readonly name: pulumi.Output<string>;
  readonly uri: pulumi.Output<string>;
  readonly uriWithVersion: pulumi.Output<string>;
}

/** The vault, the secret name prefix and the secret's expiry (epoch seconds), each checked; errors name `owner()`. */
function checkedInputs(name: string, args: KeyVaultExportArgs, owner: () => pulumi.Resource | undefined) {
  const fail = (message: string): never => {
    throw new pulumi.ResourceError(`${name}: ${message}`, owner());
  };
  const vault = resolveKeyVaultId(args.keyVaultId, name, owner);
  const prefix =
    args.secretNamePrefix === undefined
      ? defaultPrefix(name, fail)
      : checked(args.secretNamePrefix, (value) => {
          const problem = secretNamePrefixProblem(value);
          if (problem) fail(problem);
          return value;
        });
  if ((args.clientSecret === undefined) !== (args.secretExpiresAt === undefined)) {
    fail("give clientSecret and secretExpiresAt together (the vault secret carries the Entra expiry), or neither.");
  }
  const expires =
    args.secretExpiresAt === undefined
      ? undefined
      : checked(args.secretExpiresAt, (value) => {
          try {
            return epochSeconds(value);
          } catch (error) {
            return fail((error as Error).message);
          }
        });
  return { vault, prefix, expires };
}

function defaultPrefix(name: string, fail: (message: string) => never): string {
  const prefix = sanitizeSecretNamePrefix(name);
  if (!prefix) return fail("no Key Vault secret name prefix can be made from this name; set secretNamePrefix (letters, digits, dashes).");
  return prefix;
}
