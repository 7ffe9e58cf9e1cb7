// The cloned security role provider against the emulator: create, adopt, drift in the role and in
// its source, repair, delete, retries, and the errors a user can act on. Every test checks the
// emulator's own state, not only what the provider returned.
import type * as pulumi from "@pulumi/pulumi";
import {
  clonedSecurityRoleProvider,
  ClonedSecurityRoleInputs,
  ClonedSecurityRoleOutputs,
} from "../../dynamic-providers/cloned-security-role";
import { managedRoleMarker } from "../../dynamic-providers/shared/managed-role";
import { privilegeEntries, unpackPrivileges } from "../../dynamic-providers/shared/privileges";
import { startTestEmulator, TestEmulator } from "../support/emulator";

/** The tests give check raw, partial inputs, as the engine does: the provider is called untyped here. */
type UntypedProvider = Required<pulumi.dynamic.ResourceProvider>;

const provider = clonedSecurityRoleProvider as UntypedProvider;
let test_: TestEmulator;
let inputs: ClonedSecurityRoleInputs;

beforeAll(async () => {
  test_ = await startTestEmulator();
});
afterAll(async () => test_?.stop());

async function checked(overrides: Partial<ClonedSecurityRoleInputs> = {}): Promise<ClonedSecurityRoleInputs> {
  const result = await provider.check({} as ClonedSecurityRoleInputs, {
    environmentUrl: test_.emulator.environmentUrl,
    name: "API User",
    ...overrides,
  });
  expect(result.failures).toEqual([]);
  return result.inputs as ClonedSecurityRoleInputs;
}

async function rolesNamed(name: string) {
  const client = test_.dataverse();
  return client.findRoleByName(name, await client.businessUnitId());
}

async function privilegesOf(roleId: string) {
  return privilegeEntries(await test_.dataverse().rolePrivileges(roleId));
}

async function refresh(id: string, outs: ClonedSecurityRoleOutputs): Promise<ClonedSecurityRoleOutputs> {
  const read = await provider.read(id, outs);
  expect(read.id).toBe(id);
  return read.props as ClonedSecurityRoleOutputs;
}

