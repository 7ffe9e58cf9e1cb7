/**
 * Test support for crash recovery (issue 8): `pulumi up` killed, engine and every plugin at once,
 * the moment the emulator answers one of the writes a first run makes (the write made, the answer
 * never received), then the documented
 * recovery (`pulumi cancel`, then `pulumi up`), then the emulator's objects of that stack counted.
 *
 * Each kill point runs on its own emulator and stack; the stack's app is found by the tag that names
 * the stack and the integration, as the stack's own AppLeftovers finds it, and a managed identity the
 * stack makes by its tags, as IdentityLeftovers finds it.
 */
import { spawn, ChildProcess } from "child_process";
import { ManagedIdentityCredential } from "@azure/identity";
import { DataverseClient } from "../../lib/dataverse-client";
import { appMarkerTag } from "../../components/app-registration";
import { listAll } from "../../lib/graph-client";
import { connectionOutputs, deployerCredential, expectWhoAmI, laggingTenant, startE2eEmulator, TestEmulator } from "./emulator";
import { killProcessTree } from "./process-tree";
import { createTestProject, TestProject } from "./pulumi-project";

/** A write of the first run, as the emulator logs it: "<service> <METHOD> <path> <status>". */
export interface KillPoint {
  readonly name: string;
  readonly service: "graph" | "dataverse" | "arm";
  readonly method: string;
  readonly path: RegExp;
  /** Kill after the n-th successful matching write (default 1). */
  readonly nth?: number;
  /** For a Dataverse $batch: the write it must carry (matched against the log line's parts=[...]). */
  readonly inBatch?: RegExp;
  /** The integration's settings besides name, displayName and role (for writes only some settings make). */
  readonly settings?: Record<string, unknown>;
  /**
   * The integration's credential is a managed identity the stack makes in the emulator's seeded
   * resource group: the stack's identities are counted instead of its apps, and WhoAmI signs in as the
   * identity (ManagedIdentityCredential, through the emulator's managed identity endpoint, which it
   * finds in the process environment: run such a point alone in its file).
   */
  readonly madeIdentity?: boolean;
}

const guid = "[0-9a-f-]{36}";

/** Every write a first `up` of one integration with a client secret makes, in Graph and in Dataverse. */
export const killPoints: Record<string, KillPoint> = {
  applicationCreate: { name: "application create", service: "graph", method: "POST", path: /^\/v1\.0\/applications$/ },
  applicationTemporaryName: {
    name: "application PATCH (temporary name)",
    service: "graph",
    method: "PATCH",
    path: new RegExp(`^/v1\\.0/applications/${guid}$`),
  },
  applicationRealName: {
    name: "application PATCH (real name)",
    service: "graph",
    method: "PATCH",
    path: new RegExp(`^/v1\\.0/applications/${guid}$`),
    nth: 2,
  },
  applicationOwner: {
    name: "application owner change (caller removed)",
    service: "graph",
    method: "DELETE",
    path: new RegExp(`^/v1\\.0/applications/${guid}/owners/${guid}/\\$ref$`),
  },
  servicePrincipalCreate: { name: "service principal create", service: "graph", method: "POST", path: /^\/v1\.0\/servicePrincipals$/ },
  servicePrincipalDescription: {
    name: "service principal PATCH (description)",
    service: "graph",
    method: "PATCH",
    path: new RegExp(`^/v1\\.0/servicePrincipals/${guid}$`),
  },
  servicePrincipalOwner: {
    name: "service principal owner change (caller removed)",
    service: "graph",
    method: "DELETE",
    path: new RegExp(`^/v1\\.0/servicePrincipals/${guid}/owners/${guid}/\\$ref$`),
  },
  addPassword: { name: "addPassword", service: "graph", method: "POST", path: new RegExp(`^/v1\\.0/applications/${guid}/addPassword$`) },
  roleCreate: { name: "role create", service: "dataverse", method: "POST", path: /^\/api\/data\/v9\.2\/roles$/ },
  // The privilege copy and the role association travel in a $batch change set (lib/dataverse-batch.ts).
  privileges: {
    name: "privilege write (ReplacePrivilegesRole)",
    service: "dataverse",
    method: "POST",
    path: /^\/api\/data\/v9\.2\/\$batch$/,
    inBatch: /ReplacePrivilegesRole/,
  },
  // Only with adminConsent: true. The azuread provider's grant resource never adopts a grant (Graph
  // answers 409 to a second one): the stack's own AdminConsentGrant does.
  adminConsentGrant: {
    name: "admin-consent grant create",
    service: "graph",
    method: "POST",
    path: /^\/v1\.0\/oauth2PermissionGrants$/,
    settings: { adminConsent: true },
  },
  // Only with a managed identity the stack makes (azure-native's UserAssignedIdentity, auto-named).
  identityCreate: {
    name: "managed identity create",
    service: "arm",
    method: "PUT",
    path: new RegExp(
      `^/subscriptions/${guid}/resourceGroups/[^/]+/providers/Microsoft\\.ManagedIdentity/userAssignedIdentities/[^/]+$`,
      "i",
    ),
    madeIdentity: true,
  },
  userCreate: { name: "application user create", service: "dataverse", method: "POST", path: /^\/api\/data\/v9\.2\/systemusers$/ },
  roleAssociation: {
    name: "role association",
    service: "dataverse",
    method: "POST",
    path: /^\/api\/data\/v9\.2\/\$batch$/,
    inBatch: /POST systemusers.*systemuserroles_association/,
  },
};

