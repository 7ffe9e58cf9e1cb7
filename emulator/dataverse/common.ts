// The base every Dataverse handler builds on: the call a handler is given (the environment's
// DataverseStore injected, the authenticated caller), the errors they share, the privilege checks,
// the body and query readers, and the answers (a list, a created or updated row) with the headers
// of the real service (reference/dataverse-web-api.md).
import { randomUUID } from "node:crypto";
import { dataverseError, DataverseErrorCode, type ServiceError } from "../errors";
import { isGuid, type RequestContext } from "../http";
import { applySelect, evaluate, parseFilter, parseSelect, type Row } from "../odata";
import { DEPTH_NAMES, privilegeById, privilegeByName } from "../privileges";
import type { DataverseStore } from "../dataverse-store";
import type { SystemUserRow } from "../store";

/** One Dataverse request, with what every handler needs. */
export interface DataverseCall {
  ctx: RequestContext;
  /** The environment the request is for. */
  dataverse: DataverseStore;
  caller: SystemUserRow;
  base: string;
  version: string;
}

export function notExist(entity: string, id: string): ServiceError {
  return dataverseError(404, DataverseErrorCode.objectDoesNotExist, `${entity} With Id = ${id} Does Not Exist`);
}

export function invalid(message: string): ServiceError {
  return dataverseError(400, DataverseErrorCode.invalidArgument, message);
}

export function undeclared(entity: string, property: string): ServiceError {
  return dataverseError(
    400,
    DataverseErrorCode.invalidProperty,
    `The property '${property}' does not exist on type 'Microsoft.Dynamics.CRM.${entity}'. Make sure to only use property names that are defined by the type.`,
  );
}

export function etag(modifiedon: string): string {
  return `W/"${Date.parse(modifiedon)}"`;
}

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

export function requirePrivilege(call: DataverseCall, name: string): void {
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
export function requireHolds(call: DataverseCall, privileges: Record<string, number>): void {
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
export function bindId(value: unknown, collection: string): string | undefined {
  if (typeof value !== "string") return undefined;
  const match = new RegExp(`${collection}\\(\\{?([0-9a-fA-F-]{36})\\}?\\)\\/?$`).exec(value);
  return match ? match[1].toLowerCase() : undefined;
}

function prefersRepresentation(ctx: RequestContext): boolean {
  return /return=representation/i.test(ctx.header("prefer") ?? "");
}

export async function jsonBody(ctx: RequestContext): Promise<Record<string, unknown>> {
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

export function checkProperties(entity: string, fields: Record<string, unknown>, allowed: string[]): void {
  for (const name of Object.keys(fields)) {
    if (name.startsWith("@odata.")) continue;
    if (!allowed.includes(name)) throw undeclared(entity, name.replace(/@odata\.bind$/, ""));
  }
}

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const id = randomUUID();
  return {
    "OData-Version": "4.0",
    "Content-Type": "application/json; odata.metadata=minimal",
    REQ_ID: id,
    "x-ms-service-request-id": id,
    ...extra,
  };
}

/** Runs the operation for the request's method; false (not handled) when the method has none. */
export async function byMethod(call: DataverseCall, operations: Partial<Record<string, () => void | Promise<void>>>): Promise<boolean> {
  const operation = operations[call.ctx.method];
  if (!operation) return false;
  await operation();
  return true;
}

export function list(call: DataverseCall, entitySet: string, rows: Row[]): void {
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

/** Answers the rows of an entity set that $filter keeps, each with the $select properties, at most $top. */
export function listRows(call: DataverseCall, entitySet: string, rows: Row[], entity: string, primaryKey: string): void {
  const select = parseSelect(call.ctx.query.get("$select"));
  list(
    call,
    entitySet,
    filterRows(call, rows, entity).map((row) => applySelect(row, select, entity, primaryKey)),
  );
}

/** Answers one row of an entity set with the $select properties. */
export function sendRow(call: DataverseCall, entitySet: string, row: Row, entity: string, primaryKey: string): void {
  const select = parseSelect(call.ctx.query.get("$select"));
  call.ctx.send(
    200,
    { "@odata.context": `${call.base}/$metadata#${entitySet}/$entity`, ...applySelect(row, select, entity, primaryKey) },
    headers(),
  );
}

export function filterRows(call: DataverseCall, rows: Row[], entity: string): Row[] {
  const raw = call.ctx.query.get("$filter");
  if (!raw) return rows;
  const node = parseFilter(raw);
  return rows.filter((row) => evaluate(node, row, entity));
}

export function unsupportedQueryOptions(call: DataverseCall, allowed: string[]): void {
  for (const key of call.ctx.query.keys()) {
    if (key.startsWith("$") && !allowed.includes(key)) {
      throw dataverseError(400, DataverseErrorCode.invalidProperty, `The query parameter ${key} is not supported by the emulator.`);
    }
  }
}

export function duplicateKey(): ServiceError {
  return dataverseError(412, DataverseErrorCode.duplicateKey, "A record with matching key values already exists.");
}

/** The id of a new row: the one given in `field` (a GUID not yet used) or a new one. */
export function newRowId(fields: Record<string, unknown>, field: "roleid" | "systemuserid", taken: (id: string) => boolean): string {
  const given = fields[field];
  if (given === undefined) return randomUUID();
  if (typeof given !== "string" || !isGuid(given)) throw invalid(`Attribute '${field}' must be a GUID.`);
  const id = given.toLowerCase();
  if (taken(id)) throw duplicateKey();
  return id;
}

export function created(call: DataverseCall, set: string, id: string, row: Row, entity: string, primaryKey: string): void {
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

export function updated(call: DataverseCall, set: string, row: Row, entity: string, primaryKey: string): void {
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
