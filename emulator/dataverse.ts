// Dataverse Web API v9.x: WhoAmI, business units, security roles and their privileges,
// application users and their role assignments (reference/dataverse-web-api.md), with the
// conventions of the real service: 204 + OData-EntityId on create, Prefer: return=representation,
// OData-Version headers, @odata.context, and the Dataverse error body and codes.
//
// Every request is authenticated like the real service: aud must be the environment URL and the
// token's appid must be a live, enabled application user. Then service protection, then latency.
import { randomUUID } from "node:crypto";
import { dataverseError, DataverseErrorCode, ServiceError } from "./errors";
import { bearer, verifyToken } from "./entra";
import type { IncomingMessage } from "node:http";
import { formatBatchAnswer, parseBatch, type BatchAnswer, type BatchItemAnswer, type BatchRequest } from "./dataverse-batch";
import { isGuid, RequestContext, sameId, type EmulatorCore } from "./http";
import { newApplicationUserRow } from "./model";
import { applySelect, evaluate, parseExpand, parseFilter, parseSelect, type ExpandItem, type Row } from "./odata";
import {
  DEPTH_NAMES,
  nameGuid,
  parseDepth,
  PRIVILEGES,
  privilegeById,
  privilegeByName,
  privilegeType,
  TABLE_DEFINITIONS,
  type Privilege,
} from "./privileges";
import { NEW_ROLE_SELF_PRIVILEGES } from "./seed";
import { DataverseStore, type SystemUserChanges } from "./dataverse-store";
import { environmentsOf, type BusinessUnitRow, type RoleRow, type ServicePrincipalRecord, type SystemUserRow } from "./store";

const PREFIX = /^\/api\/data\/(v9\.[0-2])(?:\/(.*))?$/;
/** The Active solution's id, as Dataverse reports it on unmanaged components. */
const ACTIVE_SOLUTION = "fd140aaf-4df4-11dd-bd17-0019b9312238";

/** Per-emulator run-time counters of the service protection limits (not persisted). */
interface Protection {
  windows: Map<string, number[]>;
  concurrent: Map<string, number>;
}
const protections = new WeakMap<EmulatorCore, Protection>();

function protection(core: EmulatorCore): Protection {
  let counters = protections.get(core);
  if (!counters) {
    counters = { windows: new Map(), concurrent: new Map() };
    protections.set(core, counters);
  }
  return counters;
}

/** Resets the service protection counters (DELETE /_emulator/requests does it too). */
export function resetProtection(core: EmulatorCore): void {
  protections.delete(core);
}

interface Call {
  ctx: RequestContext;
  /** The environment the request is for. */
  dataverse: DataverseStore;
  caller: SystemUserRow;
  base: string;
  version: string;
}

function notExist(entity: string, id: string): ServiceError {
  return dataverseError(404, DataverseErrorCode.objectDoesNotExist, `${entity} With Id = ${id} Does Not Exist`);
}

function invalid(message: string): ServiceError {
  return dataverseError(400, DataverseErrorCode.invalidArgument, message);
}

function undeclared(entity: string, property: string): ServiceError {
  return dataverseError(
    400,
    DataverseErrorCode.invalidProperty,
    `The property '${property}' does not exist on type 'Microsoft.Dynamics.CRM.${entity}'. Make sure to only use property names that are defined by the type.`,
  );
}

function etag(modifiedon: string): string {
  return `W/"${Date.parse(modifiedon)}"`;
}

// ---- wire shapes ----------------------------------------------------------------------------

function businessUnitWire(organizationId: string, businessUnit: BusinessUnitRow): Row {
  return {
    "@odata.etag": etag(businessUnit.modifiedon),
    businessunitid: businessUnit.businessunitid,
    name: businessUnit.name,
    _parentbusinessunitid_value: businessUnit.parentbusinessunitid,
    _organizationid_value: organizationId,
    isdisabled: false,
    divisionname: null,
    emailaddress: null,
    createdon: businessUnit.createdon,
    modifiedon: businessUnit.modifiedon,
  };
}

function roleWire(organizationId: string, role: RoleRow): Row {
  return {
    "@odata.etag": etag(role.modifiedon),
    roleid: role.roleid,
    name: role.name,
    description: role.description,
    _businessunitid_value: role.businessunitid,
    _roletemplateid_value: role.roletemplateid,
    _parentroleid_value: role.parentroleid,
    _parentrootroleid_value: role.parentrootroleid,
    _organizationid_value: organizationId,
    ismanaged: role.ismanaged,
    isinherited: "1",
    iscustomizable: { Value: !role.ismanaged, CanBeChanged: !role.ismanaged, ManagedPropertyLogicalName: "iscustomizableanddeletable" },
    componentstate: 0,
    solutionid: ACTIVE_SOLUTION,
    overwritetime: "1900-01-01T00:00:00Z",
    createdon: role.createdon,
    modifiedon: role.modifiedon,
  };
}

function userWire(organizationId: string, user: SystemUserRow): Row {
  return {
    "@odata.etag": etag(user.modifiedon),
    systemuserid: user.systemuserid,
    applicationid: user.applicationid,
    fullname: user.fullname,
    firstname: user.firstname,
    lastname: user.lastname,
    domainname: user.domainname,
    internalemailaddress: user.internalemailaddress,
    azureactivedirectoryobjectid: user.azureactivedirectoryobjectid,
    applicationiduri: user.applicationiduri,
    accessmode: user.accessmode,
    isdisabled: user.isdisabled,
    deletedstate: user.deletedstate,
    islicensed: false,
    _businessunitid_value: user.businessunitid,
    organizationid: organizationId,
    createdon: user.createdon,
    modifiedon: user.modifiedon,
  };
}

// ---- helpers --------------------------------------------------------------------------------

/** The caller's privileges: for each privilege, the deepest depth any of its roles grants. */
function callerPrivileges(dataverse: DataverseStore, user: SystemUserRow): Map<string, number> {
  const held = new Map<string, number>();
  for (const role of dataverse.assignedRoles(user)) {
    for (const [privilegeId, depth] of Object.entries(dataverse.effectivePrivileges(role))) {
      held.set(privilegeId, Math.max(held.get(privilegeId) ?? -1, depth));
    }
  }
  return held;
}

const OBJECT_TYPE_CODES: Record<string, [number, string]> = {
  Role: [1036, "role"],
  User: [8, "systemuser"],
  BusinessUnit: [10, "businessunit"],
};

function requirePrivilege(call: Call, name: string): void {
  const privilege = privilegeByName(name);
  const held = callerPrivileges(call.dataverse, call.caller);
  if (held.has(privilege.privilegeid)) return;
  const table = /^prv(?:Create|Read|Write|Delete|Append|AppendTo|Assign|Share)(\w+)$/.exec(name)?.[1] ?? "";
  const [objectTypeCode, logicalName] = OBJECT_TYPE_CODES[table] ?? [0, table.toLowerCase()];
  throw dataverseError(
    403,
    DataverseErrorCode.missingPrivilege,
    `Principal user (Id=${call.caller.systemuserid}, type=8, roleCount=${call.caller.roles.length}, privilegeCount=${held.size}), is missing ${name} privilege (Id=${privilege.privilegeid}) on OTC=${objectTypeCode} for entity '${logicalName}'. context: Dataverse emulator`,
  );
}

