/**
 * azuread:index/servicePrincipal:ServicePrincipal, as the real provider (terraform-provider-azuread
 * v3.8.0, internal/services/serviceprincipals/service_principal_resource.go) drives Graph:
 *
 * - create: GET /v1.0/servicePrincipals?$filter=appId eq '<clientId>'. More than one is an error. One
 *   found: without useExisting, the provider's error `A resource with the ID "<objectId>" already
 *   exists: To be managed via Terraform, this resource needs to be imported into the State...`; with
 *   useExisting, it is adopted through the update function (PATCH; owners reconciled only when
 *   `d.HasChange("owners")`, which on a create, with no prior state, means a non-empty owners list).
 *   None found: POST /v1.0/servicePrincipals with a temporary description "TERRAFORM_UPDATE_<uuid>"
 *   and the caller (and up to 19 wanted owners) as owners, retried while Graph answers that the
 *   application is not there yet (400 "does not reference a valid application object", 403 "backing
 *   application ... local tenant"), never replayed otherwise; PATCH the real description (not
 *   retried: a 404 fails the create, as in v3.8.0); add the other owners; remove the caller unless
 *   wanted; read.
 *   The id is "/servicePrincipals/<objectId>".
 * - read: GET /v1.0/servicePrincipals/{id} (404: gone, empty id),
 *   GET /beta/servicePrincipals/{id}?$select=samlMetadataUrl, GET /v1.0/servicePrincipals/{id}/owners.
 * - update: PATCH /v1.0/servicePrincipals/{id}; owners through owners/$ref.
 * - delete: DELETE /v1.0/servicePrincipals/{id}, then GET until it answers 404 five times in a row.
 *   With useExisting, a failed DELETE is ignored and there is no wait.
 */
