// Faults through the real engine (issues 15 and 22): `up`, a no-change `preview --refresh` and
// `destroy` while the emulator drops connections and answers 429 and 503 on Dataverse, then on Graph.
//
// Dataverse is called only by the stack's own client, which retries 429/503 and replays dropped
// idempotent requests (a create is reconciled first): each run converges by itself.
//
// Graph is called mostly by the azuread provider, whose client (go-azure-sdk) retries 429 and 503
// but not a connection closed with no answer (`... EOF`), even for a GET (bar Go's one resend on a
// connection that had answered an earlier try), nor any write with no answer: with 10 % drops nearly
// every run fails. What the stack promises there is that a failed run loses and duplicates nothing,
// and that the next run, once connections hold, converges. So in Graph mode each phase runs once under
// every fault (it may fail, and only a drop may make it fail), then once under 429/503 only (what the
// provider retries), which must succeed: two runs at most, by construction (the second run's failure
// fails the test); the runs each phase took are logged. Then exactly one of every object, WhoAmI and
// a clean preview are asserted.
//
// The fault dice are seeded (FAULT_SEED, default below) so that a failure can be replayed: the
// emulator draws the same sequence; which request meets which draw still depends on the engine's
// parallelism, so a replay is close to, not always exactly, the failed run.
import { connectionOutputs, expectWhoAmI, laggingTenant, startE2eEmulator, TestEmulator } from "../support/emulator";
import { createTestProject, TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

// Seed 12: its first draw is a fault (503, then drop) and its first six hold each kind, so even a
// short phase (a batched preview) meets a fault and an up meets every kind, whichever requests they are.
const seed = Number(process.env.FAULT_SEED ?? 12);
/** 10 % of each kind: three in ten requests under the prefix meet a fault. */
const rates = { rateDrop: 0.1, rate429: 0.1, rate503: 0.1 };

const modes = [
  // The stack's own client: every run converges by itself.
  { service: "Dataverse", pathPrefix: "/api/data/", dropsFailRuns: false },
  // The azuread provider's client does not retry drops: a run may fail, the next one converges.
  { service: "Microsoft Graph", pathPrefix: "/v1.0/", dropsFailRuns: true },
];

describe.each(modes)(
  `faults on $service (10 % drops, 10 % 429, 10 % 503, seed ${seed}: FAULT_SEED=${seed} replays)`,
  ({ pathPrefix, dropsFailRuns }) => {
    let test_: TestEmulator;
    let project: TestProject;
    let outputs: Record<string, { value: any; secret: boolean }>;
    const displayName = `Faults ETL connector (${pathPrefix})`;
    const injected: Record<string, number>[] = [];
    /** Engine runs each phase took (Graph: 2 when the run under every fault failed). */
    const runsPerPhase: number[] = [];

    const faultsOn = () => test_.setFaults({ ...rates, retryAfterSeconds: 0, pathPrefix, seed, maxCount: null });
    /** What go-azure-sdk retries: 429 and 503, no drops. */
    const refusalsOnly = () => test_.setFaults({ ...rates, rateDrop: 0, retryAfterSeconds: 0, pathPrefix, seed, maxCount: null });
    const faultsOff = () => test_.setFaults({ rateDrop: 0, rate429: 0, rate503: 0 });
    const takeFaultCount = async () => {
      const counters = test_.emulator.requests();
      injected.push(counters.faults);
      await test_.admin.request({ operation: "reset counters", method: "DELETE", path: "requests" });
      return counters.faults;
    };

    beforeAll(async () => {
      test_ = await startE2eEmulator(laggingTenant);
      project = await createTestProject(test_.emulator, "faults", [{ name: "etl", displayName }]);
    });
    afterAll(async () => {
      project?.cleanUp();
      await test_?.stop();
      // For the record of fault runs (issue 15's closing note).
      console.log(
        `faults under ${pathPrefix}, seed ${seed}, per phase (up, preview, destroy): faults ${JSON.stringify(injected)}, runs ${JSON.stringify(runsPerPhase)}`,
      );
    });

    async function countObjects() {
      const graph = test_.graph();
      const apps = await graph.request<{ value: { appId: string; passwordCredentials: unknown[] }[] }>({
        operation: "list apps",
        method: "GET",
        path: `v1.0/applications?$filter=${encodeURIComponent(`displayName eq '${displayName}'`)}`,
      });
      const appIds = apps.data.value.map((app) => app.appId);
      const sps = await Promise.all(
        appIds.map((appId) =>
          graph.request<{ value: unknown[] }>({
            operation: "list sps",
            method: "GET",
            path: `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${appId}'`)}`,
          }),
        ),
      );
      const dataverse = test_.dataverse();
      const roles = await dataverse.findRoleByName("API User", await dataverse.businessUnitId());
      const users = (await Promise.all(appIds.map((appId) => dataverse.findApplicationUsers(appId)))).flat();
      return {
        applications: apps.data.value.length,
        servicePrincipals: sps.reduce((sum, response) => sum + response.data.value.length, 0),
        secrets: apps.data.value.reduce((sum, app) => sum + app.passwordCredentials.length, 0),
        roles: roles.length,
        applicationUsers: users.length,
      };
    }

    /**
     * One phase (up, preview or destroy) under every fault. Where drops fail runs (Graph), a failed run
     * is followed by one more under 429/503 only, which must succeed. Returns the last run's result
     * with the faults the runs met, and logs how many runs it took.
     */
    async function underFaults<T>(phase: () => Promise<T>): Promise<{ result: T; faults: Record<string, number> }> {
      await faultsOn();
      let outcome: { result: T; runs: number };
      try {
        outcome = { result: await phase(), runs: 1 };
      } catch (error) {
        if (!dropsFailRuns) throw error;
        const faultsSoFar = test_.emulator.requests().faults;
        // Nothing the failed run did may be duplicated or lost: the objects are checked after the next run.
        expect(faultsSoFar.drop ?? 0).toBeGreaterThan(0);
        await refusalsOnly();
        outcome = { result: await phase(), runs: 2 };
      }
      const faults = await takeFaultCount();
      await faultsOff();
      runsPerPhase.push(outcome.runs);
      return { result: outcome.result, faults };
    }

    test(`up ${dropsFailRuns ? "converges by the next run" : "converges"}: exactly one of each object, and WhoAmI works with the outputs`, async () => {
      const { result, faults } = await underFaults(() => project.stack.up());
      expect(result.summary.result).toBe("succeeded");
      // The runs did meet every kind of fault (else this test proves nothing).
      expect(Object.keys(faults).sort()).toEqual(["429", "503", "drop"]);
      outputs = result.outputs;
      expect(await countObjects()).toEqual({ applications: 1, servicePrincipals: 1, secrets: 1, roles: 1, applicationUsers: 1 });
      await expectWhoAmI(test_.emulator, connectionOutputs(outputs));
    });

    test("a refreshed preview under the same faults shows no change and writes nothing", async () => {
      const { faults } = await underFaults(() => project.stack.preview({ refresh: true, expectNoChanges: true }));
      expect(Object.values(faults).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
      expect(await countObjects()).toEqual({ applications: 1, servicePrincipals: 1, secrets: 1, roles: 1, applicationUsers: 1 });
      await expectWhoAmI(test_.emulator, connectionOutputs(outputs));
    });

    test("destroy under the same faults leaves nothing in the emulator or the state", async () => {
      const { result, faults } = await underFaults(() => project.stack.destroy());
      expect(result.summary.result).toBe("succeeded");
      expect(Object.values(faults).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
      expect(await countObjects()).toEqual({ applications: 0, servicePrincipals: 0, secrets: 0, roles: 0, applicationUsers: 0 });
      const state = await project.stack.exportStack();
      expect(
        (state.deployment.resources ?? []).filter((resource: { type: string }) => !/^pulumi:(pulumi:Stack|providers:)/.test(resource.type)),
      ).toEqual([]);
      expect(test_.emulator.requests().unsupported).toEqual([]);
    });
  },
);