/** An assigner cannot hand out more than it holds (real rule; for role writes and assignments). */
function requireHolds(call: Call, privileges: Record<string, number>): void {
  const held = callerPrivileges(call.dataverse, call.caller);
  for (const [privilegeId, depth] of Object.entries(privileges)) {
    const heldDepth = held.get(privilegeId);
    if (heldDepth === undefined || heldDepth < depth) {
      const privilege = privilegeById(privilegeId);
      throw dataverseError(
        403,
        DataverseErrorCode.missingPrivilege,
        `Principal user (Id=${call.caller.systemuserid}, type=8) is missing ${privilege?.name ?? privilegeId} privilege (Id=${privilegeId}) at depth ${DEPTH_NAMES[depth]}: a user cannot grant a privilege it does not hold.`,
      );
    }
  }
}

/** "/businessunits(<id>)", "businessunits(<id>)" or an absolute URL ending so. */
function bindId(value: unknown, collection: string): string | undefined {
  if (typeof value !== "string") return undefined;
  const match = new RegExp(`${collection}\\(\\{?([0-9a-fA-F-]{36})\\}?\\)\\/?$`).exec(value);
  return match ? match[1].toLowerCase() : undefined;
}

function prefersRepresentation(ctx: RequestContext): boolean {
  return /return=representation/i.test(ctx.header("prefer") ?? "");
}

async function jsonBody(ctx: RequestContext): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = await ctx.json();
  } catch {
    throw dataverseError(400, DataverseErrorCode.invalidArgument, "The request body is not valid JSON.");
  }
  if (parsed === undefined) return {};
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw invalid("The request body must be a JSON object.");
  return parsed as Record<string, unknown>;
}

