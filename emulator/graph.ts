// Microsoft Graph v1.0 (and beta, which reads the same objects): applications, service
// principals, owners, password, key and federated credentials, and oauth2PermissionGrants, as the
// azuread provider calls them (reference/entra-graph-for-azuread-provider.md). Routing and answers
// live here; the objects live behind DirectoryStore; credentials in graph-credentials.ts.
import { randomUUID } from "node:crypto";
import { graphError, ServiceError } from "./errors";
import { bearer, verifyToken, type TokenClaims } from "./entra";
import { isGuid, RequestContext, sameId, segments } from "./http";
import { newApplicationDoc, newServicePrincipalDoc } from "./model";
import type { DirectoryKind, DirectoryRecord, DirectoryStore } from "./directory-store";
import {
  APPLICATION_SCHEMA,
  checkODataType,
  checkRequestBody,
  checkSelect,
  sameReadOnlyValue,
  SERVICE_PRINCIPAL_SCHEMA,
} from "./graph-schema";
import {
  addPassword,
  credentialNotYetReplicated,
  federatedCredentials,
  graphDateTime,
  removePassword,
  setKeyCredentials,
} from "./graph-credentials";
import { requirePermission } from "./graph-permissions";
import { routeApplicationPolicies, routePolicies } from "./app-management-policies";
import type { ApplicationRecord, GraphDoc, ServicePrincipalRecord } from "./store";

/** Fields the emulator never takes from a request body (Graph sets them itself). */
const SERVER_SET = new Set([
  "id",
  "appId",
  "createdDateTime",
  "deletedDateTime",
  "publisherDomain",
  "passwordCredentials",
  "keyCredentials",
]);

/** One Graph request, with what every route needs. */
export interface GraphCall {
  ctx: RequestContext;
  claims: TokenClaims;
  directory: DirectoryStore;
  /** https://<host>/<version>: the base of @odata.context and @odata.nextLink. */
  base: string;
}

