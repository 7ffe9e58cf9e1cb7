// The application user provider against the emulator: create, adopt (disabled, soft-deleted),
// idempotence, drift (role removed or added, user disabled, user deleted), repair, delete, and a
// clear error when the deploying identity lacks System Administrator. Assertions read emulator state.
import type * as pulumi from "@pulumi/pulumi";
import { applicationUserProvider, ApplicationUserInputs, ApplicationUserOutputs } from "../../dynamic-providers/application-user";
import { clonedSecurityRoleProvider } from "../../dynamic-providers/cloned-security-role";
import { registerApp, startTestEmulator, TestEmulator } from "../support/emulator";

/** The tests give check raw, partial inputs, as the engine does: the provider is called untyped here. */
type UntypedProvider = Required<pulumi.dynamic.ResourceProvider>;

const provider = applicationUserProvider as UntypedProvider;
const roleProvider = clonedSecurityRoleProvider as UntypedProvider;
let test_: TestEmulator;
let roleId: string;
let otherRoleId: string;

beforeAll(async () => {
  test_ = await startTestEmulator();
  const role = await roleProvider.create(
    (await roleProvider.check({}, { environmentUrl: test_.emulator.environmentUrl, name: "API User" })).inputs,
  );
  roleId = role.id;
  const client = test_.dataverse();
  otherRoleId = (await client.findSourceRole("Basic User", await client.businessUnitId()))!.roleid;
});
afterAll(async () => test_?.stop());

async function checked(applicationId: string, overrides: Partial<ApplicationUserInputs> = {}): Promise<ApplicationUserInputs> {
  const result = await provider.check(
    {},
    { environmentUrl: test_.emulator.environmentUrl, applicationId, roleIds: [roleId], ...overrides },
  );
  expect(result.failures).toEqual([]);
  return result.inputs as ApplicationUserInputs;
}

async function usersOf(appId: string) {
  return test_.dataverse().findApplicationUsers(appId);
}

const rolesOf = (user: { systemuserroles_association?: { roleid: string }[] }) =>
  (user.systemuserroles_association ?? []).map((role) => role.roleid).sort();

describe("lifecycle", () => {
  let appId: string;
  let inputs: ApplicationUserInputs;
  let id: string;
  let outs: ApplicationUserOutputs;

  beforeAll(async () => {
    appId = (await registerApp(test_, "Lifecycle App")).appId;
    inputs = await checked(appId);
  });

  test("create makes one enabled application user holding the role", async () => {
    const created = await provider.create(inputs);
    id = created.id;
    outs = created.outs as ApplicationUserOutputs;
    const users = await usersOf(appId);
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ systemuserid: id, isdisabled: false });
    expect(rolesOf(users[0])).toEqual([roleId]);
    expect(outs).toMatchObject({ userId: id, isDisabled: false, assignedRoleIds: [roleId] });
    expect(outs.fullName).toContain("Lifecycle App");
  });

  test("a second create adopts the same user", async () => {
    const again = await provider.create(inputs);
    expect(again.id).toBe(id);
    expect(await usersOf(appId)).toHaveLength(1);
  });

  test("a role removed outside the stack is drift, and update assigns it again", async () => {
    await test_.dataverse().unassignRole(id, roleId);
    outs = (await provider.read(id, outs)).props as ApplicationUserOutputs;
    expect(outs.assignedRoleIds).toEqual([]);
    expect((await provider.diff(id, outs, inputs)).changes).toBe(true);
    outs = (await provider.update(id, outs, inputs)).outs as ApplicationUserOutputs;
    expect(rolesOf((await usersOf(appId))[0])).toEqual([roleId]);
    expect((await provider.diff(id, outs, inputs)).changes).toBe(false);
  });

  test("a role added outside the stack is removed by update, unless told to keep it", async () => {
    await test_.dataverse().assignRole(id, otherRoleId);
    outs = (await provider.read(id, outs)).props as ApplicationUserOutputs;
    expect(outs.assignedRoleIds).toEqual([roleId, otherRoleId].sort());
    expect((await provider.diff(id, outs, inputs)).changes).toBe(true);
    const keep = { ...inputs, removeUnmanagedRoles: false };
    expect((await provider.diff(id, { ...outs, removeUnmanagedRoles: false }, keep)).changes).toBe(false);
    outs = (await provider.update(id, outs, inputs)).outs as ApplicationUserOutputs;
    expect(rolesOf((await usersOf(appId))[0])).toEqual([roleId]);
  });

  test("a disabled user is drift, and update re-enables it", async () => {
    await test_.dataverse().updateUser(id, { isdisabled: true }, "disable by hand");
    outs = (await provider.read(id, outs)).props as ApplicationUserOutputs;
    expect(outs.isDisabled).toBe(true);
    expect((await provider.diff(id, outs, inputs)).changes).toBe(true);
    outs = (await provider.update(id, outs, inputs)).outs as ApplicationUserOutputs;
    expect((await usersOf(appId))[0].isdisabled).toBe(false);
  });

  test("another app id replaces the user", async () => {
    expect((await provider.diff(id, outs, { ...inputs, applicationId: "11111111-2222-4333-8444-555555555555" })).replaces).toEqual([
      "applicationId",
    ]);
  });

  test("another business unit moves the user in place and gives it its role again (same id, never without a user)", async () => {
    const client = test_.dataverse();
    const sales = await client.businessUnitId("Sales");
    const salesRole = await roleProvider.create(
      (await roleProvider.check({}, { environmentUrl: test_.emulator.environmentUrl, name: "Sales Mover", businessUnit: "Sales" })).inputs,
    );
    const moved = { ...inputs, businessUnit: "Sales", roleIds: [salesRole.id] };
    const diff = await provider.diff(id, outs, moved);
    expect(diff).toMatchObject({ changes: true, replaces: [], stables: ["userId"] });
    outs = (await provider.update(id, outs, moved)).outs as ApplicationUserOutputs;
    const [user] = await usersOf(appId);
    expect(user.systemuserid).toBe(id);
    expect(user._businessunitid_value.toLowerCase()).toBe(sales);
    expect(rolesOf(user)).toEqual([salesRole.id]);
    expect(outs).toMatchObject({ userId: id, businessUnitId: sales, assignedRoleIds: [salesRole.id] });
    expect((await provider.diff(id, outs, moved)).changes).toBe(false);
    inputs = moved;
  });

  test("delete disables, soft-deletes and purges the user", async () => {
    await provider.delete(id, outs);
    expect(await usersOf(appId)).toEqual([]);
    expect((await provider.read(id, outs)).id).toBe("");
    await provider.delete(id, outs); // already gone is done
  });
});

