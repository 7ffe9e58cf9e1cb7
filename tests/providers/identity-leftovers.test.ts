// IdentityLeftovers, called as the provider host calls it, against the emulator's ARM: a user-assigned
// identity a killed run left (ARM made it, Pulumi never recorded it) is removed by the next run's
// create or update, found by the tags naming the stack and the integration (current or former name),
// through every page of the group's list (pages of two, following nextLink). The identity in state,
// another integration's, another stack's and an untagged one are never touched; deleting the
// leftover deletes its service principal too.
import { provider, type IdentityLeftoversInputs } from "../../dynamic-providers/identity-leftovers/provider";
import { armClient } from "../../lib/managed-identities";
import type { RestClient } from "../../lib/rest-client";
import { startTestEmulator, type TestEmulator } from "../support/emulator";

let test_: TestEmulator;
let arm: RestClient;
const stack = "organization/dataverse-s2s/identity-leftovers";

beforeAll(async () => {
  test_ = await startTestEmulator({ armPageSize: 2 });
  arm = await armClient({ metadataHost: test_.emulator.metadataHost });
});
afterAll(async () => test_?.stop());

const group = () => `subscriptions/${test_.emulator.azure.subscriptionId}/resourceGroups/${test_.emulator.azure.resourceGroup}`;
const identityPath = (name: string) => `${group()}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

/** An identity as the stack makes it: tagged with its stack and integration (components/managed-identity.ts). */
async function identity(name: string, tags: Record<string, string> = {}): Promise<{ id: string; clientId: string }> {
  const answer = await arm.request<{ id: string; properties: { clientId: string } }>({
    operation: "make an identity",
    method: "PUT",
    path: `${identityPath(name)}?api-version=2023-01-31`,
    body: { location: "westeurope", tags },
  });
  return { id: answer.data.id, clientId: answer.data.properties.clientId };
}
const marked = (name: string, integration: string, stackOf = stack) =>
  identity(name, { "managed-by": "dataverse-s2s", "dataverse-s2s-stack": stackOf, "dataverse-s2s-integration": integration });

async function exists(name: string): Promise<boolean> {
  const found = await arm.request({
    operation: "read an identity",
    method: "GET",
    path: `${identityPath(name)}?api-version=2023-01-31`,
    acceptStatus: [404],
  });
  return found.status === 200;
}

async function principalsOf(clientId: string): Promise<number> {
  const found = await test_.graph().request<{ value: unknown[] }>({
    operation: "find the principal",
    method: "GET",
    path: `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${clientId}'`)}`,
  });
  return found.data.value.length;
}

function inputs(identityId: string, integrations: string[]): IdentityLeftoversInputs {
  return { identityId, stack, integrations, metadataHost: test_.emulator.metadataHost, environment: "" };
}

test("create deletes the integration's identities no state knows, with their principals, and nothing else", async () => {
  const leftover = await marked("etl-identityaaaa1111", "etl");
  const current = await marked("etl-identitybbbb2222", "etl");
  const formerName = await marked("old-etl-identitycccc3333", "old-etl");
  await marked("billing-identitydddd4444", "billing");
  await marked("etl-identityeeee5555", "etl", "organization/dataverse-s2s/other-stack");
  await identity("hand-made-identity");
  expect(await principalsOf(leftover.clientId)).toBe(1);

  const created = await provider.create(inputs(current.id, ["etl", "old-etl"]));
  expect(created.outs!.leftovers).toEqual([]);
  expect(created.id).toBe(`${current.id}/leftovers`);
  expect(await exists("etl-identityaaaa1111")).toBe(false);
  expect(await exists("old-etl-identitycccc3333")).toBe(false);
  expect(await principalsOf(leftover.clientId)).toBe(0);
  expect(await principalsOf(formerName.clientId)).toBe(0);
  for (const kept of ["etl-identitybbbb2222", "billing-identitydddd4444", "etl-identityeeee5555", "hand-made-identity"])
    expect(await exists(kept)).toBe(true);
  expect(await principalsOf(current.clientId)).toBe(1);
});

test("read reports a leftover as a change; update removes it; with none left, no change", async () => {
  const current = await marked("crm-identity00000001", "crm");
  const created = await provider.create(inputs(current.id, ["crm"]));
  const leftover = await marked("crm-identity00000002", "crm");

  const read = await provider.read!(created.id, created.outs);
  expect(read.props!.leftovers).toEqual([leftover.id]);
  expect((await provider.diff!(created.id, read.props!, inputs(current.id, ["crm"]))).changes).toBe(true);

  const updated = await provider.update!(created.id, read.props!, inputs(current.id, ["crm"]));
  expect(updated.outs!.leftovers).toEqual([]);
  expect(await exists("crm-identity00000002")).toBe(false);
  expect(await exists("crm-identity00000001")).toBe(true);

  const again = await provider.read!(created.id, updated.outs as never);
  expect(again.props!.leftovers).toEqual([]);
  expect((await provider.diff!(created.id, again.props!, inputs(current.id, ["crm"]))).changes).toBe(false);
});

test("check: the stack marker, an integration name and an ARM id are required; unknown ids pass in preview", async () => {
  const { failures } = await provider.check!({} as never, { identityId: "not-an-id", stack: "", integrations: [] } as never);
  expect(failures!.map((failure) => failure.property).sort()).toEqual(["identityId", "integrations", "stack"]);
  const preview = await provider.check!(
    {} as never,
    { identityId: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", stack, integrations: ["etl"] } as never,
  );
  expect(preview.failures).toEqual([]);
});

// Last: it takes the deployer's Azure access away.
test("a deployer without access to the group: 403 AuthorizationFailed, naming the group and the role to give", async () => {
  const current = await marked("locked-identity00001", "locked");
  await marked("locked-identity00002", "locked");
  await test_.revokeDeployerSubscriptionRoles();

  await expect(provider.create(inputs(current.id, ["locked"]))).rejects.toThrow(
    new RegExp(`AuthorizationFailed.*Managed Identity Contributor \\(or Contributor\\) on the resource group /${group()}`, "s"),
  );
});
