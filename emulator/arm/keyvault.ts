// Microsoft.KeyVault on the management plane: vaults (PUT, GET, GET the list of a group, DELETE) and
// vaults/secrets (PUT with properties.value, GET without the value, GET the list). ARM has no DELETE
// for a secret: it answers DisallowedResourceOperation, and a client deletes through the data plane
// (keyvault-data.ts), as pulumi-azure-native's Secret does.
// V: azure-rest-api-specs specification/keyvault/resource-manager/Microsoft.KeyVault/stable/2024-11-01
// (keyvault.json: Vaults_CreateOrUpdate 200/201, Vaults_Get, Vaults_Delete 200/204; secrets.json:
// Secrets_CreateOrUpdate 200/201, Secrets_Get, Secrets_List, no delete; "enableRbacAuthorization ...
// If null or not specified, the vault is created with the default value of false"); the disallowed
// delete as ARM answers it (reported in Azure/terraform-provider-azapi#879). Vault name rules: V
// (learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates, "Vault name").
import { armBody, armErrors, authorize, resourceIdOf, type ArmCall } from "./pipeline";
import { readLocation, readTags, requireResourceGroup } from "./resources";
import type { ArmDoc, SecretRecord, SecretVersion, VaultRecord } from "./model";
import type { VaultAddresses } from "../http";

/** api-versions of Microsoft.KeyVault/vaults and vaults/secrets: those @pulumi/azure-native 3.28.0 lists (default 2024-11-01). */
export const KEY_VAULT_API_VERSIONS = [
  "2023-02-01",
  "2023-07-01",
  "2024-04-01-preview",
  "2024-11-01",
  "2024-12-01-preview",
  "2025-05-01",
  "2026-02-01",
  "2026-03-01-preview",
] as const;

const VAULT_NAME = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

export function vaultAnswer(addresses: VaultAddresses, vault: VaultRecord): ArmDoc {
  const doc = structuredClone(vault.doc);
  doc.properties = { ...(doc.properties as Record<string, unknown>), vaultUri: addresses.uri(vault.doc.name) };
  return doc;
}

/** The secret as the management plane answers it: never its value. */
export function secretAnswer(addresses: VaultAddresses, vault: VaultRecord, secret: SecretRecord): ArmDoc {
  const current = secret.versions[secret.versions.length - 1];
  const base = `${addresses.uri(vault.doc.name)}secrets/${secret.name}`;
  return {
    id: `${vault.doc.id}/secrets/${secret.name}`,
    name: secret.name,
    type: "Microsoft.KeyVault/vaults/secrets",
    location: vault.doc.location,
    tags: { ...current.tags },
    properties: {
      ...(current.contentType !== null ? { contentType: current.contentType } : {}),
      attributes: { ...current.attributes },
      secretUri: base,
      secretUriWithVersion: `${base}/${current.version}`,
    },
  };
}

/** Routes Microsoft.KeyVault requests: vaults, vaults/secrets. */
export async function keyVaultRequest(call: ArmCall): Promise<boolean> {
  const { target } = call;
  const group = requireResourceGroup(call, target.resourceGroup ?? "");
  target.resourceGroup = group.name;
  if (target.types.length === 1) {
    if (target.names.length === 0) return listVaults(call);
    return vaultRequest(call);
  }
  return secretRequest(call);
}

function listVaults(call: ArmCall): boolean {
  if (call.ctx.method !== "GET") return false;
  const groupId = resourceIdOf(call.target, 0);
  authorize(call, "Microsoft.KeyVault/vaults/read", groupId);
  const inGroup = call.azure.vaults().filter((vault) => vault.doc.id.toLowerCase().startsWith(`${groupId.toLowerCase()}/`));
  call.ctx.send(200, { value: inGroup.map((vault) => vaultAnswer(call.ctx.core.vaultAddresses, vault)) });
  return true;
}