describe("adoption", () => {
  test("a disabled user made by hand is adopted and re-enabled", async () => {
    const { appId } = await registerApp(test_, "Hand Made App");
    const client = test_.dataverse();
    const userId = await client.createApplicationUser(appId, await client.businessUnitId());
    await client.updateUser(userId, { isdisabled: true }, "disable by hand");
    const created = await provider.create(await checked(appId));
    expect(created.id).toBe(userId);
    const [user] = await usersOf(appId);
    expect(user).toMatchObject({ systemuserid: userId, isdisabled: false });
    expect(rolesOf(user)).toEqual([roleId]);
  });

  test("a soft-deleted user of the same app is purged so that a new one can be made", async () => {
    const { appId } = await registerApp(test_, "Soft Deleted App");
    const client = test_.dataverse();
    const oldId = await client.createApplicationUser(appId, await client.businessUnitId());
    await client.updateUser(oldId, { isdisabled: true }, "disable by hand");
    await client.deleteUser(oldId, "soft delete by hand");
    expect((await usersOf(appId)).map((user) => user.deletedstate)).toEqual([1]);
    const created = await provider.create(await checked(appId));
    expect(created.id).not.toBe(oldId);
    const users = await usersOf(appId);
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ systemuserid: created.id, isdisabled: false });
  });

  test("a user deleted outside the stack reads as gone, so the next up creates it again", async () => {
    const { appId } = await registerApp(test_, "Deleted Outside App");
    const created = await provider.create(await checked(appId));
    const client = test_.dataverse();
    await client.updateUser(created.id, { isdisabled: true }, "disable by hand");
    await client.deleteUser(created.id, "delete by hand");
    expect((await provider.read(created.id, created.outs as ApplicationUserOutputs)).id).toBe("");
  });

  test("keepDisabledOnDelete leaves the user disabled", async () => {
    const { appId } = await registerApp(test_, "Kept App");
    const inputs = await checked(appId, { keepDisabledOnDelete: true });
    const created = await provider.create(inputs);
    await provider.delete(created.id, created.outs);
    const [user] = await usersOf(appId);
    expect(user).toMatchObject({ systemuserid: created.id, isdisabled: true, deletedstate: 0 });
  });
});

describe("errors", () => {
  test("an app id that is not a GUID fails the check", async () => {
    const result = await provider.check({}, { environmentUrl: test_.emulator.environmentUrl, applicationId: "my-app", roleIds: ["x"] });
    expect((result.failures ?? []).map((failure) => failure.property)).toEqual(["applicationId", "roleIds"]);
  });

  test("a deploying identity without System Administrator gets an error that says so, and nothing is made", async () => {
    // An identity that is an application user with only Basic User.
    const limited = await registerApp(test_, "Limited Deployer");
    const graph = test_.graph();
    const password = await graph.request<{ secretText: string }>({
      operation: "add password",
      method: "POST",
      path: `v1.0/applications/${limited.objectId}/addPassword`,
      body: { passwordCredential: { displayName: "test" } },
    });
    const client = test_.dataverse();
    const limitedUserId = await client.createApplicationUser(limited.appId, await client.businessUnitId());
    await client.assignRole(limitedUserId, otherRoleId);

    const target = await registerApp(test_, "Target App");
    const savedId = process.env.AZURE_CLIENT_ID;
    const savedSecret = process.env.AZURE_CLIENT_SECRET;
    test_.useEnvironment({ AZURE_CLIENT_ID: limited.appId, AZURE_CLIENT_SECRET: password.data.secretText });
    try {
      const error = await provider.create(await checked(target.appId)).catch((caught: Error) => caught);
      expect(String(error)).toMatch(/create application user .* 403 .*System Administrator/s);
      expect(String(error)).not.toContain(password.data.secretText);
    } finally {
      test_.useEnvironment({ AZURE_CLIENT_ID: savedId!, AZURE_CLIENT_SECRET: savedSecret! });
    }
    expect(await usersOf(target.appId)).toEqual([]);
  });
});