/** What is left of one stack's integration in the emulator. */
export interface StackObjects {
  /** The user-assigned identities in the seeded group tagged with the stack and the integration. */
  identities: { id: string; properties: { clientId: string } }[];
  apps: { id: string; appId: string; passwordCredentials: { keyId: string; displayName?: string }[] }[];
  servicePrincipals: number;
  /** The delegated permission grants of the apps' service principals. */
  consentGrants: { consentType: string; scope: string }[];
  roles: { roleid: string }[];
  users: { systemuserid: string; isdisabled: boolean; systemuserroles_association?: { roleid: string }[] }[];
}

/**
 * One kill point, self-contained so that the points of a file run at once (test.concurrent): its own
 * emulator (whose answer hook tells when the write is answered, and by whom), its own stack and
 * state. Clients are given the deployer's credential explicitly, never the process environment,
 * which concurrent emulators would overwrite.
 */
export async function killAndRecover(stackName: string, point: KillPoint) {
  let engine: ChildProcess | undefined;
  const armed: { seen: number; killedAfter?: string } = { seen: 0 };
  const test_ = await startE2eEmulator({
    ...laggingTenant,
    // Killed before the answer leaves (the emulator has made the write): the engine never learns of it,
    // and cannot finish the run in the moment a kill after the answer would leave it.
    onAnswer: (line: string) => {
      if (armed.killedAfter || !engine?.pid) return;
      const [, service, method, path, status] = line.split(" ");
      if (service !== point.service || method !== point.method || !/^2\d\d$/.test(status)) return;
      if (!point.path.test(path.split("?")[0])) return;
      if (point.inBatch && !point.inBatch.test(line)) return;
      armed.seen++;
      if (armed.seen < (point.nth ?? 1)) return;
      // Answered: kill the whole process tree (engine, language host, program, every plugin) at once.
      armed.killedAfter = line;
      killProcessTree(engine.pid);
    },
  });
  const roleName = `Crash ${stackName}`;
  let project: TestProject | undefined;
  try {
    project = await createTestProject(test_.emulator, stackName, [
      {
        name: "etl",
        displayName: `Crash ${stackName}`,
        role: { name: roleName },
        ...point.settings,
        ...(point.madeIdentity
          ? {
              credential: {
                type: "managedIdentity",
                create: { resourceGroup: test_.emulator.azure.resourceGroup, location: "westeurope" },
              },
            }
          : {}),
      },
    ]);
    const workDir = project.workDir;
    const env = project.env;
    const exit = await new Promise<number | null>((resolve) => {
      engine = spawn("pulumi", ["up", "--yes", "--non-interactive", "--stack", stackName], {
        cwd: workDir,
        env: { ...process.env, ...env },
        detached: true,
        stdio: "ignore",
      });
      engine.on("exit", (code) => resolve(code));
      engine.on("error", () => resolve(-1));
    });
    expect(armed.killedAfter).toBeDefined();
    expect(exit).not.toBe(0);

    // A file backend keeps no metadata sidecar, the one write of Pulumi's a kill can tear (state-backend.ts).
    if (project.backend.url.startsWith("file://")) {
      expect([...(await project.backend.objects()).keys()].filter((name) => name.endsWith(".attrs"))).toEqual([]);
    }
    // The documented recovery: release the dead run's lock, then a plain `up`.
    await project.stack.cancel();
    const result = await project.stack.up();
    expect(result.summary.result).toBe("succeeded");
    const outputs = result.outputs;

    const after = await stackObjects(test_, stackName, roleName);
    if (point.madeIdentity) {
      // One identity of the stack, the one in state; no app registration, no secret.
      expect(after.identities.map((identity) => identity.properties.clientId)).toEqual([outputs.clientId.value]);
      expect(after.apps).toEqual([]);
      expect(outputs.clientSecret?.value).toBeUndefined();
    } else {
      expect(after.identities).toEqual([]);
      expect(after.apps.map((app) => app.appId)).toEqual([outputs.clientId.value]);
      expect(after.servicePrincipals).toBe(1);
      expect(after.apps[0].passwordCredentials).toHaveLength(1);
    }
    // With admin consent: exactly one grant, to Dynamics CRM for all users.
    expect(after.consentGrants).toEqual(
      point.settings?.adminConsent ? [{ consentType: "AllPrincipals", scope: "user_impersonation" }] : [],
    );
    expect(after.roles.map((role) => role.roleid)).toEqual([outputs.securityRoleId.value]);
    expect(after.users.map((user) => user.systemuserid)).toEqual([outputs.applicationUserId.value]);
    expect(after.users[0].isdisabled).toBe(false);
    expect((after.users[0].systemuserroles_association ?? []).map((role) => role.roleid.toLowerCase())).toEqual([
      String(outputs.securityRoleId.value).toLowerCase(),
    ]);
    if (point.madeIdentity) {
      test_.useEnvironment(test_.emulator.managedIdentity.env);
      const asIdentity = new DataverseClient(test_.emulator.environmentUrl, {
        credential: new ManagedIdentityCredential({ clientId: String(outputs.clientId.value) }),
      });
      expect((await asIdentity.whoAmI()).UserId.toLowerCase()).toBe(String(outputs.applicationUserId.value).toLowerCase());
    } else {
      await expectWhoAmI(test_.emulator, { ...connectionOutputs(outputs), environmentUrl: test_.emulator.environmentUrl });
    }
    // Converged: nothing left for the next run to do.
    await project.stack.preview({ refresh: true, expectNoChanges: true });
  } finally {
    if (engine?.pid && engine.exitCode === null) killProcessTree(engine.pid);
    project?.cleanUp();
    await test_.stop();
  }
}

