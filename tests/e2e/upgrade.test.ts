// Upgrades lose nothing (issue 23, item 5). A stack deployed by an earlier version of the code
// (tests/fixtures/upgrade-from-<commit>/: its exported state, config and the emulator's state, made
// by scripts/make-upgrade-fixture.ts) is imported and upgraded by this checkout's code, in a project
// that is the whole checkout (where such a stack lives, see linkCheckout): a refreshed
// preview and one `pulumi up` create, replace and delete nothing (a dynamic resource may be updated,
// its provider shell being new), the client ids, the role and the application users stay, the
// secrets the integrations hold still sign in, and a refreshed preview afterwards is clean.
// Pulumi's dynamic-provider host reads and deletes with the provider shell stored in the state (the
// earlier version's) and checks, diffs, creates and updates with the program's: only an upgrade
// from a stored stack runs both. Both clocks stand one day after the fixture's deployment, so that
// its secrets are not due for rotation however old the fixture is.
// Runs against a tenant with replication lag and Graph pages of two (laggingTenant).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { StateData } from "../../emulator/store";
import { dayMs } from "../../lib/clock";
import { repoRoot } from "../../scripts/emulator-environment";
import { expectWhoAmI, laggingTenant, startE2eEmulator, TestEmulator, writesCounted } from "../support/emulator";
import { checkoutEntries, createTestProject, TestProject } from "../support/pulumi-project";
import { emulatorHosts, readManifest, upgradeFixtureDirs, upgradeFixtureFiles, withEmulatorHosts } from "../support/upgrade-fixture";

jest.setTimeout(15 * 60 * 1000);

const dynamicResourceType = /^pulumi-nodejs:dynamic\//;

/**
 * Every step a run plans or takes that changes a resource ("<op> <type> <name>"), and the dynamic
 * resources it refreshed: each refresh is a read with the provider shell stored in the state.
 */
function stepRecorder() {
  const steps: string[] = [];
  const refreshedDynamic = new Set<string>();
  const unchanging = new Set(["same", "read", "refresh", "discard", "remove-pending-replace"]);
  return {
    steps,
    refreshedDynamic,
    onEvent: (event: EngineEvent) => {
      const metadata = event.resourcePreEvent?.metadata;
      if (!metadata) return;
      if (metadata.op === "refresh" && dynamicResourceType.test(metadata.type)) refreshedDynamic.add(metadata.urn);
      if (!unchanging.has(metadata.op)) steps.push(`${metadata.op} ${metadata.type} ${metadata.urn.split("::").pop()}`);
    },
  };
}

/** Steps other than an update of a dynamic resource: an upgrade must have none. */
const beyondShellUpdates = (steps: string[]) =>
  steps.filter((step) => !/^update /.test(step) || !dynamicResourceType.test(step.split(" ")[1]));

/**
 * The emulator's objects as an upgrade must leave them: ids, client ids, the secrets' key ids, the
 * roles' privilege counts, the users' roles. Any object re-created, added or removed shows here.
 */
function cloudObjects(state: StateData) {
  const keyIds = (credentials: unknown) => ((credentials ?? []) as { keyId: string }[]).map((credential) => credential.keyId).sort();
  return {
    applications: Object.values(state.applications)
      .map(
        ({ doc }) => `${doc.id} appId=${String(doc.appId)} ${String(doc.displayName)} secrets=${keyIds(doc.passwordCredentials).join(",")}`,
      )
      .sort(),
    servicePrincipals: Object.values(state.servicePrincipals)
      .map(({ doc }) => `${doc.id} appId=${String(doc.appId)}`)
      .sort(),
    deletedItems: Object.keys(state.deletedItems).sort(),
    roles: Object.values(state.environment.roles)
      .map((role) => `${role.roleid} ${role.name} privileges=${Object.keys(role.privileges).length}`)
      .sort(),
    users: Object.values(state.environment.systemUsers)
      .map(
        (user) =>
          `${user.systemuserid} app=${String(user.applicationid)} disabled=${user.isdisabled} roles=${[...user.roles].sort().join(",")}`,
      )
      .sort(),
  };
}

