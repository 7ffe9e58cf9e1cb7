// The stack's admin-consent grant (issue 8), called as the provider host calls it, against the
// emulator: Graph keeps one AllPrincipals grant per client and resource (a second POST is a 409),
// so a grant a killed run made is adopted by the next create instead of failing it.
import {
  provider,
  type AdminConsentGrantInputs,
  type AdminConsentGrantOutputs,
} from "../../dynamic-providers/admin-consent-grant/provider";
import { SEEDED_IDS } from "../../emulator/seed";
import { registerApp, startTestEmulator, TestEmulator } from "../support/emulator";

let test_: TestEmulator;

beforeAll(async () => {
  test_ = await startTestEmulator();
});
afterAll(async () => {
  await test_?.stop();
});

function inputs(servicePrincipalObjectId: string, claimValues = ["user_impersonation"]): AdminConsentGrantInputs {
  return {
    servicePrincipalObjectId,
    resourceServicePrincipalObjectId: SEEDED_IDS.dynamicsCrm.servicePrincipalId,
    claimValues,
    metadataHost: test_.emulator.metadataHost,
    cloudEnvironment: "",
  };
}

interface Grant {
  id: string;
  clientId: string;
  scope: string;
}

async function grantsOf(servicePrincipalId: string): Promise<Grant[]> {
  const found = await test_.graph().request<{ value: Grant[] }>({
    operation: "list grants",
    method: "GET",
    path: `v1.0/oauth2PermissionGrants?$filter=${encodeURIComponent(`clientId eq '${servicePrincipalId}'`)}`,
  });
  return found.data.value;
}

/** An all-users grant to Dynamics CRM made outside the provider (a killed run, or azuread's resource). */
const grantByHand = (servicePrincipalId: string, scope: string, operation: string) =>
  test_.graph().request<Grant>({
    operation,
    method: "POST",
    path: "v1.0/oauth2PermissionGrants",
    body: { clientId: servicePrincipalId, resourceId: SEEDED_IDS.dynamicsCrm.servicePrincipalId, consentType: "AllPrincipals", scope },
  });

test("create makes the grant; read, update of the scope and delete follow it; a second delete is done", async () => {
  const app = await registerApp(test_, "consent-fresh");
  const created = await provider.create!(inputs(app.servicePrincipalId));
  expect(created.outs).toMatchObject({ grantId: created.id, grantedClaimValues: ["user_impersonation"], adopted: false });
  expect((await grantsOf(app.servicePrincipalId)).map((grant) => grant.id)).toEqual([created.id]);

  const read = await provider.read!(created.id, created.outs!);
  expect(read.props).toMatchObject({ grantId: created.id, grantedClaimValues: ["user_impersonation"] });
  const diff = await provider.diff!(created.id, created.outs!, inputs(app.servicePrincipalId, ["user_impersonation", "offline_access"]));
  expect(diff).toMatchObject({ changes: true, replaces: [] });
  const updated = await provider.update!(
    created.id,
    created.outs!,
    inputs(app.servicePrincipalId, ["user_impersonation", "offline_access"]),
  );
  expect(updated.outs!.grantedClaimValues).toEqual(["offline_access", "user_impersonation"]);
  expect((await grantsOf(app.servicePrincipalId))[0].scope.split(" ").sort()).toEqual(["offline_access", "user_impersonation"]);

  await provider.delete!(created.id, updated.outs as never);
  expect(await grantsOf(app.servicePrincipalId)).toEqual([]);
  await expect(provider.delete!(created.id, updated.outs as never)).resolves.toBeUndefined();
  expect((await provider.read!(created.id, updated.outs as never)).id).toBe("");
});

test("a grant a killed run made (Graph answers 409 to a second) is adopted, its scope set as declared", async () => {
  const app = await registerApp(test_, "consent-leftover");
  const leftover = await grantByHand(
    app.servicePrincipalId,
    "user_impersonation offline_access",
    "a grant made by a run that was killed before Pulumi recorded it",
  );
  // What the azuread provider's grant resource does on the next run: a POST, refused.
  await expect(
    test_.graph().request({
      operation: "grant again",
      method: "POST",
      path: "v1.0/oauth2PermissionGrants",
      body: { clientId: app.servicePrincipalId, resourceId: SEEDED_IDS.dynamicsCrm.servicePrincipalId, consentType: "AllPrincipals" },
    }),
  ).rejects.toMatchObject({ status: 409 });

  const created = await provider.create!(inputs(app.servicePrincipalId));
  expect(created.id).toBe(leftover.data.id);
  expect(created.outs).toMatchObject({ adopted: true, grantedClaimValues: ["user_impersonation"] });
  expect((await grantsOf(app.servicePrincipalId)).map((grant) => [grant.id, grant.scope])).toEqual([
    [leftover.data.id, "user_impersonation"],
  ]);
  // Converged: nothing left to change.
  const read = await provider.read!(created.id, created.outs!);
  expect(await provider.diff!(created.id, read.props as never, inputs(app.servicePrincipalId))).toMatchObject({ changes: false });
});

test("another client's grant to the same resource is never adopted", async () => {
  const mine = await registerApp(test_, "consent-mine");
  const other = await registerApp(test_, "consent-other");
  const others = await provider.create!(inputs(other.servicePrincipalId));
  const created = await provider.create!(inputs(mine.servicePrincipalId));
  expect(created.id).not.toBe(others.id);
  expect(created.outs!.adopted).toBe(false);
  expect((await grantsOf(other.servicePrincipalId)).map((grant) => grant.id)).toEqual([others.id]);
});

test("check refuses what is not an object id or names no permission", async () => {
  const checked = await provider.check!(inputs("x"), { ...inputs("not-a-guid"), claimValues: [] });
  expect(checked.failures!.map((failure) => failure.property).sort()).toEqual(["claimValues", "servicePrincipalObjectId"]);
});

test("a grant an earlier version made with azuread's resource (its state and id carried over by the alias) is taken over in place", async () => {
  const app = await registerApp(test_, "consent-upgrade");
  const made = await grantByHand(app.servicePrincipalId, "user_impersonation", "the grant azuread's resource made");
  // azuread's state: its id is "/oauth2PermissionGrants/<id>", its outputs have none of ours.
  const azureadId = `/oauth2PermissionGrants/${made.data.id}`;
  const azureadState = {
    id: azureadId,
    servicePrincipalObjectId: app.servicePrincipalId,
    resourceServicePrincipalObjectId: SEEDED_IDS.dynamicsCrm.servicePrincipalId,
    claimValues: ["user_impersonation"],
  } as unknown as AdminConsentGrantOutputs;
  const diff = await provider.diff!(azureadId, azureadState, inputs(app.servicePrincipalId));
  expect(diff.replaces).toEqual([]);
  const updated = await provider.update!(azureadId, azureadState, inputs(app.servicePrincipalId));
  expect(updated.outs).toMatchObject({ grantId: made.data.id, grantedClaimValues: ["user_impersonation"] });
  const read = await provider.read!(azureadId, updated.outs as AdminConsentGrantOutputs);
  expect(read).toMatchObject({ id: azureadId, props: { grantId: made.data.id } });
  expect(await provider.diff!(azureadId, read.props as AdminConsentGrantOutputs, inputs(app.servicePrincipalId))).toMatchObject({
    changes: false,
  });
  expect((await grantsOf(app.servicePrincipalId)).map((grant) => grant.id)).toEqual([made.data.id]);
  await provider.delete!(azureadId, read.props as AdminConsentGrantOutputs);
  expect(await grantsOf(app.servicePrincipalId)).toEqual([]);
});
