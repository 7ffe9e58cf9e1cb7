// Microsoft.ManagedIdentity: user-assigned identities (PUT, GET, GET a group's list, DELETE) and their federated
// identity credentials (PUT, GET, GET the list, DELETE). Creating an identity creates its service
// principal in the directory (servicePrincipalType ManagedIdentity, appId = the identity's clientId,
// id = its principalId), which Graph lists and Dataverse can make an application user of; deleting
// it deletes the principal.
// V: azure-rest-api-specs specification/msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31
// (ManagedIdentity.json: UserAssignedIdentities_CreateOrUpdate 200/201, _Get, _Delete 200/204,
// _ListByResourceGroup: { value, nextLink } (the page size and the nextLink's $skiptoken are G);
// FederatedIdentityCredentials_CreateOrUpdate 200/201, _Get, _List, _Delete 200/204; properties
// tenantId, principalId, clientId read-only; issuer, subject, audiences), learn.microsoft.com/entra/
// identity/managed-identities-azure-resources/how-manage-user-assigned-managed-identities (the
// principal is an enterprise application of type Managed Identity) and .../workload-id/
// workload-identity-federation-considerations (at most 20 federated credentials per identity, one
// audience, issuer and subject unique together, name 3-120 characters). Messages G.
import { randomUUID } from "node:crypto";
import { armBody, armErrors, authorize, resourceIdOf, type ArmCall } from "./pipeline";
import { readLocation, readTags, requireResourceGroup } from "./resources";
import type { ArmDoc, IdentityRecord } from "./model";
import { newManagedIdentityServicePrincipalDoc } from "../model";

/** api-versions of Microsoft.ManagedIdentity: those @pulumi/azure-native 3.28.0 lists (default 2023-01-31). */
export const MANAGED_IDENTITY_API_VERSIONS = [
  "2022-01-31-preview",
  "2023-01-31",
  "2023-07-31-preview",
  "2024-11-30",
  "2025-01-31-preview",
  "2025-05-31-preview",
] as const;

const IDENTITY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/;
const CREDENTIAL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$/;
const MAX_FEDERATED_CREDENTIALS = 20;

const IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities";
const CREDENTIAL_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";

/** Routes Microsoft.ManagedIdentity requests: userAssignedIdentities and their federatedIdentityCredentials. */
export async function managedIdentityRequest(call: ArmCall): Promise<boolean> {
  const group = requireResourceGroup(call, call.target.resourceGroup ?? "");
  call.target.resourceGroup = group.name;
  if (call.target.types.length === 1) return call.target.names.length === 1 ? identityRequest(call) : listIdentities(call);
  return credentialRequest(call);
}

/** GET {group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities: the group's identities, `armPageSize` a page. */
function listIdentities(call: ArmCall): boolean {
  const { ctx, azure, target } = call;
  if (ctx.method !== "GET") return false;
  const groupId = resourceIdOf(target, 0);
  authorize(call, `${IDENTITY_TYPE}/read`, groupId);
  const inGroup = azure
    .identities()
    .filter((identity) => identity.doc.id.toLowerCase().startsWith(`${groupId.toLowerCase()}/`))
    .sort((a, b) => a.doc.id.localeCompare(b.doc.id));
  const token = ctx.query.get("$skipToken") ?? ctx.query.get("$skiptoken");
  const offset = token === null ? 0 : Number(token);
  if (!Number.isInteger(offset) || offset < 0) throw armErrors.badRequest("InvalidSkipToken", `The skip token '${token}' is not valid.`);
  const pageSize = ctx.core.config.armPageSize;
  const answer: { value: ArmDoc[]; nextLink?: string } = {
    value: inGroup.slice(offset, offset + pageSize).map((identity) => identity.doc),
  };
  if (offset + pageSize < inGroup.length) {
    const next = new URL(`${ctx.core.urls.resourceManagerUrl}${ctx.path}`);
    next.searchParams.set("api-version", call.apiVersion);
    next.searchParams.set("$skipToken", String(offset + pageSize));
    answer.nextLink = next.toString();
  }
  ctx.send(200, answer);
  return true;
}

async function identityRequest(call: ArmCall): Promise<boolean> {
  const { ctx, azure, target } = call;
  const id = resourceIdOf(target);
  const name = target.names[0];
  const existing = azure.identity(id);
  switch (ctx.method) {
    case "GET":
      authorize(call, `${IDENTITY_TYPE}/read`, id);
      if (!existing) throw armErrors.resourceNotFound(IDENTITY_TYPE, name, target.resourceGroup ?? "");
      ctx.send(200, existing.doc);
      return true;
    case "PUT": {
      authorize(call, `${IDENTITY_TYPE}/write`, id);
      if (!IDENTITY_NAME.test(name)) {
        throw armErrors.badRequest(
          "InvalidResourceName",
          `Resource name '${name}' is invalid. The name can contain only letters, digits, '-' and '_', start with a letter or digit, and be 3 to 128 characters long.`,
        );
      }
      const body = await armBody(ctx);
      const location = readLocation(body, existing?.doc);
      const tags = readTags(body);
      if (existing) {
        const doc = { ...existing.doc, location, tags };
        azure.putIdentity(doc, undefined);
        ctx.send(200, doc);
        return true;
      }
      const tenantId = ctx.core.store.state.tenant.tenantId;
      const principalId = randomUUID();
      const clientId = randomUUID();
      const doc: ArmDoc = {
        id,
        name,
        type: IDENTITY_TYPE,
        location,
        tags,
        properties: { isolationScope: "None", tenantId, principalId, clientId },
      };
      const createdDateTime = ctx.core
        .now()
        .toISOString()
        .replace(/\.\d+Z$/, "Z");
      const servicePrincipal = newManagedIdentityServicePrincipalDoc({
        id: principalId,
        appId: clientId,
        displayName: name,
        resourceId: id,
        createdDateTime,
      });
      azure.putIdentity(doc, { doc: servicePrincipal, owners: [], replicatedAtMs: Date.now() + ctx.core.config.replicationLagMs });
      ctx.send(201, doc);
      return true;
    }
    case "DELETE":
      authorize(call, `${IDENTITY_TYPE}/delete`, id);
      if (!existing) {
        ctx.send(204, undefined);
        return true;
      }
      azure.deleteIdentity(existing, ctx.core.now().toISOString());
      ctx.send(200, undefined);
      return true;
    default:
      return false;
  }
}

