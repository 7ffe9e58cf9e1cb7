// The offline azure-native stand-in against a small fake of Azure Resource Manager (plain HTTP on
// 127.0.0.1, found through a metadata host as azure-native:metadataHost finds a custom cloud): the
// exact requests of create, update, read, delete and long-running PUTs, as
// provider/pkg/provider/provider.go and provider/pkg/azure/client_azcore.go make them.
import * as http from "http";
import { AddressInfo } from "net";
import { createAzureNativeProvider } from "../../offline-plugins/azure-native/provider";
import { withRequestExtras } from "../../offline-plugins/azure-native/request-extras";
import { Plain } from "../../offline-plugins/shared/values";

interface Seen {
  method: string;
  url: string;
  body?: Plain;
  headers: http.IncomingHttpHeaders;
}
type Handler = (request: Seen) => { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

let server: http.Server;
let base = "";
let seen: Seen[] = [];
let handler: Handler = () => undefined;
const store = new Map<string, Plain>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      const request: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: text ? JSON.parse(text) : undefined };
      if (req.url!.includes("/metadata/endpoints")) {
        // Metadata host `${base}/no-key-vault-suffix`: a cloud without a Key Vault suffix, as the emulator's.
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            name: "Fake",
            resourceManager: base,
            authentication: { loginEndpoint: base, audiences: ["https://management.azure.com/"] },
            ...(req.url!.startsWith("/no-key-vault-suffix/") ? {} : { suffixes: { keyVaultDns: ".vault.fake" } }),
          }),
        );
        return;
      }
      seen.push(request);
      const answer = handler(request) ?? defaultArm(request);
      res.writeHead(answer.status, { "content-type": "application/json", ...(answer.headers ?? {}) });
      res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  handler = () => undefined;
  store.clear();
});

/** A tiny ARM: GET/PUT/DELETE of any id, 404 when absent. */
function defaultArm(request: Seen): { status: number; body?: unknown; headers?: Record<string, string> } {
  const id = request.url.split("?")[0];
  if (request.method === "GET") {
    const resource = store.get(id.toLowerCase());
    return resource
      ? { status: 200, body: resource }
      : { status: 404, body: { error: { code: "ResourceNotFound", message: `${id} not found` } } };
  }
  if (request.method === "PUT") {
    const existed = store.has(id.toLowerCase());
    const body = request.body ?? {};
    const resource: Plain = { ...body, id, name: id.split("/").pop(), type: "Fake/type" };
    if (id.includes("userAssignedIdentities") && !id.includes("federated")) {
      resource.properties = { clientId: "client-1", principalId: "principal-1", tenantId: "tenant-1" };
    }
    store.set(id.toLowerCase(), resource);
    return { status: existed ? 200 : 201, body: resource };
  }
  if (request.method === "DELETE") {
    return store.delete(id.toLowerCase()) ? { status: 200 } : { status: 204 };
  }
  return { status: 405 };
}

const sleeps: number[] = [];
function provider(config: Plain = {}) {
  return createAzureNativeProvider({
    config: () => ({ subscriptionId: "sub-1", tenantId: "t", clientId: "c", clientSecret: "s", metadataHost: base, ...config }),
    credential: { getToken: async (scope) => ({ token: `token-for-${scope}`, expiresOnTimestamp: Date.now() + 3600_000 }) },
    timing: { putPollMs: 1, sleep: async (ms) => void sleeps.push(ms) },
    sleep: async (ms) => void sleeps.push(ms),
    log: () => undefined,
  });
}

const identityUrn = "urn:pulumi:dev::proj::azure-native:managedidentity:UserAssignedIdentity::etl";
const secretUrn = "urn:pulumi:dev::proj::azure-native:keyvault:Secret::kv-secret";
const identityId = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/etl";
const identityInputs = {
  resourceGroupName: "rg",
  resourceName: "etl",
  location: "westeurope",
  tags: { a: "1" },
  azureApiVersion: "2023-01-31",
};
const requestLine = (request: Seen) => `${request.method} ${request.url}`;

test("create: GET (404), PUT of the body, GET of what was written; the ARM id; outputs in SDK shape with azureApiVersion", async () => {
  const result = await provider().create!(identityUrn, identityInputs);
  expect(seen.map(requestLine)).toEqual([
    `GET ${identityId}?api-version=2023-01-31`,
    `PUT ${identityId}?api-version=2023-01-31`,
    `GET ${identityId}?api-version=2023-01-31`,
  ]);
  expect(seen[1].body).toEqual({ location: "westeurope", tags: { a: "1" } });
  expect(seen[1].headers["content-type"]).toBe("application/json; charset=utf-8");
  expect(seen[1].headers.authorization).toBe("Bearer token-for-https://management.azure.com//.default");
  expect(result.id).toBe(identityId);
  expect(result.outs).toMatchObject({
    clientId: "client-1",
    principalId: "principal-1",
    location: "westeurope",
    azureApiVersion: "2023-01-31",
  });
});

