// The Key Vault data plane for secrets, as an integration (or @azure/keyvault-secrets, or
// pulumi-azure-native deleting a Secret) calls it: GET a secret (current or a version) with its
// value, PUT (SetSecret), DELETE (soft delete), GET the list, and the deleted secrets (GET, purge,
// recover). Offline a vault is https://127.0.0.1:<its own port>/ (its properties.vaultUri), not
// https://<vault>.vault.azure.net: per-vault host names cannot resolve offline, and clients take the
// URI's origin as the vault (so no path prefix either).
// Authentication: a token for https://vault.azure.net, else 401 with the challenge clients follow
// (WWW-Authenticate: Bearer authorization="<authority>/<tenant>", resource="https://vault.azure.net").
// Authorization: RBAC data actions (roles.ts) when the vault has enableRbacAuthorization, else its
// access policies. V: learn.microsoft.com/rest/api/keyvault/secrets (get-secret, set-secret,
// delete-secret, get-secrets, get-deleted-secret, purge-deleted-secret, recover-deleted-secret);
// .../key-vault/general/authentication-requests-and-responses (the challenge, 401/403 bodies);
// .../key-vault/secrets/about-secrets ("A secret's get operation will work for not-yet-valid and
// expired secrets"); .../key-vault/general/rbac-guide (data actions per operation); the 403 texts
// as Key Vault answers them (ForbiddenByRbac, AccessDenied), the 409 for a deleted name
// (ObjectIsDeletedButRecoverable) and BadParameter for an unknown api-version as reported in
// Azure/azure-sdk-for-python#28595. G where emulator/README.md says so.
import { keyVaultError } from "../errors";
import { bearer, KEY_VAULT_AUDIENCE, verifyToken, type TokenClaims } from "../entra";
import { RequestContext, sameId } from "../http";
import type { DeletedSecretRecord, SecretRecord, SecretVersion, VaultRecord } from "./model";
import { readSecretAttributes } from "./keyvault";
import { grantingAssignment } from "./roles";

/**
 * Data plane api-versions answered, oldest first: 7.4 and 7.5 are what @azure/keyvault-secrets 4.8-4.9
 * and Go azsecrets send, 2025-07-01 what @azure/keyvault-secrets 4.11 sends (its LATEST_API_VERSION).
 */
export const KEY_VAULT_DATA_API_VERSIONS = ["7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"] as const;

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

interface DataCall {
  ctx: RequestContext;
  vault: VaultRecord;
  claims: TokenClaims;
  /** The vault's URI, https://127.0.0.1:<vault port>/ */
  base: string;
}

type Operation = "get" | "set" | "delete" | "list" | "purge" | "recover";

/** RBAC data action and access policy permission of each operation (V: rbac-guide; access policy permission names). */
const OPERATIONS: Record<Operation, { dataAction: string; permission: string }> = {
  get: { dataAction: "Microsoft.KeyVault/vaults/secrets/getSecret/action", permission: "get" },
  set: { dataAction: "Microsoft.KeyVault/vaults/secrets/setSecret/action", permission: "set" },
  delete: { dataAction: "Microsoft.KeyVault/vaults/secrets/delete", permission: "delete" },
  list: { dataAction: "Microsoft.KeyVault/vaults/secrets/readMetadata/action", permission: "list" },
  purge: { dataAction: "Microsoft.KeyVault/vaults/secrets/purge/action", permission: "purge" },
  recover: { dataAction: "Microsoft.KeyVault/vaults/secrets/recover/action", permission: "recover" },
};

