// The systemusers entity set, application users only: GET one user or the list ($expand of
// systemuserroles_association), POST an application user (its app's service principal must have
// replicated to Dataverse), PATCH, DELETE (a disabled user only), and the user's role assignments
// (systemuserroles_association and its $ref: a role of the user's business unit, whose privileges
// the caller holds).
import { dataverseError, DataverseErrorCode } from "../errors";
import { isGuid } from "../http";
import { newApplicationUserRow } from "../model";
import { applySelect, evaluate, parseExpand, parseSelect, type ExpandItem, type Row } from "../odata";
import type { SystemUserChanges } from "../dataverse-store";
import type { ServicePrincipalRecord, SystemUserRow } from "../store";
import { boundBusinessUnit } from "./business-units";
import {
  bindId,
  byMethod,
  checkProperties,
  created,
  duplicateKey,
  etag,
  filterRows,
  headers,
  invalid,
  jsonBody,
  list,
  listRows,
  newRowId,
  notExist,
  requireHolds,
  requirePrivilege,
  unsupportedQueryOptions,
  updated,
  type DataverseCall,
} from "./common";
import { getRole, roleWire } from "./roles";

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

function getUser(call: DataverseCall, id: string): SystemUserRow {
  const user = call.dataverse.systemUser(id);
  if (!user) throw notExist("systemuser", id);
  return user;
}

function userRow(call: DataverseCall, user: SystemUserRow, expand: ExpandItem[]): Row {
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

export async function systemUsers(call: DataverseCall, key: string | undefined, tail: string[]): Promise<boolean> {
  if (!key) return tail.length === 0 ? systemUsersCollection(call) : false;
  const user = getUser(call, key);
  return tail.length === 0 ? systemUsersEntity(call, user) : systemUsersNavigation(call, user, tail);
}

/** The systemUsers collection: query and create. */
function systemUsersCollection(call: DataverseCall): Promise<boolean> {
  return byMethod(call, { GET: () => listSystemUsers(call), POST: () => createApplicationUser(call) });
}

function listSystemUsers(call: DataverseCall): void {
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
async function createApplicationUser(call: DataverseCall): Promise<void> {
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
function newUserBusinessUnit(call: DataverseCall, fields: Record<string, unknown>): string {
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

/** The app's service principal: one younger than the replication lag is not yet visible to Dataverse. */
function replicatedServicePrincipal(call: DataverseCall, applicationId: string): ServicePrincipalRecord {
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
function systemUsersEntity(call: DataverseCall, user: SystemUserRow): Promise<boolean> {
  return byMethod(call, {
    GET: () => readSystemUser(call, user),
    PATCH: () => updateSystemUser(call, user),
    DELETE: () => deleteSystemUser(call, user),
  });
}

function readSystemUser(call: DataverseCall, user: SystemUserRow): void {
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

async function updateSystemUser(call: DataverseCall, user: SystemUserRow): Promise<void> {
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

function deleteSystemUser(call: DataverseCall, user: SystemUserRow): void {
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
async function systemUsersNavigation(call: DataverseCall, user: SystemUserRow, tail: string[]): Promise<boolean> {
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

function listAssignedRoles(call: DataverseCall, user: SystemUserRow): void {
  const { dataverse } = call;
  requirePrivilege(call, "prvReadUser");
  const rows = dataverse.assignedRoles(user).map((role) => roleWire(dataverse.organizationId, role));
  listRows(call, "roles", rows, "role", "roleid");
}

function associate(call: DataverseCall, user: SystemUserRow, roleId: string): void {
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

function disassociate(call: DataverseCall, user: SystemUserRow, roleId: string): void {
  requirePrivilege(call, "prvAssignRole");
  getRole(call, roleId);
  // G: removing a role the user does not have is accepted and changes nothing.
  call.dataverse.unassignRole(user, roleId, call.ctx.core.now().toISOString());
  call.ctx.send(204, undefined, headers());
}