test("create of a resource that already exists fails before any PUT (CanCreate)", async () => {
  store.set(identityId.toLowerCase(), { id: identityId, name: "etl" });
  await expect(provider().create!(identityUrn, identityInputs)).rejects.toThrow(`cannot create already existing resource '${identityId}'`);
  expect(seen.map((request) => request.method)).toEqual(["GET"]);
});

test("a PUT answered 202 with Azure-AsyncOperation is polled until Succeeded, then the resource is read", async () => {
  let polls = 0;
  handler = (request) => {
    if (request.method === "PUT") {
      defaultArm(request);
      return { status: 202, headers: { "azure-asyncoperation": `${base}/operations/op1?api-version=2023-01-31`, "retry-after": "3" } };
    }
    if (request.url.startsWith("/operations/op1")) return { status: 200, body: { status: ++polls < 2 ? "InProgress" : "Succeeded" } };
    return undefined;
  };
  sleeps.length = 0;
  const result = await provider().create!(identityUrn, identityInputs);
  expect(seen.map((request) => request.method + " " + request.url.split("?")[0])).toEqual([
    `GET ${identityId}`,
    `PUT ${identityId}`,
    "GET /operations/op1",
    "GET /operations/op1",
    `GET ${identityId}`,
    `GET ${identityId}`,
  ]);
  expect(sleeps[0]).toBe(3000);
  expect(result.outs.clientId).toBe("client-1");
});

test("a failed asynchronous operation fails the create with ARM's error", async () => {
  handler = (request) => {
    if (request.method === "PUT") return { status: 202, headers: { "azure-asyncoperation": `${base}/operations/op2` } };
    if (request.url.startsWith("/operations/op2"))
      return { status: 200, body: { status: "Failed", error: { code: "Boom", message: "it broke" } } };
    return undefined;
  };
  await expect(provider().create!(identityUrn, identityInputs)).rejects.toThrow(/Status=200 Code="Boom" Message="it broke"/);
});

test("a PUT answered 202 with a relative Location polls the absolute URL with the api-version added", async () => {
  let polls = 0;
  handler = (request) => {
    if (request.method === "PUT") {
      defaultArm(request);
      return { status: 202, headers: { location: "/operationResults/r1" } };
    }
    if (request.url.startsWith("/operationResults/r1")) {
      return ++polls < 2 ? { status: 202 } : { status: 200, body: store.get(identityId.toLowerCase()) };
    }
    return undefined;
  };
  await provider().create!(identityUrn, identityInputs);
  expect(seen.filter((request) => request.url.startsWith("/operationResults")).map(requestLine)).toEqual([
    "GET /operationResults/r1?api-version=2023-01-31",
    "GET /operationResults/r1?api-version=2023-01-31",
  ]);
});

test("429 with Retry-After is sent again after that wait; a 400 fails at once with Status/Code/Message", async () => {
  let throttled = false;
  handler = (request) => {
    if (request.method === "PUT" && !throttled) {
      throttled = true;
      return { status: 429, headers: { "retry-after": "2" }, body: { error: { code: "TooManyRequests", message: "slow down" } } };
    }
    return undefined;
  };
  sleeps.length = 0;
  await provider().create!(identityUrn, identityInputs);
  expect(seen.filter((request) => request.method === "PUT")).toHaveLength(2);
  expect(sleeps).toEqual([2000]);

  handler = (request) =>
    request.method === "PUT" ? { status: 400, body: { error: { code: "InvalidLocation", message: "no such location" } } } : undefined;
  store.clear();
  await expect(provider().create!(identityUrn, identityInputs)).rejects.toThrow(
    /create .*: PUT \/subscriptions\/sub-1\/.*etl: Status=400 Code="InvalidLocation" Message="no such location"/,
  );
});

test("read: 404 is gone (empty id); otherwise outputs, and inputs with what changed in Azure", async () => {
  const gone = await withRequestExtras({ oldInputs: identityInputs }, () => provider().read!(identityId, identityUrn, {}));
  expect(gone.id).toBe("");

  const created = await provider().create!(identityUrn, identityInputs);
  store.set(identityId.toLowerCase(), { ...store.get(identityId.toLowerCase()), tags: { a: "changed" } });
  const read = await withRequestExtras({ oldInputs: identityInputs }, () => provider().read!(identityId, identityUrn, created.outs));
  expect(read.id).toBe(identityId);
  expect(read.props!.tags).toEqual({ a: "changed" });
  expect(read.inputs).toEqual({ ...identityInputs, tags: { a: "changed" } });
});