/**
 * Makes the project the whole checkout. A stack deployed before the package lives in a clone of this
 * repository (its program was the repository's index.ts), and its stored provider shells load
 * dynamic-providers/implementation/<name>.ts from the project folder with ts-node: upgrading it is
 * pulling the new code into that clone. createTestProject links only what a project that installs
 * the package has; the rest of the checkout is linked here (stack files aside: the stack's own is the fixture's).
 */
function linkCheckout(workDir: string): void {
  for (const entry of checkoutEntries(repoRoot)) {
    if (!fs.existsSync(path.join(workDir, entry))) fs.symlinkSync(path.join(repoRoot, entry), path.join(workDir, entry));
  }
}

interface StoredResource {
  urn: string;
  type: string;
  inputs?: { __provider?: string };
  outputs?: { __provider?: string };
}

describe.each(upgradeFixtureDirs().map((dir) => [path.basename(dir), dir]))("%s", (_name, fixtureDir) => {
  const manifest = readManifest(fixtureDir);
  const fixtureFile = (file: string) => fs.readFileSync(path.join(fixtureDir, file), "utf8");
  const fixtureObjects = cloudObjects(JSON.parse(fixtureFile(upgradeFixtureFiles.emulatorState)) as StateData);
  const dynamicResources = Object.entries(manifest.resourceTypes)
    .filter(([type]) => dynamicResourceType.test(type))
    .reduce((sum, [, count]) => sum + count, 0);
  let scratch: string;
  let stateFile: string;
  let test_: TestEmulator;
  let project: TestProject;
  /** The client secrets the integrations hold: the fixture's stack outputs, decrypted with its passphrase. */
  const heldSecrets: Record<string, string> = {};
  /** What the upgrade did, printed at the end for the record (which resources it updated, the writes). */
  const record: Record<string, unknown> = {};
  /** Whether the upgrade's `pulumi up` succeeded: only then does the state hold what this code wrote. */
  let upgraded = false;

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "dataverse-s2s-upgrade-"));
    stateFile = path.join(scratch, upgradeFixtureFiles.emulatorState);
    fs.copyFileSync(path.join(fixtureDir, upgradeFixtureFiles.emulatorState), stateFile);
    test_ = await startE2eEmulator({ ...laggingTenant, stateFile });
    const upgradeDay = new Date(Date.parse(manifest.deployedAt) + dayMs).toISOString();
    test_.emulator.setClock(upgradeDay);
    project = await createTestProject(test_.emulator, manifest.stackName, manifest.integrations);
    linkCheckout(project.workDir);
    project.stack.workspace.envVars.DATAVERSE_S2S_NOW = upgradeDay;
    project.stack.workspace.envVars.PULUMI_CONFIG_PASSPHRASE = manifest.passphrase;
    // The fixture's config file replaces the one just made: its encryption salt goes with the passphrase.
    const hosts = emulatorHosts(test_.emulator);
    fs.writeFileSync(
      path.join(project.workDir, upgradeFixtureFiles.stackConfig),
      withEmulatorHosts(fixtureFile(upgradeFixtureFiles.stackConfig), hosts),
    );
    await project.stack.importStack(JSON.parse(withEmulatorHosts(fixtureFile(upgradeFixtureFiles.deployment), hosts)));
    const outputs = await project.stack.outputs();
    for (const [name, values] of Object.entries(outputs.integrations.value as Record<string, { clientSecret: string }>))
      heldSecrets[name] = values.clientSecret;
  });
  afterAll(async () => {
    console.info(`upgrade from ${manifest.commit}:\n${JSON.stringify(record, null, 2)}`);
    project?.cleanUp();
    await test_?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  async function expectSignIns() {
    for (const [name, identity] of Object.entries(manifest.identities)) {
      await expectWhoAmI(test_.emulator, {
        environmentUrl: test_.emulator.environmentUrl,
        tenantId: test_.emulator.tenantId,
        clientId: identity.clientId,
        clientSecret: heldSecrets[name],
        applicationUserId: identity.applicationUserId,
      });
    }
  }

  test("the fixture imports and its integrations sign in with the secrets they hold", async () => {
    expect(Object.keys(heldSecrets).sort()).toEqual(Object.keys(manifest.identities).sort());
    // One application, service principal and application user per integration, one role shared:
    // the upgrade test below then proves that the same ones, and no others, are there after it.
    const matching = (lines: string[], text: string) => lines.filter((line) => line.includes(text)).length;
    for (const identity of Object.values(manifest.identities)) {
      expect(matching(fixtureObjects.applications, `appId=${identity.clientId}`)).toBe(1);
      expect(matching(fixtureObjects.servicePrincipals, `appId=${identity.clientId}`)).toBe(1);
      expect(matching(fixtureObjects.users, `${identity.applicationUserId} app=${identity.clientId}`)).toBe(1);
      expect(matching(fixtureObjects.roles, identity.securityRoleId)).toBe(1);
    }
    expect(cloudObjects(JSON.parse(fs.readFileSync(stateFile, "utf8")) as StateData)).toEqual(fixtureObjects);
    await expectSignIns();
  });

  test("a refreshed preview with this code creates, replaces and deletes nothing", async () => {
    const recorder = stepRecorder();
    const preview = await project.stack.preview({ onEvent: recorder.onEvent });
    record.previewSteps = recorder.steps;
    expect(recorder.refreshedDynamic.size).toBe(dynamicResources);
    expect(beyondShellUpdates(recorder.steps)).toEqual([]);
    expect(Object.keys(preview.changeSummary).filter((op) => op !== "same" && op !== "update")).toEqual([]);
  });

  test("one pulumi up keeps every cloud object, client id, role and user; the secrets held still sign in", async () => {
    await test_.resetCounters();
    const recorder = stepRecorder();
    const result = await project.stack.up({ onEvent: recorder.onEvent });
    record.upSteps = recorder.steps;
    record.upWrites = writesCounted(test_.emulator);
    expect(recorder.refreshedDynamic.size).toBe(dynamicResources);
    expect(result.summary.result).toBe("succeeded");
    upgraded = true;
    expect(beyondShellUpdates(recorder.steps)).toEqual([]);
    expect(Object.keys(result.summary.resourceChanges ?? {}).filter((op) => op !== "same" && op !== "update")).toEqual([]);
    // The updates only move each resource to this code's provider shell: not one write to Entra or Dataverse.
    expect(record.upWrites).toEqual({});

    const outputs = result.outputs.integrations.value as Record<
      string,
      { clientId: string; securityRoleId: string; applicationUserId: string; secretExpiresAt: string; clientSecret: string }
    >;
    for (const [name, identity] of Object.entries(manifest.identities)) {
      expect(outputs[name]).toMatchObject({ ...identity, clientSecret: heldSecrets[name] });
    }
    expect(cloudObjects(JSON.parse(fs.readFileSync(stateFile, "utf8")) as StateData)).toEqual(fixtureObjects);
    await expectSignIns();
  });

  test("a refreshed preview after the upgrade is clean", async () => {
    await project.stack.preview({ refresh: true, expectNoChanges: true });
  });

  // Refresh and destroy run a dynamic resource's read and delete with the shell in its outputs; a
  // resource the upgrade did not update keeps the shell of the version that last wrote it. The
  // process.cwd() shell loads only where the project folder holds dynamic-providers/implementation,
  // ts-node and tsconfig.json: in a project that installs the package, every later refresh fails.
  test("after the upgrade every dynamic resource's state holds this code's provider shell, none an earlier one (such as the process.cwd() shell)", async () => {
    if (!upgraded) throw new Error("the upgrade's pulumi up did not succeed: the state still holds the fixture's shells");
    const resources = (await project.stack.exportStack()).deployment.resources as StoredResource[];
    const dynamic = resources.filter((resource) => dynamicResourceType.test(resource.type));
    const name = (resource: StoredResource) => resource.urn.split("::").pop();
    record.legacyShellsAfterUp = dynamic.filter((resource) => resource.outputs?.__provider?.includes("process.cwd()")).map(name);
    expect(dynamic.length).toBeGreaterThan(0);
    expect(dynamic.filter((resource) => resource.outputs?.__provider !== resource.inputs?.__provider).map(name)).toEqual([]);
  });
});
