// Managed identity integrations (issue 24), end to end with the real engine, the azure-native
// stand-in and the emulator's ARM and managed identity endpoint: an identity the stack makes, an
// existing one by client id and one by resource id, each signing in with @azure/identity's
// ManagedIdentityCredential (as an Azure Function would) and answered by WhoAmI as its application
// user; an unknown identity and a missing resource group stop the preview naming their settings with
// nothing written; drift on the user is shown and repaired; and an integration switched from a client
// secret to a managed identity keeps its role and leaves no app registration, secret or user behind.
import { ManagedIdentityCredential } from "@azure/identity";
import { appMarkerTag } from "../../components/app-registration";
import { DataverseClient } from "../../lib/dataverse-client";
import { RestClient } from "../../lib/rest-client";
import { changeRecorder, createTestProject, setIntegrations, TestProject } from "../support/pulumi-project";
import { deployerCredential, failureOf, laggingTenant, startE2eEmulator, TestEmulator, writesCounted } from "../support/emulator";

jest.setTimeout(10 * 60 * 1000);

const stackName = "managed-identity";
const role = { name: "Orders Function", privileges: { contact: ["read"] } };
let test_: TestEmulator;
let project: TestProject;
let arm: RestClient;
let existing: { id: string; clientId: string };
let byId: { id: string; clientId: string };

/** The integrations of the first up: one identity made by the stack, two existing ones, one with a client secret. */
const integrations = () => [
  {
    name: "made",
    role,
    credential: { type: "managedIdentity", create: { resourceGroup: test_.emulator.azure.resourceGroup, location: "westeurope" } },
  },
  { name: "by-client", role, credential: { type: "managedIdentity", clientId: existing.clientId } },
  { name: "by-id", role, credential: { type: "managedIdentity", resourceId: byId.id } },
  { name: "switch", displayName: "Switched connector", role },
];