test("an import (no old inputs) takes the inputs from the id and the answer", async () => {
  store.set(identityId.toLowerCase(), { id: identityId, name: "etl", location: "westeurope", properties: { clientId: "c" } });
  const read = await withRequestExtras({}, () => provider().read!(identityId, identityUrn, {}));
  expect(read.inputs).toEqual({ resourceGroupName: "rg", resourceName: "etl", location: "westeurope" });
});

test("update: PUT of the new inputs, then a read", async () => {
  await provider().create!(identityUrn, identityInputs);
  seen = [];
  const result = await provider().update!(identityId, identityUrn, {}, { ...identityInputs, tags: { a: "2" } });
  expect(seen.map((request) => request.method)).toEqual(["PUT", "GET"]);
  expect(seen[0].body).toEqual({ location: "westeurope", tags: { a: "2" } });
  expect(result.outs!.tags).toEqual({ a: "2" });
});

test("delete: DELETE with the api-version; a 404 is already gone", async () => {
  handler = (request) =>
    request.method === "DELETE" ? { status: 404, body: { error: { code: "NotFound", message: "gone" } } } : undefined;
  await provider().delete!(identityId, identityUrn, {});
  expect(seen.map(requestLine)).toEqual([`DELETE ${identityId}?api-version=2023-01-31`]);
});

test("a Secret is PUT with its value and the attributes' wire names; its delete needs the names from the old inputs", async () => {
  const inputs = {
    resourceGroupName: "rg",
    vaultName: "kv1",
    secretName: "app-client-id",
    properties: { value: "v", contentType: "text/plain", attributes: { enabled: true, expires: 1800000000 } },
    azureApiVersion: "2024-11-01",
  };
  const result = await provider().create!(secretUrn, inputs);
  expect(seen[1].url).toBe(
    "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/secrets/app-client-id?api-version=2024-11-01",
  );
  expect(seen[1].body).toEqual({ properties: { value: "v", contentType: "text/plain", attributes: { enabled: true, exp: 1800000000 } } });
  expect(result.outs.azureApiVersion).toBe("2024-11-01");
  await expect(withRequestExtras({ oldInputs: {} }, () => provider().delete!(result.id, secretUrn, result.outs))).rejects.toThrow(
    "vaultName not found in resource state",
  );
});

test("offline, a cloud without a Key Vault suffix: a Secret is deleted at its vault's vaultUri from ARM, the challenge's host not checked", async () => {
  const vaultId = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1";
  const secretId = `${vaultId}/secrets/app-client-id`;
  const inputs = { resourceGroupName: "rg", vaultName: "kv1", secretName: "app-client-id", properties: { value: "v" } };
  store.set(vaultId.toLowerCase(), { id: vaultId, name: "kv1", properties: { vaultUri: `${base}/` } });
  handler = (request) => {
    if (request.method !== "DELETE" || !request.url.startsWith("/secrets/")) return undefined;
    return request.headers.authorization
      ? { status: 200, body: { recoveryId: "r" } }
      : {
          status: 401,
          headers: { "www-authenticate": `Bearer authorization="${base}/tenant-1", resource="https://vault.azure.net"` },
          body: { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } },
        };
  };
  const offline = provider({ metadataHost: `${base}/no-key-vault-suffix` });
  await withRequestExtras({ oldInputs: inputs }, () => offline.delete!(secretId, secretUrn, {}));
  expect(
    seen.map((request) => `${requestLine(request)}${request.headers.authorization ? ` ${request.headers.authorization}` : ""}`),
  ).toEqual([
    `GET ${vaultId}?api-version=2024-11-01 Bearer token-for-https://management.azure.com//.default`,
    "DELETE /secrets/app-client-id?api-version=7.6",
    "DELETE /secrets/app-client-id?api-version=7.6 Bearer token-for-https://vault.azure.net/.default",
  ]);

  // The vault gone from ARM: its secrets are too.
  seen = [];
  store.clear();
  await withRequestExtras({ oldInputs: inputs }, () => offline.delete!(secretId, secretUrn, {}));
  expect(seen.map(requestLine)).toEqual([`GET ${vaultId}?api-version=2024-11-01`]);
});

test("client-secret sign-in needs the subscription id, in the real provider's words", async () => {
  await expect(provider({ subscriptionId: undefined }).create!(identityUrn, identityInputs)).rejects.toThrow(
    "A Subscription ID must be configured when authenticating as a Service Principal using a Client Secret.",
  );
});
