// Lifecycle of a live integration, part 2 (issue 8): the config changes that keep the identity
// (displayName, role.cloneFrom, clone <-> existing role, businessUnit) each do what the README says
// ("Renames, removals and crashes"), and the application user is never without a role: a watcher
// reads its roles all through every run, and the emulator's ordered request log (a $batch's parts
// in order; a change set is all or nothing) shows the new role given before the old one is taken
// away, and the old role deleted only after that. With replication lag and Graph pages of two.
import { expectWhoAmI, laggingTenant, startE2eEmulator, TestEmulator } from "../support/emulator";
import { firstIndex, lastIndex, requestRecorder, roleWrites, watchingRoles, WriteEvent } from "../support/lifecycle";
import { createTestProject, setIntegrations, TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

let test_: TestEmulator;
let project: TestProject;
const recorder = requestRecorder();

const roleName = "Changes API User";
const etl = { name: "etl", displayName: "Changes ETL", role: { name: roleName } };

beforeAll(async () => {
  test_ = await startE2eEmulator({ ...laggingTenant, log: recorder.log });
  project = await createTestProject(test_.emulator, "lifecycle-changes", [etl]);
});
afterAll(async () => {
  project?.cleanUp();
  await test_?.stop();
});

interface Outputs {
  clientId: string;
  clientSecret: string;
  tenantId: string;
  applicationUserId: string;
  securityRoleId: string;
}
let outputs: Outputs;

/** One `pulumi up` with the user's roles watched; returns the writes it made, in order. */
async function up(): Promise<WriteEvent[]> {
  const mark = recorder.mark();
  const watched = outputs ? [outputs.applicationUserId] : [];
  const { result, roleless, reads } = await watchingRoles(
    test_,
    () => watched,
    () => project.stack.up(),
  );
  expect(result.summary.result).toBe("succeeded");
  expect(roleless).toEqual([]);
  if (watched.length > 0) expect(reads).toBeGreaterThan(0);
  outputs = result.outputs.integrations.value.etl;
  return recorder.writesSince(mark);
}

async function app() {
  const found = await test_.graph().request<{ value: { id: string; appId: string; displayName: string }[] }>({
    operation: "find the app",
    method: "GET",
    path: `v1.0/applications?$filter=${encodeURIComponent(`appId eq '${outputs.clientId}'`)}&$select=id,appId,displayName`,
  });
  return found.data.value;
}

async function user() {
  const found = await test_.dataverse().getUser(outputs.applicationUserId);
  if (!found) throw new Error(`the application user ${outputs.applicationUserId} is gone`);
  return { ...found, roleIds: (found.systemuserroles_association ?? []).map((role) => role.roleid.toLowerCase()) };
}

async function rolesNamed(name: string, businessUnit?: string) {
  const client = test_.dataverse();
  return client.findRoleByName(name, await client.businessUnitId(businessUnit));
}

async function privilegeNames(roleId: string): Promise<string[]> {
  return (await test_.dataverse().rolePrivileges(roleId)).map((privilege) => privilege.name).sort();
}

/** The role association writes come in this order: every association before the first disassociation. */
function expectGivenBeforeTaken(writes: WriteEvent[]) {
  const given = firstIndex(writes, roleWrites.associate);
  const taken = firstIndex(writes, roleWrites.disassociate);
  expect(given).toBeGreaterThanOrEqual(0);
  expect(taken).toBeGreaterThan(lastIndex(writes, roleWrites.associate));
}

let first: Outputs;

test("first up: the app, the cloned role and the user holding it", async () => {
  await up();
  first = outputs;
  expect((await user()).roleIds).toEqual([first.securityRoleId.toLowerCase()]);
  expect((await rolesNamed(roleName)).map((role) => role.roleid)).toEqual([first.securityRoleId]);
});

test("displayName: the app registration is renamed in place; client id, secret, user and role stay", async () => {
  await setIntegrations(project, [{ ...etl, displayName: "Changes ETL renamed" }]);
  // The preview says what up does: updates only, no replacement (the Application's clientId stays
  // known in the preview of its update, as with the bridged provider: offline-plugins/azuread/preview.ts).
  const preview = await project.stack.preview();
  expect(preview.changeSummary.replace ?? 0).toBe(0);
  expect(preview.changeSummary.create ?? 0).toBe(0);
  expect(preview.changeSummary.delete ?? 0).toBe(0);
  expect(preview.changeSummary.update ?? 0).toBeGreaterThan(0);
  const writes = await up();
  expect(outputs).toMatchObject(first);
  expect((await app()).map((found) => found.displayName)).toEqual(["Changes ETL renamed"]);
  // Nothing in Dataverse was written: the user kept its role without a gap.
  expect(writes.filter((event) => event.write.startsWith("dataverse "))).toEqual([]);
  expect(writes.filter((event) => /^graph (POST|DELETE) \/v1\.0\/applications/.test(event.write))).toEqual([]);
});

test("role.cloneFrom: the role is updated in place from the new source (same role id); the user keeps it", async () => {
  const basicUser = await rolesNamed("Basic User");
  const basicNames = await privilegeNames(basicUser[0].roleid);
  const before = await privilegeNames(first.securityRoleId);
  await setIntegrations(project, [{ ...etl, displayName: "Changes ETL renamed", role: { name: roleName, cloneFrom: "Basic User" } }]);
  const writes = await up();
  expect(outputs).toMatchObject(first);
  const after = await privilegeNames(first.securityRoleId);
  expect(after).toEqual(expect.arrayContaining(basicNames));
  expect(after.length).toBeLessThan(before.length);
  expect((await user()).roleIds).toEqual([first.securityRoleId.toLowerCase()]);
  // No role was made, deleted, given or taken.
  for (const write of [roleWrites.createRole, roleWrites.deleteRole, roleWrites.associate, roleWrites.disassociate]) {
    expect(firstIndex(writes, write)).toBe(-1);
  }
});

test("clone -> role.existing: the user is given the existing role before the copy is taken away; the copy is deleted last", async () => {
  const [basicUser] = await rolesNamed("Basic User");
  await setIntegrations(project, [{ ...etl, displayName: "Changes ETL renamed", role: { existing: "Basic User" } }]);
  const writes = await up();
  expect(outputs).toMatchObject({ clientId: first.clientId, applicationUserId: first.applicationUserId });
  expect(outputs.securityRoleId.toLowerCase()).toBe(basicUser.roleid.toLowerCase());
  expect((await user()).roleIds).toEqual([basicUser.roleid.toLowerCase()]);
  expect(await rolesNamed(roleName)).toEqual([]);
  expectGivenBeforeTaken(writes);
  expect(firstIndex(writes, roleWrites.deleteRole)).toBeGreaterThan(firstIndex(writes, roleWrites.disassociate));
  // The existing role is never modified or deleted.
  expect(await rolesNamed("Basic User")).toHaveLength(1);
});

test("role.existing -> clone: the copy is made and given before the existing role is taken away", async () => {
  const [basicUser] = await rolesNamed("Basic User");
  const basicNames = await privilegeNames(basicUser.roleid);
  await setIntegrations(project, [{ ...etl, displayName: "Changes ETL renamed" }]);
  const writes = await up();
  const [copy] = await rolesNamed(roleName);
  expect(outputs).toMatchObject({ clientId: first.clientId, applicationUserId: first.applicationUserId, securityRoleId: copy.roleid });
  expect((await user()).roleIds).toEqual([copy.roleid.toLowerCase()]);
  expect(firstIndex(writes, roleWrites.createRole)).toBeLessThan(firstIndex(writes, roleWrites.associate));
  expectGivenBeforeTaken(writes);
  expect(firstIndex(writes, roleWrites.deleteRole)).toBe(-1);
  // The existing role is left as it was.
  expect(await privilegeNames(basicUser.roleid)).toEqual(basicNames);
});

test("businessUnit: the role is made in the new unit first; the user is moved in place and given it in one change set; the old role goes last", async () => {
  const [oldRole] = await rolesNamed(roleName);
  const before = outputs;
  await project.stack.setConfig("dataverse-s2s:businessUnit", { value: "Sales" });
  const writes = await up();
  const [newRole] = await rolesNamed(roleName, "Sales");
  expect(newRole).toBeDefined();
  expect(outputs).toMatchObject({ clientId: before.clientId, applicationUserId: before.applicationUserId, securityRoleId: newRole.roleid });
  const moved = await user();
  expect(moved._businessunitid_value.toLowerCase()).toBe((await test_.dataverse().businessUnitId("Sales")).toLowerCase());
  expect(moved.roleIds).toEqual([newRole.roleid.toLowerCase()]);
  expect(await test_.dataverse().getRole(oldRole.roleid)).toBeUndefined();

  const made = firstIndex(writes, roleWrites.createRole);
  const move = firstIndex(writes, roleWrites.moveUser);
  const given = firstIndex(writes, roleWrites.associate);
  const deleted = firstIndex(writes, roleWrites.deleteRole);
  expect(made).toBeGreaterThanOrEqual(0);
  expect(move).toBeGreaterThan(made);
  // Dataverse takes a moved user's roles away: the new one is given in the same change set, right after.
  expect(given).toBeGreaterThan(move);
  expect(writes[given].line).toBe(writes[move].line);
  expect(deleted).toBeGreaterThan(given);
  await expectWhoAmI(test_.emulator, { ...outputs, environmentUrl: test_.emulator.environmentUrl });
  await project.stack.preview({ refresh: true, expectNoChanges: true });
});

test("name without formerNames: a new app and user take the stack's role, then the old ones are deleted; the role is never taken away or deleted", async () => {
  const before = outputs;
  const mark = recorder.mark();
  await setIntegrations(project, [{ ...etl, name: "etl-next", displayName: "Changes ETL renamed" }]);
  // The old user is deleted at the end of the run by design: the request log shows it held its role until then.
  const result = await project.stack.up();
  expect(result.summary.result).toBe("succeeded");
  const writes = recorder.writesSince(mark);
  const renamed: Outputs = result.outputs.integrations.value["etl-next"];
  expect(renamed.clientId).not.toBe(before.clientId);
  expect(renamed.applicationUserId).not.toBe(before.applicationUserId);
  expect(renamed.securityRoleId).toBe(before.securityRoleId);
  // The new user is given the role; no role is taken from anyone or deleted; the old user goes after.
  expect(firstIndex(writes, roleWrites.associate)).toBeGreaterThanOrEqual(0);
  expect(firstIndex(writes, roleWrites.disassociate)).toBe(-1);
  expect(firstIndex(writes, roleWrites.deleteRole)).toBe(-1);
  expect(firstIndex(writes, /^dataverse DELETE systemusers\(<id>\)$/)).toBeGreaterThan(firstIndex(writes, roleWrites.associate));
  outputs = renamed;
  const client = test_.dataverse();
  expect(await client.getUser(before.applicationUserId)).toBeUndefined();
  expect((await user()).roleIds).toEqual([before.securityRoleId.toLowerCase()]);
  const oldApp = await test_.graph().request<{ value: unknown[] }>({
    operation: "find the old app",
    method: "GET",
    path: `v1.0/applications?$filter=${encodeURIComponent(`appId eq '${before.clientId}'`)}`,
  });
  expect(oldApp.data.value).toEqual([]);
  await expectWhoAmI(test_.emulator, { ...outputs, environmentUrl: test_.emulator.environmentUrl });
  await project.stack.preview({ refresh: true, expectNoChanges: true });
});
