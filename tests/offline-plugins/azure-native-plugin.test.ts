// The offline azure-native stand-in as the engine runs it: its launcher (offline-plugins/bin), the
// JavaScript build the toolchain setup made, a process that prints its gRPC port. Over gRPC, as the
// engine calls it: Configure (refused without old inputs, as v3 refuses an old CLI; supportsPreview),
// Check with the random seed, Diff and Delete with the old inputs, previews that call nothing, and a
// create/read/delete against the emulator's ARM (azure-native:metadataHost = the emulator's, whose
// document has no Key Vault suffix): an identity, and a Secret deleted through its vault's data plane
// at the vaultUri ARM gives (the stand-in's offline-only departure, its README).
// Needs NODE_EXTRA_CA_CERTS=$(ts-node --transpile-only emulator/cli.ts --ensure-ca) before jest starts.
import { emulatorClient } from "../../emulator/testkit";
import { startTestEmulator, TestEmulator } from "../support/emulator";
import { RunningStandIn, startStandInPlugin } from "../support/stand-in-plugin";

const provproto = require("@pulumi/pulumi/proto/provider_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");

const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const identityUrn = "urn:pulumi:dev::dataverse-s2s::azure-native:managedidentity:UserAssignedIdentity::etl";
const secretUrn = "urn:pulumi:dev::dataverse-s2s::azure-native:keyvault:Secret::etl-client-id";
let test_: TestEmulator;
let plugin: RunningStandIn;
const call = <T>(method: string, request: unknown) => plugin.call<T>(method, request);

/** ARM and Key Vault requests the emulator served since `from` (its request log): "<service> <method> <path> <status>". */
function azureRequests(from: number): string[] {
  return test_.emulator.logLines
    .slice(from)
    .map((line) => line.split(" ").slice(1, 5).join(" "))
    .filter((line) => /^(arm|keyvault) /.test(line));
}

beforeAll(async () => {
  test_ = await startTestEmulator();
  plugin = await startStandInPlugin("azure-native");
}, 60_000);

afterAll(async () => {
  plugin?.stop();
  await test_?.stop();
});

function configureRequest(sendsOldInputs = true) {
  const emulator = test_.emulator;
  const configure = new provproto.ConfigureRequest();
  const variables = configure.getVariablesMap();
  variables.set("azure-native:config:metadataHost", emulator.metadataHost);
  variables.set("azure-native:config:subscriptionId", emulator.azure.subscriptionId);
  variables.set("azure-native:config:clientId", emulator.deployer.clientId);
  variables.set("azure-native:config:clientSecret", emulator.deployer.clientSecret);
  variables.set("azure-native:config:tenantId", emulator.tenantId);
  variables.set("azure-native:config:location", "westeurope");
  configure.setSendsOldInputs(sendsOldInputs);
  configure.setSendsOldInputsToDelete(sendsOldInputs);
  return configure;
}

test("reports the SDK's version", async () => {
  const info = await call<any>("getPluginInfo", new Empty());
  expect(info.getVersion()).toBe(require("@pulumi/azure-native/package.json").version);
});

test("Configure: refused without old inputs (provider.go Configure); answers supportsPreview", async () => {
  await expect(call("configure", configureRequest(false))).rejects.toThrow(/requires Pulumi CLI v3.74.0 or later/);
  expect((await call<any>("configure", configureRequest())).getSupportspreview()).toBe(true);
});

test("Check auto-names from the random seed and defaults location and azureApiVersion; Diff compares the old inputs", async () => {
  await call("configure", configureRequest());
  const check = new provproto.CheckRequest();
  check.setUrn(identityUrn);
  check.setOlds(Struct.fromJavaScript({}));
  check.setNews(Struct.fromJavaScript({ resourceGroupName: "rg" }));
  check.setRandomseed(Buffer.from("seed-1"));
  const checked = (await call<any>("check", check)).getInputs().toJavaScript();
  expect(checked).toMatchObject({
    resourceGroupName: "rg",
    location: "westeurope",
    azureApiVersion: "2023-01-31",
    __createBeforeDelete: true,
  });
  expect(checked.resourceName).toMatch(/^etl[0-9a-f]{8}$/);
  check.setRandomseed(Buffer.from("seed-1"));
  expect((await call<any>("check", check)).getInputs().toJavaScript().resourceName).toBe(checked.resourceName);

  const diff = new provproto.DiffRequest();
  diff.setUrn(identityUrn);
  diff.setId("/x");
  diff.setOlds(Struct.fromJavaScript({ clientId: "c-1" }));
  diff.setOldInputs(Struct.fromJavaScript(checked));
  diff.setNews(Struct.fromJavaScript({ ...checked, resourceGroupName: "rg2" }));
  const answer = await call<any>("diff", diff);
  expect(answer.getReplacesList()).toEqual(["resourceGroupName"]);
  // Auto-named: created before the old one is deleted.
  expect(answer.getDeletebeforereplace()).toBe(false);
});

