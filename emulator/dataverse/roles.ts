// The roles entity set: GET one role or the list, POST a role, PATCH and DELETE one (an inherited
// copy in a child business unit and a managed role refuse changes), and the role privilege actions
// bound to a role (AddPrivilegesRole, ReplacePrivilegesRole, RemovePrivilegeRole: the caller grants
// only what it holds) and the function RetrieveRolePrivilegesRole, bound or unbound.
import { dataverseError, DataverseErrorCode } from "../errors";
import { isGuid, type RequestContext } from "../http";
import type { Row } from "../odata";
import { DEPTH_NAMES, parseDepth, privilegeById, privilegeByName } from "../privileges";
import { NEW_ROLE_SELF_PRIVILEGES } from "../seed";
import type { RoleRow } from "../store";
import { boundBusinessUnit } from "./business-units";
import {
  byMethod,
  checkProperties,
  created,
  etag,
  headers,
  invalid,
  jsonBody,
  listRows,
  newRowId,
  notExist,
  requireHolds,
  requirePrivilege,
  sendRow,
  unsupportedQueryOptions,
  updated,
  type DataverseCall,
} from "./common";

/** The Active solution's id, as Dataverse reports it on unmanaged components. */
const ACTIVE_SOLUTION = "fd140aaf-4df4-11dd-bd17-0019b9312238";

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

export function roleWire(organizationId: string, role: RoleRow): Row {
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

export function getRole(call: DataverseCall, id: string): RoleRow {
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

export async function roles(call: DataverseCall, key: string | undefined, tail: string[]): Promise<boolean> {
  if (!key) return tail.length === 0 ? rolesCollection(call) : false;
  const role = getRole(call, key);
  return tail.length === 0 ? rolesEntity(call, role) : rolesNavigation(call, role, tail);
}

/** The roles collection: query and create. */
function rolesCollection(call: DataverseCall): Promise<boolean> {
  return byMethod(call, { GET: () => listRoles(call), POST: () => createRole(call) });
}

function listRoles(call: DataverseCall): void {
  const { dataverse } = call;
  unsupportedQueryOptions(call, ["$select", "$filter", "$top"]);
  requirePrivilege(call, "prvReadRole");
  const rows = dataverse.roles().map((role) => roleWire(dataverse.organizationId, role));
  listRows(call, "roles", rows, "role", "roleid");
}

async function createRole(call: DataverseCall): Promise<void> {
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
function newRoleBusinessUnit(call: DataverseCall, fields: Record<string, unknown>): string {
  const binding = fields["businessunitid@odata.bind"];
  return binding === undefined ? call.dataverse.rootBusinessUnit().businessunitid : boundBusinessUnit(call, binding);
}

/** One row of roles: get, patch, delete. */
function rolesEntity(call: DataverseCall, role: RoleRow): Promise<boolean> {
  return byMethod(call, {
    GET: () => readRole(call, role),
    PATCH: () => updateRole(call, role),
    DELETE: () => deleteRole(call, role),
  });
}

function readRole(call: DataverseCall, role: RoleRow): void {
  unsupportedQueryOptions(call, ["$select"]);
  requirePrivilege(call, "prvReadRole");
  sendRow(call, "roles", roleWire(call.dataverse.organizationId, role), "role", "roleid");
}

async function updateRole(call: DataverseCall, role: RoleRow): Promise<void> {
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

function deleteRole(call: DataverseCall, role: RoleRow): void {
  requirePrivilege(call, "prvDeleteRole");
  inheritedGuard(role);
  if (role.ismanaged) throw invalid(`The managed role '${role.name}' cannot be deleted.`);
  call.dataverse.deleteRole(role);
  call.ctx.send(204, undefined, headers());
}

/** Actions and navigation properties of one row of roles. */
async function rolesNavigation(call: DataverseCall, role: RoleRow, tail: string[]): Promise<boolean> {
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
async function grantPrivileges(call: DataverseCall, role: RoleRow, action: "AddPrivilegesRole" | "ReplacePrivilegesRole"): Promise<void> {
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

async function removePrivilege(call: DataverseCall, role: RoleRow): Promise<void> {
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

/** The unbound function GET RetrieveRolePrivilegesRole(RoleId=<guid>) (or RoleId=@p with ?@p=<guid>). */
export function retrieveRolePrivilegesFunction(call: DataverseCall, args: string | undefined): void {
  const roleIdArgument = /^RoleId=(.+)$/.exec(args ?? "");
  const roleId = roleIdArgument ? resolveAlias(call.ctx, roleIdArgument[1]).replace(/[{}']/g, "") : "";
  if (!isGuid(roleId)) throw invalid("RetrieveRolePrivilegesRole needs RoleId=<guid>.");
  retrievePrivileges(call, roleId.toLowerCase());
}

/** A parameter alias (@p) takes its value from the query string (?@p=...). */
function resolveAlias(ctx: RequestContext, value: string): string {
  return value.startsWith("@") ? (ctx.query.get(value) ?? value) : value;
}

/** The role's privileges and depths, the inherited copies' as their root role's. */
function retrievePrivileges(call: DataverseCall, roleId: string): void {
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
