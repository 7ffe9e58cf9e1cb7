// State for teams on Pulumi's azblob:// backend, against Azurite (one per suite): two deployments of
// one stack at once (one deploys, the other stops before writing anything with a message that names
// the stack and says when `pulumi cancel` is safe), two stacks deployed at once, and a job killed
// halfway, recovered with the documented commands with nothing duplicated, orphaned or lost. Every
// check reads the emulator's objects and the blobs Pulumi wrote to Azurite. The stack suite itself
// (up, drift, destroy) runs on this backend too, in stack-azblob.test.ts.
import { ChildProcess, spawn } from "child_process";
import { roleResourceName } from "../../components/stack";
import { RunningAzurite, startAzurite } from "../../scripts/azurite";
import { StackLockedError, withStackLockExplained } from "../../scripts/state-backend";
import { laggingTenant, startE2eEmulator, TestEmulator } from "../support/emulator";
import { killProcessTree } from "../support/process-tree";
import { changeRecorder, createTestProject, TestProject } from "../support/pulumi-project";
import { azuriteTestBackend, historyCheckpoints, parseCheckpoint, readStoredStack, TestBackend } from "../support/state-backends";

jest.setTimeout(15 * 60 * 1000);

let azurite: RunningAzurite;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

/** The stack's objects in the emulator, found by the names the config gives them. */
async function objectsNamed(test_: TestEmulator, appDisplayName: string, roleName: string) {
  const client = test_.dataverse();
  const roles = await client.findRoleByName(roleName, await client.businessUnitId());
  const graph = test_.graph();
  const filter = (expression: string) => encodeURIComponent(expression);
  const apps = await graph.request<{ value: { appId: string }[] }>({
    operation: "list apps",
    method: "GET",
    path: `v1.0/applications?$filter=${filter(`displayName eq '${appDisplayName}'`)}`,
  });
  const servicePrincipals = (
    await Promise.all(
      apps.data.value.map(
        async (app) =>
          (
            await graph.request<{ value: unknown[] }>({
              operation: "list sps",
              method: "GET",
              path: `v1.0/servicePrincipals?$filter=${filter(`appId eq '${app.appId}'`)}`,
            })
          ).data.value,
      ),
    )
  ).flat();
  const users = (await Promise.all(apps.data.value.map((app) => client.findApplicationUsers(app.appId))))
    .flat()
    .filter((user) => !user.deletedstate);
  return { roles: roles.length, apps: apps.data.value.length, servicePrincipals: servicePrincipals.length, users: users.length };
}

