/**
 * azuread:index/application:Application, as the real provider (terraform-provider-azuread v3.8.0,
 * internal/services/applications/application_resource.go) drives Graph:
 *
 * - create: with preventDuplicateNames only, GET /v1.0/applications?$filter=displayName eq '...' must
 *   find nothing (otherwise the provider's "An existing ... was found" error); POST /v1.0/applications
 *   under the real name with the caller (and up to 19 wanted owners) as owners, never replayed and
 *   never de-duplicated; PATCH a temporary name, then the real one (each retried as v3.8.0's
 *   applicationUpdateRetryFunc retries: 404 and 409 while the new object replicates; its 400 branch
 *   never matches Graph's message, see isApplicationUpdateRetried); add the other owners; remove the caller unless
 *   wanted as an owner; read. The id is "/applications/<objectId>".
 * - read: GET /v1.0/applications/{id} (404: gone, empty id), GET /beta/applications/{id}?$select=...,
 *   GET /v1.0/applications/{id}/owners (following @odata.nextLink).
 * - update: PATCH /v1.0/applications/{id}; owners added and removed through owners/$ref.
 * - delete: DELETE /v1.0/applications/{id} (a 404 is an error), then GET until it answers 404 five times in a row.
 *
 * Managed here: displayName, signInAudience, description, notes, tags, requiredResourceAccesses,
 * owners, preventDuplicateNames. Every other input is accepted and kept in state as given.
 */
import { randomUUID } from "crypto";
import { RestApiError } from "../../../lib/rest-client";
import type { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
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
  sameValue,
  stringList,
  stringOrEmpty,
  typedBody,
  unwrapSecrets,
} from "../values";

/**
 * v3.8.0's applicationUpdateRetryFunc (internal/services/applications/applications.go), the RetryFunc
 * of the PATCHes right after a create: 404 or 409 (replication). Its 400 branch,
 * `o.Error.Match("Permission (scope or role) cannot be deleted or updated unless disabled first")`,
 * compiles that text as a regular expression (go-azure-sdk sdk/odata/errors.go `Error.Match`) against
 * "<code>: <message>": the parentheses are a group, so it matches only a message without them and
 * never Graph's literal "Permission (scope or role) cannot be ...". The same expression is kept here.
 */
const permissionMustBeDisabled = /Permission (scope or role) cannot be deleted or updated unless disabled first/;

export function isApplicationUpdateRetried(error: unknown): boolean {
  if (!(error instanceof RestApiError)) return false;
  if (error.status === 404 || error.status === 409) return true;
  const odataError = [error.code, error.serviceMessage].filter((part) => part !== undefined).join(": ");
  return error.status === 400 && permissionMustBeDisabled.test(odataError);
}

export const applicationToken = "azuread:index/application:Application";

/** Inputs this stand-in writes to Graph; any other input is kept as given. */
const managedInputs = [
  "displayName",
  "signInAudience",
  "description",
  "notes",
  "tags",
  "requiredResourceAccesses",
  "owners",
  "preventDuplicateNames",
];
/** Outputs that are not inputs. */
const computedOutputs = [
  "id",
  "objectId",
  "clientId",
  "featureTags",
  "appRoleIds",
  "oauth2PermissionScopeIds",
  "identifierUris",
  "publisherDomain",
  "disabledByMicrosoft",
  "logoUrl",
  "templateId",
  "oauth2PostResponseRequired",
];
const signInAudiences = ["AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"];
const idPrefix = "/applications/";

interface ResourceAccess {
  readonly id: string;
  readonly type: string;
}
interface RequiredResourceAccess {
  readonly resourceAppId: string;
  readonly resourceAccesses: ResourceAccess[];
}

/** "/applications/<objectId>" -> objectId. */
export function applicationObjectId(id: string): string | undefined {
  return id.startsWith(idPrefix) && isGuid(id.slice(idPrefix.length)) ? id.slice(idPrefix.length) : undefined;
}

/** The `applicationId` input of a credential resource: required, and the Application's id output. */
export function checkApplicationIdInput(failures: Failures, value: unknown): void {
  if (value === undefined || value === null) {
    failures.add("applicationId", "applicationId is required: pass the Application's id output (/applications/<objectId>)");
  } else if (failures.known(value) && !(typeof value === "string" && applicationObjectId(value))) {
    failures.add("applicationId", `applicationId must be the Application's id output, /applications/<objectId>; got '${value}'`);
  }
}