async function stackObjects(test_: TestEmulator, stackName: string, roleName: string): Promise<StackObjects> {
  const graph = test_.graph();
  const identities = await stackIdentities(test_, stackName);
  const tag = appMarkerTag(`organization/dataverse-s2s/${stackName}`, "etl");
  const apps = await listAll<StackObjects["apps"][number]>(
    graph,
    "list the stack's apps",
    `v1.0/applications?$filter=${encodeURIComponent(`tags/any(t:t eq '${tag}')`)}&$select=id,appId,passwordCredentials`,
  );
  let servicePrincipals = 0;
  const consentGrants: StackObjects["consentGrants"] = [];
  for (const app of apps) {
    const found = await graph.request<{ value: { id: string }[] }>({
      operation: "list service principals",
      method: "GET",
      path: `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${app.appId}'`)}`,
    });
    servicePrincipals += found.data.value.length;
    for (const principal of found.data.value) {
      const grants = await graph.request<{ value: { consentType: string; scope: string }[] }>({
        operation: "list the principal's grants",
        method: "GET",
        path: `v1.0/oauth2PermissionGrants?$filter=${encodeURIComponent(`clientId eq '${principal.id}'`)}`,
      });
      consentGrants.push(...grants.data.value.map(({ consentType, scope }) => ({ consentType, scope })));
    }
  }
  const { emulator } = test_;
  const client = new DataverseClient(emulator.environmentUrl, {
    sleep: async () => undefined,
    credential: deployerCredential(emulator),
  });
  const roles = await client.findRoleByName(roleName, await client.businessUnitId());
  const clientIds = [...apps.map((app) => app.appId), ...identities.map((identity) => identity.properties.clientId)];
  const users = (await Promise.all(clientIds.map((clientId) => client.findApplicationUsers(clientId))))
    .flat()
    .filter((user) => !user.deletedstate);
  return { identities, apps, servicePrincipals, consentGrants, roles, users };
}

/** The seeded group's user-assigned identities with the stack's and the integration's tags (components/managed-identity.ts). */
async function stackIdentities(test_: TestEmulator, stackName: string): Promise<StackObjects["identities"]> {
  const { emulator } = test_;
  const found = await listAll<StackObjects["identities"][number] & { tags?: Record<string, string> }>(
    test_.arm(),
    "list the group's identities",
    `subscriptions/${emulator.azure.subscriptionId}/resourceGroups/${emulator.azure.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2023-01-31`,
    "nextLink",
  );
  return found.filter(
    (identity) =>
      identity.tags?.["dataverse-s2s-stack"] === `organization/dataverse-s2s/${stackName}` &&
      identity.tags?.["dataverse-s2s-integration"] === "etl",
  );
}
