// A crash at any write converges (issue 8), for an integration whose managed identity the stack makes
// (README "Managed identities"): `pulumi up` killed right after ARM answered the identity's PUT, before
// Pulumi recorded it. The next `up` auto-names another identity; IdentityLeftovers removes the first
// (found by its stack and integration tags), so after `pulumi cancel` and one `pulumi up` exactly one
// identity of the stack remains, the one in state, with one application user holding the role; WhoAmI
// answers as that user through ManagedIdentityCredential; a refreshed preview is clean. Alone in its
// file: the credential finds the emulator's managed identity endpoint in the process environment.
// Harness: tests/support/crash-points.ts.
import { killAndRecover, killPoints } from "../support/crash-points";

jest.setTimeout(20 * 60 * 1000);

test(`crash-identity-create: killed right after the ${killPoints.identityCreate.name}, the recovery converges`, async () => {
  await killAndRecover("crash-identity-create", killPoints.identityCreate);
});