function requiredResourceAccesses(value: unknown): RequiredResourceAccess[] {
  return asRecords(value).map((entry) => ({
    resourceAppId: stringOrEmpty(entry.resourceAppId),
    resourceAccesses: asRecords(entry.resourceAccesses).map((access) => ({
      id: stringOrEmpty(access.id),
      type: stringOrEmpty(access.type),
    })),
  }));
}

/** Order of blocks and of accesses does not matter to Entra (Terraform sets). */
function sameRequiredResourceAccesses(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown) =>
    requiredResourceAccesses(unwrapSecrets(value))
      .map((entry) => ({
        resourceAppId: entry.resourceAppId.toLowerCase(),
        resourceAccesses: entry.resourceAccesses.map((access) => `${access.id.toLowerCase()}/${access.type}`).sort(),
      }))
      .sort((x, y) => x.resourceAppId.localeCompare(y.resourceAppId));
  return sameValue(canonical(a), canonical(b));
}

/** The Graph body for the managed fields; explicit nulls clear, as in the real provider. */
function graphBody(inputs: Plain): Plain {
  return {
    displayName: inputs.displayName,
    signInAudience: inputs.signInAudience ?? "AzureADMyOrg",
    description: stringOrEmpty(inputs.description) || null,
    notes: stringOrEmpty(inputs.notes) || null,
    tags: stringList(inputs.tags),
    requiredResourceAccess: requiredResourceAccesses(inputs.requiredResourceAccesses).map((entry) => ({
      resourceAppId: entry.resourceAppId,
      resourceAccess: entry.resourceAccesses.map((access) => ({ id: access.id, type: access.type })),
    })),
  };
}

const featureTagNames = {
  customSingleSignOn: "WindowsAzureActiveDirectoryCustomSingleSignOnApplication",
  enterprise: "WindowsAzureActiveDirectoryIntegratedApp",
  gallery: "WindowsAzureActiveDirectoryGalleryApplicationNonPrimaryV1",
  hide: "HideApp",
};

/** featureTags are a view of the tags, as in the real provider. */
export function featureTagsFromTags(tags: string[], names: Record<string, string> = featureTagNames): Plain[] {
  const result: Plain = {};
  for (const [field, tag] of Object.entries(names)) result[field] = tags.includes(tag);
  return [result];
}

function idMap(items: unknown): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of asRecords(items)) {
    if (typeof item.value === "string" && item.value && typeof item.id === "string") map[item.value] = item.id;
  }
  return map;
}

/** Outputs named as the SDK's Application output properties. */
function outputs(app: Plain, beta: Plain, owners: string[], inputs: Plain): Plain {
  const passthrough: Plain = {};
  for (const [key, value] of Object.entries(inputs)) if (!managedInputs.includes(key) && value !== undefined) passthrough[key] = value;
  const tags = stringList(app.tags);
  return defined({
    // Computed first, so that an input of the same name the stand-in does not manage is kept as given.
    featureTags: featureTagsFromTags(tags),
    appRoleIds: idMap(app.appRoles),
    oauth2PermissionScopeIds: idMap(asRecord(app.api).oauth2PermissionScopes),
    identifierUris: stringList(app.identifierUris),
    publisherDomain: stringOrEmpty(app.publisherDomain),
    disabledByMicrosoft: stringOrEmpty(app.disabledByMicrosoftStatus),
    logoUrl: stringOrEmpty(asRecord(app.info).logoUrl),
    templateId: stringOrEmpty(beta.applicationTemplateId ?? app.applicationTemplateId),
    oauth2PostResponseRequired: beta.oauth2RequirePostResponse === true,
    ...passthrough,
    id: `${idPrefix}${app.id}`,
    objectId: app.id,
    clientId: app.appId,
    displayName: stringOrEmpty(app.displayName),
    signInAudience: stringOrEmpty(app.signInAudience),
    description: stringOrEmpty(app.description),
    notes: stringOrEmpty(app.notes),
    tags,
    requiredResourceAccesses: asRecords(app.requiredResourceAccess).map((entry) => ({
      resourceAppId: stringOrEmpty(entry.resourceAppId),
      resourceAccesses: asRecords(entry.resourceAccess).map((access) => ({
        id: stringOrEmpty(access.id),
        type: stringOrEmpty(access.type),
      })),
    })),
    owners,
    preventDuplicateNames: inputs.preventDuplicateNames === true,
  });
}