async function credentialRequest(call: ArmCall): Promise<boolean> {
  const { ctx, azure, target } = call;
  if (target.types[1].toLowerCase() !== "federatedidentitycredentials") return false;
  const identityId = resourceIdOf(target, 1);
  const identity = azure.identity(identityId);
  if (target.names.length === 1) {
    if (ctx.method !== "GET") return false;
    authorize(call, `${CREDENTIAL_TYPE}/read`, identityId);
    if (!identity) throw armErrors.parentNotFound(target.names[0]);
    ctx.send(200, { value: Object.values(identity.federatedCredentials) });
    return true;
  }
  const id = resourceIdOf(target);
  const name = target.names[1];
  const existing = identity?.federatedCredentials[name.toLowerCase()];
  switch (ctx.method) {
    case "GET":
      authorize(call, `${CREDENTIAL_TYPE}/read`, id);
      if (!identity) throw armErrors.parentNotFound(target.names[0]);
      if (!existing)
        throw armErrors.resourceNotFound(
          `${IDENTITY_TYPE}/${identity.doc.name}/federatedIdentityCredentials`,
          name,
          target.resourceGroup ?? "",
        );
      ctx.send(200, existing);
      return true;
    case "PUT": {
      authorize(call, `${CREDENTIAL_TYPE}/write`, id);
      if (!identity) throw armErrors.parentNotFound(target.names[0]);
      const doc = await credentialDocument(call, identity, id, name, existing);
      azure.putFederatedCredential(identity, doc);
      ctx.send(existing ? 200 : 201, doc);
      return true;
    }
    case "DELETE":
      authorize(call, `${CREDENTIAL_TYPE}/delete`, id);
      if (!identity) throw armErrors.parentNotFound(target.names[0]);
      if (!existing) {
        ctx.send(204, undefined);
        return true;
      }
      azure.deleteFederatedCredential(identity, name);
      ctx.send(200, undefined);
      return true;
    default:
      return false;
  }
}

async function credentialDocument(
  call: ArmCall,
  identity: IdentityRecord,
  id: string,
  name: string,
  existing: ArmDoc | undefined,
): Promise<ArmDoc> {
  const invalid = (message: string) => armErrors.badRequest("BadRequest", message);
  if (!CREDENTIAL_NAME.test(name)) {
    throw invalid(
      `The federated identity credential name '${name}' is invalid: 3 to 120 letters, digits, '-' and '_', starting with a letter or digit.`,
    );
  }
  const body = await armBody(call.ctx);
  const properties = body.properties as Record<string, unknown> | undefined;
  if (!properties || typeof properties !== "object") throw invalid("The parameter properties is required.");
  const { issuer, subject, audiences } = properties;
  if (typeof issuer !== "string" || !/^https:\/\/\S+$/.test(issuer)) throw invalid("The parameter properties.issuer must be an https URL.");
  if (typeof subject !== "string" || subject === "" || subject.length > 600)
    throw invalid("The parameter properties.subject is required (at most 600 characters).");
  if (!Array.isArray(audiences) || audiences.length !== 1 || typeof audiences[0] !== "string" || audiences[0] === "") {
    throw invalid("The parameter properties.audiences must hold exactly one audience.");
  }
  const others = Object.values(identity.federatedCredentials).filter((credential) => credential.name.toLowerCase() !== name.toLowerCase());
  if (!existing && others.length >= MAX_FEDERATED_CREDENTIALS) {
    throw invalid(`An identity has at most ${MAX_FEDERATED_CREDENTIALS} federated identity credentials.`);
  }
  const duplicate = others.find((credential) => {
    const other = credential.properties as Record<string, unknown>;
    return other.issuer === issuer && other.subject === subject;
  });
  if (duplicate) {
    throw armErrors.conflict(
      "Conflict",
      `The federated identity credential '${duplicate.name}' of this identity already has issuer '${issuer}' and subject '${subject}'.`,
    );
  }
  return {
    id: existing?.id ?? id,
    name: existing?.name ?? name,
    type: CREDENTIAL_TYPE,
    properties: { issuer, subject, audiences: [audiences[0]] },
  };
}