const notFound = (what: string) =>
  keyVaultError(
    404,
    "SecretNotFound",
    `A secret with (name/id) ${what} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
const badParameter = (message: string) => keyVaultError(400, "BadParameter", message);

/** Routes a request that arrived on a vault's port; false for paths it does not serve (the server answers 501). */
export async function handleKeyVault(ctx: RequestContext): Promise<boolean> {
  const parts = ctx.path
    .split("/")
    .filter((segment) => segment.length > 0)
    .map(decodeURIComponent);
  const [collection, name, tail, ...extra] = parts;
  const vaultName = ctx.core.vaultAddresses.vaultAt(ctx.req.socket.localPort);
  if (!vaultName || extra.length > 0) return false;
  ctx.op(`${ctx.method} /${collection ?? ""}${name ? "/{name}" : ""}${tail ? (collection === "secrets" ? "/{version}" : `/${tail}`) : ""}`);
  const vault = ctx.core.azure.vaultByName(vaultName);
  if (!vault) {
    // G: a deleted vault's port still listens (until stop); in Azure its host name would stop resolving.
    throw keyVaultError(404, "VaultNotFound", `The vault '${vaultName}' no longer exists (in Azure its host name would not resolve).`);
  }
  checkApiVersion(ctx);
  const claims = authenticate(ctx);
  const call: DataCall = { ctx, vault, claims, base: ctx.core.vaultAddresses.uri(vault.doc.name) };
  if (collection === "secrets") return secrets(call, name, tail);
  if (collection === "deletedsecrets") return deletedSecrets(call, name, tail);
  return false;
}

function checkApiVersion(ctx: RequestContext): void {
  const version = ctx.query.get("api-version");
  if (!version) throw badParameter("The 'api-version' query parameter is missing."); // G
  if (!(KEY_VAULT_DATA_API_VERSIONS as readonly string[]).includes(version)) {
    throw badParameter(
      `The specified version (${version}) is not recognized. Consider using the latest supported version (${KEY_VAULT_DATA_API_VERSIONS[KEY_VAULT_DATA_API_VERSIONS.length - 1]}).`,
    );
  }
}

function authenticate(ctx: RequestContext): TokenClaims {
  const core = ctx.core;
  const challenge = {
    "WWW-Authenticate": `Bearer authorization="${core.urls.authorityHost}/${core.store.state.tenant.tenantId}", resource="${KEY_VAULT_AUDIENCE}"`,
  };
  const unauthorized = (message: string) => keyVaultError(401, "Unauthorized", message, undefined, challenge);
  const token = bearer(ctx);
  if (!token) throw unauthorized("AKV10000: Request is missing a Bearer or PoP token.");
  const verified = verifyToken(core, token);
  if ("reason" in verified) {
    throw unauthorized(
      verified.reason === "the token is expired" ? "AKV10000: Token expired." : `AKV10000: Token validation failed: ${verified.reason}.`,
    );
  }
  const claims = verified.claims;
  if (claims.aud.replace(/\/+$/, "") !== KEY_VAULT_AUDIENCE) {
    throw unauthorized(`AKV10022: Invalid audience. Expected ${KEY_VAULT_AUDIENCE}, found: ${claims.aud}.`);
  }
  if (!sameId(claims.tid, core.store.state.tenant.tenantId)) {
    throw unauthorized(
      `AKV10032: Invalid issuer. Expected one of ${core.urls.authorityHost}/${core.store.state.tenant.tenantId}/, found ${claims.iss}.`,
    );
  }
  return claims;
}

/** 403 unless RBAC (or, on an access policy vault, an access policy) allows the operation. */
function authorize(call: DataCall, operation: Operation, secretName?: string): void {
  const { vault, claims, ctx } = call;
  const properties = vault.doc.properties as Record<string, unknown>;
  const resource = secretName ? `${vault.doc.id}/secrets/${secretName}` : vault.doc.id;
  const { dataAction, permission } = OPERATIONS[operation];
  const caller = `appid=${claims.appid};oid=${claims.oid};iss=${claims.iss}`;
  const vaultLabel = `${vault.doc.name};location=${String(vault.doc.location)}`;
  if (properties.enableRbacAuthorization === true) {
    if (grantingAssignment(ctx.core.azure.roleAssignments(), claims.oid, dataAction, resource, "dataAction")) return;
    throw keyVaultError(
      403,
      "Forbidden",
      `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: ${caller}\r\nAction: '${dataAction}'\r\nResource: '${resource.toLowerCase()}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: ${vaultLabel}\r\n`,
      "ForbiddenByRbac",
    );
  }
  const policies = (properties.accessPolicies as Array<Record<string, unknown>> | undefined) ?? [];
  const allowed = policies.some((policy) => {
    const secrets = ((policy.permissions as Record<string, unknown> | undefined)?.secrets as string[] | undefined) ?? [];
    return sameId(policy.objectId, claims.oid) && secrets.some((name) => name.toLowerCase() === permission || name.toLowerCase() === "all");
  });
  if (allowed) return;
  throw keyVaultError(
    403,
    "Forbidden",
    `The user, group or application '${caller}' does not have secrets ${permission} permission on key vault '${vaultLabel}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
    "AccessDenied",
  );
}

function attributesOf(call: DataCall, version: SecretVersion): Record<string, unknown> {
  const days = Number((call.vault.doc.properties as Record<string, unknown>).softDeleteRetentionInDays ?? 90);
  return {
    ...version.attributes,
    recoverableDays: days,
    recoveryLevel: days < 90 ? "CustomizedRecoverable+Purgeable" : "Recoverable+Purgeable",
  };
}

/** A SecretBundle (with the value) or a SecretItem/DeletedSecretBundle (without). */
function bundle(call: DataCall, secret: SecretRecord, version: SecretVersion, withValue: boolean): Record<string, unknown> {
  return {
    ...(withValue ? { value: call.ctx.core.azure.reveal(version) } : {}),
    id: `${call.base}secrets/${secret.name}/${version.version}`,
    attributes: attributesOf(call, version),
    tags: { ...version.tags },
    ...(version.contentType !== null ? { contentType: version.contentType } : {}),
  };
}

function deletedBundle(call: DataCall, deleted: DeletedSecretRecord): Record<string, unknown> {
  const current = deleted.secret.versions[deleted.secret.versions.length - 1];
  return {
    ...bundle(call, deleted.secret, current, false),
    recoveryId: `${call.base}deletedsecrets/${deleted.secret.name}`,
    deletedDate: deleted.deletedDate,
    scheduledPurgeDate: deleted.scheduledPurgeDate,
  };
}

async function secrets(call: DataCall, name: string | undefined, version: string | undefined): Promise<boolean> {
  const { ctx } = call;
  const azure = ctx.core.azure;
  if (!name) {
    if (ctx.method !== "GET") return false;
    authorize(call, "list");
    const items = Object.values(call.vault.secrets).map((secret) => {
      const current = secret.versions[secret.versions.length - 1];
      const { id, ...rest } = bundle(call, secret, current, false);
      return { id: String(id).replace(/\/[0-9a-f]{32}$/, ""), ...rest };
    });
    ctx.send(200, { value: items, nextLink: null });
    return true;
  }
  if (!SECRET_NAME.test(name)) throw badParameter(`The secret name '${name}' is invalid: 1 to 127 letters, digits and dashes.`); // G
  switch (ctx.method) {
    case "GET": {
      authorize(call, "get", name);
      const secret = azure.secret(call.vault, name);
      if (!secret) throw notFound(version ? `${name}/${version}` : name);
      const found = version
        ? secret.versions.find((candidate) => candidate.version === version.toLowerCase())
        : secret.versions[secret.versions.length - 1];
      if (!found) throw notFound(`${name}/${version}`);
      if (!found.attributes.enabled)
        throw keyVaultError(403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled");
      ctx.send(200, bundle(call, secret, found, true));
      return true;
    }
    case "PUT": {
      if (version) return false;
      authorize(call, "set", name);
      await setSecret(call, name);
      return true;
    }
    case "DELETE": {
      if (version) return false;
      authorize(call, "delete", name);
      const secret = azure.secret(call.vault, name);
      if (!secret) throw notFound(name);
      const days = Number((call.vault.doc.properties as Record<string, unknown>).softDeleteRetentionInDays ?? 90);
      const deleted = azure.deleteSecret(call.vault, secret, Math.floor(ctx.core.now().getTime() / 1000), days);
      ctx.send(200, deletedBundle(call, deleted));
      return true;
    }
    default:
      return false;
  }
}

async function setSecret(call: DataCall, name: string): Promise<void> {
  const { ctx } = call;
  const azure = ctx.core.azure;
  if (azure.deletedSecret(call.vault, name)) {
    throw keyVaultError(
      409,
      "Conflict",
      `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
      "ObjectIsDeletedButRecoverable",
    );
  }
  let body: unknown;
  try {
    body = await ctx.json();
  } catch {
    throw badParameter("The request body is not valid JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badParameter("The request body must be a JSON object.");
  const request = body as Record<string, unknown>;
  if (typeof request.value !== "string") throw badParameter("Property 'value' is required and must be a string.");
  if (request.contentType !== undefined && typeof request.contentType !== "string")
    throw badParameter("Property 'contentType' must be a string.");
  const tags = request.tags ?? {};
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) throw badParameter("Property 'tags' must be an object.");
  const attributes = readSecretAttributes(request.attributes, { enabled: true }, (message) => badParameter(message));
  const now = Math.floor(ctx.core.now().getTime() / 1000);
  const { secret, version } = azure.addSecretVersion(
    call.vault,
    name,
    request.value,
    { contentType: (request.contentType as string | undefined) ?? null, tags: tags as Record<string, string>, attributes },
    now,
  );
  ctx.send(200, bundle(call, secret, version, true));
}

