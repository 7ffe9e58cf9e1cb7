// Tenant credential policies (issue 17), through the real engine against the emulator: a tenant
// whose app management policy limits client secrets to 90 days, or blocks them, gets guidance
// naming the config key, the policy, the allowed value and the way out. With Policy.Read.All the
// preview fails before anything is written; without it the apply-time gate gives the same guidance
// and, once the config is fixed, one `pulumi up` converges with no orphan. A policy tightened after a
// secret was made is reported as an expiring secret and the rotation makes one within the new limit.
import { failureOf, laggingTenant, startE2eEmulator, TestEmulator, writesCounted } from "../support/emulator";
import { createTestProject, TestProject } from "../support/pulumi-project";
import { DEFAULT_DEPLOYER_GRAPH_PERMISSIONS } from "../../emulator/config";

jest.setTimeout(20 * 60 * 1000);

const dayMs = 24 * 60 * 60 * 1000;
const DEFAULT_POLICY = "00000000-0000-0000-0000-000000000000";
let test_: TestEmulator;

// The stacks of this file share one emulator: each names a role of its own, since two stacks never
// share a role (the role's marker names its stack).
beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
});
afterAll(async () => {
  await test_?.stop();
});

/** Writes made anywhere (Graph and Dataverse), from the emulator's counters. */
function writes(): Record<string, number> {
  return writesCounted(test_.emulator);
}

/** The tenant default policy, set as an Entra admin would (through the emulator's admin API). */
async function tenantPolicy(passwordCredentials: Record<string, unknown>[]) {
  await test_.admin.request({
    operation: "set the tenant's app management policy",
    method: "POST",
    path: "policies/default",
    body: { isEnabled: passwordCredentials.length > 0, applicationRestrictions: { passwordCredentials } },
  });
}
const maxLifetime = (duration: string) => [{ restrictionType: "passwordLifetime", state: "enabled", maxLifetime: duration }];
const blockPasswords = [{ restrictionType: "passwordAddition", state: "enabled" }];

/** Whether the deployer may read policies (its token's Graph application permissions). */
function policyReader(readable: boolean) {
  test_.emulator.configure({
    deployerGraphPermissions: readable
      ? [...DEFAULT_DEPLOYER_GRAPH_PERMISSIONS, "Policy.Read.All"]
      : [...DEFAULT_DEPLOYER_GRAPH_PERMISSIONS],
  });
}

async function applications(
  displayName: string,
): Promise<Array<{ id: string; passwordCredentials: unknown[]; keyCredentials: unknown[] }>> {
  const answer = await test_.graph().request<{ value: Array<{ id: string; passwordCredentials: unknown[]; keyCredentials: unknown[] }> }>({
    operation: "list applications",
    method: "GET",
    path: `v1.0/applications?$filter=${encodeURIComponent(`displayName eq '${displayName}'`)}`,
  });
  return answer.data.value;
}

const federated = () => ({
  "dataverse-s2s:integrations[0].credential.type": { value: "federated" },
  "dataverse-s2s:integrations[0].credential.federated.issuer": { value: `${test_.emulator.url}/_emulator/issuer` },
  "dataverse-s2s:integrations[0].credential.federated.subject": { value: "repo:contoso/etl:environment:production" },
});

describe("with Policy.Read.All: preview fails before anything is written", () => {
  let project: TestProject;
  beforeAll(async () => {
    policyReader(true);
    await tenantPolicy(maxLifetime("P90D"));
    project = await createTestProject(test_.emulator, "policy-read", [
      { name: "etl", displayName: "Policy ETL", secret: { lifetimeDays: 180 }, role: { name: "Policy read user" } },
    ]);
  });
  afterAll(() => project?.cleanUp());

  test("a lifetime above the policy: preview and up fail naming the key, the policy, 90 days and the way out; 0 writes", async () => {
    await test_.resetCounters();
    const previewed = await failureOf(project.stack.preview());
    expect(previewed.message).toMatch(/dataverse-s2s:integrations\[0\]\.secret\.lifetimeDays: 180 days is longer than/);
    expect(previewed.message).toMatch(new RegExp(`'Default app management tenant policy' \\(${DEFAULT_POLICY}\\)`));
    expect(previewed.message).toMatch(/at most 90 days \(maxLifetime P90D\)/);
    expect(previewed.message).toMatch(/secret\.lifetimeDays is 90 or less/);
    expect(previewed.message).toMatch(/certificate .* or federated/);
    expect(previewed.message).toMatch(/nothing was written/);
    expect(writes()).toEqual({});

    const applied = await failureOf(project.stack.up());
    expect(applied.message).toMatch(/secret\.lifetimeDays: 180 days is longer than/);
    expect(writes()).toEqual({});
    expect(await applications("Policy ETL")).toEqual([]);
  });

  test("lifetimeDays: 60 passes: the secret lives 60 days", async () => {
    await project.stack.setConfig("dataverse-s2s:integrations[0].secret.lifetimeDays", { value: "60" }, true);
    const result = await project.stack.up();
    const lifetime = Date.parse(result.outputs.secretExpiresAt.value) - Date.now();
    expect(Math.round(lifetime / dayMs)).toBe(60);
    const [app] = await applications("Policy ETL");
    expect(app.passwordCredentials).toHaveLength(1);
  });

  test("passwords blocked: preview points to certificate / federated; switching the integration to federated passes", async () => {
    await tenantPolicy(blockPasswords);
    const blocked = await createTestProject(test_.emulator, "policy-blocked", [
      { name: "etl", displayName: "Blocked ETL", role: { name: "Policy blocked user" } },
    ]);
    try {
      await test_.resetCounters();
      const previewed = await failureOf(blocked.stack.preview());
      expect(previewed.message).toMatch(/dataverse-s2s:integrations\[0\]\.credential\.type: 'secret' \(the default\)/);
      expect(previewed.message).toMatch(/blocks new client secrets \(passwordAddition\)/);
      expect(previewed.message).toMatch(/credential\.type certificate .* or federated/);
      expect(writes()).toEqual({});
      await blocked.stack.setAllConfig(federated(), true);
      const result = await blocked.stack.up();
      expect(result.outputs.clientSecret?.value).toBeUndefined();
      const [app] = await applications("Blocked ETL");
      expect(app.passwordCredentials).toEqual([]);
    } finally {
      blocked.cleanUp();
    }
  });
});