/** The inputs a refresh reports: what the object has now, under the input names. */
function inputsFromOutputs(outs: Plain): Plain {
  const inputs: Plain = {};
  for (const [key, value] of Object.entries(outs)) {
    if (!computedOutputs.includes(key)) inputs[key] = value;
  }
  return inputs;
}

async function readApplication(session: GraphSession, objectId: string, inputs: Plain): Promise<Plain | undefined> {
  const app = await session.getOrUndefined(`read application ${objectId}`, `v1.0/applications/${objectId}`);
  if (!app) return undefined;
  const beta =
    (await session.getOrUndefined(
      `read application ${objectId} (beta)`,
      `beta/applications/${objectId}?$select=applicationTemplateId,oauth2RequirePostResponse`,
    )) ?? {};
  const owners = await session.ownerIds("applications", objectId);
  return outputs(app, beta, owners, inputs);
}

const diffRules: FieldRule[] = [
  { name: "displayName" },
  { name: "signInAudience" },
  { name: "description" },
  { name: "notes" },
  { name: "tags", set: true, computed: true },
  { name: "requiredResourceAccesses", equal: sameRequiredResourceAccesses },
  { name: "owners", set: true },
  { name: "templateId", replace: true, computed: true },
];

export const application: ResourceHandler = {
  check(_olds: Plain, news: Plain): CheckResult {
    const failures = new Failures();
    const inputs: Plain = { ...news, signInAudience: news.signInAudience ?? "AzureADMyOrg" };
    const plain = unwrapSecrets<Plain>(inputs);
    const nameMissing = plain.displayName === undefined || plain.displayName === null;
    if (nameMissing || (failures.known(plain.displayName) && (typeof plain.displayName !== "string" || plain.displayName.trim() === ""))) {
      failures.add("displayName", "displayName is required: give the app registration a name, e.g. 'kingswaysoft-prod'");
    }
    if (failures.known(plain.signInAudience) && !signInAudiences.includes(String(plain.signInAudience))) {
      failures.add("signInAudience", `signInAudience must be one of ${signInAudiences.join(", ")}; got '${plain.signInAudience}'`);
    }
    if (failures.known(plain.requiredResourceAccesses)) {
      asRecords(plain.requiredResourceAccesses).forEach((entry, index) => {
        if (failures.known(entry.resourceAppId) && !isGuid(entry.resourceAppId)) {
          failures.add(
            `requiredResourceAccesses[${index}].resourceAppId`,
            `resourceAppId must be the client id (a GUID) of the API, e.g. 00000007-0000-0000-c000-000000000000 for Dynamics CRM; got '${entry.resourceAppId}'`,
          );
        }
        asRecords(entry.resourceAccesses).forEach((access, accessIndex) => {
          const where = `requiredResourceAccesses[${index}].resourceAccesses[${accessIndex}]`;
          if (failures.known(access.id) && !isGuid(access.id))
            failures.add(`${where}.id`, `id must be the GUID of the permission scope or app role; got '${access.id}'`);
          if (failures.known(access.type) && access.type !== "Scope" && access.type !== "Role") {
            failures.add(
              `${where}.type`,
              `type must be 'Scope' (delegated permission) or 'Role' (application permission); got '${access.type}'`,
            );
          }
        });
      });
    }
    stringList(plain.owners).forEach((owner, index) => {
      if (failures.known(owner) && !isGuid(owner))
        failures.add(`owners[${index}]`, `owners must be object ids (GUIDs) of users or service principals; got '${owner}'`);
    });
    return { inputs, failures: failures.list };
  },

  diff(_id: string, olds: Plain, news: Plain): DiffResult {
    const result = diffFields(olds, news, diffRules);
    // Inputs the stand-in does not manage still show as changes, so state follows the program.
    const unmanagedChanged = Object.keys({ ...news })
      .filter((key) => !managedInputs.includes(key) && key !== "templateId")
      .some((key) => !sameValue(olds[key], news[key]));
    return { ...result, changes: result.changes || unmanagedChanged };
  },

  async create(context: ProviderContext, inputs: Plain): Promise<CreateResult> {
    const session = await context.session();
    const caller = session.callerObjectId;
    const displayName = String(inputs.displayName);
    if (inputs.preventDuplicateNames === true) {
      const existing = (
        await session.list(
          `look for applications named '${displayName}'`,
          `v1.0/applications?$filter=${encodeURIComponent(`displayName eq ${odataString(displayName)}`)}`,
        )
      ).filter((app) => app.displayName === displayName);
      if (existing.length > 0) {
        throw new Error(
          `An existing "azuread_application" with name "${displayName}" (ID: "${existing[0].id}") was found and \`prevent_duplicate_names\` was specified: ` +
            `To be managed via Terraform, this resource needs to be imported into the State. Please see the resource documentation for "azuread_application" for more information.`,
        );
      }
    }
    const wantedOwners = stringList(inputs.owners);
    const otherOwners = wantedOwners.filter((owner) => owner.toLowerCase() !== caller.toLowerCase());
    const initialOwners = [caller, ...otherOwners.slice(0, 19)];
    // One POST, never replayed and never matched to an existing application: like the real provider,
    // a create whose answer is lost is an error, and running it again makes a second application.
    const created = await session.request({
      operation: `create application '${displayName}'`,
      method: "POST",
      path: "v1.0/applications",
      body: typedBody("application", {
        ...graphBody(inputs),
        "owners@odata.bind": initialOwners.map((owner) => session.directoryObjectReference(owner)),
      }),
    });
    const objectId = String(created.data.id ?? "");
    const clientId = String(created.data.appId ?? "");
    if (!isGuid(objectId) || !isGuid(clientId))
      throw new Error(`Microsoft Graph: create application '${displayName}' returned no id or appId`);
    const id = `${idPrefix}${objectId}`;
    try {
      // A temporary name and then the real one, each PATCH retried while it answers 404: the first
      // success proves the new object has replicated.
      const temporaryName = `TERRAFORM_UPDATE_${randomUUID()}`;
      for (const name of [temporaryName, displayName]) {
        await retryWhile(context.timing.notFound, isApplicationUpdateRetried, () =>
          session.request({
            operation: `set the display name of application ${objectId}`,
            method: "PATCH",
            path: `v1.0/applications/${objectId}`,
            body: typedBody("application", { displayName: name }),
          }),
        );
      }
      // Owners past the first 20 are added, and the caller is removed unless wanted.
      await session.setOwners("applications", objectId, ownersAfterCreate(caller, wantedOwners, otherOwners), initialOwners);
      const outs = await readApplication(session, objectId, inputs);
      if (!outs) throw new Error(`application ${objectId} answered 404 right after it was created`);
      return { id, outs };
    } catch (error) {
      throw new PartialCreateError(`application ${objectId} was created but not finished: ${(error as Error).message}`, id, {
        ...inputs,
        id,
        objectId,
        clientId,
      });
    }
  },

  async read(context: ProviderContext, id: string, props: Plain): Promise<ReadResult> {
    const objectId = applicationObjectId(id);
    if (!objectId) throw new Error(`azuread: '${id}' is not an application id; expected /applications/<objectId>`);
    const session = await context.session();
    // The previous outputs stand in for the inputs the stand-in keeps as given.
    const outs = await readApplication(session, objectId, inputsFromOutputs(props));
    if (!outs) return { id: "", props: {}, inputs: {} };
    return { id, props: outs, inputs: inputsFromOutputs(outs) };
  },

  async update(context: ProviderContext, id: string, olds: Plain, news: Plain): Promise<UpdateResult> {
    const objectId = applicationObjectId(id);
    if (!objectId) throw new Error(`azuread: '${id}' is not an application id; expected /applications/<objectId>`);
    const session = await context.session();
    await context.applicationLocks.run(objectId, async () => {
      await session.request({
        operation: `update application ${objectId}`,
        method: "PATCH",
        path: `v1.0/applications/${objectId}`,
        body: typedBody("application", graphBody(news)),
      });
      if (!sameStringSet(olds.owners, news.owners)) await session.setOwners("applications", objectId, stringList(news.owners));
    });
    const outs = await readApplication(session, objectId, news);
    if (!outs) throw new Error(`application ${objectId} was deleted while it was being updated`);
    return { outs };
  },

  async delete(context: ProviderContext, id: string): Promise<void> {
    const objectId = applicationObjectId(id);
    if (!objectId) throw new Error(`azuread: '${id}' is not an application id; expected /applications/<objectId>`);
    const session = await context.session();
    // A 404 is an error, as in the real provider: refresh first to drop what was deleted outside Pulumi.
    await session.request({ operation: `delete application ${objectId}`, method: "DELETE", path: `v1.0/applications/${objectId}` });
    await waitUntil(
      `delete application ${objectId}`,
      context.timing.deletion,
      async () => (await session.getOrUndefined(`check application ${objectId} is gone`, `v1.0/applications/${objectId}`)) === undefined,
    );
  },
};
