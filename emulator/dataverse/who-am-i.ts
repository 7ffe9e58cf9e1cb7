// WhoAmI (GET /api/data/v9.2/WhoAmI): the caller's user, business unit and organization. It needs
// no privilege, only an authenticated application user.
import { headers, type DataverseCall } from "./common";

export function whoAmI(call: DataverseCall): void {
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