function checkProperties(entity: string, fields: Record<string, unknown>, allowed: string[]): void {
  for (const name of Object.keys(fields)) {
    if (name.startsWith("@odata.")) continue;
    if (!allowed.includes(name)) throw undeclared(entity, name.replace(/@odata\.bind$/, ""));
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const id = randomUUID();
  return {
    "OData-Version": "4.0",
    "Content-Type": "application/json; odata.metadata=minimal",
    REQ_ID: id,
    "x-ms-service-request-id": id,
    ...extra,
  };
}

// ---- entry point ----------------------------------------------------------------------------

export async function handleDataverse(ctx: RequestContext): Promise<boolean> {
  const match = PREFIX.exec(ctx.path);
  if (!match) return false;
  const version = match[1];
  const resourcePath = match[2] ?? "";
  const core = ctx.core;
  const { dataverse, url } = selectEnvironment(ctx);
  const caller = authenticate(ctx, dataverse, url);

  const limits = core.config.serviceProtection;
  const counters = protection(core);
  const userId = caller.systemuserid;
  if (limits.enabled) {
    const inFlight = counters.concurrent.get(userId) ?? 0;
    const retryAfter = { "Retry-After": String(limits.retryAfterSeconds), ...headers() };
    if (inFlight >= limits.maxConcurrent) {
      ctx.op("service protection (concurrency)");
      throw dataverseError(
        429,
        DataverseErrorCode.tooManyConcurrent,
        `Number of concurrent requests exceeded the limit of ${limits.maxConcurrent}.`,
        retryAfter,
      );
    }
    admitToWindow(ctx, userId);
  }
  counters.concurrent.set(userId, (counters.concurrent.get(userId) ?? 0) + 1);
  try {
    await ctx.delay();
    const call: Call = { ctx, dataverse, caller, base: `${url}/api/data/${version}`, version };
    return await route(call, resourcePath);
  } finally {
    counters.concurrent.set(userId, (counters.concurrent.get(userId) ?? 1) - 1);
  }
}

/**
 * Counts a request in the caller's service protection window, or refuses it (429) when the window is
 * full. A request inside a $batch counts as one request too, as in Dataverse.
 */
function admitToWindow(ctx: RequestContext, userId: string): void {
  const limits = ctx.core.config.serviceProtection;
  if (!limits.enabled) return;
  const counters = protection(ctx.core);
  const now = Date.now();
  const window = (counters.windows.get(userId) ?? []).filter((time) => time > now - limits.windowMs);
  counters.windows.set(userId, window);
  if (window.length >= limits.maxRequestsPerWindow) {
    ctx.op("service protection (requests)");
    throw dataverseError(
      429,
      DataverseErrorCode.tooManyRequests,
      `Number of requests exceeded the limit of ${limits.maxRequestsPerWindow} over time window of ${Math.round(limits.windowMs / 1000)} seconds.`,
      { "Retry-After": String(limits.retryAfterSeconds), ...headers() },
    );
  }
  window.push(now);
}

/**
 * The environment a request is for: the one whose port it arrived on (each environment listens on
 * its own port; the first one also on the main port). The handlers reach its rows through a
 * DataverseStore; the Entra objects stay the shared ones of the tenant (`core.directory`).
 */
function selectEnvironment(ctx: RequestContext): { dataverse: DataverseStore; url: string } {
  const core = ctx.core;
  const port = ctx.req.socket.localPort;
  const index = Math.max(
    0,
    core.urls.environments.findIndex((address) => address.port === port),
  );
  const environments = environmentsOf(core.store.state);
  const environment = environments[index];
  if (!environment)
    throw new Error(`the state has no environment number ${index + 1} (a state file from a start with fewer environments?)`);
  ctx.environmentName = core.urls.environments[index]?.name;
  const url = index === 0 ? (core.urls.environments[0]?.url ?? core.urls.environmentUrl) : core.urls.environments[index].url;
  return { dataverse: new DataverseStore(core.store, environment), url };
}

function authenticate(ctx: RequestContext, dataverse: DataverseStore, environmentUrl: string): SystemUserRow {
  const core = ctx.core;
  const challenge = {
    "WWW-Authenticate": `Bearer authorization_uri=${core.urls.authorityHost}/${core.directory.tenant.tenantId}/oauth2/authorize, resource_id=${environmentUrl}/`,
  };
  const unauthorized = (detail: string) =>
    dataverseError(401, DataverseErrorCode.authenticationRequired, `The requested resource requires authentication. ${detail}`, challenge);
  const token = bearer(ctx);
  if (!token) throw unauthorized("No bearer token was sent.");
  const verified = verifyToken(core, token);
  if ("reason" in verified) throw unauthorized(`Bearer token rejected: ${verified.reason}.`);
  const audience = verified.claims.aud.replace(/\/+$/, "").toLowerCase();
  if (audience !== environmentUrl.toLowerCase()) {
    throw unauthorized(
      `The token audience '${verified.claims.aud}' is not this environment ('${environmentUrl}'): request a token for scope '${environmentUrl}/.default'.`,
    );
  }
  if (!sameId(verified.claims.tid, core.directory.tenant.tenantId)) throw unauthorized("The token was issued by another tenant.");
  const user = dataverse.liveApplicationUser(verified.claims.appid);
  if (!user) {
    throw dataverseError(
      403,
      DataverseErrorCode.notMemberOfOrganization,
      `The user is not a member of the organization. No application user exists for application id ${verified.claims.appid}.`,
    );
  }
  if (user.isdisabled) {
    throw dataverseError(
      403,
      DataverseErrorCode.callerDisabled,
      `The user with SystemUserId=${user.systemuserid} in OrganizationContext=${dataverse.organizationId} is disabled. Disabled users cannot access the system. Consider enabling this user.`,
    );
  }
  return user;
}

/** Splits "systemusers(<id>)/rest" into collection, key and the rest. */
function parsePath(resourcePath: string): { collection: string; key?: string; args?: string; tail: string[] } {
  const parts = resourcePath
    .split("/")
    .filter((segment) => segment.length > 0)
    .map(decodeURIComponent);
  const first = parts[0] ?? "";
  const match = /^([A-Za-z_.]+)(?:\((.*)\))?$/.exec(first);
  if (!match) return { collection: first, tail: parts.slice(1) };
  const inner = match[2];
  const keyed = inner !== undefined && /^\{?[0-9a-fA-F-]{36}\}?$/.test(inner);
  return {
    collection: match[1],
    key: keyed ? inner.replace(/[{}]/g, "").toLowerCase() : undefined,
    args: !keyed ? inner : undefined,
    tail: parts.slice(1),
  };
}

function resolveAlias(ctx: RequestContext, value: string): string {
  return value.startsWith("@") ? (ctx.query.get(value) ?? value) : value;
}

async function route(call: Call, resourcePath: string): Promise<boolean> {
  const { ctx } = call;
  const method = ctx.method;
  const path = parsePath(resourcePath);
  const keyPart = path.key ? "(<id>)" : "";
  const tailPart = path.tail
    .map((segment) => segment.replace(/\([0-9a-fA-F-]{36}\)/, "(<id>)").replace(/^Microsoft\.Dynamics\.CRM\./, ""))
    .join("/");
  ctx.op(`${method} ${path.collection}${keyPart}${tailPart ? "/" + tailPart : ""}`);

  if (path.collection === "WhoAmI" && method === "GET" && path.tail.length === 0) {
    whoAmI(call);
    return true;
  }
  if (path.collection === "$batch" && method === "POST" && path.tail.length === 0 && !path.key && path.args === undefined) {
    await batch(call);
    return true;
  }
  if (path.collection === "RetrieveRolePrivilegesRole" && method === "GET" && path.tail.length === 0) {
    const roleIdArgument = /^RoleId=(.+)$/.exec(path.args ?? "");
    const roleId = roleIdArgument ? resolveAlias(ctx, roleIdArgument[1]).replace(/[{}']/g, "") : "";
    if (!isGuid(roleId)) throw invalid("RetrieveRolePrivilegesRole needs RoleId=<guid>.");
    retrievePrivileges(call, roleId.toLowerCase());
    return true;
  }
  switch (path.collection) {
    case "businessunits":
      return businessUnits(call, path.key, path.tail);
    case "roles":
      return roles(call, path.key, path.tail);
    case "systemusers":
      return systemUsers(call, path.key, path.tail);
    case "privileges":
      return privileges(call, path.key, path.tail);
    case "EntityDefinitions":
      return entityDefinitions(call, path.args, path.tail);
    default:
      return false;
  }
}

function whoAmI(call: Call): void {
  call.ctx.send(
    200,
    {
      "@odata.context": `${call.base}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: call.caller.businessunitid,
      UserId: call.caller.systemuserid,
      OrganizationId: call.dataverse.organizationId,
    },
    headers(),
  );
}

// ---- $batch --------------------------------------------------------------------------------

/** One request of a batch, run through the same routes as a request of its own; its answer is kept. */
class BatchPartContext extends RequestContext {
  answer: BatchAnswer | undefined;

  constructor(
    parent: RequestContext,
    private readonly part: BatchRequest,
  ) {
    // The parts carry no credentials: the batch's token (already verified) and socket stand for them.
    const req = { method: part.method, url: part.target, headers: part.headers, socket: parent.req.socket } as unknown as IncomingMessage;
    super(req, parent.res, parent.core, "dataverse", () => Promise.resolve());
  }

  override header(name: string): string | undefined {
    return this.part.headers[name.toLowerCase()];
  }

  override body(): Promise<Buffer> {
    return Promise.resolve(Buffer.from(this.part.body, "utf8"));
  }

  override send(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.answer ??= { status, headers, body };
  }
}

async function runBatchPart(call: Call, request: BatchRequest): Promise<BatchAnswer> {
  const partCtx = new BatchPartContext(call.ctx, request);
  try {
    const match = PREFIX.exec(partCtx.path);
    if (!match) throw invalid(`A request in a batch must address this environment's Web API (/api/data/v9.x/...), not ${partCtx.path}.`);
    admitToWindow(partCtx, call.caller.systemuserid);
    const handled = await route({ ...call, ctx: partCtx, version: match[1] }, match[2] ?? "");
    if (!handled) {
      partCtx.op("unsupported");
      throw dataverseError(
        501,
        DataverseErrorCode.notImplemented,
        `The emulator does not support ${request.method} ${partCtx.path}. It was logged as UNSUPPORTED; see emulator/README.md.`,
      );
    }
  } catch (err) {
    const error =
      err instanceof ServiceError ? err : dataverseError(500, "0x80040216", `An unexpected error occurred: ${(err as Error).message}`);
    partCtx.send(error.status, error.body(call.ctx.core.now()), error.headers);
  }
  call.ctx.batchOperations.push(partCtx.operation ?? "dataverse unsupported");
  const answer = partCtx.answer ?? { status: 500, headers: {}, body: { error: { code: "0x80040216", message: "no answer" } } };
  return { ...answer, contentId: request.contentId };
}

/**
 * POST $batch: the requests in order; a change set all or nothing (the environment is put back as
 * it was before the change set when one of its requests fails); the batch stops at the first
 * failure unless the caller prefers odata.continue-on-error. See dataverse-batch.ts for the format.
 */
async function batch(call: Call): Promise<void> {
  const { ctx } = call;
  const items = parseBatch(ctx.header("content-type"), (await ctx.body()).toString("utf8"), `/api/data/${call.version}`);
  const continueOnError = /odata\.continue-on-error(?!\s*=\s*false)/i.test(ctx.header("prefer") ?? "");
  const answers: BatchItemAnswer[] = [];
  let failed = false;
  for (const item of items) {
    const answer =
      item.kind === "request"
        ? { kind: "request" as const, answer: await runBatchPart(call, item.request) }
        : await runChangeSet(call, item.requests);
    answers.push(answer);
    failed ||= answer.kind === "request" && answer.answer.status >= 400;
    if (failed && !continueOnError) break;
  }
  const { contentType, body } = formatBatchAnswer(answers);
  ctx.sendText(200, body, {
    "OData-Version": "4.0",
    "Content-Type": contentType,
    ...(continueOnError && failed ? { "Preference-Applied": "odata.continue-on-error" } : {}),
  });
}

/** A change set, all or nothing: its answers, or the answer of the request that failed (the environment put back). */
async function runChangeSet(call: Call, requests: BatchRequest[]): Promise<BatchItemAnswer> {
  const before = call.dataverse.snapshot();
  const answers: BatchAnswer[] = [];
  for (const request of requests) {
    const answer = await runBatchPart(call, request);
    if (answer.status >= 400) {
      call.dataverse.restore(before);
      return { kind: "request", answer };
    }
    answers.push(answer);
  }
  return { kind: "changeset", answers };
}

/** Runs the operation for the request's method; false (not handled) when the method has none. */
async function byMethod(call: Call, operations: Partial<Record<string, () => void | Promise<void>>>): Promise<boolean> {
  const operation = operations[call.ctx.method];
  if (!operation) return false;
  await operation();
  return true;
}

function list(call: Call, entitySet: string, rows: Row[]): void {
  const top = call.ctx.query.get("$top");
  const value = top && /^\d+$/.test(top) ? rows.slice(0, Number(top)) : rows;
  const select = call.ctx.query.get("$select");
  call.ctx.send(
    200,
    {
      "@odata.context": `${call.base}/$metadata#${entitySet}${select ? `(${select})` : ""}`,
      value,
    },
    headers(),
  );
}

function filterRows(call: Call, rows: Row[], entity: string): Row[] {
  const raw = call.ctx.query.get("$filter");
  if (!raw) return rows;
  const node = parseFilter(raw);
  return rows.filter((row) => evaluate(node, row, entity));
}

function unsupportedQueryOptions(call: Call, allowed: string[]): void {
  for (const key of call.ctx.query.keys()) {
    if (key.startsWith("$") && !allowed.includes(key)) {
      throw dataverseError(400, DataverseErrorCode.invalidProperty, `The query parameter ${key} is not supported by the emulator.`);
    }
  }
}

// ---- business units -------------------------------------------------------------------------

function businessUnits(call: Call, key: string | undefined, tail: string[]): boolean {
  if (call.ctx.method !== "GET" || tail.length > 0) return false;
  unsupportedQueryOptions(call, ["$select", "$filter", "$top"]);
  requirePrivilege(call, "prvReadBusinessUnit");
  const { dataverse } = call;
  const select = parseSelect(call.ctx.query.get("$select"));
  if (key) {
    const businessUnit = dataverse.businessUnit(key);
    if (!businessUnit) throw notExist("businessunit", key);
    call.ctx.send(
      200,
      {
        "@odata.context": `${call.base}/$metadata#businessunits/$entity`,
        ...applySelect(businessUnitWire(dataverse.organizationId, businessUnit), select, "businessunit", "businessunitid"),
      },
      headers(),
    );
    return true;
  }
  const rows = filterRows(
    call,
    dataverse.businessUnits().map((businessUnit) => businessUnitWire(dataverse.organizationId, businessUnit)),
    "businessunit",
  );
  list(
    call,
    "businessunits",
    rows.map((row) => applySelect(row, select, "businessunit", "businessunitid")),
  );
  return true;
}

// ---- privileges (read-only catalogue) -------------------------------------------------------

function privileges(call: Call, key: string | undefined, tail: string[]): boolean {
  if (call.ctx.method !== "GET" || tail.length > 0) return false;
  unsupportedQueryOptions(call, ["$select", "$filter", "$top"]);
  const select = parseSelect(call.ctx.query.get("$select"));
  const wire = (privilege: Privilege): Row => ({ ...privilege });
  if (key) {
    const privilege = privilegeById(key);
    if (!privilege) throw notExist("privilege", key);
    call.ctx.send(
      200,
      {
        "@odata.context": `${call.base}/$metadata#privileges/$entity`,
        ...applySelect(wire(privilege), select, "privilege", "privilegeid"),
      },
      headers(),
    );
    return true;
  }
  const rows = filterRows(call, PRIVILEGES.map(wire), "privilege");
  list(
    call,
    "privileges",
    rows.map((row) => applySelect(row, select, "privilege", "privilegeid")),
  );
  return true;
}

// ---- table definitions (EntityDefinitions, read-only: a table's privileges) -------------------

/** EntityMetadata properties the emulator answers (MetadataId always comes, as in Dataverse). */
const ENTITY_DEFINITION_FIELDS = ["MetadataId", "LogicalName", "Privileges"];

/**
 * GET EntityDefinitions(LogicalName='<table>'): the table's SecurityPrivilegeMetadata list (V:
 * webapi/reference/securityprivilegemetadata). Only the keyed form is served; an unknown table is
 * 404 (G: code and text).
 */
function entityDefinitions(call: Call, args: string | undefined, tail: string[]): boolean {
  if (call.ctx.method !== "GET" || tail.length > 0) return false;
  unsupportedQueryOptions(call, ["$select"]);
  const key = /^LogicalName='([^']*)'$/.exec(args ?? "");
  if (!key) throw invalid("The emulator serves EntityDefinitions(LogicalName='<logical name>') only.");
  const table = TABLE_DEFINITIONS.get(key[1]);
  if (!table) {
    throw dataverseError(404, DataverseErrorCode.objectDoesNotExist, `Could not find an entity with the logical name '${key[1]}'.`);
  }
  const selected = (call.ctx.query.get("$select") ?? "")
    .split(",")
    .map((field) => field.trim())
    .filter((field) => field !== "");
  for (const field of selected) if (!ENTITY_DEFINITION_FIELDS.includes(field)) throw undeclared("EntityMetadata", field);
  const full: Row = {
    MetadataId: nameGuid("entity", table.logicalName),
    LogicalName: table.logicalName,
    Privileges: table.privileges.map((privilege) => ({
      CanBeBasic: privilege.canbebasic,
      CanBeLocal: privilege.canbelocal,
      CanBeDeep: privilege.canbedeep,
      CanBeGlobal: privilege.canbeglobal,
      CanBeEntityReference: false,
      CanBeParentEntityReference: false,
      Name: privilege.name,
      PrivilegeId: privilege.privilegeid,
      PrivilegeType: privilegeType(privilege),
    })),
  };
  const fields = selected.length === 0 ? ENTITY_DEFINITION_FIELDS : ["MetadataId", ...selected];
  call.ctx.send(
    200,
    {
      "@odata.context": `${call.base}/$metadata#EntityDefinitions(${fields.filter((field) => field !== "MetadataId").join(",")})/$entity`,
      ...Object.fromEntries(fields.map((field) => [field, full[field]])),
    },
    headers(),
  );
  return true;
}

// ---- roles ----------------------------------------------------------------------------------

const ROLE_CREATE_FIELDS = [
  "roleid",
  "name",
  "description",
  "businessunitid@odata.bind",
  "appliesto",
  "summaryofcoreactions",
  "isautoassigned",
  "isinherited",
];
const ROLE_UPDATE_FIELDS = ["name", "description", "appliesto", "summaryofcoreactions", "isautoassigned", "isinherited"];

function getRole(call: Call, id: string): RoleRow {
  const role = call.dataverse.role(id);
  if (!role) throw notExist("role", id);
  return role;
}

function inheritedGuard(role: RoleRow): void {
  if (role.parentroleid) {
    throw invalid(
      `Role ${role.roleid} is an inherited copy in a child business unit; change the role in its root business unit (${role.parentrootroleid}).`,
    );
  }
}

function duplicateKey(): ServiceError {
  return dataverseError(412, DataverseErrorCode.duplicateKey, "A record with matching key values already exists.");
}

async function roles(call: Call, key: string | undefined, tail: string[]): Promise<boolean> {
  if (!key) return tail.length === 0 ? rolesCollection(call) : false;
  const role = getRole(call, key);
  return tail.length === 0 ? rolesEntity(call, role) : rolesNavigation(call, role, tail);
}

/** The roles collection: query and create. */
function rolesCollection(call: Call): Promise<boolean> {
  return byMethod(call, { GET: () => listRoles(call), POST: () => createRole(call) });
}

function listRoles(call: Call): void {
  const { ctx, dataverse } = call;
  unsupportedQueryOptions(call, ["$select", "$filter", "$top"]);
  requirePrivilege(call, "prvReadRole");
  const select = parseSelect(ctx.query.get("$select"));
  const rows = filterRows(
    call,
    dataverse.roles().map((role) => roleWire(dataverse.organizationId, role)),
    "role",
  );
  list(
    call,
    "roles",
    rows.map((row) => applySelect(row, select, "role", "roleid")),
  );
}

async function createRole(call: Call): Promise<void> {
  const { ctx, dataverse } = call;
  requirePrivilege(call, "prvCreateRole");
  const fields = await jsonBody(ctx);
  checkProperties("role", fields, ROLE_CREATE_FIELDS);
  if (typeof fields.name !== "string" || fields.name.trim() === "") throw invalid("Attribute 'name' is required to create a role.");
  if (fields.description !== undefined && fields.description !== null && typeof fields.description !== "string")
    throw invalid("Attribute 'description' must be a string.");
  const businessUnitId = newRoleBusinessUnit(call, fields);
  const roleId = newRowId(fields, "roleid", (id) => dataverse.role(id) !== undefined);
  const now = ctx.core.now().toISOString();
  const role: RoleRow = {
    roleid: roleId,
    name: fields.name,
    description: (fields.description as string | null | undefined) ?? null,
    businessunitid: businessUnitId,
    roletemplateid: null,
    parentroleid: null,
    parentrootroleid: roleId,
    ismanaged: false,
    createdon: now,
    modifiedon: now,
    privileges: {},
    selfPrivileges: [],
  };
  if (ctx.core.config.quirks.newRoleSelfPrivileges) {
    for (const [name, depth] of NEW_ROLE_SELF_PRIVILEGES) {
      const privilegeId = privilegeByName(name).privilegeid;
      role.privileges[privilegeId] = depth;
      role.selfPrivileges.push(privilegeId);
    }
  }
  dataverse.addRole(role);
  created(call, "roles", roleId, roleWire(dataverse.organizationId, role), "role", "roleid");
}

/** The business unit of a new role: the bound one, else (G) the root business unit. */
function newRoleBusinessUnit(call: Call, fields: Record<string, unknown>): string {
  const binding = fields["businessunitid@odata.bind"];
  return binding === undefined ? call.dataverse.rootBusinessUnit().businessunitid : boundBusinessUnit(call, binding);
}

/** The id of a new row: the one given in `field` (a GUID not yet used) or a new one. */
function newRowId(fields: Record<string, unknown>, field: "roleid" | "systemuserid", taken: (id: string) => boolean): string {
  const given = fields[field];
  if (given === undefined) return randomUUID();
  if (typeof given !== "string" || !isGuid(given)) throw invalid(`Attribute '${field}' must be a GUID.`);
  const id = given.toLowerCase();
  if (taken(id)) throw duplicateKey();
  return id;
}

/** One row of roles: get, patch, delete. */
function rolesEntity(call: Call, role: RoleRow): Promise<boolean> {
  return byMethod(call, {
    GET: () => readRole(call, role),
    PATCH: () => updateRole(call, role),
    DELETE: () => deleteRole(call, role),
  });
}

function readRole(call: Call, role: RoleRow): void {
  unsupportedQueryOptions(call, ["$select"]);
  requirePrivilege(call, "prvReadRole");
  const select = parseSelect(call.ctx.query.get("$select"));
  call.ctx.send(
    200,
    {
      "@odata.context": `${call.base}/$metadata#roles/$entity`,
      ...applySelect(roleWire(call.dataverse.organizationId, role), select, "role", "roleid"),
    },
    headers(),
  );
}

async function updateRole(call: Call, role: RoleRow): Promise<void> {
  const { ctx, dataverse } = call;
  requirePrivilege(call, "prvWriteRole");
  const fields = await jsonBody(ctx);
  checkProperties("role", fields, ROLE_UPDATE_FIELDS);
  inheritedGuard(role);
  if (role.ismanaged && fields.name !== undefined && fields.name !== role.name)
    throw invalid(`The managed role '${role.name}' cannot be renamed.`);
  if (fields.name !== undefined && (typeof fields.name !== "string" || fields.name.trim() === ""))
    throw invalid("Attribute 'name' cannot be empty.");
  const now = ctx.core.now().toISOString();
  dataverse.updateRole(role, (row) => {
    if (typeof fields.name === "string") row.name = fields.name;
    if (fields.description !== undefined) row.description = (fields.description as string | null) ?? null;
    row.modifiedon = now;
  });
  updated(call, "roles", roleWire(dataverse.organizationId, role), "role", "roleid");
}

function deleteRole(call: Call, role: RoleRow): void {
  requirePrivilege(call, "prvDeleteRole");
  inheritedGuard(role);
  if (role.ismanaged) throw invalid(`The managed role '${role.name}' cannot be deleted.`);
  call.dataverse.deleteRole(role);
  call.ctx.send(204, undefined, headers());
}

/** Actions and navigation properties of one row of roles. */
async function rolesNavigation(call: Call, role: RoleRow, tail: string[]): Promise<boolean> {
  if (tail.length !== 1) return false;
  const method = call.ctx.method;
  const action = tail[0].replace(/^Microsoft\.Dynamics\.CRM\./, "").replace(/\(\)$/, "");
  if (action === "RetrieveRolePrivilegesRole" && method === "GET") {
    retrievePrivileges(call, role.roleid);
    return true;
  }
  if (method !== "POST") return false;
  if (action === "AddPrivilegesRole" || action === "ReplacePrivilegesRole") {
    await grantPrivileges(call, role, action);
    return true;
  }
  if (action === "RemovePrivilegeRole") {
    await removePrivilege(call, role);
    return true;
  }
  return false;
}

/** AddPrivilegesRole and ReplacePrivilegesRole: the caller can grant only what it holds. */
async function grantPrivileges(call: Call, role: RoleRow, action: "AddPrivilegesRole" | "ReplacePrivilegesRole"): Promise<void> {
  const { ctx, dataverse } = call;
  requirePrivilege(call, "prvWriteRole");
  inheritedGuard(role);
  const given = parsePrivilegeList(ctx, action, await jsonBody(ctx));
  requireHolds(call, given);
  const now = ctx.core.now().toISOString();
  const quirks = ctx.core.config.quirks;
  if (action === "AddPrivilegesRole") dataverse.addRolePrivileges(role, given, quirks.addPrivilegesKeepsExistingDepth, now);
  else dataverse.replaceRolePrivileges(role, given, quirks.newRoleSelfPrivileges, now);
  ctx.send(204, undefined, headers());
}

async function removePrivilege(call: Call, role: RoleRow): Promise<void> {
  const { ctx } = call;
  requirePrivilege(call, "prvWriteRole");
  inheritedGuard(role);
  const privilegeId = removedPrivilegeId(ctx, await jsonBody(ctx));
  call.dataverse.removeRolePrivilege(role, privilegeId, ctx.core.now().toISOString());
  ctx.send(204, undefined, headers());
}

/**
 * RemovePrivilegeRole's one parameter is `Privilege`, a privilege entity (V: learn.microsoft.com/
 * power-apps/developer/data-platform/webapi/reference/removeprivilegerole). A top-level PrivilegeId
 * is an unknown parameter: 400 when strict.dataverseActions, accepted otherwise (as before).
 */
function removedPrivilegeId(ctx: RequestContext, parameters: Record<string, unknown>): string {
  const strict = ctx.core.config.strict.dataverseActions;
  if (strict) checkActionParameters("RemovePrivilegeRole", parameters, ["Privilege", "SolutionUniqueName"]);
  const privilege = parameters.Privilege as Record<string, unknown> | undefined;
  const raw = privilege?.privilegeid ?? (strict ? undefined : (parameters.PrivilegeId ?? privilege?.PrivilegeId));
  if (typeof raw !== "string" || !isGuid(raw))
    throw invalid('RemovePrivilegeRole needs Privilege: {"@odata.type": "Microsoft.Dynamics.CRM.privilege", "privilegeid": <GUID>}.');
  const privilegeId = raw.toLowerCase();
  if (!privilegeById(privilegeId)) throw notExist("privilege", privilegeId);
  return privilegeId;
}

/** An action's body names only its declared parameters (Dataverse answers 400 for any other). */
function checkActionParameters(action: string, parameters: Record<string, unknown>, declared: string[]): void {
  for (const name of Object.keys(parameters)) {
    if (name.startsWith("@odata.")) continue;
    if (!declared.includes(name)) {
      throw dataverseError(
        400,
        DataverseErrorCode.invalidArgument,
        `The parameter '${name}' is not declared by the action '${action}'. Its parameters are: ${declared.join(", ")}.`,
      );
    }
  }
}

/** RolePrivilege's properties (V: webapi/reference/roleprivilege). */
const ROLE_PRIVILEGE_FIELDS = ["BusinessUnitId", "Depth", "PrivilegeId", "PrivilegeName", "RecordFilterId", "RecordFilterUniqueName"];

/** Whether a privilege allows a depth (canbebasic ... canbeglobal); RecordFilter needs a record filter. */
function depthAllowed(privilegeId: string, depth: number): boolean {
  const privilege = privilegeById(privilegeId);
  if (!privilege) return false;
  return [privilege.canbebasic, privilege.canbelocal, privilege.canbedeep, privilege.canbeglobal, false][depth] === true;
}

/** {"Privileges":[{"PrivilegeId","Depth","BusinessUnitId"?}]} -> privilegeid -> depth. */
function parsePrivilegeList(ctx: RequestContext, action: string, parameters: Record<string, unknown>): Record<string, number> {
  const strict = ctx.core.config.strict.dataverseActions;
  if (strict) checkActionParameters(action, parameters, ["Privileges"]);
  const entries = parameters.Privileges;
  if (!Array.isArray(entries)) throw invalid("The action needs a 'Privileges' array of {PrivilegeId, Depth, BusinessUnitId}.");
  const granted: Record<string, number> = {};
  entries.forEach((item, index) => {
    if (item === null || typeof item !== "object") throw invalid(`Privileges[${index}] must be an object.`);
    const entry = item as Record<string, unknown>;
    if (strict) {
      for (const name of Object.keys(entry)) {
        if (!name.startsWith("@odata.") && !ROLE_PRIVILEGE_FIELDS.includes(name))
          throw invalid(`Privileges[${index}].${name} is not a property of RolePrivilege.`);
      }
    }
    const raw = entry.PrivilegeId;
    if (typeof raw !== "string" || !isGuid(raw)) throw invalid(`Privileges[${index}].PrivilegeId must be a GUID.`);
    const privilegeId = raw.toLowerCase();
    if (!privilegeById(privilegeId)) throw notExist("privilege", privilegeId);
    const depth = parseDepth(entry.Depth);
    if (depth === undefined) {
      throw invalid(
        `Privileges[${index}].Depth '${String(entry.Depth)}' is not valid: use Basic, Local, Deep, Global, RecordFilter or 0-4.`,
      );
    }
    if (strict && !depthAllowed(privilegeId, depth)) {
      throw invalid(
        `Privileges[${index}]: privilege ${privilegeById(privilegeId)?.name ?? privilegeId} cannot be granted at depth ${DEPTH_NAMES[depth]}.`,
      );
    }
    granted[privilegeId] = depth;
  });
  return granted;
}

function retrievePrivileges(call: Call, roleId: string): void {
  requirePrivilege(call, "prvReadRole");
  const role = getRole(call, roleId);
  const granted = call.dataverse.effectivePrivileges(role);
  call.ctx.send(
    200,
    {
      "@odata.context": `${call.base}/$metadata#Microsoft.Dynamics.CRM.RetrieveRolePrivilegesRoleResponse`,
      RolePrivileges: Object.entries(granted).map(([privilegeId, depth]) => ({
        Depth: DEPTH_NAMES[depth],
        PrivilegeId: privilegeId,
        BusinessUnitId: role.businessunitid,
        PrivilegeName: privilegeById(privilegeId)?.name ?? "",
      })),
    },
    headers(),
  );
}

// ---- create / update answers ----------------------------------------------------------------

function created(call: Call, set: string, id: string, row: Row, entity: string, primaryKey: string): void {
  const location = `${call.base}/${set}(${id})`;
  if (prefersRepresentation(call.ctx)) {
    const select = parseSelect(call.ctx.query.get("$select"));
    call.ctx.send(
      201,
      { "@odata.context": `${call.base}/$metadata#${set}/$entity`, ...applySelect(row, select, entity, primaryKey) },
      headers({ "OData-EntityId": location, Location: location, "Preference-Applied": "return=representation" }),
    );
  } else {
    call.ctx.send(204, undefined, headers({ "OData-EntityId": location }));
  }
}

function updated(call: Call, set: string, row: Row, entity: string, primaryKey: string): void {
  const location = `${call.base}/${set}(${String(row[primaryKey])})`;
  if (prefersRepresentation(call.ctx)) {
    const select = parseSelect(call.ctx.query.get("$select"));
    call.ctx.send(
      200,
      { "@odata.context": `${call.base}/$metadata#${set}/$entity`, ...applySelect(row, select, entity, primaryKey) },
      headers({ "OData-EntityId": location, "Preference-Applied": "return=representation" }),
    );
  } else {
    call.ctx.send(204, undefined, headers({ "OData-EntityId": location }));
  }
}

// ---- systemusers ----------------------------------------------------------------------------

const USER_CREATE_FIELDS = [
  "systemuserid",
  "applicationid",
  "accessmode",
  "isdisabled",
  "businessunitid@odata.bind",
  "firstname",
  "lastname",
  "internalemailaddress",
  "domainname",
  "azureactivedirectoryobjectid",
];
const USER_UPDATE_FIELDS = ["isdisabled", "firstname", "lastname", "internalemailaddress", "businessunitid@odata.bind"];

function getUser(call: Call, id: string): SystemUserRow {
  const user = call.dataverse.systemUser(id);
  if (!user) throw notExist("systemuser", id);
  return user;
}

function userRow(call: Call, user: SystemUserRow, expand: ExpandItem[]): Row {
  const { dataverse } = call;
  const row = userWire(dataverse.organizationId, user);
  for (const item of expand) {
    if (item.name !== "systemuserroles_association") {
      throw dataverseError(
        400,
        DataverseErrorCode.invalidProperty,
        `Could not find a property named '${item.name}' on type 'Microsoft.Dynamics.CRM.systemuser'.`,
      );
    }
    let roleRows = dataverse.assignedRoles(user).map((role) => roleWire(dataverse.organizationId, role));
    const filter = item.filter;
    if (filter) roleRows = roleRows.filter((roleRow) => evaluate(filter, roleRow, "role"));
    row.systemuserroles_association = roleRows.map((roleRow) => applySelect(roleRow, item.select, "role", "roleid"));
  }
  return row;
}

function selectUser(row: Row, select: string[] | undefined, expand: ExpandItem[]): Row {
  const selected = applySelect(row, select, "systemuser", "systemuserid");
  for (const item of expand) selected[item.name] = row[item.name];
  return selected;
}

async function systemUsers(call: Call, key: string | undefined, tail: string[]): Promise<boolean> {
  if (!key) return tail.length === 0 ? systemUsersCollection(call) : false;
  const user = getUser(call, key);
  return tail.length === 0 ? systemUsersEntity(call, user) : systemUsersNavigation(call, user, tail);
}

/** The systemUsers collection: query and create. */
function systemUsersCollection(call: Call): Promise<boolean> {
  return byMethod(call, { GET: () => listSystemUsers(call), POST: () => createApplicationUser(call) });
}

function listSystemUsers(call: Call): void {
  const { ctx, dataverse } = call;
  unsupportedQueryOptions(call, ["$select", "$filter", "$top", "$expand"]);
  requirePrivilege(call, "prvReadUser");
  const select = parseSelect(ctx.query.get("$select"));
  const expand = parseExpand(ctx.query.get("$expand"));
  const rows = filterRows(
    call,
    dataverse.systemUsers().map((user) => userRow(call, user, expand)),
    "systemuser",
  );
  list(
    call,
    "systemusers",
    rows.map((row) => selectUser(row, select, expand)),
  );
}

/** POST systemusers: the emulator creates application users only. */
async function createApplicationUser(call: Call): Promise<void> {
  const { ctx, dataverse } = call;
  requirePrivilege(call, "prvCreateUser");
  const fields = await jsonBody(ctx);
  checkProperties("systemuser", fields, USER_CREATE_FIELDS);
  const businessUnitId = newUserBusinessUnit(call, fields);
  const applicationId = fields.applicationid;
  if (typeof applicationId !== "string" || !isGuid(applicationId)) {
    throw invalid("The emulator creates application users only: 'applicationid' (the app registration's client id) is required.");
  }
  if (fields.accessmode !== undefined && fields.accessmode !== 4) throw invalid("An application user has accessmode 4 (Non-interactive).");
  if (fields.isdisabled !== undefined && typeof fields.isdisabled !== "boolean")
    throw invalid("Attribute 'isdisabled' must be true or false.");
  // One application user per app id, soft-deleted rows included.
  if (dataverse.hasApplicationUser(applicationId)) throw duplicateKey();
  const servicePrincipal = replicatedServicePrincipal(call, applicationId);
  const application = ctx.core.directory.application(applicationId) ?? { doc: servicePrincipal.doc, owners: [], secretHashes: {} };
  const userId = newRowId(fields, "systemuserid", (id) => dataverse.systemUser(id) !== undefined);
  const row = newApplicationUserRow({
    systemuserid: userId,
    app: application,
    sp: servicePrincipal,
    businessunitid: businessUnitId,
    isdisabled: fields.isdisabled === true,
    domain: ctx.core.directory.tenant.domain,
    now: ctx.core.now().toISOString(),
  });
  if (typeof fields.firstname === "string") row.firstname = fields.firstname;
  if (typeof fields.lastname === "string") row.lastname = fields.lastname;
  dataverse.addSystemUser(row);
  created(call, "systemusers", userId, userWire(dataverse.organizationId, row), "systemuser", "systemuserid");
}

/** A new user's business unit: required, and it must exist. */
function newUserBusinessUnit(call: Call, fields: Record<string, unknown>): string {
  const binding = fields["businessunitid@odata.bind"];
  if (binding === undefined || binding === null) {
    throw dataverseError(
      400,
      DataverseErrorCode.missingBusinessUnit,
      "The business unit of the user is not specified: set businessunitid@odata.bind to /businessunits(<guid>).",
    );
  }
  return boundBusinessUnit(call, binding);
}

/** The business unit a businessunitid@odata.bind names; it must exist. */
function boundBusinessUnit(call: Call, binding: unknown): string {
  const businessUnitId = bindId(binding, "businessunits");
  if (!businessUnitId) throw invalid("businessunitid@odata.bind must be /businessunits(<guid>).");
  if (!call.dataverse.businessUnit(businessUnitId)) throw notExist("businessunit", businessUnitId);
  return businessUnitId;
}

/** The app's service principal: one younger than the replication lag is not yet visible to Dataverse. */
function replicatedServicePrincipal(call: Call, applicationId: string): ServicePrincipalRecord {
  const directory = call.ctx.core.directory;
  const servicePrincipal = directory.servicePrincipal(applicationId);
  if (!servicePrincipal || (servicePrincipal.replicatedAtMs ?? 0) > Date.now()) {
    throw dataverseError(
      400,
      DataverseErrorCode.aadError,
      `Error from Microsoft Entra ID: no service principal with application id ${applicationId} exists in tenant ${directory.tenant.tenantId}. Create the app registration's service principal (enterprise application) first.`,
    );
  }
  return servicePrincipal;
}

/** One row of systemUsers: get, patch, delete. */
function systemUsersEntity(call: Call, user: SystemUserRow): Promise<boolean> {
  return byMethod(call, {
    GET: () => readSystemUser(call, user),
    PATCH: () => updateSystemUser(call, user),
    DELETE: () => deleteSystemUser(call, user),
  });
}

function readSystemUser(call: Call, user: SystemUserRow): void {
  const { ctx } = call;
  unsupportedQueryOptions(call, ["$select", "$expand"]);
  requirePrivilege(call, "prvReadUser");
  const select = parseSelect(ctx.query.get("$select"));
  const expand = parseExpand(ctx.query.get("$expand"));
  ctx.send(
    200,
    { "@odata.context": `${call.base}/$metadata#systemusers/$entity`, ...selectUser(userRow(call, user, expand), select, expand) },
    headers(),
  );
}

async function updateSystemUser(call: Call, user: SystemUserRow): Promise<void> {
  const { ctx, dataverse } = call;
  requirePrivilege(call, "prvWriteUser");
  const fields = await jsonBody(ctx);
  checkProperties("systemuser", fields, USER_UPDATE_FIELDS);
  const changes: SystemUserChanges = {};
  if (fields.isdisabled !== undefined) {
    if (typeof fields.isdisabled !== "boolean") throw invalid("Attribute 'isdisabled' must be true or false.");
    changes.isdisabled = fields.isdisabled;
  }
  for (const field of ["firstname", "lastname", "internalemailaddress"] as const) {
    const value = fields[field];
    if (value === undefined) continue;
    if (typeof value !== "string") throw invalid(`Attribute '${field}' must be a string.`);
    changes[field] = value;
  }
  if (fields["businessunitid@odata.bind"] !== undefined)
    changes.businessunitid = boundBusinessUnit(call, fields["businessunitid@odata.bind"]);
  dataverse.updateSystemUser(user, changes, ctx.core.now().toISOString());
  updated(call, "systemusers", userWire(dataverse.organizationId, user), "systemuser", "systemuserid");
}

function deleteSystemUser(call: Call, user: SystemUserRow): void {
  requirePrivilege(call, "prvDeleteUser");
  if (!user.isdisabled) {
    throw dataverseError(
      400,
      DataverseErrorCode.deleteEnabledUser,
      `Only a disabled user can be deleted: disable systemuser ${user.systemuserid} (PATCH {"isdisabled":true}) first.`,
    );
  }
  call.dataverse.deleteSystemUser(user, call.ctx.core.now().toISOString());
  call.ctx.send(204, undefined, headers());
}

/** Actions and navigation properties of one row of systemUsers. */
async function systemUsersNavigation(call: Call, user: SystemUserRow, tail: string[]): Promise<boolean> {
  const { ctx } = call;
  const method = ctx.method;
  if (tail[0] === "systemuserroles_association" && tail.length === 1 && method === "GET") {
    listAssignedRoles(call, user);
    return true;
  }
  if (tail[0] === "systemuserroles_association" && tail[1] === "$ref" && tail.length === 2) {
    if (method === "POST") {
      const fields = await jsonBody(ctx);
      const roleId = bindId(fields["@odata.id"], "roles");
      if (!roleId) throw invalid('The body must be {"@odata.id":"<base>/roles(<guid>)"}.');
      associate(call, user, roleId);
      return true;
    }
    if (method === "DELETE") {
      const roleId = bindId(ctx.query.get("$id"), "roles");
      if (!roleId) throw invalid("DELETE .../systemuserroles_association/$ref needs ?$id=<base>/roles(<guid>).");
      disassociate(call, user, roleId);
      return true;
    }
    return false;
  }
  const association = /^systemuserroles_association\(\{?([0-9a-fA-F-]{36})\}?\)$/.exec(tail[0]);
  if (association && tail[1] === "$ref" && tail.length === 2 && method === "DELETE") {
    disassociate(call, user, association[1].toLowerCase());
    return true;
  }
  return false;
}

function listAssignedRoles(call: Call, user: SystemUserRow): void {
  const { dataverse } = call;
  requirePrivilege(call, "prvReadUser");
  const select = parseSelect(call.ctx.query.get("$select"));
  const rows = dataverse.assignedRoles(user).map((role) => roleWire(dataverse.organizationId, role));
  list(
    call,
    "roles",
    filterRows(call, rows, "role").map((row) => applySelect(row, select, "role", "roleid")),
  );
}

function associate(call: Call, user: SystemUserRow, roleId: string): void {
  requirePrivilege(call, "prvAssignRole");
  const role = getRole(call, roleId);
  if (role.businessunitid !== user.businessunitid) {
    throw dataverseError(
      400,
      DataverseErrorCode.roleNotInUserBusinessUnit,
      `The role ${role.roleid} belongs to business unit ${role.businessunitid}, but the user ${user.systemuserid} belongs to business unit ${user.businessunitid}: a role must be in the user's business unit (use that business unit's copy of the role).`,
    );
  }
  requireHolds(call, call.dataverse.effectivePrivileges(role));
  // G: associating an already assigned role is accepted and changes nothing.
  call.dataverse.assignRole(user, role, call.ctx.core.now().toISOString());
  call.ctx.send(204, undefined, headers());
}

function disassociate(call: Call, user: SystemUserRow, roleId: string): void {
  requirePrivilege(call, "prvAssignRole");
  getRole(call, roleId);
  // G: removing a role the user does not have is accepted and changes nothing.
  call.dataverse.unassignRole(user, roleId, call.ctx.core.now().toISOString());
  call.ctx.send(204, undefined, headers());
}
