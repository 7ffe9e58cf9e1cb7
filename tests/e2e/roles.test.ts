// Least-privilege roles (issue 10) through the real engine against the emulator: a role declared by
// its privileges gets exactly them (plus those Dataverse adds to a new role by itself), drift on it
// is shown by `pulumi preview` and repaired by `pulumi up`; a clone of System Administrator minus
// excluded privileges lacks exactly those, and every run warns about copying System Administrator;
// a bad spec fails with an error naming its key and 0 writes counted by the emulator.
import { NEW_ROLE_SELF_PRIVILEGES } from "../../emulator/seed";
import { privilegeEntries } from "../../dynamic-providers/shared/privileges";
import { failureOf, laggingTenant, startE2eEmulator, TestEmulator, writesCounted } from "../support/emulator";
import { changeRecorder, createTestProject, TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

let test_: TestEmulator;
beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
});
afterAll(async () => {
  await test_?.stop();
});

/** A project whose integrations are set whole, as JSON (lists of rights do not fit `config set --path` strings). */
async function projectWith(stackName: string, integrations: Record<string, unknown>[]): Promise<TestProject> {
  const project = await createTestProject(test_.emulator, stackName, []);
  await project.stack.setConfig("dataverse-s2s:integrations", { value: JSON.stringify(integrations) });
  return project;
}

/** Writes made anywhere (Graph and Dataverse) since the counters were reset. */
function writes(): Record<string, number> {
  return writesCounted(test_.emulator);
}

const privilegesOf = async (roleId: string) => privilegeEntries(await test_.dataverse().rolePrivileges(roleId));
const selfPrivileges = NEW_ROLE_SELF_PRIVILEGES.map(([name]) => `${name}:Global`);

describe("a spec role and a clone minus, in one stack", () => {
  let project: TestProject;
  let outputs: Record<string, Record<string, string>>;
  let upOutput: string;

  beforeAll(async () => {
    project = await projectWith("roles", [
      {
        name: "sync",
        displayName: "Contact sync",
        role: {
          name: "Contact Sync",
          privileges: { contact: ["create", "read", "write"], account: { read: "Global", write: "Local" } },
          miscPrivileges: ["prvExportToExcel"],
        },
      },
      {
        name: "etl",
        displayName: "ETL minus",
        role: { name: "API User minus", cloneFrom: "System Administrator", excludePrivileges: ["prvAssignRole", "prvWriteRole"] },
      },
    ]);
    const result = await project.stack.up();
    upOutput = result.stdout + result.stderr;
    outputs = result.outputs.integrations.value;
  });
  afterAll(() => project?.cleanUp());

  test("the spec role holds exactly the declared privileges, plus those Dataverse adds itself", async () => {
    expect(await privilegesOf(outputs.sync.securityRoleId)).toEqual(
      [
        "prvCreateContact:Global",
        "prvExportToExcel:Global",
        "prvReadAccount:Global",
        "prvReadContact:Global",
        "prvWriteAccount:Local",
        "prvWriteContact:Global",
        ...selfPrivileges,
      ].sort(),
    );
    const user = await test_.dataverse().getUser(outputs.sync.applicationUserId);
    expect(user!.systemuserroles_association!.map((role) => role.name)).toEqual(["Contact Sync"]);
  });

  test("the clone minus lacks exactly the excluded privileges, and the run warns about copying System Administrator", async () => {
    const client = test_.dataverse();
    const systemAdministrator = await client.findSourceRole("System Administrator", await client.businessUnitId());
    const source = await privilegesOf(systemAdministrator!.roleid);
    const copy = await privilegesOf(outputs.etl.securityRoleId);
    expect(source.filter((entry) => !copy.includes(entry))).toEqual(["prvAssignRole:Global", "prvWriteRole:Global"]);
    expect(copy.filter((entry) => !source.includes(entry))).toEqual([]);
    expect(upOutput).toMatch(/'API User minus' is a copy of System Administrator/);
    expect(upOutput).toMatch(/elevation of privilege/);
    expect(upOutput).toMatch(/role\.privileges/);
    // Only the copy warns: the spec role is not named in any warning.
    expect(upOutput).not.toMatch(/'Contact Sync' is a copy/);
  });

  test("drift on the spec role is shown by preview and repaired by up", async () => {
    const roleId = outputs.sync.securityRoleId;
    const before = await privilegesOf(roleId);
    const client = test_.dataverse();
    const [writeContact, deleteAccount] = await client
      .privilegesByName(["prvWriteContact", "prvDeleteAccount"])
      .then((found) => ["prvWriteContact", "prvDeleteAccount"].map((name) => found.find((privilege) => privilege.name === name)!));
    await test_.removePrivilege(roleId, writeContact.privilegeid);
    await test_.addPrivilege(roleId, deleteAccount.privilegeid, "Global", await client.businessUnitId());

    const recorder = changeRecorder();
    await project.stack.preview({ onEvent: recorder.onEvent });
    expect(recorder.changes).toEqual(["update role-contact-sync"]);

    const repaired = await project.stack.up();
    expect(repaired.summary.result).toBe("succeeded");
    expect(await privilegesOf(roleId)).toEqual(before);
    await project.stack.preview({ expectNoChanges: true });
  });
});

interface BadSpec {
  readonly title: string;
  readonly role: Record<string, unknown>;
  readonly expected: RegExp[];
}

const badSpecs: BadSpec[] = [
  {
    title: "an unknown table",
    role: { name: "Bad table", privileges: { contct: ["read"] } },
    expected: [/dataverse-s2s:integrations\[0\]\.role\.privileges\.contct: there is no table with the logical name 'contct'/],
  },
  {
    title: "an unknown right",
    role: { name: "Bad right", privileges: { contact: ["reed"] } },
    expected: [/dataverse-s2s:integrations\[0\]\.role\.privileges\.contact: 'reed' is not an access right/],
  },
  {
    title: "an unknown depth",
    role: { name: "Bad depth", privileges: { contact: { read: "Planet" } } },
    expected: [/dataverse-s2s:integrations\[0\]\.role\.privileges\.contact\.read: 'Planet' is not a depth/],
  },
  {
    title: "an unknown privilege name in miscPrivileges",
    role: { name: "Bad name", privileges: { contact: ["read"] }, miscPrivileges: ["prvExportToExcell"] },
    expected: [/dataverse-s2s:integrations\[0\]\.role\.miscPrivileges\[0\]: there is no privilege named 'prvExportToExcell'/],
  },
  {
    title: "an unknown privilege to exclude from a clone",
    role: { name: "Bad exclusion", excludePrivileges: ["prvAsignRole"] },
    expected: [/dataverse-s2s:integrations\[0\]\.role\.excludePrivileges\[0\]: there is no privilege named 'prvAsignRole'/],
  },
];

describe.each(badSpecs)("a bad spec: $title", (bad) => {
  test("up fails naming the key, and writes nothing anywhere", async () => {
    const project = await projectWith("bad-spec", [{ name: "bad", displayName: "Bad spec", role: bad.role }]);
    try {
      await test_.resetCounters();
      const error = await failureOf(project.stack.up());
      for (const pattern of bad.expected) expect(error.message).toMatch(pattern);
      expect(writes()).toEqual({});
    } finally {
      project.cleanUp();
    }
  });
});
