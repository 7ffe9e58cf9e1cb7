// AppLeftovers (issues 8 and 22), called as the provider host calls it, against the emulator: what a
// killed run left for one integration is removed by the next run's create or update. An app with the
// integration's tag that is not the one in state is deleted; the service principal, declared with no
// owners, loses the owner Graph gave it at its create (the deployer): the real azuread provider keeps
// that owner when it adopts the principal (no HasChange on owners against no prior state).
import { provider, type AppLeftoversInputs } from "../../dynamic-providers/app-leftovers/provider";
import { listAll } from "../../lib/graph-client";
import { startTestEmulator, TestEmulator } from "../support/emulator";

let test_: TestEmulator;

beforeAll(async () => {
  // Graph pages of two, as the end-to-end tenant: lists must follow @odata.nextLink.
  test_ = await startTestEmulator({ graphPageSize: 2 });
});
afterAll(async () => {
  await test_?.stop();
});

const tagOf = (integration: string) => `dataverse-s2s:organization/dataverse-s2s/leftovers:${integration}`;

function inputs(applicationObjectId: string, servicePrincipalObjectId: string, integration: string): AppLeftoversInputs {
  return {
    applicationObjectId,
    markerTags: [tagOf(integration)],
    servicePrincipalObjectId,
    metadataHost: test_.emulator.metadataHost,
    cloudEnvironment: "",
  };
}

async function ownersOf(servicePrincipalId: string): Promise<string[]> {
  const owners = await listAll<{ id: string }>(test_.graph(), "list owners", `v1.0/servicePrincipals/${servicePrincipalId}/owners`);
  return owners.map((owner) => owner.id);
}

/**
 * An app of the integration, tagged as the stack tags its apps, and its service principal made as
 * the azuread provider makes it: the caller (the deployer) named as owner in the POST.
 */
async function taggedApp(integration: string, displayName: string) {
  const graph = test_.graph();
  const app = await graph.request<{ id: string; appId: string }>({
    operation: "create application",
    method: "POST",
    path: "v1.0/applications",
    body: { displayName, signInAudience: "AzureADMyOrg", tags: [tagOf(integration)] },
  });
  const principal = await graph.request<{ id: string }>({
    operation: "create service principal",
    method: "POST",
    path: "v1.0/servicePrincipals",
    body: {
      appId: app.data.appId,
      "owners@odata.bind": [`${test_.emulator.graphUrl}/directoryObjects/${test_.emulator.deployer.objectId}`],
    },
  });
  return { objectId: app.data.id, servicePrincipalId: principal.data.id };
}

async function appExists(objectId: string): Promise<boolean> {
  const found = await test_.graph().request({
    operation: "get app",
    method: "GET",
    path: `v1.0/applications/${objectId}`,
    acceptStatus: [404],
  });
  return found.status !== 404;
}

test("create deletes the integration's app that no state knows and removes the owners a killed run left on the service principal", async () => {
  const leftover = await taggedApp("etl", "leftovers-crashed-run");
  const current = await taggedApp("etl", "leftovers-current");
  // Graph made the caller (the deployer) owner of the principal it created, as a killed run leaves it.
  expect(await ownersOf(current.servicePrincipalId)).toEqual([test_.emulator.deployer.objectId]);

  const created = await provider.create(inputs(current.objectId, current.servicePrincipalId, "etl"));
  expect(created.outs).toMatchObject({ leftovers: [], servicePrincipalObjectId: current.servicePrincipalId });
  expect(await appExists(leftover.objectId)).toBe(false);
  expect(await appExists(current.objectId)).toBe(true);
  expect(await ownersOf(current.servicePrincipalId)).toEqual([]);

  // Nothing left: read shows no change, and a second create or update finds nothing to do.
  const read = await provider.read!(created.id, created.outs);
  expect(read.props).toMatchObject({ leftovers: [] });
  expect(await provider.diff!(created.id, read.props as never, inputs(current.objectId, current.servicePrincipalId, "etl"))).toMatchObject({
    changes: false,
  });
  await expect(
    provider.update!(created.id, created.outs!, inputs(current.objectId, current.servicePrincipalId, "etl")),
  ).resolves.toBeDefined();
});

test("a state of an earlier version (no service principal id) updates, and the update removes the principal's owners", async () => {
  const app = await taggedApp("upgrade", "leftovers-upgrade");
  const earlier = { ...inputs(app.objectId, "", "upgrade"), leftovers: [] };
  const news = inputs(app.objectId, app.servicePrincipalId, "upgrade");
  expect(await provider.diff!(`${app.objectId}/leftovers`, earlier, news)).toMatchObject({ changes: true, replaces: [] });
  expect(await ownersOf(app.servicePrincipalId)).toEqual([test_.emulator.deployer.objectId]);
  await provider.update!(`${app.objectId}/leftovers`, earlier, news);
  expect(await ownersOf(app.servicePrincipalId)).toEqual([]);
});

test("owners beyond a Graph page are removed too (the list follows @odata.nextLink)", async () => {
  const app = await taggedApp("paged", "leftovers-paged");
  const others = [await taggedApp("paged-owner-1", "leftovers-owner-1"), await taggedApp("paged-owner-2", "leftovers-owner-2")];
  for (const other of others) {
    await test_.graph().request({
      operation: "add an owner",
      method: "POST",
      path: `v1.0/servicePrincipals/${app.servicePrincipalId}/owners/$ref`,
      body: { "@odata.id": `${test_.emulator.graphUrl}/directoryObjects/${other.servicePrincipalId}` },
    });
  }
  expect(await ownersOf(app.servicePrincipalId)).toHaveLength(3);
  await provider.create(inputs(app.objectId, app.servicePrincipalId, "paged"));
  expect(await ownersOf(app.servicePrincipalId)).toEqual([]);
});
