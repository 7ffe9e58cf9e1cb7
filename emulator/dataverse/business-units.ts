// The businessunits entity set, read-only: GET one business unit or the list ($select, $filter,
// $top), with prvReadBusinessUnit; and the businessunitid@odata.bind of roles and users.
import type { Row } from "../odata";
import type { BusinessUnitRow } from "../store";
import {
  bindId,
  etag,
  invalid,
  listRows,
  notExist,
  requirePrivilege,
  sendRow,
  unsupportedQueryOptions,
  type DataverseCall,
} from "./common";

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

export function businessUnits(call: DataverseCall, key: string | undefined, tail: string[]): boolean {
  if (call.ctx.method !== "GET" || tail.length > 0) return false;
  unsupportedQueryOptions(call, ["$select", "$filter", "$top"]);
  requirePrivilege(call, "prvReadBusinessUnit");
  const { dataverse } = call;
  if (key) {
    const businessUnit = dataverse.businessUnit(key);
    if (!businessUnit) throw notExist("businessunit", key);
    sendRow(call, "businessunits", businessUnitWire(dataverse.organizationId, businessUnit), "businessunit", "businessunitid");
    return true;
  }
  const rows = dataverse.businessUnits().map((businessUnit) => businessUnitWire(dataverse.organizationId, businessUnit));
  listRows(call, "businessunits", rows, "businessunit", "businessunitid");
  return true;
}

/** The business unit a businessunitid@odata.bind names; it must exist. */
export function boundBusinessUnit(call: DataverseCall, binding: unknown): string {
  const businessUnitId = bindId(binding, "businessunits");
  if (!businessUnitId) throw invalid("businessunitid@odata.bind must be /businessunits(<guid>).");
  if (!call.dataverse.businessUnit(businessUnitId)) throw notExist("businessunit", businessUnitId);
  return businessUnitId;
}
