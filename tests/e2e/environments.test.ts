// One definition, three environments, with the real engine: the stacks dev, test and prod of one
// project (the integrations declared once in Pulumi.yaml, each stack adding only its environment URL
// and overrides) against three Dataverse environments of one emulated tenant. A privilege is then
// removed by hand from test's role: `preview` (Pulumi.yaml: refresh always) shows changes for test
// only, `up` on test repairs it, and dev and prod are left exactly as they were.
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { RestClient } from "../../lib/rest-client";
import { DataverseClient } from "../../lib/dataverse-client";
import { laggingTenant, startTestEmulator, type TestEmulator } from "../support/emulator";
import { changeRecorder, createTestProject, type TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

const NAMES = ["dev", "test", "prod"] as const;
type EnvName = (typeof NAMES)[number];

let test_: TestEmulator;
let project: TestProject;
const stacks = {} as Record<EnvName, Stack>;
const outputs = {} as Record<EnvName, Record<string, any>>;

function urlOf(name: EnvName): string {
  return test_.emulator.environments.find((e) => e.name === name)!.url;
}

/** One environment's rows in the emulator, as the admin API dumps them. */
function environmentState(name: EnvName) {
  const state = test_.emulator.state() as {
    environments: Array<{
      name: string;
      roles: Array<{ roleid: string; name: string; privilegeCount: number }>;
      systemUsers: Array<{ systemuserid: string; applicationid: string | null; isdisabled: boolean; roles: string[] }>;
    }>;
  };
  return state.environments.find((e) => e.name === name)!;
}

/** The stack config that differs per environment: its environment URL and its overrides. */
async function configureStack(stack: Stack, name: EnvName): Promise<void> {
  await stack.setAllConfig(
    {
      "azuread:metadataHost": { value: test_.emulator.metadataHost },
      "azuread:tenantId": { value: test_.emulator.tenantId },
      "azuread:clientId": { value: test_.emulator.deployer.clientId },
      "dataverse-s2s:environmentUrl": { value: urlOf(name) },
      "dataverse-s2s:integrationOverrides.etl.displayName": { value: `KingswaySoft ETL (${name})` },
      "dataverse-s2s:integrationOverrides.tests.displayName": { value: `Stack Moxie tests (${name})` },
    },
    true,
  );
  // prod keeps its secrets shorter: an override of one field, the rest from Pulumi.yaml.
  if (name === "prod") await stack.setConfig("dataverse-s2s:integrationOverrides.etl.secret.lifetimeDays", { value: "90" }, true);
}

beforeAll(async () => {
  test_ = await startTestEmulator({ ...laggingTenant, environments: [...NAMES] });
  // The dev stack makes the work folder and the backend; test and prod are more stacks of the same project.
  project = await createTestProject(test_.emulator, "dev", [{ name: "unused", displayName: "replaced below" }]);
  await project.stack.removeConfig("dataverse-s2s:integrations");
  stacks.dev = project.stack;
  for (const name of ["test", "prod"] as const) {
    stacks[name] = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: project.workDir }, { envVars: project.env });
  }
  for (const name of NAMES) await configureStack(stacks[name], name);
});

afterAll(async () => {
  project?.cleanUp();
  await test_?.stop();
});

/** Previews every stack at once; returns the changes each would make. */
async function previewAll(): Promise<Record<EnvName, string[]>> {
  const runs = await Promise.all(
    NAMES.map(async (name) => {
      const recorder = changeRecorder();
      await stacks[name].preview({ onEvent: recorder.onEvent });
      return [name, recorder.changes] as const;
    }),
  );
  return Object.fromEntries(runs) as Record<EnvName, string[]>;
}

