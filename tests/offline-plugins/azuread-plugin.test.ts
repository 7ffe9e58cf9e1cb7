// The offline azuread stand-in as the engine runs it: its launcher (offline-plugins/bin), which runs
// the JavaScript build scripts/setup-toolchain.sh made, a process that prints its gRPC port, takes its
// configuration from Configure (which the SDK's provider server would otherwise drop), and answers
// Invoke and Create/Delete over gRPC with encodable outputs and a secret-wrapped password value.
// Needs NODE_EXTRA_CA_CERTS=$(ts-node --transpile-only emulator/cli.ts --ensure-ca) before jest starts.
import { SEEDED_IDS } from "../../emulator";
import { isSecretEnvelope } from "../../offline-plugins/azuread/values";
import { startTestEmulator, TestEmulator } from "../support/emulator";
import { RunningStandIn, startStandInPlugin } from "../support/stand-in-plugin";

const provproto = require("@pulumi/pulumi/proto/provider_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");

let test_: TestEmulator;
let plugin: RunningStandIn;
const call = <T>(method: string, request: unknown) => plugin.call<T>(method, request);

beforeAll(async () => {
  test_ = await startTestEmulator();
  plugin = await startStandInPlugin("azuread");
}, 60_000);

afterAll(async () => {
  plugin?.stop();
  await test_?.stop();
});

/** Configure as the engine sends it: the stack's azuread config, the deployer signing in to the emulator. */
function configureRequest() {
  const emulator = test_.emulator;
  const configure = new provproto.ConfigureRequest();
  const variables = configure.getVariablesMap();
  variables.set("azuread:config:metadataHost", emulator.metadataHost);
  variables.set("azuread:config:clientId", emulator.deployer.clientId);
  variables.set("azuread:config:clientSecret", emulator.deployer.clientSecret);
  variables.set("azuread:config:tenantId", emulator.tenantId);
  return configure;
}

test("reports the SDK's version", async () => {
  const info = await call<any>("getPluginInfo", new Empty());
  expect(info.getVersion()).toBe(require("@pulumi/azuread/package.json").version);
});

test("Configure, Invoke, Create and Delete over gRPC", async () => {
  const emulator = test_.emulator;
  const configure = configureRequest();
  await call("configure", configure);

  const invoke = new provproto.InvokeRequest();
  invoke.setTok("azuread:index/getServicePrincipal:getServicePrincipal");
  invoke.setArgs(Struct.fromJavaScript({ clientId: SEEDED_IDS.dynamicsCrm.appId }));
  const found = (await call<any>("invoke", invoke)).getReturn().toJavaScript();
  expect(found.oauth2PermissionScopeIds.user_impersonation).toBe(SEEDED_IDS.dynamicsCrm.userImpersonationScopeId);

  const create = async (type: string, properties: object) => {
    const request = new provproto.CreateRequest();
    request.setUrn(`urn:pulumi:dev::dataverse-s2s::${type}::grpc`);
    request.setProperties(Struct.fromJavaScript(properties));
    const response = await call<any>("create", request);
    return { id: response.getId() as string, outs: response.getProperties().toJavaScript() };
  };
  const remove = async (type: string, id: string, properties: object) => {
    const request = new provproto.DeleteRequest();
    request.setUrn(`urn:pulumi:dev::dataverse-s2s::${type}::grpc`);
    request.setId(id);
    request.setProperties(Struct.fromJavaScript(properties));
    await call("delete", request);
  };
  const app = await create("azuread:index/application:Application", {
    displayName: `s2s-grpc-${Date.now()}`,
    signInAudience: "AzureADMyOrg",
  });
  expect(app.id).toBe(`/applications/${app.outs.objectId}`);
  const password = await create("azuread:index/applicationPassword:ApplicationPassword", { applicationId: app.id, displayName: "grpc" });
  expect(isSecretEnvelope(password.outs.value)).toBe(true);
  await remove("azuread:index/applicationPassword:ApplicationPassword", password.id, password.outs);
  await remove("azuread:index/application:Application", app.id, app.outs);
  // Nothing secret reaches the plugin's log.
  expect(plugin.stderr()).not.toContain(emulator.deployer.clientSecret);
}, 60_000);

// The bridged provider (pulumi-terraform-bridge over terraform-provider-azuread v3.8.0) previews an
// update with its planned state: prior outputs with the new configuration, so an Application's
// clientId stays known and what depends on it is not previewed as replaced. offline-plugins/azuread/preview.ts.
test("Configure answers supportsPreview; a previewed Update keeps prior outputs known and calls no Graph; a previewed Create writes nothing", async () => {
  const emulator = test_.emulator;
  const configure = configureRequest();
  expect((await call<any>("configure", configure)).getSupportspreview()).toBe(true);

  const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  const appUrn = "urn:pulumi:dev::dataverse-s2s::azuread:index/application:Application::preview";
  const objectId = "00000000-0000-4000-8000-0000000000aa";
  const olds = {
    id: `/applications/${objectId}`,
    objectId,
    clientId: "00000000-0000-4000-8000-0000000000bb",
    displayName: "old",
    notes: "n",
    tags: ["a"],
  };
  const update = new provproto.UpdateRequest();
  update.setUrn(appUrn);
  update.setId(olds.id);
  update.setPreview(true);
  update.setOlds(Struct.fromJavaScript(olds));
  update.setOldInputs(Struct.fromJavaScript({ displayName: "old", notes: "n", tags: ["a"] }));
  update.setNews(Struct.fromJavaScript({ displayName: "new", tags: unknown }));
  const before = emulator.requests().total;
  const previewed = (await call<any>("update", update)).getProperties().toJavaScript();
  // notes (Optional, not Computed) dropped from the program is planned null.
  expect(previewed).toEqual({ id: olds.id, objectId, clientId: olds.clientId, displayName: "new", notes: null, tags: unknown });

  const create = new provproto.CreateRequest();
  create.setUrn(appUrn);
  create.setPreview(true);
  create.setProperties(Struct.fromJavaScript({ displayName: "never made" }));
  const created = await call<any>("create", create);
  expect({ id: created.getId(), outs: created.getProperties().toJavaScript() }).toEqual({ id: "", outs: { displayName: "never made" } });
  // The object id does not exist: a real update or create would have called Graph.
  expect(emulator.requests().total).toBe(before);
}, 60_000);