const oneOfEach = { roles: 1, apps: 1, servicePrincipals: 1, users: 1 };

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("two deployments at the same time", () => {
  let test_: TestEmulator;
  let backend: TestBackend;
  const projects: TestProject[] = [];

  beforeAll(async () => {
    test_ = await startE2eEmulator(laggingTenant);
    backend = await azuriteTestBackend(azurite, "concurrency");
  });
  afterAll(async () => {
    for (const project of projects) project.cleanUp();
    await test_?.stop();
  });

  test("two ups of one stack: one deploys, the other stops before any write and says why", async () => {
    // Two CI jobs of the same environment: two checkouts, one stack in one container.
    const integrations = [{ name: "etl", displayName: "Team ETL" }];
    const [jobA, jobB] = [
      await createTestProject(test_.emulator, "team", integrations, backend),
      await createTestProject(test_.emulator, "team", integrations, backend),
    ];
    projects.push(jobA, jobB);
    const eventsA = changeRecorder();
    const eventsB = changeRecorder();
    let engineEventsB = 0;

    const upA = withStackLockExplained("team", () => jobA.stack.up({ onEvent: eventsA.onEvent }));
    // B starts while A runs: A's lock is in the container by then.
    await until(async () => (await readStoredStack(backend, "team")).locks.size > 0, "job A's lock blob");
    const upB = withStackLockExplained("team", () =>
      jobB.stack.up({
        onEvent: (event) => {
          if (event.resourcePreEvent || event.resOutputsEvent) engineEventsB++;
          eventsB.onEvent(event);
        },
      }),
    );
    const [resultA, resultB] = await Promise.allSettled([upA, upB]);

    expect(resultA.status).toBe("fulfilled");
    const summaryA = (resultA as PromiseFulfilledResult<Awaited<typeof upA>>).value.summary;
    expect(summaryA.result).toBe("succeeded");
    expect(summaryA.resourceChanges?.create).toBeGreaterThan(0);
    expect(eventsA.changes).toContain("create role-api-user");

    expect(resultB.status).toBe("rejected");
    const errorB = (resultB as PromiseRejectedResult).reason as Error;
    expect(errorB).toBeInstanceOf(StackLockedError);
    expect(errorB.message).toMatch(/^Stack 'team' is locked: another deployment holds it, so this run stopped before changing anything\./);
    expect(errorB.message).toContain("'pulumi cancel --stack team' is safe only once no deployment of this stack is running any more");
    // The lock it met: A's, in the container, with who made it and when.
    expect((errorB as StackLockedError).locks).toHaveLength(1);
    expect((errorB as StackLockedError).locks[0]).toMatch(
      /^azblob:\/\/concurrency\/\.pulumi\/locks\/organization\/dataverse-s2s\/team\/[0-9a-f-]+\.json\?domain=127\.0\.0\.1:\d+&protocol=http: created by \S+ \(pid \d+\) at /,
    );
    // B stopped before the engine ran: no step, no output, no change.
    expect(engineEventsB).toBe(0);
    expect(eventsB.changes).toEqual([]);

    // The container: one finished update (A's), no lock left, a checkpoint with the stack's resources.
    const stored = await readStoredStack(backend, "team");
    expect(stored.locks.size).toBe(0);
    expect([...stored.history.keys()].filter((name) => name.endsWith(".history.json"))).toHaveLength(1);
    const checkpoint = parseCheckpoint(stored.checkpoint!);
    expect(checkpoint.pendingOperations).toEqual([]);
    expect(checkpoint.resources.filter((resource) => resource.urn.endsWith("::role-api-user"))).toHaveLength(1);

    await jobB.stack.preview({ refresh: true, expectNoChanges: true });
    expect(await objectsNamed(test_, "Team ETL", "API User")).toEqual(oneOfEach);
  });

  test("two stacks (two environments) deployed at once both succeed", async () => {
    const dev = await createTestProject(
      test_.emulator,
      "dev",
      [{ name: "etl", displayName: "Dev ETL", role: { name: "API User dev" } }],
      backend,
    );
    const prod = await createTestProject(
      test_.emulator,
      "prod",
      [{ name: "etl", displayName: "Prod ETL", role: { name: "API User prod" } }],
      backend,
    );
    projects.push(dev, prod);

    const results = await Promise.all([
      withStackLockExplained("dev", () => dev.stack.up()),
      withStackLockExplained("prod", () => prod.stack.up()),
    ]);
    expect(results.map((result) => result.summary.result)).toEqual(["succeeded", "succeeded"]);

    for (const [stackName, app, role] of [
      ["dev", "Dev ETL", "API User dev"],
      ["prod", "Prod ETL", "API User prod"],
    ]) {
      const stored = await readStoredStack(backend, stackName);
      expect(stored.locks.size).toBe(0);
      const roles = parseCheckpoint(stored.checkpoint!).resources.filter((resource) =>
        resource.urn.endsWith(`::${roleResourceName(role.toLowerCase())}`),
      );
      expect(roles).toHaveLength(1);
      expect(await objectsNamed(test_, app, role)).toEqual(oneOfEach);
    }
    const roleIds = results.map((result) => result.outputs.securityRoleId.value);
    expect(new Set(roleIds).size).toBe(2);
  });
});