test("three stacks of one definition deploy into their own environments", async () => {
  const results = await Promise.all(NAMES.map((name) => stacks[name].up()));
  NAMES.forEach((name, i) => (outputs[name] = results[i].outputs.integrations.value));

  const clientIds = new Set<string>();
  for (const name of NAMES) {
    expect(Object.keys(outputs[name]).sort()).toEqual(["etl", "tests"]);
    const env = environmentState(name);
    for (const integration of ["etl", "tests"]) {
      const deployed = outputs[name][integration];
      clientIds.add(deployed.clientId);
      // The application user and its role are in this environment, with the role assigned.
      const user = env.systemUsers.find((u) => u.systemuserid === deployed.applicationUserId);
      expect(user).toMatchObject({ applicationid: deployed.clientId, isdisabled: false });
      expect(user!.roles).toContain(deployed.securityRoleId);
      expect(env.roles.find((r) => r.roleid === deployed.securityRoleId)?.name).toBe("API User");
      // ... and in no other environment.
      for (const other of NAMES.filter((n) => n !== name)) {
        expect(environmentState(other).systemUsers.some((u) => u.applicationid === deployed.clientId)).toBe(false);
      }
    }
    // One role per environment, shared by the two integrations (declared once in Pulumi.yaml).
    expect(outputs[name].etl.securityRoleId).toBe(outputs[name].tests.securityRoleId);
  }
  // Six app registrations in the one tenant, named by their stack's overrides.
  expect(clientIds.size).toBe(6);
  const state = test_.emulator.state() as { applications: Array<{ appId: string; displayName: string }> };
  for (const name of NAMES) {
    const app = state.applications.find((a) => a.appId === outputs[name].etl.clientId);
    expect(app?.displayName).toBe(`KingswaySoft ETL (${name})`);
  }
  // prod's override of one secret field; dev and test keep Pulumi.yaml's 180 days.
  const lifetimeDays = (name: EnvName) => Math.round((Date.parse(outputs[name].etl.secretExpiresAt) - Date.now()) / (24 * 60 * 60 * 1000));
  expect(lifetimeDays("prod")).toBe(90);
  expect(lifetimeDays("dev")).toBe(180);
  expect(lifetimeDays("test")).toBe(180);
});

test("a privilege removed by hand in test: preview shows it for test only, up on test repairs it, dev and prod stay unchanged", async () => {
  const roleId = outputs.test.etl.securityRoleId as string;
  const before = { dev: environmentState("dev"), prod: environmentState("prod") };
  const privilegeCount = environmentState("test").roles.find((r) => r.roleid === roleId)!.privilegeCount;

  // An admin removes one privilege from test's role (the deployer's credentials, test's audience).
  const testDataverse = new DataverseClient(urlOf("test"), { sleep: async () => undefined });
  const [removed] = await testDataverse.rolePrivileges(roleId);
  const rest = new RestClient({ service: "Dataverse", baseUrl: `${urlOf("test")}/api/data/v9.2/`, tokenResource: urlOf("test") });
  await rest.request({
    operation: "remove a privilege by hand",
    method: "POST",
    path: `roles(${roleId})/Microsoft.Dynamics.CRM.RemovePrivilegeRole`,
    body: { Privilege: { "@odata.type": "Microsoft.Dynamics.CRM.privilege", privilegeid: removed.privilegeId } },
  });
  expect(environmentState("test").roles.find((r) => r.roleid === roleId)!.privilegeCount).toBe(privilegeCount - 1);

  const drifted = await previewAll();
  expect(drifted.dev).toEqual([]);
  expect(drifted.prod).toEqual([]);
  expect(drifted.test.length).toBeGreaterThan(0);
  expect(drifted.test.every((change) => change.startsWith("update "))).toBe(true);

  const recorder = changeRecorder();
  const repair = await stacks.test.up({ onEvent: recorder.onEvent });
  expect(repair.summary.result).toBe("succeeded");
  expect(recorder.changes).toEqual(drifted.test);
  expect(environmentState("test").roles.find((r) => r.roleid === roleId)!.privilegeCount).toBe(privilegeCount);
  expect((await testDataverse.rolePrivileges(roleId)).map((p) => p.privilegeId)).toContain(removed.privilegeId);

  // The repair touched test only: dev's and prod's rows are exactly as before, and a preview of
  // test now finds nothing to do.
  expect(environmentState("dev")).toEqual(before.dev);
  expect(environmentState("prod")).toEqual(before.prod);
  const after = changeRecorder();
  await stacks.test.preview({ onEvent: after.onEvent });
  expect(after.changes).toEqual([]);
});
