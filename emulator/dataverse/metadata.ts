// The read-only catalogue: the privileges entity set (GET one or the list) and the table
// definitions (GET EntityDefinitions(LogicalName='<table>'): a table's privileges). Both come from
// the generated catalogue in ../privileges.ts, the same in every environment.
import { dataverseError, DataverseErrorCode } from "../errors";
import type { Row } from "../odata";
import { nameGuid, PRIVILEGES, privilegeById, privilegeType, TABLE_DEFINITIONS, type Privilege } from "../privileges";
import { headers, invalid, listRows, notExist, sendRow, undeclared, unsupportedQueryOptions, type DataverseCall } from "./common";

export function privileges(call: DataverseCall, key: string | undefined, tail: string[]): boolean {
  if (call.ctx.method !== "GET" || tail.length > 0) return false;
  unsupportedQueryOptions(call, ["$select", "$filter", "$top"]);
  const wire = (privilege: Privilege): Row => ({ ...privilege });
  if (key) {
    const privilege = privilegeById(key);
    if (!privilege) throw notExist("privilege", key);
    sendRow(call, "privileges", wire(privilege), "privilege", "privilegeid");
    return true;
  }
  listRows(call, "privileges", PRIVILEGES.map(wire), "privilege", "privilegeid");
  return true;
}

/** EntityMetadata properties the emulator answers (MetadataId always comes, as in Dataverse). */
const ENTITY_DEFINITION_FIELDS = ["MetadataId", "LogicalName", "Privileges"];

/**
 * GET EntityDefinitions(LogicalName='<table>'): the table's SecurityPrivilegeMetadata list (V:
 * webapi/reference/securityprivilegemetadata). Only the keyed form is served; an unknown table is
 * 404 (G: code and text).
 */
export function entityDefinitions(call: DataverseCall, args: string | undefined, tail: string[]): boolean {
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