import type { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { randomUUID } from "crypto";
import { RestApiError } from "../../../lib/rest-client";
import { retryWhile, waitUntil } from "../consistency";
import { GraphSession, ownersAfterCreate } from "../graph";
import { diffFields, Failures, FieldRule, PartialCreateError, ProviderContext, ResourceHandler } from "../resource";
import {
  asRecord,
  asRecords,
  defined,
  isGuid,
  odataString,
  Plain,
  sameStringSet,
  stringList,
  stringOrEmpty,
  typedBody,
  unwrapSecrets,
} from "../values";
import { featureTagsFromTags } from "./application";

export const servicePrincipalToken = "azuread:index/servicePrincipal:ServicePrincipal";

const idPrefix = "/servicePrincipals/";

export function servicePrincipalObjectId(id: string): string | undefined {
  return id.startsWith(idPrefix) && isGuid(id.slice(idPrefix.length)) ? id.slice(idPrefix.length) : undefined;
}

/** Inputs written to Graph on create and update (Graph names on the right). */
const writableFields: Record<string, string> = {
  accountEnabled: "accountEnabled",
  alternativeNames: "alternativeNames",
  appRoleAssignmentRequired: "appRoleAssignmentRequired",
  description: "description",
  loginUrl: "loginUrl",
  notes: "notes",
  notificationEmailAddresses: "notificationEmailAddresses",
  preferredSingleSignOnMode: "preferredSingleSignOnMode",
  tags: "tags",
};
/** Inputs that are not written to Graph and are kept in state as given. */
const keptInputs = ["features", "featureTags", "samlSingleSignOn", "useExisting"];

function graphBody(inputs: Plain, fields: readonly string[] = Object.keys(writableFields)): Plain {
  const body: Plain = {};
  for (const field of fields) {
    const value = inputs[field];
    if (value === undefined || value === null) continue;
    body[writableFields[field]] = value;
  }
  return body;
}

/**
 * samlSingleSignOnSettings as v3.8.0's expandSamlSingleSignOn (serviceprincipals.go) gives it to the
 * create and the update: `{}` when samlSingleSignOn is not set, else its relayState.
 */
export function samlSingleSignOnSettings(inputs: Plain): Plain {
  const saml = Array.isArray(inputs.samlSingleSignOn) ? inputs.samlSingleSignOn[0] : inputs.samlSingleSignOn;
  if (saml === undefined || saml === null || typeof saml !== "object") return {};
  return { relayState: stringOrEmpty((saml as Plain).relayState) };
}

/** The Graph service principal, flattened as the resource's and the data source's outputs. */
export function servicePrincipalOutputs(sp: Plain, beta: Plain): Plain {
  const tags = stringList(sp.tags);
  const appRoles = asRecords(sp.appRoles).map((role) => ({
    allowedMemberTypes: stringList(role.allowedMemberTypes),
    description: stringOrEmpty(role.description),
    displayName: stringOrEmpty(role.displayName),
    enabled: role.isEnabled !== false,
    id: stringOrEmpty(role.id),
    value: stringOrEmpty(role.value),
  }));
  const scopes = asRecords(sp.oauth2PermissionScopes).map((scope) => ({
    adminConsentDescription: stringOrEmpty(scope.adminConsentDescription),
    adminConsentDisplayName: stringOrEmpty(scope.adminConsentDisplayName),
    enabled: scope.isEnabled !== false,
    id: stringOrEmpty(scope.id),
    type: stringOrEmpty(scope.type),
    userConsentDescription: stringOrEmpty(scope.userConsentDescription),
    userConsentDisplayName: stringOrEmpty(scope.userConsentDisplayName),
    value: stringOrEmpty(scope.value),
  }));
  const ids = (items: { value: string; id: string }[]) =>
    Object.fromEntries(items.filter((item) => item.value).map((item) => [item.value, item.id]));
  const features = featureTagsFromTags(tags, {
    customSingleSignOnApp: "WindowsAzureActiveDirectoryCustomSingleSignOnApplication",
    enterpriseApplication: "WindowsAzureActiveDirectoryIntegratedApp",
    galleryApplication: "WindowsAzureActiveDirectoryGalleryApplicationNonPrimaryV1",
    visibleToUsers: "HideApp",
  }).map((feature) => ({ ...feature, visibleToUsers: !feature.visibleToUsers }));
  return {
    objectId: stringOrEmpty(sp.id),
    clientId: stringOrEmpty(sp.appId),
    displayName: stringOrEmpty(sp.displayName),
    accountEnabled: sp.accountEnabled !== false,
    alternativeNames: stringList(sp.alternativeNames),
    appRoleAssignmentRequired: sp.appRoleAssignmentRequired === true,
    appRoles,
    appRoleIds: ids(appRoles),
    oauth2PermissionScopes: scopes,
    oauth2PermissionScopeIds: ids(scopes),
    applicationTenantId: stringOrEmpty(sp.appOwnerOrganizationId),
    description: stringOrEmpty(sp.description),
    notes: stringOrEmpty(sp.notes),
    homepageUrl: stringOrEmpty(sp.homepage),
    loginUrl: stringOrEmpty(sp.loginUrl),
    logoutUrl: stringOrEmpty(sp.logoutUrl),
    notificationEmailAddresses: stringList(sp.notificationEmailAddresses),
    preferredSingleSignOnMode: stringOrEmpty(sp.preferredSingleSignOnMode),
    redirectUris: stringList(sp.replyUrls),
    samlMetadataUrl: stringOrEmpty(beta.samlMetadataUrl ?? sp.samlMetadataUrl),
    servicePrincipalNames: stringList(sp.servicePrincipalNames),
    signInAudience: stringOrEmpty(sp.signInAudience),
    tags,
    features,
    featureTags: featureTagsFromTags(tags),
    type: stringOrEmpty(sp.servicePrincipalType),
  };
}

/** Reads a service principal with the calls of the real provider's read; undefined when gone. */
export async function readServicePrincipal(session: GraphSession, objectId: string): Promise<Plain | undefined> {
  const sp = await session.getOrUndefined(`read service principal ${objectId}`, `v1.0/servicePrincipals/${objectId}`);
  if (!sp) return undefined;
  const beta =
    (await session.getOrUndefined(
      `read service principal ${objectId} (beta)`,
      `beta/servicePrincipals/${objectId}?$select=samlMetadataUrl`,
    )) ?? {};
  return servicePrincipalOutputs(sp, beta);
}

async function outputs(session: GraphSession, objectId: string, inputs: Plain): Promise<Plain | undefined> {
  const read = await readServicePrincipal(session, objectId);
  if (!read) return undefined;
  const kept: Plain = {};
  for (const key of keptInputs) if (inputs[key] !== undefined && inputs[key] !== null) kept[key] = inputs[key];
  return defined({ ...read, ...kept, id: `${idPrefix}${objectId}`, owners: await session.ownerIds("servicePrincipals", objectId) });
}

const diffRules: FieldRule[] = [
  { name: "clientId", replace: true },
  { name: "accountEnabled", computed: true },
  { name: "alternativeNames", set: true },
  { name: "appRoleAssignmentRequired", computed: true },
  { name: "description" },
  { name: "loginUrl" },
  { name: "notes" },
  { name: "notificationEmailAddresses", set: true },
  { name: "preferredSingleSignOnMode" },
  { name: "tags", set: true, computed: true },
  { name: "owners", set: true },
  { name: "useExisting", computed: true },
  { name: "features", computed: true },
  { name: "featureTags", computed: true },
  { name: "samlSingleSignOn" },
];

/** The real provider's answer when the application already has a service principal and useExisting is not set. */
export function servicePrincipalExistsError(objectId: string): Error {
  return new Error(
    `A resource with the ID "${objectId}" already exists: To be managed via Terraform, this resource needs to be imported into the State. ` +
      `Please see the resource documentation for "azuread_service_principal" for more information. ` +
      `(In Pulumi: set useExisting: true on the ServicePrincipal to adopt it, or import it.)`,
  );
}

/** Graph's answers while a new application has not replicated to where service principals are made. */
export function isApplicationNotReplicated(error: unknown): boolean {
  if (!(error instanceof RestApiError)) return false;
  if (error.status === 400)
    return /The appId '.+' of the service principal does not reference a valid application object/.test(error.serviceMessage);
  if (error.status === 403)
    return /When using this permission, the backing application of the service principal being created must in the local tenant/.test(
      error.serviceMessage,
    );
  return false;
}

/**
 * terraform-plugin-sdk's d.HasChange("owners") in a create, where the prior state is empty: a set
 * attribute that is absent or empty in the configuration equals the empty prior value.
 */
export function ownersChangeOnCreate(owners: unknown): boolean {
  return stringList(owners).length > 0;
}

/**
 * PATCH the principal as v3.8.0's servicePrincipalResourceUpdate builds it, then owners when asked,
 * then read. Every property is sent: explicit nulls (nullable.NoZero) and empty lists clear,
 * accountEnabled is its default true when not set, appRoleAssignmentRequired false, and tags (optional
 * and computed) are the prior state's when not set: none on a create.
 */
async function updateServicePrincipal(
  session: GraphSession,
  objectId: string,
  news: Plain,
  changeOwners: boolean,
  olds: Plain,
): Promise<Plain> {
  const body: Plain = {};
  for (const [field, graphName] of Object.entries(writableFields)) {
    const value = news[field];
    if (value === undefined || value === null || value === "") {
      if (field === "accountEnabled") body[graphName] = true;
      else if (field === "appRoleAssignmentRequired") body[graphName] = false;
      else if (field === "tags") body[graphName] = stringList(olds.tags);
      else body[graphName] = ["alternativeNames", "notificationEmailAddresses"].includes(field) ? [] : null;
    } else {
      body[graphName] = value;
    }
  }
  await session.request({
    operation: `update service principal ${objectId}`,
    method: "PATCH",
    path: `v1.0/servicePrincipals/${objectId}`,
    body: typedBody("servicePrincipal", { ...body, samlSingleSignOnSettings: samlSingleSignOnSettings(news) }),
  });
  if (changeOwners) await session.setOwners("servicePrincipals", objectId, stringList(news.owners));
  const outs = await outputs(session, objectId, news);
  if (!outs) throw new Error(`service principal ${objectId} was deleted while it was being updated`);
  return outs;
}

export const servicePrincipal: ResourceHandler = {
  check(_olds: Plain, news: Plain): CheckResult {
    const failures = new Failures();
    const plain = unwrapSecrets<Plain>(news);
    if (plain.clientId === undefined || plain.clientId === null) {
      failures.add("clientId", "clientId is required: pass the Application's clientId output");
    } else if (failures.known(plain.clientId) && !isGuid(plain.clientId)) {
      failures.add("clientId", `clientId must be the application's client id (a GUID); got '${plain.clientId}'`);
    }
    stringList(plain.owners).forEach((owner, index) => {
      if (failures.known(owner) && !isGuid(owner))
        failures.add(`owners[${index}]`, `owners must be object ids (GUIDs) of users or service principals; got '${owner}'`);
    });
    return { inputs: news, failures: failures.list };
  },

  diff(_id: string, olds: Plain, news: Plain): DiffResult {
    return diffFields(olds, news, diffRules);
  },

  async create(context: ProviderContext, inputs: Plain): Promise<CreateResult> {
    const session = await context.session();
    const clientId = String(inputs.clientId);
    const caller = session.callerObjectId;
    const existing = await session.list(
      `look for a service principal of application ${clientId}`,
      `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq ${odataString(clientId)}`)}`,
    );
    if (existing.length > 1) {
      throw new Error(
        `Could not list existing service principals: unexpected number of service principals returned (expected: 1, received: ${existing.length})`,
      );
    }
    if (existing.length === 1) {
      const objectId = stringOrEmpty(existing[0].id);
      if (!objectId) throw new Error("API error: service principal returned with nil or empty object ID");
      if (inputs.useExisting !== true) throw servicePrincipalExistsError(objectId);
      // Adopted as the real provider does: through its update function, where owners are reconciled only
      // if d.HasChange("owners"). On a create there is no prior state: an empty or absent owners list
      // is no change (the principal keeps the owners it has), a non-empty one is.
      // v3.8.0 sets the id (d.SetId) before calling the update, so a failure from here on leaves the
      // principal in state with an initialization error, and the next run updates it.
      const adoptedId = `${idPrefix}${objectId}`;
      try {
        const outs = await updateServicePrincipal(session, objectId, inputs, ownersChangeOnCreate(inputs.owners), {});
        return { id: adoptedId, outs };
      } catch (error) {
        throw new PartialCreateError(
          `service principal ${objectId} was adopted (useExisting) but not updated: ${(error as Error).message}`,
          adoptedId,
          { ...inputs, id: adoptedId, objectId, clientId },
        );
      }
    }
    const wantedOwners = stringList(inputs.owners);
    const otherOwners = wantedOwners.filter((owner) => owner.toLowerCase() !== caller.toLowerCase());
    const initialOwners = [caller, ...otherOwners.slice(0, 19)];
    const created = await retryWhile(context.timing.notFound, isApplicationNotReplicated, () =>
      session.request({
        operation: `create the service principal of application ${clientId}`,
        method: "POST",
        path: "v1.0/servicePrincipals",
        body: typedBody("servicePrincipal", {
          ...graphBody(
            inputs,
            Object.keys(writableFields).filter((field) => field !== "description"),
          ),
          appId: clientId,
          description: `TERRAFORM_UPDATE_${randomUUID()}`,
          samlSingleSignOnSettings: samlSingleSignOnSettings(inputs),
          "owners@odata.bind": initialOwners.map((owner) => session.directoryObjectReference(owner)),
        }),
      }),
    );
    const objectId = String(created.data.id ?? "");
    if (!isGuid(objectId)) throw new Error(`Microsoft Graph: create the service principal of application ${clientId} returned no id`);
    const id = `${idPrefix}${objectId}`;
    try {
      // The real description is set after the create. v3.8.0 sends this PATCH with the default
      // options (no 404 retry: the vendored go-azure-sdk's msgraph client has its default retry
      // functions commented out), so a principal not yet replicated fails the create here.
      await session
        .request({
          operation: `set the description of service principal ${objectId}`,
          method: "PATCH",
          path: `v1.0/servicePrincipals/${objectId}`,
          body: typedBody("servicePrincipal", { description: stringOrEmpty(inputs.description) || null }),
        })
        .catch((error: unknown) => {
          const reason =
            error instanceof RestApiError && error.status === 404
              ? "Timed out whilst waiting for new service principal to be replicated in Azure AD"
              : "Failed to patch service principal after creating";
          throw new Error(`${reason}: ${(error as Error).message}`);
        });
      await session.setOwners("servicePrincipals", objectId, ownersAfterCreate(caller, wantedOwners, otherOwners), initialOwners);
      const outs = await outputs(session, objectId, inputs);
      if (!outs) throw new Error(`service principal ${objectId} answered 404 right after it was created`);
      return { id, outs };
    } catch (error) {
      throw new PartialCreateError(`service principal ${objectId} was created but not finished: ${(error as Error).message}`, id, {
        ...inputs,
        id,
        objectId,
        clientId,
      });
    }
  },

  async read(context: ProviderContext, id: string, props: Plain): Promise<ReadResult> {
    const objectId = servicePrincipalObjectId(id);
    if (!objectId) throw new Error(`azuread: '${id}' is not a service principal id; expected /servicePrincipals/<objectId>`);
    const session = await context.session();
    const outs = await outputs(session, objectId, props);
    if (!outs) return { id: "", props: {}, inputs: {} };
    const inputs: Plain = { clientId: outs.clientId };
    for (const key of [...Object.keys(writableFields), ...keptInputs, "owners"]) if (outs[key] !== undefined) inputs[key] = outs[key];
    return { id, props: outs, inputs };
  },

  async update(context: ProviderContext, id: string, olds: Plain, news: Plain): Promise<UpdateResult> {
    const objectId = servicePrincipalObjectId(id);
    if (!objectId) throw new Error(`azuread: '${id}' is not a service principal id; expected /servicePrincipals/<objectId>`);
    const session = await context.session();
    return { outs: await updateServicePrincipal(session, objectId, news, !sameStringSet(olds.owners, news.owners), olds) };
  },

  async delete(context: ProviderContext, id: string, props: Plain): Promise<void> {
    const objectId = servicePrincipalObjectId(id);
    if (!objectId) throw new Error(`azuread: '${id}' is not a service principal id; expected /servicePrincipals/<objectId>`);
    const session = await context.session();
    const request = session.request({
      operation: `delete service principal ${objectId}`,
      method: "DELETE",
      path: `v1.0/servicePrincipals/${objectId}`,
    });
    // An adopted principal (useExisting) may be one that cannot be deleted: the real provider
    // ignores the answer then, and does not wait.
    if (asRecord(unwrapSecrets(props)).useExisting === true) {
      await request.catch(() => undefined);
      return;
    }
    await request;
    await waitUntil(
      `delete service principal ${objectId}`,
      context.timing.deletion,
      async () =>
        (await session.getOrUndefined(`check service principal ${objectId} is gone`, `v1.0/servicePrincipals/${objectId}`)) === undefined,
    );
  },
};
