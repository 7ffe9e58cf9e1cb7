// The spec security role provider against the emulator (issue 10): a role holding exactly the
// declared privileges (plus those Dataverse adds to a new role by itself), drift read and repaired,
// an unknown table or privilege refused before any write, and clone-minus in the cloned provider.
import type * as pulumi from "@pulumi/pulumi";
import { clonedSecurityRoleProvider, ClonedSecurityRoleOutputs } from "../../dynamic-providers/cloned-security-role";
import { specSecurityRoleProvider, SpecSecurityRoleInputs, SpecSecurityRoleOutputs } from "../../dynamic-providers/spec-security-role";
import { privilegeEntries } from "../../dynamic-providers/shared/privileges";
import { NEW_ROLE_SELF_PRIVILEGES } from "../../emulator/seed";
import { startTestEmulator, TestEmulator, writesCounted } from "../support/emulator";

type UntypedProvider = Required<pulumi.dynamic.ResourceProvider>;
const provider = specSecurityRoleProvider as UntypedProvider;
let test_: TestEmulator;

beforeAll(async () => {
  test_ = await startTestEmulator();
});
afterAll(async () => test_?.stop());

const selfPrivileges = NEW_ROLE_SELF_PRIVILEGES.map(([name]) => `${name}:Global`);

async function privilegesOf(roleId: string) {
  return privilegeEntries(await test_.dataverse().rolePrivileges(roleId));
}

function writes(): number {
  return Object.values(writesCounted(test_.emulator, ["dataverse"])).reduce((sum, count) => sum + count, 0);
}

describe("a role declared by its privileges", () => {
  let id: string;
  let outs: SpecSecurityRoleOutputs;
  let inputs: SpecSecurityRoleInputs;

  test("check normalises the spec; create grants exactly it, systemuser's privileges by their real names", async () => {
    const result = await provider.check({} as SpecSecurityRoleInputs, {
      environmentUrl: test_.emulator.environmentUrl,
      name: "Contact Sync",
      privileges: {
        contact: { create: "Global", read: "Global", write: "Global" },
        account: { read: "Global", write: "Local" },
        systemuser: { read: "Basic" },
      },
      miscPrivileges: ["prvExportToExcel"],
    });
    expect(result.failures).toEqual([]);
    inputs = result.inputs as SpecSecurityRoleInputs;
    const created = await provider.create(inputs);
    id = created.id;
    outs = created.outs as SpecSecurityRoleOutputs;
    const declared = [
      "prvCreateContact:Global",
      "prvExportToExcel:Global",
      "prvReadAccount:Global",
      "prvReadContact:Global",
      "prvReadUser:Basic",
      "prvWriteAccount:Local",
      "prvWriteContact:Global",
    ];
    expect(outs.grantedPrivileges).toEqual(declared);
    expect(await privilegesOf(id)).toEqual([...declared, ...selfPrivileges].sort());
    expect(outs.appliedPrivileges).toEqual(await privilegesOf(id));
    expect(outs.privilegeDrift).toEqual([]);
  });

  test("a privilege removed and one added by hand are drift; update puts the declared set back", async () => {
    const businessUnitId = await test_.dataverse().businessUnitId();
    const [writeContact] = await test_.dataverse().privilegesByName(["prvWriteContact"]);
    const [deleteContact] = await test_.dataverse().privilegesByName(["prvDeleteContact"]);
    await test_.removePrivilege(id, writeContact.privilegeid);
    await test_.addPrivilege(id, deleteContact.privilegeid, "Global", businessUnitId);
    const read = (await provider.read(id, outs)).props as SpecSecurityRoleOutputs;
    expect(read.privilegeDrift).toEqual(["-prvWriteContact:Global", "+prvDeleteContact:Global"]);
    expect((await provider.diff(id, read, inputs)).changes).toBe(true);
    outs = (await provider.update(id, read, inputs)).outs as SpecSecurityRoleOutputs;
    expect(await privilegesOf(id)).toEqual(outs.appliedPrivileges);
    expect(outs.appliedPrivileges).toContain("prvWriteContact:Global");
    expect(outs.appliedPrivileges).not.toContain("prvDeleteContact:Global");
    expect((await provider.diff(id, (await provider.read(id, outs)).props, inputs)).changes).toBe(false);
  });

  test("a changed spec is an update in place", async () => {
    const changed = { ...inputs, privileges: { ...inputs.privileges, contact: { read: "Global" } } };
    expect(await provider.diff(id, outs, changed)).toMatchObject({ changes: true, replaces: [] });
    outs = (await provider.update(id, outs, changed)).outs as SpecSecurityRoleOutputs;
    expect(await privilegesOf(id)).not.toContain("prvWriteContact:Global");
    await provider.delete(id, outs);
    expect(await test_.dataverse().getRole(id)).toBeUndefined();
  });

  test("an unknown table or privilege name fails naming the key, writing nothing", async () => {
    test_.emulator.resetRequests();
    const error = await provider
      .create({
        environmentUrl: test_.emulator.environmentUrl,
        name: "Broken",
        businessUnit: "",
        privileges: { contct: { read: "Global" } },
        miscPrivileges: ["prvExportToExcell"],
      })
      .then(
        () => undefined,
        (failure: Error) => failure,
      );
    expect(error?.message).toMatch(/role\.privileges\.contct: there is no table with the logical name 'contct'/);
    expect(error?.message).toMatch(/role\.miscPrivileges\[0\]: there is no privilege named 'prvExportToExcell'/);
    expect(writes()).toBe(0);
  });

  test("a depth the privilege does not allow (an organization-owned table) fails naming the key, writing nothing", async () => {
    test_.emulator.resetRequests();
    const error = await provider
      .create({
        environmentUrl: test_.emulator.environmentUrl,
        name: "Product reader",
        businessUnit: "",
        privileges: { product: { read: "Local" } },
        miscPrivileges: [],
        stack: "organization/dataverse-s2s/unit",
      })
      .then(
        () => undefined,
        (failure: Error) => failure,
      );
    expect(error?.message).toMatch(/role\.privileges\.product\.read: prvReadProduct cannot be granted at Local \(it allows Global\)/);
    expect(writes()).toBe(0);
  });

  test("check refuses an unknown right or depth before anything runs", async () => {
    const result = await provider.check({} as SpecSecurityRoleInputs, {
      environmentUrl: test_.emulator.environmentUrl,
      name: "Bad",
      privileges: { contact: { reed: "Global", write: "Planet" } },
    });
    expect(result.failures).toEqual([
      { property: "privileges", reason: expect.stringMatching(/role\.privileges\.contact: 'reed' is not an access right/) },
      { property: "privileges", reason: expect.stringMatching(/role\.privileges\.contact\.write: 'Planet' is not a depth/) },
    ]);
  });
});