const identityPath = (name: string) =>
  `subscriptions/${test_.emulator.azure.subscriptionId}/resourceGroups/${test_.emulator.azure.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

/** An identity made by hand (as an Azure Function's user-assigned identity would be). */
async function handMadeIdentity(name: string): Promise<{ id: string; clientId: string }> {
  const answer = await arm.request<{ id: string; properties: { clientId: string } }>({
    operation: "make an identity by hand",
    method: "PUT",
    path: `${identityPath(name)}?api-version=2023-01-31`,
    body: { location: "westeurope" },
  });
  return { id: answer.data.id, clientId: answer.data.properties.clientId };
}

function deployerDataverse(): DataverseClient {
  const { emulator } = test_;
  return new DataverseClient(emulator.environmentUrl, {
    sleep: async () => undefined,
    credential: deployerCredential(emulator),
  });
}

/** WhoAmI as the managed identity, through the managed identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER). */
async function whoAmIAsIdentity(clientId: string, environmentUrl: string): Promise<string> {
  const credential = new ManagedIdentityCredential({ clientId });
  return (await new DataverseClient(environmentUrl, { credential }).whoAmI()).UserId.toLowerCase();
}

type Values = Record<string, string | undefined>;
const outputsOf = (outputs: Record<string, { value: unknown }>) => outputs.integrations.value as Record<string, Values>;

beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
  // The workload's side: the App Service managed identity endpoint, as an Azure Function has it.
  test_.useEnvironment(test_.emulator.managedIdentity.env);
  const { emulator } = test_;
  arm = test_.arm();
  existing = await handMadeIdentity("orders-function");
  byId = await handMadeIdentity("invoices-function");
  project = await createTestProject(emulator, stackName, [
    { name: "unknown", role, credential: { type: "managedIdentity", clientId: "0badc0de-0000-4000-8000-000000000000" } },
    { name: "no-group", role, credential: { type: "managedIdentity", create: { resourceGroup: "no-such-group", location: "westeurope" } } },
  ]);
});

afterAll(async () => {
  project?.cleanUp();
  await test_?.stop();
});

test("an unknown identity and a missing resource group stop the preview, each naming its setting; nothing is written", async () => {
  await test_.resetCounters();
  const error = await failureOf(project.stack.preview());
  expect(error.message).toMatch(
    /dataverse-s2s:integrations\[0\]\.credential\.clientId: there is no managed identity with the client id 0badc0de-0000-4000-8000-000000000000 in the tenant/,
  );
  expect(error.message).toMatch(
    /dataverse-s2s:integrations\[1\]\.credential\.create\.resourceGroup: there is no resource group 'no-such-group'/,
  );
  // A resource id that is not there: the program's lookup, before anything is declared.
  await setIntegrations(project, [
    { name: "gone", role, credential: { type: "managedIdentity", resourceId: byId.id.replace("invoices", "absent") } },
  ]);
  const gone = await failureOf(project.stack.preview());
  expect(gone.message).toMatch(
    /dataverse-s2s:integrations\[0\]\.credential\.resourceId: there is no user-assigned managed identity .*absent-function/,
  );
  expect(writesCounted(test_.emulator, ["graph", "dataverse", "arm"])).toEqual({});
});

test("up: each identity's application user holds the role; ManagedIdentityCredential gets a Dataverse token and WhoAmI answers that user", async () => {
  await setIntegrations(project, integrations());
  const result = await project.stack.up();
  expect(result.summary.result).toBe("succeeded");
  const values = outputsOf(result.outputs);

  // The identity the stack made: in the configured group, tagged with the stack and integration.
  const made = values.made;
  const madeIdentity = await arm.request<{ properties: { clientId: string }; tags: Record<string, string> }>({
    operation: "read the identity",
    method: "GET",
    path: `${identityPath(await madeIdentityName())}?api-version=2023-01-31`,
  });
  expect(madeIdentity.data.properties.clientId).toBe(made.clientId);
  expect(madeIdentity.data.tags).toMatchObject({
    "dataverse-s2s-stack": `organization/dataverse-s2s/${stackName}`,
    "dataverse-s2s-integration": "made",
  });

  expect(values["by-client"].clientId).toBe(existing.clientId);
  expect(values["by-id"].clientId).toBe(byId.clientId);
  for (const name of ["made", "by-client", "by-id"]) {
    const integration = values[name];
    expect(integration).toMatchObject({ environmentUrl: test_.emulator.environmentUrl, tenantId: test_.emulator.tenantId });
    expect(integration.clientSecret).toBeUndefined();
    expect(integration.secretExpiresAt).toBeUndefined();
    expect(await whoAmIAsIdentity(String(integration.clientId), String(integration.environmentUrl))).toBe(
      String(integration.applicationUserId).toLowerCase(),
    );
    const user = await deployerDataverse().getUser(String(integration.applicationUserId));
    expect((user?.systemuserroles_association ?? []).map((held) => held.roleid.toLowerCase())).toEqual([
      String(integration.securityRoleId).toLowerCase(),
    ]);
  }
  // One role for all four, the stack's.
  expect(new Set(Object.values(values).map((integration) => integration.securityRoleId)).size).toBe(1);
  expect(values.switch.clientSecret).toBeDefined();
  await project.stack.preview({ refresh: true, expectNoChanges: true });
});

/** The name ARM gave the identity the stack made (auto-named `made-identity<8 hex>`), from the state. */
async function madeIdentityName(): Promise<string> {
  const state = await project.stack.exportStack();
  const resource = (state.deployment.resources as { type: string; outputs?: { name?: string } }[]).find(
    (entry) => entry.type === "azure-native:managedidentity:UserAssignedIdentity",
  );
  expect(resource?.outputs?.name).toMatch(/^made-identity[0-9a-f]{8}$/);
  return resource!.outputs!.name!;
}

test("drift: the identity's user disabled and stripped of its role by hand is shown by preview --refresh and repaired by up", async () => {
  const values = outputsOf(await project.stack.outputs());
  const userId = String(values.made.applicationUserId);
  const roleId = String(values.made.securityRoleId);
  const dataverse = deployerDataverse();
  await dataverse.updateUser(userId, { isdisabled: true }, "disable the user by hand");
  await dataverse.batch("remove the role by hand", [dataverse.unassignRoleRequest(userId, roleId)]);

  const recorder = changeRecorder();
  await project.stack.preview({ refresh: true, onEvent: recorder.onEvent });
  expect(recorder.changes).toEqual(["update made-user"]);

  const result = await project.stack.up();
  expect(result.summary.resourceChanges).toMatchObject({ update: 1 });
  const user = await dataverse.getUser(userId);
  expect(user?.isdisabled).toBe(false);
  expect((user?.systemuserroles_association ?? []).map((held) => held.roleid.toLowerCase())).toEqual([roleId.toLowerCase()]);
  expect(await whoAmIAsIdentity(String(values.made.clientId), String(values.made.environmentUrl))).toBe(userId.toLowerCase());
});

test("switch from a client secret to a managed identity: the role stays; no app registration, secret or old user is left", async () => {
  const before = outputsOf(await project.stack.outputs()).switch;
  const oldClientId = String(before.clientId);
  await setIntegrations(project, [
    ...integrations().filter((integration) => integration.name !== "switch"),
    {
      name: "switch",
      displayName: "Switched connector",
      role,
      credential: { type: "managedIdentity", create: { resourceGroup: test_.emulator.azure.resourceGroup, location: "westeurope" } },
    },
  ]);
  const result = await project.stack.up();
  expect(result.summary.result).toBe("succeeded");
  const after = outputsOf(result.outputs).switch;
  expect(after.securityRoleId).toBe(before.securityRoleId);
  expect(after.clientId).not.toBe(oldClientId);
  expect(after.clientSecret).toBeUndefined();

  // No app of the integration's tag, no service principal or user of the old client id.
  const graph = test_.graph();
  const tag = appMarkerTag(`organization/dataverse-s2s/${stackName}`, "switch");
  const apps = await graph.request<{ value: unknown[] }>({
    operation: "list the integration's apps",
    method: "GET",
    path: `v1.0/applications?$filter=${encodeURIComponent(`tags/any(t:t eq '${tag}')`)}`,
  });
  expect(apps.data.value).toEqual([]);
  const principals = await graph.request<{ value: unknown[] }>({
    operation: "list the old service principal",
    method: "GET",
    path: `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${oldClientId}'`)}`,
  });
  expect(principals.data.value).toEqual([]);
  const dataverse = deployerDataverse();
  expect(await dataverse.findApplicationUsers(oldClientId)).toEqual([]);
  // The identity's user holds the same role, and signs in.
  const users = await dataverse.findApplicationUsers(String(after.clientId));
  expect(users.map((user) => user.systemuserid.toLowerCase())).toEqual([String(after.applicationUserId).toLowerCase()]);
  expect(await whoAmIAsIdentity(String(after.clientId), String(after.environmentUrl))).toBe(String(after.applicationUserId).toLowerCase());
  await project.stack.preview({ refresh: true, expectNoChanges: true });
});

test("destroy: the identities the stack made are deleted, the existing ones stay; no user is left", async () => {
  const values = outputsOf(await project.stack.outputs());
  await project.stack.destroy();
  const dataverse = deployerDataverse();
  for (const integration of Object.values(values)) expect(await dataverse.findApplicationUsers(String(integration.clientId))).toEqual([]);
  const graph = test_.graph();
  const principal = async (clientId: string) =>
    (
      await graph.request<{ value: unknown[] }>({
        operation: "find the identity's principal",
        method: "GET",
        path: `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${clientId}'`)}`,
      })
    ).data.value.length;
  expect(await principal(String(values.made.clientId))).toBe(0);
  expect(await principal(String(values.switch.clientId))).toBe(0);
  expect(await principal(existing.clientId)).toBe(1);
  expect(await principal(byId.clientId)).toBe(1);
});