async function vaultRequest(call: ArmCall): Promise<boolean> {
  const { ctx, azure, target } = call;
  const id = resourceIdOf(target);
  const name = target.names[0];
  const existing = azure.vault(id);
  switch (ctx.method) {
    case "GET":
      authorize(call, "Microsoft.KeyVault/vaults/read", id);
      if (!existing) throw armErrors.resourceNotFound("Microsoft.KeyVault/vaults", name, target.resourceGroup ?? "");
      ctx.send(200, vaultAnswer(ctx.core.vaultAddresses, existing));
      return true;
    case "PUT": {
      authorize(call, "Microsoft.KeyVault/vaults/write", id);
      const doc = await vaultDocument(call, id, name, existing);
      await ctx.core.vaultAddresses.open(doc.name);
      const record = azure.putVault(doc);
      ctx.send(existing ? 200 : 201, vaultAnswer(ctx.core.vaultAddresses, record));
      return true;
    }
    case "DELETE":
      authorize(call, "Microsoft.KeyVault/vaults/delete", id);
      if (!existing) {
        ctx.send(204, undefined);
        return true;
      }
      azure.deleteVault(id);
      ctx.send(200, undefined);
      return true;
    default:
      return false;
  }
}

/** The vault a PUT describes, checked as the Key Vault provider checks it. */
async function vaultDocument(call: ArmCall, id: string, name: string, existing: VaultRecord | undefined): Promise<ArmDoc> {
  const { ctx, azure } = call;
  if (!VAULT_NAME.test(name)) {
    throw armErrors.badRequest(
      "VaultNameNotValid",
      `The vault name '${name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.`,
    );
  }
  const sameName = azure.vaultByName(name);
  if (sameName && sameName.doc.id.toLowerCase() !== id.toLowerCase()) {
    throw armErrors.conflict(
      "VaultAlreadyExists",
      `The vault name '${name}' is already in use. Vault names are globally unique so it is possible that the name is already taken.`,
    );
  }
  const body = await armBody(ctx);
  const location = readLocation(body, existing?.doc);
  const properties = body.properties;
  if (typeof properties !== "object" || properties === null || Array.isArray(properties)) {
    throw armErrors.badRequest("BadRequest", "The parameter properties is required.");
  }
  const given = properties as Record<string, unknown>;
  const tenantId = ctx.core.store.state.tenant.tenantId;
  if (typeof given.tenantId !== "string" || given.tenantId.toLowerCase() !== tenantId.toLowerCase()) {
    throw armErrors.badRequest("BadRequest", `The parameter properties.tenantId must be the subscription's tenant '${tenantId}'.`);
  }
  const sku = given.sku as Record<string, unknown> | undefined;
  if (!sku || sku.family !== "A" || (sku.name !== "standard" && sku.name !== "premium")) {
    throw armErrors.badRequest("BadRequest", "The parameter properties.sku is required: {family: 'A', name: 'standard' | 'premium'}.");
  }
  const flag = (field: string, fallback: boolean) => (typeof given[field] === "boolean" ? (given[field] as boolean) : fallback);
  const retention = given.softDeleteRetentionInDays;
  if (retention !== undefined && (typeof retention !== "number" || !Number.isInteger(retention) || retention < 7 || retention > 90)) {
    throw armErrors.badRequest("BadRequest", "The parameter properties.softDeleteRetentionInDays must be an integer from 7 to 90.");
  }
  const previous = (existing?.doc.properties ?? {}) as Record<string, unknown>;
  return {
    id: existing?.doc.id ?? id,
    name: existing?.doc.name ?? name,
    type: "Microsoft.KeyVault/vaults",
    location,
    tags: readTags(body),
    properties: {
      tenantId,
      sku: { family: "A", name: sku.name },
      accessPolicies: Array.isArray(given.accessPolicies) ? structuredClone(given.accessPolicies) : [],
      enabledForDeployment: flag("enabledForDeployment", false),
      enabledForDiskEncryption: flag("enabledForDiskEncryption", false),
      enabledForTemplateDeployment: flag("enabledForTemplateDeployment", false),
      enableSoftDelete: true,
      softDeleteRetentionInDays: (retention as number | undefined) ?? (previous.softDeleteRetentionInDays as number | undefined) ?? 90,
      enableRbacAuthorization: flag("enableRbacAuthorization", false),
      ...(given.enablePurgeProtection === true || previous.enablePurgeProtection === true ? { enablePurgeProtection: true } : {}),
      provisioningState: "Succeeded",
      publicNetworkAccess: typeof given.publicNetworkAccess === "string" ? given.publicNetworkAccess : "Enabled",
    },
  };
}

