// Mistakes only the environment can reveal (issue 15): the configuration is well formed, but the
// role to clone, the existing role, the business unit or the environment itself is not there.
// Through the real engine: `pulumi preview` fails naming the setting, and `up --skip-preview`
// (the Automation API's up) fails before any write, counted by the emulator.
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { laggingTenant, startE2eEmulator, TestEmulator, writesCounted } from "../support/emulator";
import { createTestProject, TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

let test_: TestEmulator;
beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
});
afterAll(async () => {
  await test_?.stop();
});

/** Writes made anywhere (Graph and Dataverse), from the emulator's counters. */
async function writesSince(): Promise<Record<string, number>> {
  return writesCounted(test_.emulator);
}

async function resetCounters() {
  await test_.admin.request({ operation: "reset counters", method: "DELETE", path: "requests" });
}

interface Mistake {
  readonly title: string;
  readonly integration: Record<string, unknown>;
  readonly settings?: Record<string, string>;
  /** What the error must say: the setting, and the gist of the problem. */
  readonly expected: RegExp[];
}

const mistakes: Mistake[] = [
  {
    title: "role.cloneFrom names a role the environment lacks",
    integration: { name: "etl", role: { name: "API User", cloneFrom: "System Administrater" } },
    expected: [/dataverse-s2s:integrations\[0\]\.role\.cloneFrom/, /no security role 'System Administrater' to copy/],
  },
  {
    title: "role.existing names a role the environment lacks",
    integration: { name: "etl", role: { existing: "Integration Reader" } },
    expected: [/dataverse-s2s:integrations\[0\]\.role\.existing/, /no security role named 'Integration Reader'/],
  },
  {
    title: "businessUnit does not exist",
    integration: { name: "etl" },
    settings: { "dataverse-s2s:businessUnit": "Sales EMEA" },
    expected: [/dataverse-s2s:businessUnit/, /no business unit named 'Sales EMEA'/],
  },
  {
    title: "environmentUrl nobody answers (a typo in the org name)",
    integration: { name: "etl" },
    settings: { "dataverse-s2s:environmentUrl": "https://contoso-typo.crm.dynamics.com" },
    expected: [/dataverse-s2s:environmentUrl/, /did not answer WhoAmI/, /org name/, /DNS/, /application user of that environment/],
  },
];

describe.each(mistakes)("$title", (mistake) => {
  let project: TestProject;
  beforeAll(async () => {
    project = await createTestProject(test_.emulator, "mistake", [{ displayName: "Mistake", ...mistake.integration }]);
    for (const [key, value] of Object.entries(mistake.settings ?? {})) await project.stack.setConfig(key, { value });
  });
  afterAll(() => project?.cleanUp());

  test("pulumi preview fails naming the setting and what to check", async () => {
    await resetCounters();
    const error = await project.stack.preview().then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(error).toBeDefined();
    for (const pattern of mistake.expected) expect(error!.message).toMatch(pattern);
    expect(error!.message).not.toMatch(/Set\.prototype|incompatible receiver/);
    expect(await writesSince()).toEqual({});
  });

  test("up --skip-preview fails the same way and writes nothing anywhere", async () => {
    await resetCounters();
    const error = await project.stack.up().then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(error).toBeDefined();
    for (const pattern of mistake.expected) expect(error!.message).toMatch(pattern);
    expect(await writesSince()).toEqual({});
    // Nothing reached the state either: no resource but the stack itself.
    const state = await project.stack.exportStack();
    const types = (state.deployment.resources ?? []).map((resource: { type: string }) => resource.type);
    expect(types.filter((type: string) => !/^pulumi:(pulumi:Stack|providers:)/.test(type))).toEqual([]);
  });
});

test("a preview without a Dataverse credential warns instead of failing; up fails before any write", async () => {
  const project = await createTestProject(test_.emulator, "no-credential", [{ name: "etl", displayName: "No credential" }]);
  try {
    // A pull-request job without secrets: the azuread side keeps its ARM_* settings, Dataverse has none.
    Object.assign((project.stack.workspace as LocalWorkspace).envVars, {
      AZURE_CLIENT_ID: "",
      AZURE_CLIENT_SECRET: "",
      AZURE_TENANT_ID: "",
    });
    await resetCounters();
    const preview = await project.stack.preview();
    expect(preview.stdout + preview.stderr).toMatch(/No credential for Dataverse in this preview/);
    const error = await project.stack.up().then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(error?.message).toMatch(/no credential for Dataverse/);
    expect(await writesSince()).toEqual({});
  } finally {
    project.cleanUp();
  }
});
