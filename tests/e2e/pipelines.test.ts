// Environments and pipelines, with the real engine against the emulator: a stack that declares no
// integrations of its own gets the project's one definition (Pulumi.yaml) with its per-stack
// overrides; `npm run report --json` lists each integration's expiry and rotation state; the CI
// drift check (scripts/ci/drift-check.sh, as the pipeline templates run it) passes on a clean stack,
// then fails with a summary naming the resource that was drifted.
import { execFile } from "child_process";
import * as path from "path";
import { repoRoot } from "../../scripts/emulator-environment";
import { laggingTenant, startE2eEmulator, TestEmulator } from "../support/emulator";
import { createTestProject, TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

let test_: TestEmulator;
let project: TestProject;
let outputs: Record<string, { value: any }>;

beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
  project = await createTestProject(test_.emulator, "ci", [{ name: "unused", displayName: "replaced below" }]);
  // The stack file keeps only what differs: the integrations come from Pulumi.yaml.
  await project.stack.removeConfig("dataverse-s2s:integrations");
  await project.stack.setConfig("dataverse-s2s:integrationOverrides.etl.displayName", { value: "KingswaySoft ETL (ci)" }, true);
  await project.stack.setConfig("dataverse-s2s:integrationOverrides.etl.secret.lifetimeDays", { value: "20" }, true);
  await project.stack.setConfig("dataverse-s2s:integrationOverrides.etl.secret.rotateBeforeDays", { value: "10" }, true);
  await project.stack.setConfig("dataverse-s2s:integrationOverrides.etl.secret.overlapDays", { value: "2" }, true);
});
afterAll(async () => {
  project?.cleanUp();
  await test_?.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command as a CI job would: the stack's backend and credentials in the environment. */
function run(command: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...project.env, PROJECT_DIR: project.workDir, ...extraEnv };
  delete env.GITHUB_STEP_SUMMARY;
  delete env.TF_BUILD;
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoRoot, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function reportJson() {
  const result = await run("ts-node", ["--transpile-only", path.join(repoRoot, "scripts/report.ts"), "--dir", project.workDir, "--json"]);
  expect(result.stderr).not.toMatch(/report failed/);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as {
    stacks: { stack: string; deployed: boolean; problems: string[]; integrations: Record<string, any>[] }[];
  };
}

test("a stack without its own list deploys the project's integrations with its overrides", async () => {
  const result = await project.stack.up();
  outputs = result.outputs;
  expect(Object.keys(outputs.integrations.value).sort()).toEqual(["etl", "tests"]);
  const graph = test_.graph();
  const displayNameOf = async (clientId: string) =>
    (await graph.request<{ displayName: string }>({ operation: "read app", method: "GET", path: `v1.0/applications(appId='${clientId}')` }))
      .data.displayName;
  expect(await displayNameOf(outputs.integrations.value.etl.clientId)).toBe("KingswaySoft ETL (ci)");
  // Not overridden in this stack: the name declared once in Pulumi.yaml.
  expect(await displayNameOf(outputs.integrations.value.tests.clientId)).toBe("Stack Moxie tests");
  // The two integrations share the role declared once.
  expect(outputs.integrations.value.tests.securityRoleId).toBe(outputs.integrations.value.etl.securityRoleId);
});

test("report --json lists each integration's client id, environment, expiry and rotation state", async () => {
  const report = await reportJson();
  expect(report.stacks.map((stack) => stack.stack)).toEqual(["ci"]);
  const [ci] = report.stacks;
  expect(ci.problems).toEqual([]);
  expect(ci.deployed).toBe(true);
  const byName = Object.fromEntries(ci.integrations.map((row) => [row.integration, row]));
  expect(Object.keys(byName).sort()).toEqual(["etl", "tests"]);
  for (const name of ["etl", "tests"]) {
    const deployed = outputs.integrations.value[name];
    expect(byName[name]).toMatchObject({
      stack: "ci",
      clientId: deployed.clientId,
      environmentUrl: test_.emulator.environmentUrl,
      secretExpiresAt: deployed.secretExpiresAt,
      rotationState: "ok",
      lastDriftCheck: "never",
    });
  }
  // etl: 20-day secret, overridden rotateBeforeDays; tests: the project's defaults.
  expect(byName.etl.daysLeft).toBe(19);
  expect(byName.etl.rotateBeforeDays).toBe(10);
  expect(byName.tests.daysLeft).toBe(179);
  expect(byName.tests.rotateBeforeDays).toBe(30);
  expect(JSON.stringify(report)).not.toContain(outputs.integrations.value.etl.clientSecret);
});

test("the CI drift check passes on a clean stack, then fails naming what drifted and the secret due", async () => {
  const clean = await run("bash", ["scripts/ci/drift-check.sh", "ci"]);
  expect(clean.stdout).toContain("No drift: the resources match the stack.");
  expect(clean.stdout).toContain("No secret is inside its rotation window.");
  expect(clean.code).toBe(0);

  // Drift as an admin would make it (the role taken off etl's application user), checked 12 days
  // later: inside etl's rotation window (20-day secret, rotateBeforeDays 10), not tests'.
  const etl = outputs.integrations.value.etl;
  await test_.dataverse().unassignRole(etl.applicationUserId, etl.securityRoleId);
  const later = new Date(Date.now() + 12 * 24 * 60 * 60 * 1000).toISOString();
  test_.emulator.setClock(later);
  const drifted = await run("bash", ["scripts/ci/drift-check.sh", "ci"], { DATAVERSE_S2S_NOW: later });
  expect(drifted.code).toBe(1);
  expect(drifted.stdout).toMatch(/Drift: \d+ resources? differ/);
  expect(drifted.stdout).toMatch(/\| etl-user \| pulumi-nodejs:dynamic\/dataverse-s2s:ApplicationUser \| update \|/);
  expect(drifted.stdout).toMatch(/- etl: in rotation window, expires \S+ \(7 days left\)/);
  expect(drifted.stdout).not.toMatch(/- tests:/);
  expect(drifted.stdout).not.toContain(etl.clientSecret);

  const report = await reportJson();
  const row = report.stacks[0].integrations.find((entry) => entry.integration === "etl")!;
  expect(row.lastDriftCheckBy).toBe("drift-check: drift");
  expect(Date.parse(row.lastDriftCheck)).not.toBeNaN();
});