async function deletedSecrets(call: DataCall, name: string | undefined, action: string | undefined): Promise<boolean> {
  const { ctx } = call;
  const azure = ctx.core.azure;
  if (!name) return false;
  const deleted = azure.deletedSecret(call.vault, name);
  const deletedNotFound = () => keyVaultError(404, "SecretNotFound", `Deleted Secret not found: ${name}`); // G (message)
  if (ctx.method === "GET" && !action) {
    authorize(call, "list", name);
    if (!deleted) throw deletedNotFound();
    ctx.send(200, deletedBundle(call, deleted));
    return true;
  }
  if (ctx.method === "DELETE" && !action) {
    authorize(call, "purge", name);
    if (!deleted) throw deletedNotFound();
    if ((call.vault.doc.properties as Record<string, unknown>).enablePurgeProtection === true) {
      throw keyVaultError(
        403,
        "Forbidden",
        `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.`,
        "PurgeProtectionEnabled",
      ); // G
    }
    azure.purgeSecret(call.vault, name);
    ctx.send(204, undefined);
    return true;
  }
  if (ctx.method === "POST" && action === "recover") {
    authorize(call, "recover", name);
    if (!deleted) throw deletedNotFound();
    const secret = azure.recoverSecret(call.vault, deleted);
    ctx.send(200, bundle(call, secret, secret.versions[secret.versions.length - 1], false));
    return true;
  }
  return false;
}
