// The offline azure-native stand-in as the engine runs it: its launcher (offline-plugins/bin), the
// JavaScript build the toolchain setup made, a process that prints its gRPC port. Over gRPC, as the
// engine calls it: Configure (refused without old inputs, as v3 refuses an old CLI; supportsPreview),
// Check with the random seed, Diff and Delete with the old inputs, previews that call nothing, and a
// create/read/delete against a fake ARM. Sign-in is the emulator's Entra; the fake cloud's metadata
// (a metadata host, as azure-native:metadataHost) points ARM at a small HTTP fake in this test and
// names the emulator's Graph audience as ARM's, because the emulator issues no ARM tokens yet.
// Needs NODE_EXTRA_CA_CERTS=$(ts-node --transpile-only emulator/cli.ts --ensure-ca) before jest starts.
import { ChildProcess, spawn } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { startTestEmulator, TestEmulator } from "../support/emulator";

const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");

const repo = path.resolve(__dirname, "../..");
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const identityUrn = "urn:pulumi:dev::dataverse-s2s::azure-native:managedidentity:UserAssignedIdentity::etl";
let test_: TestEmulator;
let plugin: ChildProcess;
let client: any;
let stderr = "";
let fake: http.Server;
let fakeBase = "";
const armRequests: string[] = [];
const store = new Map<string, object>();

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))),
  );
}

beforeAll(async () => {
  test_ = await startTestEmulator();
  const emulatorMetadata = (await (
    await fetch(`https://${test_.emulator.metadataHost}/metadata/endpoints?api-version=2022-09-01`)
  ).json()) as {
    authentication: { loginEndpoint: string };
    microsoftGraphResourceId: string;
  };
  fake = http.createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      if (req.url!.startsWith("/metadata/endpoints")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            name: "FakeArm",
            resourceManager: fakeBase,
            authentication: {
              loginEndpoint: emulatorMetadata.authentication.loginEndpoint,
              audiences: [emulatorMetadata.microsoftGraphResourceId],
            },
          }),
        );
        return;
      }
      armRequests.push(`${req.method} ${req.url} ${req.headers.authorization ? "with token" : "no token"}`);
      const id = req.url!.split("?")[0].toLowerCase();
      const send = (status: number, body?: object) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(body ? JSON.stringify(body) : "");
      };
      if (req.method === "GET")
        return store.has(id) ? send(200, store.get(id)) : send(404, { error: { code: "ResourceNotFound", message: "not found" } });
      if (req.method === "PUT") {
        const body = JSON.parse(text);
        const resource = {
          ...body,
          id: req.url!.split("?")[0],
          name: "etl",
          type: "Microsoft.ManagedIdentity/userAssignedIdentities",
          properties: { clientId: "c-1", principalId: "p-1", tenantId: "t-1" },
        };
        store.set(id, resource);
        return send(201, resource);
      }
      if (req.method === "DELETE") return send(store.delete(id) ? 200 : 204);
      send(405);
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  fakeBase = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;

  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(ARM|AZURE)_/.test(name)) delete env[name];
  plugin = spawn(path.join(repo, "offline-plugins/bin/pulumi-resource-azure-native"), [], { env, stdio: ["ignore", "pipe", "pipe"] });
  plugin.stderr!.on("data", (chunk) => (stderr += chunk));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    plugin.stdout!.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve(out.split("\n")[0].trim());
    });
    plugin.once("exit", (code) => reject(new Error(`plugin exited with ${code}: ${stderr}`)));
  });
  expect(port).toMatch(/^\d+$/);
  expect(stderr).not.toContain("no current JavaScript build");
  client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 60_000);

afterAll(async () => {
  client?.close();
  plugin?.kill();
  await new Promise<void>((resolve) => (fake ? fake.close(() => resolve()) : resolve()));
  await test_?.stop();
});

function configureRequest(sendsOldInputs = true) {
  const emulator = test_.emulator;
  const configure = new provproto.ConfigureRequest();
  const variables = configure.getVariablesMap();
  variables.set("azure-native:config:metadataHost", fakeBase);
  variables.set("azure-native:config:subscriptionId", "00000000-0000-4000-8000-00000000000a");
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
  const inputs = { resourceGroupName: "rg", resourceName: "etl", location: "westeurope", azureApiVersion: "2023-01-31" };
  const preview = new provproto.CreateRequest();
  preview.setUrn(identityUrn);
  preview.setPreview(true);
  preview.setProperties(Struct.fromJavaScript(inputs));
  const previewed = await call<any>("create", preview);
  expect(previewed.getProperties().toJavaScript()).toMatchObject({ location: "westeurope", clientId: unknown, id: unknown });
  expect(armRequests).toEqual([]);

  const create = new provproto.CreateRequest();
  create.setUrn(identityUrn);
  create.setProperties(Struct.fromJavaScript(inputs));
  const created = await call<any>("create", create);
  const id =
    "/subscriptions/00000000-0000-4000-8000-00000000000a/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/etl";
  expect(created.getId()).toBe(id);
  expect(created.getProperties().toJavaScript()).toMatchObject({ clientId: "c-1", principalId: "p-1", azureApiVersion: "2023-01-31" });
  expect(armRequests).toEqual([
    `GET ${id}?api-version=2023-01-31 with token`,
    `PUT ${id}?api-version=2023-01-31 with token`,
    `GET ${id}?api-version=2023-01-31 with token`,
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
  expect(stderr).not.toContain(test_.emulator.deployer.clientSecret);
}, 60_000);