test("clone minus: the copy lacks exactly the excluded privileges", async () => {
  const cloned = clonedSecurityRoleProvider as UntypedProvider;
  const { inputs } = await cloned.check(
    {},
    { environmentUrl: test_.emulator.environmentUrl, name: "API User minus", excludePrivileges: ["prvAssignRole", "prvwriterole"] },
  );
  const created = await cloned.create(inputs);
  const outs = created.outs as ClonedSecurityRoleOutputs;
  const client = test_.dataverse();
  const source = privilegeEntries(await client.rolePrivileges(outs.sourceRoleId));
  const copy = await privilegesOf(created.id);
  expect(source.filter((entry) => !copy.includes(entry))).toEqual(["prvAssignRole:Global", "prvWriteRole:Global"]);
  expect(copy.filter((entry) => !source.includes(entry))).toEqual([]);
  // Including them again is an update that copies them.
  const again = { ...inputs, excludePrivileges: [] };
  expect((await cloned.diff(created.id, outs, again)).changes).toBe(true);
  await cloned.update(created.id, outs, again);
  expect(await privilegesOf(created.id)).toEqual(source);
  await cloned.delete(created.id, outs);
});

describe("the marker names the stack, as for a cloned role", () => {
  const stack = "organization/dataverse-s2s/marker";
  const spec = (name: string, extra: Partial<SpecSecurityRoleInputs> = {}) => ({
    environmentUrl: test_.emulator.environmentUrl,
    name,
    businessUnit: "",
    privileges: { contact: { read: "Global" } },
    miscPrivileges: [],
    stack,
    ...extra,
  });

  test("the description names the stack and the role; a second create takes over this stack's leftover only", async () => {
    const first = await provider.create(spec("Marked Spec"));
    const role = await test_.dataverse().getRole(first.id);
    expect(role!.description).toMatch(/^Managed by dataverse-s2s \(stack organization\/dataverse-s2s\/marker, role marked spec\):/);
    // A crash between create and the state write: the next create takes the same role.
    expect((await provider.create(spec("Marked Spec"))).id).toBe(first.id);
    // Another stack never takes it.
    const error = await provider.create(spec("Marked Spec", { stack: "organization/dataverse-s2s/other" })).then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(error?.message).toMatch(/belongs to the dataverse-s2s stack organization\/dataverse-s2s\/marker/);
    await provider.delete(first.id, (await provider.read(first.id, first.outs)).props);
  });

  test("a role made by hand is taken over only when adopted (adoptName), renamed and marked", async () => {
    const client = test_.dataverse();
    const handMade = await client.createRole("Sync by hand", "made in the UI", await client.businessUnitId());
    const refused = await provider.create(spec("Sync by hand")).then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(refused?.message).toMatch(/already exists in this business unit and was not made by dataverse-s2s/);
    const adopted = await provider.create(spec("Contact Reader", { adoptName: "Sync by hand" }));
    expect(adopted.id).toBe(handMade.toLowerCase());
    const role = await client.getRole(handMade);
    expect(role!.name).toBe("Contact Reader");
    expect(role!.description).toMatch(/^Managed by dataverse-s2s \(stack organization\/dataverse-s2s\/marker, role contact reader\):/);
    expect(await privilegesOf(handMade)).toEqual(["prvReadContact:Global", ...selfPrivileges].sort());
  });
});
