// A crash at any write converges (issue 8), second half of the kill points: the service
// principal's owner change, the client secret, the admin-consent grant, and every Dataverse write (role create, privilege
// write, application user create, role association). See crash.test.ts and tests/support/crash-points.ts.
import { killAndRecover, killPoints } from "../support/crash-points";

jest.setTimeout(20 * 60 * 1000);

// Each point has its own emulator and stack: they run at once, overlapping their waits for replication.
test.concurrent.each([
  ["crash-sp-owner", killPoints.servicePrincipalOwner.name, killPoints.servicePrincipalOwner],
  ["crash-add-password", killPoints.addPassword.name, killPoints.addPassword],
  ["crash-consent-grant", killPoints.adminConsentGrant.name, killPoints.adminConsentGrant],
  ["crash-role-create", killPoints.roleCreate.name, killPoints.roleCreate],
  ["crash-privileges", killPoints.privileges.name, killPoints.privileges],
  ["crash-user-create", killPoints.userCreate.name, killPoints.userCreate],
  ["crash-role-association", killPoints.roleAssociation.name, killPoints.roleAssociation],
])("%s: killed right after the %s, the recovery converges", async (stackName, _pointName, point) => {
  await killAndRecover(stackName, point);
});