describe("without Policy.Read.All: apply-time guidance, then convergence after the fix", () => {
  beforeAll(() => policyReader(false));

  test("a lifetime above the policy: up fails with guidance; with lifetimeDays 60 one up converges, one app, no probe left", async () => {
    await tenantPolicy(maxLifetime("P90D"));
    const project = await createTestProject(test_.emulator, "policy-apply", [
      { name: "etl", displayName: "Apply ETL", secret: { lifetimeDays: 180 }, role: { name: "Policy apply user" } },
    ]);
    try {
      const applied = await failureOf(project.stack.up());
      expect(applied.message).toMatch(/The client secret was not made/);
      expect(applied.message).toMatch(/dataverse-s2s:integrations\[0\]\.secret\.lifetimeDays: 180 days is longer than/);
      expect(applied.message).toMatch(new RegExp(`policy '${DEFAULT_POLICY}'`));
      expect(applied.message).toMatch(/CredentialInvalidLifetimeAsPerAppPolicy/);
      expect(applied.message).toMatch(/Policy\.Read\.All/);
      expect(applied.message).toMatch(/certificate .* or federated/);
      const [made] = await applications("Apply ETL");
      expect(made.passwordCredentials).toEqual([]);

      await project.stack.setConfig("dataverse-s2s:integrations[0].secret.lifetimeDays", { value: "60" }, true);
      const fixed = await project.stack.up();
      expect(Math.round((Date.parse(fixed.outputs.secretExpiresAt.value) - Date.now()) / dayMs)).toBe(60);
      const apps = await applications("Apply ETL");
      expect(apps.map((app) => app.id)).toEqual([made.id]);
      expect(apps[0].passwordCredentials).toHaveLength(1);
      expect(Object.keys((await project.stack.preview()).changeSummary).filter((op) => op !== "same")).toEqual([]);
    } finally {
      project.cleanUp();
    }
  });

  test("passwords blocked: up fails pointing to certificate / federated; switching to federated converges with no orphan", async () => {
    await tenantPolicy(blockPasswords);
    const project = await createTestProject(test_.emulator, "policy-apply-blocked", [
      { name: "etl", displayName: "Apply Blocked ETL", role: { name: "Policy apply blocked user" } },
    ]);
    try {
      const applied = await failureOf(project.stack.up());
      expect(applied.message).toMatch(/dataverse-s2s:integrations\[0\]\.credential\.type: 'secret' \(the default\)/);
      expect(applied.message).toMatch(/passwordAddition/);
      expect(applied.message).toMatch(/certificate .* or federated/);
      const [made] = await applications("Apply Blocked ETL");

      await project.stack.setAllConfig(federated(), true);
      await project.stack.up();
      const apps = await applications("Apply Blocked ETL");
      expect(apps.map((app) => app.id)).toEqual([made.id]);
      expect(apps[0].passwordCredentials).toEqual([]);
      expect(Object.keys((await project.stack.preview()).changeSummary).filter((op) => op !== "same")).toEqual([]);
    } finally {
      project.cleanUp();
    }
  });
});

test("a policy tightened after the secret was made: preview reports it as expiring, up rotates to a secret within the limit", async () => {
  policyReader(true);
  await tenantPolicy([]);
  const start = Math.floor(Date.now() / 1000) * 1000;
  const project = await createTestProject(test_.emulator, "policy-tightened", [
    { name: "etl", displayName: "Tightened ETL", secret: { lifetimeDays: 180 }, role: { name: "Policy tightened user" } },
  ]);
  const atDay = (days: number) => {
    const now = new Date(start + days * dayMs).toISOString();
    test_.emulator.setClock(now);
    project.stack.workspace.envVars.DATAVERSE_S2S_NOW = now;
  };
  try {
    atDay(0);
    const first = await project.stack.up();
    expect(first.outputs.secretExpiresAt.value).toBe(new Date(start + 180 * dayMs).toISOString().replace(".000Z", "Z"));

    // Day 20: the policy now allows 90 days. The secret (180 days) stays valid; it is due from day 60 (90 - 30).
    await tenantPolicy(maxLifetime("P90D"));
    atDay(20);
    const early = await project.stack.preview();
    expect(early.stdout).toMatch(/now allows client secrets of at most 90 days; the current secret .* is rotated from/);
    expect(early.stdout).not.toMatch(/inside its rotation window/);

    // Day 70: older than the policy allows minus rotateBeforeDays: reported as an expiring secret and rotated.
    atDay(70);
    const due = await project.stack.preview();
    expect(due.stdout).toMatch(/client secret of 'Tightened ETL' expires on .* inside its rotation window/);
    expect(due.stdout).toMatch(/this run replaces the current secret \(180 days, .*\) by a secret of 90 days/);
    const rotated = await project.stack.up();
    expect(rotated.outputs.secretExpiresAt.value).toBe(new Date(start + 160 * dayMs).toISOString().replace(".000Z", "Z"));
    expect(rotated.outputs.clientSecret.value).not.toBe(first.outputs.clientSecret.value);
  } finally {
    project.cleanUp();
    test_.emulator.setClock(new Date().toISOString());
  }
});
