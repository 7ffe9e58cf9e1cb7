// The managed identity lookups against the emulator's ARM and Graph (issue 24), as the program and
// the environment check make them with the deployer's token: an identity by resource id, its service
// principal by client id (an app registration's is refused), a resource group; and the answers when
// they are not there (404) or the deployer may not read them (403 AuthorizationFailed), each naming
// the setting.
import { graphClient } from "../../lib/graph-client";
import {
  armClient,
  identityPrincipalProblem,
  lookUpIdentityByResourceId,
  ManagedIdentityLookupError,
  resourceGroupProblem,
} from "../../lib/managed-identities";
import type { RestClient } from "../../lib/rest-client";
import { registerApp, startTestEmulator, type TestEmulator } from "../support/emulator";

let test_: TestEmulator;
let arm: RestClient;
const setting = "dataverse-s2s:integrations[0].credential.resourceId";

beforeAll(async () => {
  test_ = await startTestEmulator();
  arm = await armClient({ metadataHost: test_.emulator.metadataHost });
});
afterAll(async () => test_?.stop());

const group = () => `subscriptions/${test_.emulator.azure.subscriptionId}/resourceGroups/${test_.emulator.azure.resourceGroup}`;
const identityId = (name: string) => `/${group()}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

test("an identity by resource id gives its client id, principal and tenant; its principal is a managed identity's", async () => {
  const made = await arm.request<{ properties: { clientId: string; principalId: string } }>({
    operation: "make an identity",
    method: "PUT",
    path: `${identityId("lookup-mi").slice(1)}?api-version=2023-01-31`,
    body: { location: "westeurope" },
  });
  const found = await lookUpIdentityByResourceId(arm, identityId("lookup-mi"), setting);
  expect(found).toEqual({
    clientId: made.data.properties.clientId,
    principalId: made.data.properties.principalId,
    tenantId: test_.emulator.tenantId,
  });
  const graph = await graphClient({ metadataHost: test_.emulator.metadataHost });
  expect(await identityPrincipalProblem(graph, "s", found.clientId)).toBeUndefined();
});

test("an unknown client id, and an app registration's, are problems of the setting", async () => {
  const graph = await graphClient({ metadataHost: test_.emulator.metadataHost });
  expect(await identityPrincipalProblem(graph, "key", "0badc0de-0000-4000-8000-000000000000")).toMatchObject({
    setting: "key",
    problem: expect.stringMatching(/no managed identity with the client id 0badc0de-.* \(Microsoft Graph has no service principal/),
  });
  const app = await registerApp(test_, `not-an-identity-${Date.now()}`);
  expect(await identityPrincipalProblem(graph, "key", app.appId)).toMatchObject({
    problem: expect.stringMatching(/a service principal of type Application, not a managed identity/),
  });
});

test("a missing identity and a missing resource group: 404, named", async () => {
  await expect(lookUpIdentityByResourceId(arm, identityId("absent"), setting)).rejects.toThrow(
    new RegExp(`^${setting.replace(/[[\].]/g, "\\$&")}: there is no user-assigned managed identity .*absent' \\(ResourceNotFound`),
  );
  expect(
    await resourceGroupProblem(arm, "rg-key", test_.emulator.azure.subscriptionId, test_.emulator.azure.resourceGroup),
  ).toBeUndefined();
  expect(await resourceGroupProblem(arm, "rg-key", test_.emulator.azure.subscriptionId, "no-such-group")).toMatchObject({
    setting: "rg-key",
    problem: expect.stringMatching(/no resource group 'no-such-group' .*ResourceGroupNotFound/),
  });
});

test("without any role in the subscription: 403 AuthorizationFailed, with the role to give", async () => {
  // The deployer gives up its own Owner assignment, as a deployer without Azure access would be.
  expect(await test_.revokeDeployerSubscriptionRoles()).toBeGreaterThan(0);

  expect(await resourceGroupProblem(arm, "rg-key", test_.emulator.azure.subscriptionId, test_.emulator.azure.resourceGroup)).toMatchObject({
    problem: expect.stringMatching(/may not read the resource group .*AuthorizationFailed/),
    check: expect.stringMatching(/Managed Identity Contributor on the resource group/),
  });
  const refused = await lookUpIdentityByResourceId(arm, identityId("lookup-mi"), setting).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(ManagedIdentityLookupError);
  expect(String(refused)).toMatch(/may not read .*\(AuthorizationFailed\); give the deploying identity Reader/);
});
