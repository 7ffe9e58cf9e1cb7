// Adopting a manual setup (issue 10, part 3) through the real engine against the emulator: the
// objects an admin made by hand as the manual procedure describes (app registration with the
// Dynamics CRM user_impersonation permission, service principal, client secret, a copy of System
// Administrator, application user, role assignment) are taken over by the first `pulumi up` with
// `adopt: { clientId, roleName }`: the client id stays, the hand-made secret keeps working and is not
// published (secretNote says so), nothing is duplicated, a second up and a refreshed preview are
// clean, removing `adopt` replaces nothing, and destroy deletes the adopted objects as README says.
// An adopt of an app registration that does not exist fails the preview naming the key, writing nothing.
import { dynamicsCrmAppId } from "../../lib/defaults";
import { listAll } from "../../lib/graph-client";
import { RestClient } from "../../lib/rest-client";
import { expectWhoAmI, failureOf, laggingTenant, startE2eEmulator, TestEmulator, writesCounted } from "../support/emulator";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { changeRecorder, createTestProject, setIntegrations, TestProject } from "../support/pulumi-project";

jest.setTimeout(20 * 60 * 1000);

let test_: TestEmulator;
beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
});
afterAll(async () => {
  await test_?.stop();
});

/** Retries `attempt` while Entra has not replicated a new object yet (laggingTenant). */
async function eventually<T>(attempt: () => Promise<T>, withinMs = 30_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

interface HandMade {
  clientId: string;
  applicationObjectId: string;
  servicePrincipalId: string;
  secretText: string;
  secretKeyId: string;
  roleId: string;
  userId: string;
}

/** The manual procedure, done as an admin would through Graph and the Dataverse Web API. */
async function makeByHand(graph: RestClient, displayName: string, roleName: string): Promise<HandMade> {
  const crm = await graph.request<{ oauth2PermissionScopes: { id: string; value: string }[] }>({
    operation: "read the Dynamics CRM service principal",
    method: "GET",
    path: `v1.0/servicePrincipals(appId='${dynamicsCrmAppId}')`,
  });
  const scope = crm.data.oauth2PermissionScopes.find((entry) => entry.value === "user_impersonation")!;
  // App registrations > New registration (single tenant); API permissions > Dynamics CRM > user_impersonation.
  const app = await graph.request<{ id: string; appId: string }>({
    operation: "create application",
    method: "POST",
    path: "v1.0/applications",
    body: {
      displayName,
      signInAudience: "AzureADMyOrg",
      requiredResourceAccess: [{ resourceAppId: dynamicsCrmAppId, resourceAccess: [{ id: scope.id, type: "Scope" }] }],
    },
  });
  // Enterprise application (service principal).
  const sp = await eventually(() =>
    graph.request<{ id: string }>({
      operation: "create service principal",
      method: "POST",
      path: "v1.0/servicePrincipals",
      body: { appId: app.data.appId },
    }),
  );
  // Certificates & secrets > New client secret.
  const secret = await eventually(() =>
    graph.request<{ keyId: string; secretText: string }>({
      operation: "add a client secret",
      method: "POST",
      path: `v1.0/applications/${app.data.id}/addPassword`,
      body: { passwordCredential: { displayName: "Manual secret", endDateTime: new Date(Date.now() + 365 * 86_400_000).toISOString() } },
    }),
  );
  // Power Platform: Security roles > System Administrator > Copy Role; Application users > New app user; its roles.
  const dataverse = test_.dataverse();
  const businessUnitId = await dataverse.businessUnitId();
  const systemAdministrator = await dataverse.findSourceRole("System Administrator", businessUnitId);
  const roleId = await dataverse.createRole(roleName, "Copied from System Administrator by hand", businessUnitId);
  await dataverse.replacePrivileges(roleId, businessUnitId, await dataverse.rolePrivileges(systemAdministrator!.roleid));
  const userId = await eventually(() => dataverse.createApplicationUser(app.data.appId, businessUnitId));
  await dataverse.assignRole(userId, roleId);
  return {
    clientId: app.data.appId.toLowerCase(),
    applicationObjectId: app.data.id.toLowerCase(),
    servicePrincipalId: sp.data.id.toLowerCase(),
    secretText: secret.data.secretText,
    secretKeyId: secret.data.keyId.toLowerCase(),
    roleId: roleId.toLowerCase(),
    userId: userId.toLowerCase(),
  };
}

/** What the tenant and the environment hold for the hand-made app: every count must stay one. */
async function objectsOf(graph: RestClient, clientId: string, roleNames: string[]) {
  const apps = await listAll<{ id: string; passwordCredentials?: { keyId: string }[] }>(
    graph,
    "list the app registrations",
    `v1.0/applications?$filter=${encodeURIComponent(`appId eq '${clientId}'`)}`,
  );
  const servicePrincipals = await listAll<{ id: string }>(
    graph,
    "list the service principals",
    `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${clientId}'`)}`,
  );
  const dataverse = test_.dataverse();
  const businessUnitId = await dataverse.businessUnitId();
  const users = (await dataverse.findApplicationUsers(clientId)).filter((user) => !user.deletedstate);
  const roles = (await Promise.all(roleNames.map((name) => dataverse.findRoleByName(name, businessUnitId)))).flat();
  return {
    apps: apps.map((app) => app.id.toLowerCase()),
    secrets: apps.flatMap((app) => (app.passwordCredentials ?? []).map((credential) => credential.keyId.toLowerCase())),
    servicePrincipals: servicePrincipals.map((sp) => sp.id.toLowerCase()),
    users: users.map((user) => user.systemuserid.toLowerCase()),
    roles: roles.map((role) => role.roleid.toLowerCase()),
  };
}

/** A project whose integrations are set whole, as JSON. */
async function projectWith(stackName: string, integrations: Record<string, unknown>[]): Promise<TestProject> {
  const project = await createTestProject(test_.emulator, stackName, []);
  await project.stack.setConfig("dataverse-s2s:integrations", { value: JSON.stringify(integrations) });
  return project;
}

describe("a manual setup adopted by the first up", () => {
  let graph: RestClient;
  let hand: HandMade;
  let project: TestProject;
  const roleNames = ["API User", "API User (by hand)"];
  const integration = { name: "etl", displayName: "ETL connector" };

  /** The hand-made app's own secret gets a token and passes WhoAmI as the hand-made application user. */
  const handMadeSecretSignsIn = () =>
    expectWhoAmI(test_.emulator, {
      environmentUrl: test_.emulator.environmentUrl,
      tenantId: test_.emulator.tenantId,
      clientId: hand.clientId,
      clientSecret: hand.secretText,
      applicationUserId: hand.userId,
    });

  beforeAll(async () => {
    graph = test_.graph();
    hand = await makeByHand(graph, "ETL connector", "API User (by hand)");
    // The hand-made setup works before the stack touches it.
    await handMadeSecretSignsIn();
    project = await projectWith("adopt", [{ ...integration, adopt: { clientId: hand.clientId, roleName: "API User (by hand)" } }]);
  });
  afterAll(() => project?.cleanUp());

  test("the first up takes everything over: same client id, same objects, the hand-made secret kept and not published", async () => {
    const result = await project.stack.up();
    expect(result.summary.result).toBe("succeeded");
    const outputs = result.outputs;
    expect(outputs.clientId.value).toBe(hand.clientId);
    expect(String(outputs.applicationUserId.value).toLowerCase()).toBe(hand.userId);
    expect(String(outputs.securityRoleId.value).toLowerCase()).toBe(hand.roleId);
    expect(outputs.clientSecret).toBeUndefined();
    expect(String(outputs.secretNote.value)).toContain(hand.secretKeyId);
    expect(String(outputs.secretNote.value)).toMatch(/cannot|not published|never returns/);

    // Exactly one of each: nothing was made anew; the role was renamed to the configured name.
    expect(await objectsOf(graph, hand.clientId, roleNames)).toEqual({
      apps: [hand.applicationObjectId],
      secrets: [hand.secretKeyId],
      servicePrincipals: [hand.servicePrincipalId],
      users: [hand.userId],
      roles: [hand.roleId],
    });
    const role = await test_.dataverse().getRole(hand.roleId);
    expect(role!.name).toBe("API User");
    expect(role!.description).toMatch(/^Managed by dataverse-s2s \(stack [^ ]+\/adopt, role api user\)/);
    const user = await test_.dataverse().getUser(hand.userId);
    expect(user!.isdisabled).toBe(false);
    expect(user!.systemuserroles_association!.map((assigned) => assigned.roleid.toLowerCase())).toEqual([hand.roleId]);

    // The connector keeps its secret: it still signs in and passes WhoAmI as the same user.
    await handMadeSecretSignsIn();
  });

  test("a second up changes nothing, and a refreshed preview is clean", async () => {
    const recorder = changeRecorder();
    const again = await project.stack.up({ onEvent: recorder.onEvent });
    expect(again.summary.result).toBe("succeeded");
    expect(recorder.changes).toEqual([]);
    await project.stack.preview({ refresh: true, expectNoChanges: true });
  });

  test("removing adopt replaces nothing: only the stack's own secret would be made", async () => {
    await setIntegrations(project, [integration]);
    const resources: string[] = [];
    const providers: string[] = [];
    await project.stack.preview({
      onEvent: (event: EngineEvent) => {
        const metadata = event.resourcePreEvent?.metadata;
        if (!metadata || metadata.op === "same" || metadata.op === "refresh") return;
        // A default provider's inputs are the stack's config (the dynamic-provider host gets it for
        // configure): a config edit updates it, and no object anywhere.
        (metadata.urn.includes("::pulumi:providers:") ? providers : resources).push(`${metadata.op} ${metadata.urn.split("::").pop()}`);
      },
    });
    expect(providers.filter((change) => !change.startsWith("update "))).toEqual([]);
    expect(resources.sort()).toEqual(
      [
        "create etl-entra-retired-secrets",
        "create etl-entra-secret",
        "create etl-entra-secret-policy",
        "create etl-entra-secret-schedule",
      ].sort(),
    );
  });

  test("destroy deletes the adopted objects like the stack's own (README, Adopting a manual setup)", async () => {
    const destroyed = await project.stack.destroy();
    expect(destroyed.summary.result).toBe("succeeded");
    const left = await eventually(async () => {
      const objects = await objectsOf(graph, hand.clientId, roleNames);
      if (objects.apps.length > 0 || objects.servicePrincipals.length > 0) throw new Error("not yet replicated");
      return objects;
    });
    expect(left).toEqual({ apps: [], secrets: [], servicePrincipals: [], users: [], roles: [] });
  });
});

describe.each([
  {
    title: "a client id that is no GUID (the config reader)",
    clientId: "etl-app",
    expected: /dataverse-s2s:integrations\[0\]\.adopt\.clientId must be the application \(client\) id of the existing app registration/,
  },
  {
    title: "an app registration that does not exist (the program's lookup)",
    clientId: "0badc0de-0000-4000-8000-000000000000",
    expected:
      /dataverse-s2s:integrations\[0\]\.adopt\.clientId: there is no app registration with the client id 0badc0de-0000-4000-8000-000000000000/,
  },
])("a bad adopt: $title", (bad) => {
  test("up fails naming the key, and writes nothing anywhere", async () => {
    const project = await projectWith("adopt-bad", [{ name: "ghost", displayName: "Ghost", adopt: { clientId: bad.clientId } }]);
    try {
      await test_.resetCounters();
      const error = await failureOf(project.stack.up());
      expect(error.message).toMatch(bad.expected);
      expect(writesCounted(test_.emulator)).toEqual({});
    } finally {
      project.cleanUp();
    }
  });
});
