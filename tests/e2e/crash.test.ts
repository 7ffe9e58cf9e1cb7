// A crash: the engine and all its plugins are killed right after Dataverse answered the application
// user's creation, before Pulumi recorded it. The next `up` must converge with no duplicate or
// orphaned role, user or app registration, and destroy must then leave nothing behind. The user is
// created last (it needs the recorded application, service principal and role), so this kill point is
// deterministic. Kill points earlier in the run are open lifecycle work: an engine killed while the
// application's own create is in flight leaves an orphan app registration after this recovery (the
// azuread provider never adopts an application), and a service principal adopted with useExisting
// shows an update in the first preview after recovery.
import { spawn, ChildProcess } from "child_process";
import { startE2eEmulator, TestEmulator } from "../support/emulator";
import { killProcessTree } from "../support/process-tree";
import { createTestProject, TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

let test_: TestEmulator;
let project: TestProject;
let engine: ChildProcess | undefined;
let killedAfter: string | undefined;

beforeAll(async () => {
  test_ = await startE2eEmulator({
    log: (line: string) => {
      // The user's POST answered: kill the whole process group (engine, language host, program, plugins).
      if (engine?.pid && !killedAfter && /POST \S*\/api\/data\/v9\.2\/systemusers\b(?!\(|\/)\S* 20[14]/.test(line)) {
        killedAfter = line;
        killProcessTree(engine.pid);
      }
    },
  });
  project = await createTestProject(test_.emulator, "crash", [{ name: "etl", displayName: "Crash Test ETL" }]);
});
afterAll(async () => {
  if (engine?.pid && engine.exitCode === null) killProcessTree(engine.pid);
  project?.cleanUp();
  await test_?.stop();
});

async function stackObjects() {
  const client = test_.dataverse();
  const roles = await client.findRoleByName("API User", await client.businessUnitId());
  const graph = test_.graph();
  const apps = await graph.request<{ value: { appId: string; displayName: string }[] }>({
    operation: "list apps",
    method: "GET",
    path: `v1.0/applications?$filter=${encodeURIComponent("displayName eq 'Crash Test ETL'")}`,
  });
  const users = (await Promise.all(apps.data.value.map((app) => client.findApplicationUsers(app.appId)))).flat();
  return { roles, apps: apps.data.value, users };
}

test("an up killed right after the application user is created converges on the next up", async () => {
  const exit = await new Promise<number | null>((resolve) => {
    engine = spawn("pulumi", ["up", "--yes", "--non-interactive", "--stack", "crash"], {
      cwd: project.workDir,
      env: { ...process.env, ...project.env },
      detached: true,
      stdio: "ignore",
    });
    engine.on("exit", (code) => resolve(code));
    engine.on("error", (error) => {
      console.error(error);
      resolve(-1);
    });
  });
  expect(killedAfter).toBeDefined();
  expect(exit).not.toBe(0);
  expect((await stackObjects()).roles).toHaveLength(1);

  // The documented recovery: release the dead run's lock, let refresh clear the interrupted
  // creates, then up adopts what the dead run made.
  await project.stack.cancel();
  await project.stack.refresh({ clearPendingCreates: true });
  const result = await project.stack.up();
  expect(result.summary.result).toBe("succeeded");
  const after = await stackObjects();
  expect(after.roles).toHaveLength(1);
  expect(after.roles[0].roleid).toBe(result.outputs.securityRoleId.value);
  expect(after.apps).toHaveLength(1);
  expect(after.users.filter((user) => !user.deletedstate)).toHaveLength(1);
  await project.stack.preview({ refresh: true, expectNoChanges: true });

  await project.stack.destroy();
  const gone = await stackObjects();
  expect(gone.roles).toEqual([]);
  expect(gone.apps).toEqual([]);
  expect(gone.users).toEqual([]);
});