describe("a job killed halfway on the azblob backend", () => {
  let test_: TestEmulator;
  let backend: TestBackend;
  let project: TestProject;
  let engine: ChildProcess | undefined;
  let killArmed = false;
  let killedAfter: string | undefined;

  beforeAll(async () => {
    test_ = await startE2eEmulator({
      ...laggingTenant,
      log: (line: string) => {
        // The new role's POST answered: kill the engine, its language host, the program and every plugin.
        if (killArmed && engine?.pid && !killedAfter && /POST \S*\/api\/data\/v9\.2\/roles\b(?!\(|\/)\S* 20[14]/.test(line)) {
          killedAfter = line;
          killProcessTree(engine.pid);
        }
      },
    });
    backend = await azuriteTestBackend(azurite, "killed-job");
    // First deployed with an existing role, so that the killed job only creates on the Dataverse side.
    project = await createTestProject(
      test_.emulator,
      "ops",
      [{ name: "etl", displayName: "Ops ETL", role: { existing: "System Administrator" } }],
      backend,
    );
  });
  afterAll(async () => {
    if (engine?.pid && engine.exitCode === null) killProcessTree(engine.pid);
    project?.cleanUp();
    await test_?.stop();
  });

  test("cancel, refresh, up converges, and the previous checkpoint stays in the history", async () => {
    expect((await project.stack.up()).summary.result).toBe("succeeded");
    const before = await readStoredStack(backend, "ops");
    const [previousCheckpointName] = historyCheckpoints(before);
    const previousCheckpoint = before.history.get(previousCheckpointName)!;
    expect(parseCheckpoint(previousCheckpoint).resources.some((resource) => resource.urn.endsWith("::etl-user"))).toBe(true);

    // The integration moves to a cloned role, deployed by a job that dies right after Dataverse made it.
    await project.stack.removeConfig("dataverse-s2s:integrations[0].role.existing", true);
    await project.stack.setConfig("dataverse-s2s:integrations[0].role.name", { value: "Ops API User" }, true);
    killArmed = true;
    const exit = await new Promise<number | null>((resolve) => {
      engine = spawn("pulumi", ["up", "--yes", "--non-interactive", "--stack", "ops"], {
        cwd: project.workDir,
        env: { ...process.env, ...project.env },
        detached: true,
        stdio: "ignore",
      });
      engine.on("exit", (code) => resolve(code));
      engine.on("error", () => resolve(-1));
    });
    expect(killedAfter).toBeDefined();
    expect(exit).not.toBe(0);

    // What the dead job left in the container: its lock, a checkpoint with the interrupted create,
    // and the history untouched (the previous checkpoint byte for byte).
    const afterKill = await readStoredStack(backend, "ops");
    expect(afterKill.locks.size).toBe(1);
    expect(parseCheckpoint(afterKill.checkpoint!).pendingOperations.map((op) => `${op.type} ${op.resource.urn.split("::").pop()}`)).toEqual(
      ["creating role-ops-api-user"],
    );
    expect(historyCheckpoints(afterKill)).toEqual([previousCheckpointName]);
    expect(afterKill.history.get(previousCheckpointName)).toBe(previousCheckpoint);
    expect(afterKill.backup).toBeDefined();
    expect(await objectsNamed(test_, "Ops ETL", "Ops API User")).toEqual(oneOfEach);

    // The next job meets the dead job's lock and says what to do.
    await expect(withStackLockExplained("ops", () => project.stack.up())).rejects.toThrow(
      /^Stack 'ops' is locked: another deployment holds it/,
    );

    // The documented recovery (README, "State for teams"): the dead job's lock released, its
    // interrupted create cleared by refresh, then up adopts the role the dead job made.
    await project.stack.cancel();
    await project.stack.refresh({ clearPendingCreates: true });
    const recovered = await withStackLockExplained("ops", () => project.stack.up());
    expect(recovered.summary.result).toBe("succeeded");
    await project.stack.preview({ refresh: true, expectNoChanges: true });

    expect(await objectsNamed(test_, "Ops ETL", "Ops API User")).toEqual(oneOfEach);
    const final = await readStoredStack(backend, "ops");
    expect(final.locks.size).toBe(0);
    const finalCheckpoint = parseCheckpoint(final.checkpoint!);
    expect(finalCheckpoint.pendingOperations).toEqual([]);
    const storedRoles = finalCheckpoint.resources.filter((resource) => resource.urn.endsWith("::role-ops-api-user"));
    expect(storedRoles).toHaveLength(1);
    const client = test_.dataverse();
    const [role] = await client.findRoleByName("Ops API User", await client.businessUnitId());
    expect(storedRoles[0].id).toBe(role.roleid); // the role the dead job made, adopted, not a second one
    expect(recovered.outputs.securityRoleId.value).toBe(role.roleid);
    // Nothing lost: the checkpoint from before the killed job is still in the history, unchanged.
    expect(historyCheckpoints(final)[0]).toBe(previousCheckpointName);
    expect(final.history.get(previousCheckpointName)).toBe(previousCheckpoint);
  });
});
