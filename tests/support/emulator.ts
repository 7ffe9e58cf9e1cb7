/**
 * Test support: a fresh emulator per suite on a free port, the deployer's credentials in the
 * environment (as a CI job would have them), and clients to make changes "as an admin would".
 */
import { ClientSecretCredential } from "@azure/identity";
import { startEmulator } from "../../emulator";
import { RestClient } from "../../lib/rest-client";
import { DataverseClient } from "../../lib/dataverse-client";
import { whoAmIAs } from "../../scripts/verify-connection";

export type RunningEmulator = Awaited<ReturnType<typeof startEmulator>>;

export const deployerEnvironment = (emulator: RunningEmulator): Record<string, string> => ({
  AZURE_AUTHORITY_HOST: emulator.authorityHost,
  AZURE_TENANT_ID: emulator.tenantId,
  AZURE_CLIENT_ID: emulator.deployer.clientId,
  AZURE_CLIENT_SECRET: emulator.deployer.clientSecret,
});

/** Starts an emulator and points the process's credentials at it; stop() restores the environment. */
/** A client credential signing in to the emulator's Entra ID (the deployer's by default). */
export function deployerCredential(
  emulator: RunningEmulator,
  clientId = emulator.deployer.clientId,
  clientSecret = emulator.deployer.clientSecret,
) {
  return new ClientSecretCredential(emulator.tenantId, clientId, clientSecret, {
    authorityHost: emulator.authorityHost,
    disableInstanceDiscovery: true,
  });
}

export async function startTestEmulator(options: Parameters<typeof startEmulator>[0] = {}) {
  const emulator = await startEmulator({ port: 0, ...options });
  const saved: Record<string, string | undefined> = {};
  const useEnvironment = (values: Record<string, string>) => {
    for (const [name, value] of Object.entries(values)) {
      if (!(name in saved)) saved[name] = process.env[name];
      process.env[name] = value;
    }
  };
  useEnvironment(deployerEnvironment(emulator));
  const admin = new RestClient({ service: "Emulator admin", baseUrl: `${emulator.url}/_emulator/` });
  /** Azure Resource Manager as the deployer (its token audience: ARM's own id, as in Azure). */
  const arm = () =>
    new RestClient({
      service: "Azure Resource Manager",
      baseUrl: `${emulator.resourceManagerUrl}/`,
      tokenResource: "https://management.azure.com/",
      credential: deployerCredential(emulator),
    });
  return {
    emulator,
    admin,
    /** Switches the credentials that providers take from the environment. */
    useEnvironment,
    dataverse: () => new DataverseClient(emulator.environmentUrl, { sleep: async () => undefined }),
    graph: (clientId = emulator.deployer.clientId, clientSecret = emulator.deployer.clientSecret) =>
      new RestClient({
        service: "Microsoft Graph",
        baseUrl: `${emulator.url}/`,
        tokenResource: emulator.url,
        credential: deployerCredential(emulator, clientId, clientSecret),
      }),
    arm,
    /** Changes a role's privileges as an admin would in the UI (deployer credentials). */
    async removePrivilege(roleId: string, privilegeId: string) {
      await roleAction(emulator, roleId, "RemovePrivilegeRole", {
        Privilege: { "@odata.type": "Microsoft.Dynamics.CRM.privilege", privilegeid: privilegeId },
      });
    },
    async addPrivilege(roleId: string, privilegeId: string, depth: string, businessUnitId: string) {
      await roleAction(emulator, roleId, "AddPrivilegesRole", {
        Privileges: [{ PrivilegeId: privilegeId, Depth: depth, BusinessUnitId: businessUnitId }],
      });
    },
    /**
     * Takes the deployer's Azure access away: deletes its role assignments at the subscription (its
     * Owner), the ones below it (the vault's) left. Returns how many it deleted.
     */
    async revokeDeployerSubscriptionRoles(): Promise<number> {
      const deployerArm = arm();
      const { subscriptionId } = emulator.azure;
      const assignments = await deployerArm.request<{ value: { id: string }[] }>({
        operation: "list the deployer's role assignments",
        method: "GET",
        path: `subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=${encodeURIComponent(`principalId eq '${emulator.deployer.objectId}'`)}`,
      });
      const atSubscription = assignments.data.value.filter((assignment) =>
        assignment.id.toLowerCase().startsWith(`/subscriptions/${subscriptionId}/providers/`.toLowerCase()),
      );
      for (const assignment of atSubscription)
        await deployerArm.request({
          operation: "remove an assignment",
          method: "DELETE",
          path: `${assignment.id.slice(1)}?api-version=2022-04-01`,
        });
      return atSubscription.length;
    },
    /** Zeroes the emulator's request counters (writesCounted then counts from here). */
    async resetCounters() {
      await admin.request({ operation: "reset counters", method: "DELETE", path: "requests" });
    },
    async setFaults(faults: Record<string, unknown>) {
      await admin.request({ operation: "set faults", method: "POST", path: "config", body: { faults } });
    },
    async stop() {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await emulator.stop();
    },
  };
}

