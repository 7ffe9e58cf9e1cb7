// Client secret rotation without downtime, against the emulator with a fake clock (the emulator's
// clock and DATAVERSE_S2S_NOW move together): outside the window nothing changes; inside it preview
// warns and up publishes a new secret while the old one keeps working for the overlap; after the
// overlap only the new one works; an expired secret is warned about.
import { whoAmIAs } from "../../scripts/verify-connection";
import { laggingTenant, firstRefusal, newSecretWait, startE2eEmulator, TestEmulator } from "../support/emulator";
import { createTestProject, TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

const dayMs = 24 * 60 * 60 * 1000;
let test_: TestEmulator;
let project: TestProject;
let start: number;

beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
  project = await createTestProject(test_.emulator, "rotation", [
    { name: "etl", displayName: "Rotating ETL", secret: { lifetimeDays: 30, rotateBeforeDays: 10, overlapDays: 3 } },
  ]);
  start = Math.floor(Date.now() / 1000) * 1000;
});
afterAll(async () => {
  project?.cleanUp();
  await test_?.stop();
});

/** Moves the emulator's clock and the stack's "now" to `days` after the start. */
async function atDay(days: number) {
  const now = new Date(start + days * dayMs).toISOString();
  test_.emulator.setClock(now);
  project.stack.workspace.envVars.DATAVERSE_S2S_NOW = now;
}

async function connects(clientSecret: string, outputs: Record<string, { value: any }>): Promise<boolean> {
  try {
    const values = {
      environmentUrl: outputs.environmentUrl.value,
      tenantId: outputs.tenantId.value,
      clientId: outputs.clientId.value,
      clientSecret,
    };
    const whoAmI = await whoAmIAs(values, test_.emulator.authorityHost, newSecretWait);
    return whoAmI.UserId.toLowerCase() === String(outputs.applicationUserId.value).toLowerCase();
  } catch (error) {
    if (/AADSTS7000215|AADSTS7000222/.test(String(error))) return false;
    throw error;
  }
}

/** Whether the secret ends up refused: a removed secret keeps working until the removal has replicated. */
async function refused(clientSecret: string, outputs: Record<string, { value: any }>): Promise<boolean> {
  const values = {
    environmentUrl: outputs.environmentUrl.value,
    tenantId: outputs.tenantId.value,
    clientId: outputs.clientId.value,
    clientSecret,
  };
  const error = await firstRefusal(() => whoAmIAs(values, test_.emulator.authorityHost));
  return /AADSTS7000215|AADSTS7000222/.test(String(error));
}

const changedOps = (result: { summary: { resourceChanges?: Record<string, number> } }) =>
  Object.keys(result.summary.resourceChanges ?? {}).filter((op) => op !== "same");

test("a secret is rotated inside its window, with an overlap, and never left without a valid one", async () => {
  await atDay(0);
  const first = await project.stack.up();
  const firstSecret: string = first.outputs.clientSecret.value;
  expect(await connects(firstSecret, first.outputs)).toBe(true);
  expect(first.outputs.secretExpiresAt.value).toBe(new Date(start + 30 * dayMs).toISOString().replace(".000Z", "Z"));

  // Outside the rotation window: nothing changes, no warning.
  await atDay(5);
  const quiet = await project.stack.preview({ refresh: true });
  expect(quiet.stdout).not.toMatch(/rotation window|expired on/);
  expect(changedOps(await project.stack.up())).toEqual([]);

  // Inside the window (from day 20): preview warns, up publishes a new secret and keeps the old one.
  await atDay(21);
  const warned = await project.stack.preview();
  expect(warned.stdout).toMatch(/client secret of 'Rotating ETL' expires on .* inside its rotation window/);
  const rotated = await project.stack.up();
  const secondSecret: string = rotated.outputs.clientSecret.value;
  expect(secondSecret).not.toBe(firstSecret);
  expect(rotated.outputs.clientSecret.secret).toBe(true);
  expect(rotated.outputs.applicationUserId.value).toBe(first.outputs.applicationUserId.value);
  expect(await connects(secondSecret, rotated.outputs)).toBe(true);
  expect(await connects(firstSecret, rotated.outputs)).toBe(true);

  // Still inside the overlap (3 days from day 21): a run changes nothing, both secrets work.
  await atDay(23);
  expect(changedOps(await project.stack.up())).toEqual([]);
  expect(await connects(firstSecret, rotated.outputs)).toBe(true);

  // After the overlap: the next run removes the old secret; only the new one works.
  await atDay(25);
  const cleaned = await project.stack.up();
  expect(changedOps(cleaned)).toEqual(["update"]);
  expect(await refused(firstSecret, rotated.outputs)).toBe(true);
  expect(await connects(secondSecret, rotated.outputs)).toBe(true);
  const graph = test_.graph();
  const app = await graph.request<{ passwordCredentials: unknown[] }>({
    operation: "read app",
    method: "GET",
    path: `v1.0/applications(appId='${rotated.outputs.clientId.value}')`,
  });
  expect(app.data.passwordCredentials).toHaveLength(1);
  expect(changedOps(await project.stack.up())).toEqual([]);

  // Long past its end date (day 51): preview says the secret has expired.
  await atDay(60);
  expect(await connects(secondSecret, rotated.outputs)).toBe(false);
  const expired = await project.stack.preview();
  expect(expired.stdout).toMatch(/client secret of 'Rotating ETL' expired on/);

  await project.stack.destroy();
});