export function notFound(id: string): ServiceError {
  return graphError(
    404,
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

export function badRequest(message: string): ServiceError {
  return graphError(400, "Request_BadRequest", message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Graph PATCH: top-level fields replace; nested complex values merge; explicit null clears. */
function merge(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(patch)) {
    if (name.includes("@odata.") || SERVER_SET.has(name)) continue;
    if (isPlainObject(value) && isPlainObject(target[name])) merge(target[name] as Record<string, unknown>, value);
    else target[name] = structuredClone(value);
  }
}

/**
 * A tiny $filter: clauses `field eq 'value'`, `startswith(field,'value')` or, on a string collection,
 * `field/any(x:x eq 'value')` (as Graph filters applications by tag), joined by `and`.
 */
function filterDocs(ctx: RequestContext, docs: GraphDoc[]): GraphDoc[] {
  const raw = ctx.query.get("$filter");
  if (!raw) return docs;
  const predicates = raw.split(/\s+and\s+/i).map((clause) => {
    const equals = /^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(clause);
    const startsWith = /^\s*startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$/i.exec(clause);
    const any = /^\s*(\w+)\/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$/i.exec(clause);
    if (any && any[2] === any[3]) {
      const wanted = any[4].replace(/''/g, "'").toLowerCase();
      return (doc: GraphDoc) => {
        const values = doc[any[1]];
        return Array.isArray(values) && values.some((value) => typeof value === "string" && value.toLowerCase() === wanted);
      };
    }
    const match = equals ?? startsWith;
    if (!match) {
      throw graphError(
        400,
        "Request_UnsupportedQuery",
        `Unsupported or invalid query filter clause specified for property '${clause.trim()}'.`,
      );
    }
    const field = match[1];
    const value = match[2].replace(/''/g, "'").toLowerCase();
    return (doc: GraphDoc) =>
      typeof doc[field] === "string" &&
      (equals ? (doc[field] as string).toLowerCase() === value : (doc[field] as string).toLowerCase().startsWith(value));
  });
  return docs.filter((doc) => predicates.every((predicate) => predicate(doc)));
}

function selectedNames(ctx: RequestContext): string[] | undefined {
  const raw = ctx.query.get("$select");
  if (!raw) return undefined;
  return raw
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

/** $select: id is always kept; an unknown name is refused (strict) or ignored (lenient). */
function select(call: GraphCall, typeName: string, doc: Record<string, unknown>): Record<string, unknown> {
  const names = selectedNames(call.ctx);
  if (!names) return doc;
  if (call.ctx.core.config.strict.graphRequests) checkSelect(typeName, names, new Set(Object.keys(doc)));
  const selected: Record<string, unknown> = { id: doc.id };
  for (const name of names) if (name in doc) selected[name] = doc[name];
  return selected;
}

/**
 * A collection answer, one page at a time: the page size is $top or the configured Graph page size,
 * and @odata.nextLink carries an opaque $skiptoken. $count needs ConsistencyLevel: eventual.
 */
function sendList(call: GraphCall, entity: string, items: unknown[]): void {
  const { ctx } = call;
  const wantsCount = ctx.query.get("$count") === "true";
  if (wantsCount && ctx.core.config.strict.graphRequests && (ctx.header("consistencylevel") ?? "").toLowerCase() !== "eventual") {
    throw badRequest("$count is not currently supported without the header ConsistencyLevel: eventual.");
  }
  const top = ctx.query.get("$top");
  const pageSize = top && /^\d+$/.test(top) ? Math.min(Number(top), 999) : ctx.core.config.graphPageSize;
  const token = ctx.query.get("$skiptoken");
  const offset = token ? skipTokenOffset(token) : 0;
  const page = items.slice(offset, offset + pageSize);
  const answer: Record<string, unknown> = { "@odata.context": `${call.base}/$metadata#${entity}` };
  if (wantsCount) answer["@odata.count"] = items.length;
  if (offset + pageSize < items.length) {
    const next = new URL(`${call.base}${ctx.path.replace(/^\/(v1\.0|beta)/, "")}`);
    for (const [name, value] of ctx.query) if (name !== "$skiptoken") next.searchParams.append(name, value);
    next.searchParams.set("$skiptoken", Buffer.from(JSON.stringify({ offset: offset + pageSize })).toString("base64url"));
    answer["@odata.nextLink"] = next.toString();
  }
  answer.value = page;
  ctx.send(200, answer);
}

function skipTokenOffset(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { offset?: unknown };
    if (typeof parsed.offset === "number" && Number.isInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // fall through to the error below
  }
  throw badRequest("The $skiptoken is not valid.");
}

function sendSingle(call: GraphCall, entity: string, doc: Record<string, unknown>, status = 200): void {
  call.ctx.send(status, { "@odata.context": `${call.base}/$metadata#${entity}/$entity`, ...doc });
}

/** The object id at the end of an @odata.id / @odata.bind URL (".../directoryObjects/<id>"). */
function refId(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const match = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})['")]*\/?$/i.exec(value);
  return match ? match[1].toLowerCase() : undefined;
}

export async function handleGraph(ctx: RequestContext): Promise<boolean> {
  const version = ctx.path.startsWith("/beta/") || ctx.path === "/beta" ? "beta" : "v1.0";
  const pathSegments = segments(ctx.path, `/${version}`);
  if (pathSegments.length === 0) return false;
  const call: GraphCall = {
    ctx,
    claims: authenticate(ctx),
    directory: ctx.core.directory,
    base: `${ctx.core.urls.graphAudience}/${version}`,
  };
  const [first] = pathSegments;
  if (/^(applications|servicePrincipals)(\(|$)/.test(first)) return routeDirectoryObjects(call, pathSegments);
  if (first === "oauth2PermissionGrants") return routeGrants(call, pathSegments);
  if (first === "directoryObjects") return routeDirectoryObjectById(call, pathSegments);
  if (first === "directory") return routeDeletedItems(call, pathSegments);
  if (first === "policies") return routePolicies(call, pathSegments);
  if (first === "organization" && pathSegments.length === 1 && ctx.method === "GET") {
    ctx.op("GET /organization");
    const tenant = call.directory.tenant;
    sendList(call, "organization", [
      {
        id: tenant.tenantId,
        displayName: tenant.displayName,
        verifiedDomains: [
          { capabilities: "Email, OfficeCommunicationsOnline", isDefault: true, isInitial: true, name: tenant.domain, type: "Managed" },
        ],
      },
    ]);
    return true;
  }
  return false;
}

/**
 * Whether a new object is still unknown to the replica that answers (replication lag). Lists leave
 * it out until the lag has passed, for both kinds. Calls addressed to it by id (read, PATCH, DELETE,
 * owners, addPassword, removePassword, federated credentials) answer 404 for a new application
 * only: the real provider retries that 404 on the application's first PATCH, but sends the service
 * principal's first PATCH without a 404 retry and reads it at once, and that sequence succeeds
 * against Entra in practice, so a new service principal's lag shows in lists, in Dataverse
 * (0x80072559) and nowhere else here (emulator/README.md, "Fidelity rules").
 */
function notYetReplicated(record: { replicatedAtMs?: number }): boolean {
  return (record.replicatedAtMs ?? 0) > Date.now();
}

/**
 * The application as a replica that has not caught up shows it: password and key credentials added
 * less than the replication lag ago are not listed yet (the real provider polls until they are).
 */
function replicatedApplicationDoc(record: ApplicationRecord): GraphDoc {
  const visible = (credentials: unknown) =>
    Array.isArray(credentials)
      ? credentials.filter((credential: Record<string, unknown>) => !credentialNotYetReplicated(record, credential.keyId))
      : credentials;
  return {
    ...record.doc,
    passwordCredentials: visible(record.doc.passwordCredentials),
    keyCredentials: visible(record.doc.keyCredentials),
  };
}

/** applications, applications/{id}, applications(appId='...'), and the same for servicePrincipals. */
async function routeDirectoryObjects(call: GraphCall, pathSegments: string[]): Promise<boolean> {
  const { ctx, directory } = call;
  const head = /^(applications|servicePrincipals)(?:\((?:appId=)?'([^']*)'\))?$/.exec(pathSegments[0]);
  if (!head) return false;
  const kind = head[1] as DirectoryKind;
  const byAppId = head[2];
  const key = byAppId !== undefined ? undefined : pathSegments[1];
  const rest = pathSegments.slice(byAppId !== undefined ? 1 : 2);
  const keyText = byAppId !== undefined ? "(appId='{appId}')" : key !== undefined ? "/{id}" : "";
  ctx.op(
    `${ctx.method} /${kind}${keyText}${rest.length ? "/" + rest.map((part) => (isGuid(part) ? "{id}" : part.replace(/\(.*\)$/, "(...)"))).join("/") : ""}`,
  );

  if (byAppId === undefined && key === undefined) return routeCollection(call, kind);
  const record = byAppId !== undefined ? directory.byAppId(kind, byAppId) : directory.byId(kind, key as string);
  if (!record) throw notFound(byAppId ?? (key as string));
  if (kind === "applications" && notYetReplicated(record)) throw notFound(byAppId ?? (key as string));
  if (rest.length === 0) return routeObject(call, kind, record);
  if (rest[0] === "owners") return routeOwners(call, kind, record, rest);
  if (kind !== "applications") return false;
  const application = record as ApplicationRecord;
  if (rest.length === 1 && ctx.method === "POST" && rest[0] === "addPassword") {
    requirePermission(call, "write", application);
    sendSingle(call, "microsoft.graph.passwordCredential", addPassword(call, application, await jsonBody(ctx)));
    return true;
  }
  if (rest.length === 1 && ctx.method === "POST" && rest[0] === "removePassword") {
    requirePermission(call, "write", application);
    removePassword(call, application, await jsonBody(ctx));
    ctx.send(204, undefined);
    return true;
  }
  if (rest[0].startsWith("federatedIdentityCredentials")) return federatedCredentials(call, application, rest);
  if (rest[0] === "appManagementPolicies") return routeApplicationPolicies(call, application, rest);
  return false;
}

async function routeCollection(call: GraphCall, kind: DirectoryKind): Promise<boolean> {
  const { ctx, directory } = call;
  const typeName = kind === "applications" ? "Application" : "ServicePrincipal";
  if (ctx.method === "GET") {
    const access = requirePermission(call, "read");
    const visible = directory
      .records(kind)
      .filter((record) => !notYetReplicated(record) && (access === "all" || record.owners.includes(call.claims.oid)));
    sendList(
      call,
      kind,
      filterDocs(
        ctx,
        visible.map((record) => (kind === "applications" ? replicatedApplicationDoc(record as ApplicationRecord) : record.doc)),
      ).map((doc) => select(call, typeName, doc)),
    );
    return true;
  }
  if (ctx.method === "POST") {
    const body = await jsonBody(ctx);
    const created = kind === "applications" ? createApplication(call, body) : createServicePrincipal(call, body);
    sendSingle(call, kind, created.doc, 201);
    return true;
  }
  return false;
}

async function routeObject(call: GraphCall, kind: DirectoryKind, record: DirectoryRecord): Promise<boolean> {
  const { ctx, directory } = call;
  const typeName = kind === "applications" ? "Application" : "ServicePrincipal";
  if (ctx.method === "GET") {
    requirePermission(call, "read", record);
    const doc = kind === "applications" ? replicatedApplicationDoc(record as ApplicationRecord) : record.doc;
    sendSingle(call, kind, select(call, typeName, doc));
    return true;
  }
  if (ctx.method === "PATCH") {
    requirePermission(call, "write", record);
    const body = await jsonBody(ctx);
    const schema = kind === "applications" ? APPLICATION_SCHEMA : SERVICE_PRINCIPAL_SCHEMA;
    // A read-only property sent with the object's own value (the azuread provider sends the
    // application's `id` with its keyCredentials) is accepted and changes nothing, not even its case;
    // any other value of it is refused by the schema check.
    for (const property of [...schema.readOnly, ...(schema.createOnly ?? [])])
      if (property in body && sameReadOnlyValue(record.doc[property], body[property])) delete body[property];
    if (ctx.core.config.strict.graphRequests) checkRequestBody(schema, body, "update");
    const keyCredentials = body.keyCredentials;
    // Certificates first: one an app management policy refuses leaves the whole PATCH undone.
    if (kind === "applications" && Array.isArray(keyCredentials))
      setKeyCredentials(call, record as ApplicationRecord, keyCredentials as Record<string, unknown>[]);
    directory.update(kind, record, (target) => {
      merge(target.doc, body);
      if (Array.isArray(body["owners@odata.bind"])) addOwners(call, target, body["owners@odata.bind"] as unknown[], false);
    });
    ctx.send(204, undefined);
    return true;
  }
  if (ctx.method === "DELETE") {
    requirePermission(call, "write", record);
    const when = graphDateTime(ctx.core.now().getTime());
    if (kind === "applications") directory.deleteApplication(record as ApplicationRecord, when);
    else directory.deleteServicePrincipal(record as ServicePrincipalRecord, when);
    ctx.send(204, undefined);
    return true;
  }
  return false;
}

async function routeOwners(call: GraphCall, kind: DirectoryKind, record: DirectoryRecord, rest: string[]): Promise<boolean> {
  const { ctx, directory } = call;
  if (rest.length === 1 && ctx.method === "GET") {
    requirePermission(call, "read", record);
    sendList(
      call,
      "directoryObjects",
      record.owners.map((owner) => directory.directoryObject(owner)).filter((owner) => owner !== undefined),
    );
    return true;
  }
  if (rest.length === 2 && rest[1] === "$ref" && ctx.method === "POST") {
    requirePermission(call, "write", record);
    const body = await jsonBody(ctx);
    directory.update(kind, record, (target) => addOwners(call, target, [body["@odata.id"]], true));
    ctx.send(204, undefined);
    return true;
  }
  if (rest.length === 3 && rest[2] === "$ref" && ctx.method === "DELETE") {
    requirePermission(call, "write", record);
    const owner = rest[1].toLowerCase();
    if (!record.owners.includes(owner)) throw notFound(rest[1]);
    directory.update(kind, record, (target) => {
      target.owners = target.owners.filter((existing) => existing !== owner);
    });
    ctx.send(204, undefined);
    return true;
  }
  return false;
}

async function routeGrants(call: GraphCall, pathSegments: string[]): Promise<boolean> {
  const { ctx, directory } = call;
  ctx.op(`${ctx.method} /oauth2PermissionGrants${pathSegments.length > 1 ? "/{id}" : ""}`);
  if (pathSegments.length === 1) {
    if (ctx.method === "GET") {
      requirePermission(call, "readGrants");
      sendList(call, "oauth2PermissionGrants", filterDocs(ctx, directory.grants()));
      return true;
    }
    if (ctx.method === "POST") {
      requirePermission(call, "writeGrants");
      sendSingle(call, "oauth2PermissionGrants", createGrant(call, await jsonBody(ctx)), 201);
      return true;
    }
    return false;
  }
  if (pathSegments.length !== 2) return false;
  const grant = directory.grant(pathSegments[1]);
  if (!grant) throw notFound(pathSegments[1]);
  if (ctx.method === "GET") {
    requirePermission(call, "readGrants");
    sendSingle(call, "oauth2PermissionGrants", grant);
    return true;
  }
  if (ctx.method === "PATCH") {
    requirePermission(call, "writeGrants");
    const body = await jsonBody(ctx);
    if (ctx.core.config.strict.graphRequests) checkODataType("OAuth2PermissionGrant", body);
    for (const name of Object.keys(body)) {
      if (name === "@odata.type") continue;
      if (!["scope", "clientId", "resourceId", "consentType", "principalId"].includes(name) && ctx.core.config.strict.graphRequests) {
        throw badRequest(`Property '${name}' does not exist as a declared property or extension property.`);
      }
      if (name !== "scope" && body[name] !== grant[name]) throw badRequest(`Property '${name}' is read-only and cannot be set.`);
    }
    if (body.scope !== undefined) {
      if (body.scope !== null && typeof body.scope !== "string")
        throw badRequest("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant'.");
      directory.updateGrantScope(grant, (body.scope as string | null) ?? "");
    }
    ctx.send(204, undefined);
    return true;
  }
  if (ctx.method === "DELETE") {
    requirePermission(call, "writeGrants");
    directory.deleteGrant(pathSegments[1]);
    ctx.send(204, undefined);
    return true;
  }
  return false;
}

function routeDirectoryObjectById(call: GraphCall, pathSegments: string[]): boolean {
  if (pathSegments.length !== 2 || call.ctx.method !== "GET") return false;
  call.ctx.op("GET /directoryObjects/{id}");
  requirePermission(call, "read");
  const found = call.directory.directoryObject(pathSegments[1].toLowerCase());
  if (!found) throw notFound(pathSegments[1]);
  call.ctx.send(200, { "@odata.context": `${call.base}/$metadata#directoryObjects/$entity`, ...found });
  return true;
}

function routeDeletedItems(call: GraphCall, pathSegments: string[]): boolean {
  const { ctx, directory } = call;
  if (pathSegments[1] !== "deletedItems" || pathSegments.length !== 3) return false;
  ctx.op(`${ctx.method} /directory/deletedItems/{id}`);
  const item = directory.deletedItem(pathSegments[2]);
  if (!item) throw notFound(pathSegments[2]);
  if (ctx.method === "GET") {
    requirePermission(call, "read", item.record);
    const type = item.kind === "application" ? "#microsoft.graph.application" : "#microsoft.graph.servicePrincipal";
    ctx.send(200, { "@odata.type": type, ...item.record.doc, deletedDateTime: item.deletedDateTime });
    return true;
  }
  if (ctx.method === "DELETE") {
    requirePermission(call, "write", item.record);
    directory.purgeDeletedItem(pathSegments[2]);
    ctx.send(204, undefined);
    return true;
  }
  return false;
}

function authenticate(ctx: RequestContext): TokenClaims {
  const token = bearer(ctx);
  const unauthorized = (message: string) =>
    graphError(401, "InvalidAuthenticationToken", message, {
      "WWW-Authenticate": `Bearer realm="", authorization_uri="${ctx.core.urls.authorityHost}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
    });
  if (!token) throw unauthorized("Access token is empty.");
  const result = verifyToken(ctx.core, token);
  if ("reason" in result)
    throw unauthorized(
      result.reason === "the token is expired"
        ? "Lifetime validation failed, the token is expired."
        : `Access token validation failure: ${result.reason}.`,
    );
  if (result.claims.aud !== ctx.core.urls.graphAudience) {
    throw unauthorized(
      `Access token validation failure. Invalid audience. Expected '${ctx.core.urls.graphAudience}', got '${result.claims.aud}'.`,
    );
  }
  if (!sameId(result.claims.tid, ctx.core.store.state.tenant.tenantId))
    throw unauthorized("Access token validation failure. Invalid tenant.");
  return result.claims;
}

export async function jsonBody(ctx: RequestContext): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await ctx.json();
  } catch {
    throw badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.");
  }
  if (body === undefined) return {};
  if (!isPlainObject(body)) throw badRequest("The request body must be a JSON object.");
  return body;
}

function addOwners(call: GraphCall, record: { owners: string[] }, refs: unknown[], failOnDuplicate: boolean): void {
  for (const ref of refs) {
    const id = refId(ref);
    if (!id) throw badRequest(`Invalid object identifier '${String(ref)}'.`);
    if (!call.directory.directoryObject(id)) throw notFound(id);
    if (record.owners.includes(id)) {
      if (failOnDuplicate)
        throw badRequest("One or more added object references already exist for the following modified properties: 'owners'.");
      continue;
    }
    record.owners.push(id);
  }
}

function createApplication(call: GraphCall, body: Record<string, unknown>): ApplicationRecord {
  const { ctx, directory, claims } = call;
  requirePermission(call, "create");
  if (ctx.core.config.strict.graphRequests) checkRequestBody(APPLICATION_SCHEMA, body, "create");
  if (typeof body.displayName !== "string" || body.displayName.trim() === "") {
    throw badRequest("Invalid value specified for property 'displayName' of resource 'Application'.");
  }
  if (Array.isArray(body.passwordCredentials) && body.passwordCredentials.length > 0) {
    throw badRequest("Property 'passwordCredentials' cannot be set when an application is created. Use the addPassword action.");
  }
  const id = randomUUID();
  const doc = newApplicationDoc(id, randomUUID(), graphDateTime(ctx.core.now().getTime()), directory.tenant.domain);
  merge(doc, body);
  const record: ApplicationRecord = { doc, owners: [], secretHashes: {}, replicatedAtMs: Date.now() + ctx.core.config.replicationLagMs };
  addOwners(call, record, Array.isArray(body["owners@odata.bind"]) ? (body["owners@odata.bind"] as unknown[]) : [], false);
  // An application made with an app-only token is owned by the calling service principal, as in Entra.
  if (directory.servicePrincipalById(claims.oid) && !record.owners.includes(claims.oid)) record.owners.push(claims.oid);
  directory.addApplication(record);
  if (Array.isArray(body.keyCredentials)) setKeyCredentials(call, record, body.keyCredentials as Record<string, unknown>[]);
  return record;
}

function createServicePrincipal(call: GraphCall, body: Record<string, unknown>): ServicePrincipalRecord {
  const { ctx, directory } = call;
  if (ctx.core.config.strict.graphRequests) checkRequestBody(SERVICE_PRINCIPAL_SCHEMA, body, "create");
  const appId = body.appId;
  if (typeof appId !== "string" || appId === "")
    throw badRequest("Invalid value specified for property 'appId' of resource 'ServicePrincipal'.");
  const application = directory.application(appId);
  if (!application) {
    // Graph's own text for this case; the azuread provider retries it (eventual consistency).
    throw badRequest(`The appId '${appId}' of the service principal does not reference a valid application object.`);
  }
  requirePermission(call, "create", application);
  if (directory.servicePrincipal(appId)) {
    throw graphError(
      409,
      "Request_MultipleObjectsWithSameKeyValue",
      "Another object with the same value for property servicePrincipalNames already exists.",
    );
  }
  const id = randomUUID();
  const doc = newServicePrincipalDoc(id, application.doc, directory.tenant.tenantId);
  doc.createdDateTime = graphDateTime(ctx.core.now().getTime());
  const { appId: _appId, ...rest } = body;
  void _appId;
  merge(doc, rest);
  const record: ServicePrincipalRecord = { doc, owners: [], replicatedAtMs: Date.now() + ctx.core.config.replicationLagMs };
  if (Array.isArray(body["owners@odata.bind"])) addOwners(call, record, body["owners@odata.bind"] as unknown[], false);
  directory.addServicePrincipal(record);
  return record;
}

function createGrant(call: GraphCall, body: Record<string, unknown>): GraphDoc {
  const { directory } = call;
  const { clientId, resourceId, consentType, principalId, scope } = body;
  if (call.ctx.core.config.strict.graphRequests) {
    for (const name of Object.keys(body)) {
      if (!["clientId", "resourceId", "consentType", "principalId", "scope", "@odata.type"].includes(name)) {
        throw badRequest(`Property '${name}' does not exist as a declared property or extension property.`);
      }
    }
    checkODataType("OAuth2PermissionGrant", body);
  }
  if (typeof clientId !== "string" || !directory.servicePrincipalById(clientId)) {
    throw badRequest(
      `Invalid value specified for property 'clientId' of resource 'OAuth2PermissionGrant': no service principal '${String(clientId)}'.`,
    );
  }
  if (typeof resourceId !== "string" || !directory.servicePrincipalById(resourceId)) {
    throw badRequest(
      `Invalid value specified for property 'resourceId' of resource 'OAuth2PermissionGrant': no service principal '${String(resourceId)}'.`,
    );
  }
  if (consentType !== "AllPrincipals" && consentType !== "Principal") {
    throw badRequest("Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.");
  }
  if (consentType === "Principal" && (typeof principalId !== "string" || !isGuid(principalId))) {
    throw badRequest("Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'.");
  }
  if (scope !== undefined && scope !== null && typeof scope !== "string") {
    throw badRequest("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant'.");
  }
  const principal = consentType === "Principal" ? String(principalId).toLowerCase() : null;
  const duplicate = directory
    .grants()
    .some(
      (grant) =>
        sameId(grant.clientId, clientId) &&
        sameId(grant.resourceId, resourceId) &&
        grant.consentType === consentType &&
        (grant.principalId ?? null) === principal,
    );
  if (duplicate) throw graphError(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.");
  const grant: GraphDoc = {
    id: randomUUID(),
    clientId: clientId.toLowerCase(),
    consentType,
    principalId: principal,
    resourceId: resourceId.toLowerCase(),
    scope: (scope as string | undefined) ?? "",
  };
  directory.addGrant(grant);
  return grant;
}