describe("clone of System Administrator", () => {
  let id: string;
  let outs: ClonedSecurityRoleOutputs;

  test("create makes one marked role holding the source's privileges", async () => {
    inputs = await checked();
    expect(inputs).toMatchObject({ sourceRole: "System Administrator", businessUnit: "", followSource: true });
    const created = await provider.create(inputs);
    id = created.id;
    outs = created.outs as ClonedSecurityRoleOutputs;

    const roles = await rolesNamed("API User");
    expect(roles).toHaveLength(1);
    expect(roles[0].roleid).toBe(id);
    expect(roles[0].description).toContain(managedRoleMarker);

    const source = await privilegesOf(outs.sourceRoleId);
    const copy = await privilegesOf(id);
    expect(source.length).toBeGreaterThanOrEqual(1000);
    for (const entry of source) expect(copy).toContain(entry);
    expect(outs.privilegeCount).toBe(copy.length);
    expect(outs.privilegeDrift).toEqual([]);
  });

  test("privileges Dataverse gives a new role by itself do not show as drift", async () => {
    outs = await refresh(id, outs);
    expect(outs.privilegeDrift).toEqual([]);
    expect((await provider.diff(id, outs, inputs)).changes).toBe(false);
  });

  test("a state written before the privileges were packed reads as the packed form, without drift", async () => {
    const { appliedPrivilegeSet, ...rest } = outs;
    const legacy = { ...rest, appliedPrivileges: unpackPrivileges(appliedPrivilegeSet) } as unknown as ClonedSecurityRoleOutputs;
    const read = await refresh(id, legacy);
    expect(read.appliedPrivilegeSet).toBe(appliedPrivilegeSet);
    expect(read).not.toHaveProperty("appliedPrivileges");
    expect(read.privilegeDrift).toEqual([]);
    expect((await provider.diff(id, read, inputs)).changes).toBe(false);
  });

  test("a second create adopts the role instead of duplicating it", async () => {
    const again = await provider.create(inputs);
    expect(again.id).toBe(id);
    expect(await rolesNamed("API User")).toHaveLength(1);
  });

  test("a privilege removed in the role is drift, and update puts it back", async () => {
    const client = test_.dataverse();
    const [removed] = (await client.rolePrivileges(id)).filter((privilege) => privilege.name === "prvReadAccount");
    expect(removed).toBeDefined();
    await test_.removePrivilege(id, removed.privilegeId);
    expect(await privilegesOf(id)).not.toContain(`prvReadAccount:${removed.depth}`);

    outs = await refresh(id, outs);
    expect(outs.privilegeDrift).toEqual([`-prvReadAccount:${removed.depth}`]);
    expect((await provider.diff(id, outs, inputs)).changes).toBe(true);

    outs = (await provider.update(id, outs, inputs)).outs as ClonedSecurityRoleOutputs;
    expect(await privilegesOf(id)).toContain(`prvReadAccount:${removed.depth}`);
    outs = await refresh(id, outs);
    expect(outs.privilegeDrift).toEqual([]);
    expect((await provider.diff(id, outs, inputs)).changes).toBe(false);
  });

  test("the same name in another case is a rename in place; another name is another role (made first, then the old one deleted)", async () => {
    const recased = { ...inputs, name: "API user" };
    const diff = await provider.diff(id, outs, recased);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    outs = (await provider.update(id, outs, recased)).outs as ClonedSecurityRoleOutputs;
    expect((await rolesNamed("API user"))[0]).toMatchObject({ roleid: id, name: "API user" });
    inputs = recased;
    // The stack keys its roles by name: a new name is a replacement, never a rename of a role
    // another integration may still hold; the engine makes the new one before deleting the old.
    const renamed = await provider.diff(id, outs, { ...inputs, name: "API User 2" });
    expect(renamed.replaces).toEqual(["name"]);
    expect(renamed.deleteBeforeReplace).toBeFalsy();
  });

  test("the marker names the stack: a role of another stack is never adopted", async () => {
    const mine = await checked({ name: "Stack Role", stack: "organization/dataverse-s2s/dev" });
    const created = await provider.create(mine);
    expect((await rolesNamed("Stack Role"))[0].description).toMatch(
      /^Managed by dataverse-s2s \(stack organization\/dataverse-s2s\/dev, role stack role\):/,
    );
    const theirs = await checked({ name: "Stack Role", stack: "organization/dataverse-s2s/prod" });
    await expect(provider.create(theirs)).rejects.toThrow(/belongs to the dataverse-s2s stack organization\/dataverse-s2s\/dev/);
    // The same stack and role: a crashed run's role, adopted.
    expect((await provider.create(mine)).id).toBe(created.id);
    expect(await rolesNamed("Stack Role")).toHaveLength(1);
    await provider.delete(created.id, created.outs);
    expect(await rolesNamed("Stack Role")).toHaveLength(0);
  });

  test("a delete leaves a role that another resource of the stack has adopted since", async () => {
    // An earlier version's role (no stack in its marker), adopted by the stack-level resource.
    const legacy = await checked({ name: "Shared Role" });
    const old = await provider.create(legacy);
    const stackLevel = await checked({ name: "Shared Role", stack: "organization/dataverse-s2s/dev" });
    const adopted = await provider.create(stackLevel);
    expect(adopted.id).toBe(old.id);
    await provider.delete(old.id, old.outs);
    expect((await rolesNamed("Shared Role")).map((role) => role.roleid)).toEqual([old.id]);
    await provider.delete(adopted.id, adopted.outs);
    expect(await rolesNamed("Shared Role")).toHaveLength(0);
  });

  test("moving to another business unit replaces the role", async () => {
    const diff = await provider.diff(id, outs, { ...inputs, businessUnit: "Sales" });
    expect(diff.replaces).toEqual(["businessUnit"]);
  });

  test("the replacement in a child business unit is a new role there, not the unit's copy of the old one", async () => {
    const client = test_.dataverse();
    const sales = await client.businessUnitId("Sales");
    // Dataverse keeps a copy of the root unit's role in Sales: same name and marker, but it cannot be changed.
    const [copy] = await client.findRoleByName("API User", sales);
    expect(copy._parentroleid_value?.toLowerCase()).toBe(id.toLowerCase());
    const moved = await provider.create(await checked({ businessUnit: "Sales" }));
    expect(moved.id).not.toBe(copy.roleid);
    expect(moved.outs).toMatchObject({ businessUnitId: sales });
    const inSales = await client.findRoleByName("API User", sales);
    expect(inSales.map((role) => role.roleid).sort()).toEqual([copy.roleid, moved.id].sort());
    expect((await privilegesOf(moved.id)).length).toBeGreaterThan(0);
    await provider.delete(moved.id, moved.outs);
    expect(await client.getRole(moved.id)).toBeUndefined();
  });

  test("delete removes the role", async () => {
    await provider.delete(id, outs);
    expect(await test_.dataverse().getRole(id)).toBeUndefined();
    expect((await provider.read(id, outs)).id).toBe("");
    await provider.delete(id, outs); // already gone is done
  });
});

