// A crash at any write converges (issue 8): `pulumi up` killed, engine and every plugin at once,
// right after one write of the run, then the documented recovery (`pulumi cancel`, `pulumi up`).
// After it: exactly one app registration, service principal, secret, role and application user,
// none orphaned, the user holding the role, WhoAmI with the secret, and a clean refreshed preview.
// This file: the app registration's writes and the service principal's; crash-later.test.ts the
// rest, so that jest's two workers share the kill points. The shared harness is
// tests/support/crash-points.ts; the tenant has replication lag and Graph pages of two.
import { killAndRecover, killPoints } from "../support/crash-points";

jest.setTimeout(20 * 60 * 1000);

// Each point has its own emulator and stack: they run at once, overlapping their waits for replication.
test.concurrent.each([
  ["crash-app-create", killPoints.applicationCreate.name, killPoints.applicationCreate],
  ["crash-app-temp-name", killPoints.applicationTemporaryName.name, killPoints.applicationTemporaryName],
  ["crash-app-real-name", killPoints.applicationRealName.name, killPoints.applicationRealName],
  ["crash-app-owner", killPoints.applicationOwner.name, killPoints.applicationOwner],
  ["crash-sp-create", killPoints.servicePrincipalCreate.name, killPoints.servicePrincipalCreate],
  ["crash-sp-description", killPoints.servicePrincipalDescription.name, killPoints.servicePrincipalDescription],
])("%s: killed right after the %s, the recovery converges", async (stackName, _pointName, point) => {
  await killAndRecover(stackName, point);
});