test("previews call no ARM; create, read and delete over gRPC make the ARM calls", async () => {
  await call("configure", configureRequest());
  const { subscriptionId, resourceGroup } = test_.emulator.azure;
  const inputs = { resourceGroupName: resourceGroup, resourceName: "etl", location: "westeurope", azureApiVersion: "2023-01-31" };
  const from = test_.emulator.logLines.length;
  const preview = new provproto.CreateRequest();
  preview.setUrn(identityUrn);
  preview.setPreview(true);
  preview.setProperties(Struct.fromJavaScript(inputs));
  const previewed = await call<any>("create", preview);
  expect(previewed.getProperties().toJavaScript()).toMatchObject({ location: "westeurope", clientId: unknown, id: unknown });
  expect(azureRequests(from)).toEqual([]);

  const create = new provproto.CreateRequest();
  create.setUrn(identityUrn);
  create.setProperties(Struct.fromJavaScript(inputs));
  const created = await call<any>("create", create);
  const id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/etl`;
  expect(created.getId()).toBe(id);
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  expect(created.getProperties().toJavaScript()).toMatchObject({
    clientId: expect.stringMatching(guid),
    principalId: expect.stringMatching(guid),
    tenantId: test_.emulator.tenantId,
    azureApiVersion: "2023-01-31",
  });
  expect(azureRequests(from)).toEqual([
    `arm GET ${id}?api-version=2023-01-31 404`,
    `arm PUT ${id}?api-version=2023-01-31 201`,
    `arm GET ${id}?api-version=2023-01-31 200`,
  ]);

  const read = new provproto.ReadRequest();
  read.setUrn(identityUrn);
  read.setId(id);
  read.setProperties(created.getProperties());
  read.setInputs(Struct.fromJavaScript(inputs));
  const refreshed = await call<any>("read", read);
  expect(refreshed.getId()).toBe(id);
  expect(refreshed.getInputs().toJavaScript()).toEqual(inputs);

  const remove = new provproto.DeleteRequest();
  remove.setUrn(identityUrn);
  remove.setId(id);
  remove.setProperties(created.getProperties());
  remove.setOldInputs(Struct.fromJavaScript(inputs));
  await call("delete", remove);
  const gone = await call<any>("read", read);
  expect(gone.getId()).toBe("");
  expect(plugin.stderr()).not.toContain(test_.emulator.deployer.clientSecret);
}, 60_000);

test("a Secret: written through ARM, deleted through its vault's data plane at the vaultUri ARM gives (offline only)", async () => {
  await call("configure", configureRequest());
  const { resourceGroup, vaultName, vaultId, vaultUri } = test_.emulator.azure;
  const inputs = {
    resourceGroupName: resourceGroup,
    vaultName,
    secretName: "etl-client-id",
    properties: { value: "client-1", contentType: "text/plain", attributes: { enabled: true } },
    azureApiVersion: "2024-11-01",
  };
  const create = new provproto.CreateRequest();
  create.setUrn(secretUrn);
  create.setProperties(Struct.fromJavaScript(inputs));
  const created = await call<any>("create", create);
  const id = `${vaultId}/secrets/etl-client-id`;
  expect(created.getId()).toBe(id);
  const emu = emulatorClient(test_.emulator);
  const written = await emu.keyVault("GET", `${vaultUri}secrets/etl-client-id?api-version=7.6`);
  expect(written.status).toBe(200);
  expect(written.data.value).toBe("client-1");

  const from = test_.emulator.logLines.length;
  const remove = new provproto.DeleteRequest();
  remove.setUrn(secretUrn);
  remove.setId(id);
  remove.setProperties(created.getProperties());
  remove.setOldInputs(Struct.fromJavaScript(inputs));
  await call("delete", remove);
  expect(azureRequests(from)).toEqual([
    `arm GET ${vaultId}?api-version=2024-11-01 200`,
    "keyvault DELETE /secrets/etl-client-id?api-version=7.6 401",
    "keyvault DELETE /secrets/etl-client-id?api-version=7.6 200",
  ]);
  // Soft-deleted, as Key Vault does: gone from the secrets, kept among the deleted ones.
  expect((await emu.keyVault("GET", `${vaultUri}secrets/etl-client-id?api-version=7.6`)).status).toBe(404);
  expect((await emu.keyVault("GET", `${vaultUri}deletedsecrets/etl-client-id?api-version=7.6`)).status).toBe(200);
  // Deleting it again is done at once: the data plane answers 404.
  await call("delete", remove);
  expect(plugin.stderr()).not.toContain(test_.emulator.deployer.clientSecret);
}, 60_000);