export type TestEmulator = Awaited<ReturnType<typeof startTestEmulator>>;

/**
 * A tenant as Entra really behaves: replication lag on (a new application, service principal or
 * secret is unknown for a few seconds) and Graph lists paged two items at a time, so the product and
 * the azuread stand-in must wait and page as they would against the real services.
 */
export const laggingTenant = { replicationLagMs: 2500, graphPageSize: 2 } as const;

/**
 * What startE2eEmulator adds when a suite passes nothing: the lagging tenant. Every e2e suite (the
 * crash suites through tests/support/crash-points.ts) also names laggingTenant where it starts its
 * emulator, so that the setting is visible in the suite.
 */
export const e2eEmulatorDefaults = laggingTenant;

/** The e2e suites' emulator: startTestEmulator with e2eEmulatorDefaults under the given options. */
export function startE2eEmulator(options: Parameters<typeof startEmulator>[0] = {}) {
  return startTestEmulator({ ...e2eEmulatorDefaults, ...options });
}

async function roleAction(emulator: RunningEmulator, roleId: string, action: string, body: unknown) {
  const rest = new RestClient({
    service: "Dataverse",
    baseUrl: `${emulator.environmentUrl}/api/data/v9.2/`,
    tokenResource: emulator.environmentUrl,
  });
  await rest.request({ operation: action, method: "POST", path: `roles(${roleId})/Microsoft.Dynamics.CRM.${action}`, body });
}

/** Registers an app with a service principal through Graph, as the stack's Entra side would. */
export async function registerApp(
  test: TestEmulator,
  displayName: string,
): Promise<{ appId: string; objectId: string; servicePrincipalId: string }> {
  const graph = test.graph();
  const app = await graph.request<{ id: string; appId: string }>({
    operation: "create application",
    method: "POST",
    path: "v1.0/applications",
    body: { displayName, signInAudience: "AzureADMyOrg" },
  });
  const sp = await graph.request<{ id: string }>({
    operation: "create service principal",
    method: "POST",
    path: "v1.0/servicePrincipals",
    body: { appId: app.data.appId },
  });
  return { appId: app.data.appId, objectId: app.data.id, servicePrincipalId: sp.data.id };
}

/** How long e2e checks give a just-published secret to replicate (well above laggingTenant's lag). */
export const newSecretWait = { newSecretWaitMs: 30_000 } as const;

/** A stack's connection values as a connector holds them (plain strings). */
export interface ConnectionOutputs {
  environmentUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  applicationUserId: string;
}

/** The plain connection values of a stack's top-level outputs (Automation API `{ value }` entries). */
export function connectionOutputs(outputs: Record<string, { value: unknown }>): ConnectionOutputs {
  const text = (name: string) => String(outputs[name].value);
  return {
    environmentUrl: text("environmentUrl"),
    tenantId: text("tenantId"),
    clientId: text("clientId"),
    clientSecret: text("clientSecret"),
    applicationUserId: text("applicationUserId"),
  };
}

/** Signs in with the values as a connector would (waiting for a new secret to replicate) and expects WhoAmI to be the application user. */
export async function expectWhoAmI(emulator: RunningEmulator, values: ConnectionOutputs): Promise<void> {
  const whoAmI = await whoAmIAs(values, emulator.authorityHost, newSecretWait);
  expect(whoAmI.UserId.toLowerCase()).toBe(values.applicationUserId.toLowerCase());
}

/**
 * Tries `attempt` until it fails and returns the failure: a removed secret keeps working until the
 * removal has replicated. Throws if it still succeeds after `withinMs`.
 */
export async function firstRefusal(attempt: () => Promise<unknown>, withinMs = 30_000): Promise<unknown> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await attempt();
    } catch (error) {
      return error;
    }
    if (Date.now() >= deadline) throw new Error(`still accepted ${Math.round(withinMs / 1000)} s after the change`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Writes the emulator counted since its counters were last reset, by operation ("graph POST
 * /applications": 1). A Dataverse $batch is a POST that may only read, so it is not a write itself:
 * the requests it carried (counted apart, batchOperations) are looked at instead.
 */
/** The error a run fails with; the test fails if the run succeeds. */
export async function failureOf(run: Promise<unknown>): Promise<Error> {
  const error = await run.then(
    () => undefined,
    (failed: Error) => failed,
  );
  expect(error).toBeDefined();
  return error!;
}

export function writesCounted(emulator: RunningEmulator, services: readonly string[] = ["graph", "dataverse"]): Record<string, number> {
  const counters = emulator.requests();
  const write = new RegExp(`^(${services.join("|")}) (POST|PATCH|PUT|DELETE) `);
  return Object.fromEntries(
    [...Object.entries(counters.operations), ...Object.entries(counters.batchOperations)].filter(
      ([operation]) => write.test(operation) && operation !== "dataverse POST $batch",
    ),
  );
}