async function secretRequest(call: ArmCall): Promise<boolean> {
  const { ctx, azure, target } = call;
  const vault = azure.vault(resourceIdOf(target, 1));
  if (target.names.length === 1) {
    // GET .../vaults/{vault}/secrets: the list.
    if (ctx.method !== "GET") return false;
    authorize(call, "Microsoft.KeyVault/vaults/secrets/read", resourceIdOf(target, 1));
    if (!vault) throw armErrors.parentNotFound(target.names[0]);
    ctx.send(200, { value: Object.values(vault.secrets).map((secret) => secretAnswer(ctx.core.vaultAddresses, vault, secret)) });
    return true;
  }
  const id = resourceIdOf(target);
  const name = target.names[1];
  switch (ctx.method) {
    case "GET": {
      authorize(call, "Microsoft.KeyVault/vaults/secrets/read", id);
      if (!vault) throw armErrors.parentNotFound(target.names[0]);
      const secret = azure.secret(vault, name);
      if (!secret)
        throw armErrors.resourceNotFound(`Microsoft.KeyVault/vaults/${vault.doc.name}/secrets`, name, target.resourceGroup ?? "");
      ctx.send(200, secretAnswer(ctx.core.vaultAddresses, vault, secret));
      return true;
    }
    case "PUT": {
      authorize(call, "Microsoft.KeyVault/vaults/secrets/write", id);
      if (!vault) throw armErrors.parentNotFound(target.names[0]);
      await putSecret(call, vault, name);
      return true;
    }
    case "DELETE":
      throw armErrors.disallowedOperation("delete", "vaults/secrets");
    default:
      return false;
  }
}

/** The attributes of a PUT (`enabled`, `nbf`, `exp` in seconds since the epoch). */
export function readSecretAttributes(
  given: unknown,
  fallback: Omit<SecretVersion["attributes"], "created" | "updated">,
  invalid: (message: string) => Error,
): Omit<SecretVersion["attributes"], "created" | "updated"> {
  if (given === undefined || given === null) return { ...fallback };
  if (typeof given !== "object" || Array.isArray(given)) throw invalid("attributes must be an object.");
  const attributes = given as Record<string, unknown>;
  const result = { ...fallback };
  if (attributes.enabled !== undefined) {
    if (typeof attributes.enabled !== "boolean") throw invalid("attributes.enabled must be a boolean.");
    result.enabled = attributes.enabled;
  }
  for (const field of ["nbf", "exp"] as const) {
    const value = attributes[field];
    if (value === undefined) continue;
    if (value === null) {
      delete result[field];
      continue;
    }
    if (typeof value !== "number" || !Number.isInteger(value))
      throw invalid(`attributes.${field} must be an integer (seconds since 1970-01-01).`);
    result[field] = value;
  }
  return result;
}

async function putSecret(call: ArmCall, vault: VaultRecord, name: string): Promise<void> {
  const { ctx, azure } = call;
  const invalid = (message: string) => armErrors.badRequest("BadRequest", message);
  if (!SECRET_NAME.test(name)) {
    throw invalid(`The secret name '${name}' is invalid: 1 to 127 letters, digits and dashes.`);
  }
  if (azure.deletedSecret(vault, name)) {
    throw armErrors.conflict(
      "Conflict",
      `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
    );
  }
  const body = await armBody(ctx);
  const properties = (body.properties ?? {}) as Record<string, unknown>;
  if (typeof properties !== "object" || Array.isArray(properties)) throw invalid("The parameter properties must be an object.");
  const existing = azure.secret(vault, name);
  const current = existing?.versions[existing.versions.length - 1];
  const attributes = readSecretAttributes(properties.attributes, current ? current.attributes : { enabled: true }, invalid);
  if (properties.contentType !== undefined && properties.contentType !== null && typeof properties.contentType !== "string") {
    throw invalid("The parameter properties.contentType must be a string.");
  }
  const contentType = (properties.contentType as string | null | undefined) ?? current?.contentType ?? null;
  const tags = readTags(body);
  const now = Math.floor(ctx.core.now().getTime() / 1000);
  if (properties.value !== undefined) {
    if (typeof properties.value !== "string") throw invalid("The parameter properties.value must be a string.");
    const { secret, created } = azure.addSecretVersion(vault, name, properties.value, { contentType, tags, attributes }, now);
    ctx.send(created ? 201 : 200, secretAnswer(ctx.core.vaultAddresses, vault, secret));
    return;
  }
  if (!existing) throw invalid("The parameter properties.value is required to create a secret.");
  azure.updateCurrentVersion(
    existing,
    (version) => {
      version.attributes = { ...attributes, created: version.attributes.created, updated: version.attributes.updated };
      version.contentType = contentType;
      version.tags = tags;
    },
    now,
  );
  ctx.send(200, secretAnswer(ctx.core.vaultAddresses, vault, existing));
}