describe("clone of a small role", () => {
  test("privileges added in the role or in its source are detected and repaired", async () => {
    const smallInputs = await checked({ name: "Small Clone", sourceRole: "Basic User" });
    const created = await provider.create(smallInputs);
    let outs = created.outs as ClonedSecurityRoleOutputs;
    const client = test_.dataverse();
    const businessUnitId = await client.businessUnitId();
    const systemAdministrator = (await client.findSourceRole("System Administrator", businessUnitId))!;
    const catalogue = await client.rolePrivileges(systemAdministrator.roleid);
    const applied = unpackPrivileges(outs.appliedPrivilegeSet);
    const extra = catalogue.find((privilege) => !applied.some((entry) => entry.startsWith(`${privilege.name}:`)))!;

    // Someone adds a privilege to the clone by hand.
    await test_.addPrivilege(created.id, extra.privilegeId, "Basic", businessUnitId);
    outs = (await provider.read(created.id, outs)).props as ClonedSecurityRoleOutputs;
    expect(outs.privilegeDrift).toEqual([`+${extra.name}:Basic`]);
    outs = (await provider.update(created.id, outs, smallInputs)).outs as ClonedSecurityRoleOutputs;
    expect(await privilegesOf(created.id)).not.toContain(`${extra.name}:Basic`);

    // The source gains a privilege: the clone follows it.
    await test_.addPrivilege(outs.sourceRoleId, extra.privilegeId, "Global", businessUnitId);
    outs = (await provider.read(created.id, outs)).props as ClonedSecurityRoleOutputs;
    expect(outs.sourceDigest).not.toBe(outs.copiedSourceDigest);
    expect((await provider.diff(created.id, outs, smallInputs)).changes).toBe(true);
    outs = (await provider.update(created.id, outs, smallInputs)).outs as ClonedSecurityRoleOutputs;
    expect(await privilegesOf(created.id)).toContain(`${extra.name}:Global`);
    outs = (await provider.read(created.id, outs)).props as ClonedSecurityRoleOutputs;
    expect((await provider.diff(created.id, outs, smallInputs)).changes).toBe(false);
    await provider.delete(created.id, outs);
  });
});

describe("retries and errors", () => {
  test("throttling (429) and unavailability (503) are retried, and the role is made once", async () => {
    await test_.admin.request({ operation: "reset counters", method: "DELETE", path: "requests" });
    await test_.setFaults({ rate429: 1, pathPrefix: "/api/data", maxCount: 2, retryAfterSeconds: 0 });
    const created = await provider.create(await checked({ name: "Throttled Role" }));
    await test_.setFaults({ rate503: 1, rate429: 0, pathPrefix: "/api/data", maxCount: 2, retryAfterSeconds: 0 });
    const read = await provider.read(created.id, created.outs as ClonedSecurityRoleOutputs);
    expect(read.id).toBe(created.id);
    await test_.setFaults({ rate429: 0, rate503: 0, maxCount: null, pathPrefix: null });
    expect(await rolesNamed("Throttled Role")).toHaveLength(1);
    const counters = test_.emulator.requests();
    expect(counters.faults).toEqual({ "429": 2, "503": 2 });
    expect(counters.operations["dataverse POST roles"]).toBe(1);
    await provider.delete(created.id, created.outs);
  });

  test("an unknown source role is a clear error and nothing is made", async () => {
    await expect(provider.create(await checked({ name: "Orphan", sourceRole: "No Such Role" }))).rejects.toThrow(
      /no security role 'No Such Role' to copy .* role\.cloneFrom/,
    );
    expect(await rolesNamed("Orphan")).toHaveLength(0);
  });

  test("a role of the same name made by someone else is not taken over", async () => {
    const client = test_.dataverse();
    await client.createRole("Hand Made", "made in the UI", await client.businessUnitId());
    await expect(provider.create(await checked({ name: "Hand Made" }))).rejects.toThrow(/already exists .* not made by dataverse-s2s/);
    expect(await rolesNamed("Hand Made")).toHaveLength(1);
  });

  test("a bad environment URL fails the check, before any call", async () => {
    const result = await provider.check({} as ClonedSecurityRoleInputs, { environmentUrl: "http://contoso.crm.dynamics.com", name: "" });
    expect(result.failures).toEqual([
      { property: "environmentUrl", reason: expect.stringMatching(/must use https/) },
      { property: "name", reason: expect.stringMatching(/give the role a name/) },
    ]);
  });
});
