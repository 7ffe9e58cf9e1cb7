// The offline azuread stand-in against the emulator, called directly (not through gRPC): the Dynamics
// CRM lookup, an app registration with user_impersonation, its service principal, admin consent, a
// client secret that can sign in, drift seen by read (edited, removed password, deleted objects),
// updates and deletes. Assertions read the emulator's Graph as an admin would.
// Needs NODE_EXTRA_CA_CERTS=$(ts-node --transpile-only emulator/cli.ts --ensure-ca) before jest starts.
import { ClientSecretCredential } from "@azure/identity";
import { generate } from "selfsigned";
import type { Provider } from "@pulumi/pulumi/provider";
import { SEEDED_IDS } from "../../emulator";
import { RestClient } from "../../lib/rest-client";
import { AzureadConfig } from "../../offline-plugins/azuread/config";
import { createAzureadProvider } from "../../offline-plugins/azuread/provider";
import { isSecretEnvelope, Plain, unwrapSecrets } from "../../offline-plugins/azuread/values";
import { startTestEmulator, TestEmulator } from "../support/emulator";

const types = {
  application: "azuread:index/application:Application",
  servicePrincipal: "azuread:index/servicePrincipal:ServicePrincipal",
  password: "azuread:index/applicationPassword:ApplicationPassword",
  certificate: "azuread:index/applicationCertificate:ApplicationCertificate",
  grant: "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant",
  getServicePrincipal: "azuread:index/getServicePrincipal:getServicePrincipal",
};
const urn = (type: string, name = "example") => `urn:pulumi:dev::dataverse-s2s::${type}::${name}`;
const fastTiming = {
  update: { consecutive: 2, intervalMs: 20, timeoutMs: 5000 },
  deletion: { consecutive: 2, intervalMs: 20, timeoutMs: 5000 },
  notFound: { consecutive: 1, intervalMs: 50, timeoutMs: 5000 },
};
const crm = SEEDED_IDS.dynamicsCrm;

let test_: TestEmulator;
let graph: RestClient;
let provider: Required<Provider>;
let config: AzureadConfig;
/** "METHOD path status" of every request the emulator answered, in order. */
const requestLog: string[] = [];

/** The requests made while `work` ran, as "METHOD path status". */
async function requestsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const first = requestLog.length;
  await work();
  return requestLog.slice(first);
}

beforeAll(async () => {
  test_ = await startTestEmulator({
    log: (line: string) => {
      const match = /^\S+ \S+ (GET|POST|PATCH|PUT|DELETE) (\S+) (\d{3}) /.exec(line);
      if (match) requestLog.push(`${match[1]} ${decodeURIComponent(match[2])} ${match[3]}`);
    },
  });
  graph = test_.graph();
  const emulator = test_.emulator;
  config = {
    metadataHost: emulator.metadataHost,
    clientId: emulator.deployer.clientId,
    clientSecret: emulator.deployer.clientSecret,
    tenantId: emulator.tenantId,
  };
  provider = createAzureadProvider({ config: () => config, timing: fastTiming, log: () => undefined }) as Required<Provider>;
});
afterAll(async () => {
  // Every call the stand-in made must be one the emulator knows (it logs the others as unsupported).
  expect(test_?.emulator.requests().unsupported).toEqual([]);
  if (process.env.SHOW_GRAPH_OPERATIONS) console.log(test_.emulator.requests().operations);
  await test_?.stop();
});

/** Fails on any undefined value: the provider server cannot encode one. */
function expectNoUndefined(value: unknown, path = "outs"): void {
  expect({ path, value: value === undefined ? "undefined" : "ok" }).toEqual({ path, value: "ok" });
  if (Array.isArray(value)) value.forEach((item, index) => expectNoUndefined(item, `${path}[${index}]`));
  else if (value && typeof value === "object") for (const [key, item] of Object.entries(value)) expectNoUndefined(item, `${path}.${key}`);
}

async function checked(type: string, news: Plain): Promise<Plain> {
  const result = await provider.check(urn(type), {}, news);
  expect(result.failures).toEqual([]);
  return result.inputs;
}

async function graphGet(path: string): Promise<{ status: number; data: Plain }> {
  const response = await graph.request<Plain>({ operation: "admin read", method: "GET", path, acceptStatus: [404] });
  return { status: response.status, data: response.data };
}

describe("getServicePrincipal", () => {
  test("finds Dynamics CRM by client id with user_impersonation", async () => {
    const result = await provider.invoke(types.getServicePrincipal, { clientId: crm.appId });
    expect(result.failures ?? []).toEqual([]);
    expect(result.outputs.id).toBe(crm.servicePrincipalId);
    expect(result.outputs.objectId).toBe(crm.servicePrincipalId);
    expect(result.outputs.clientId).toBe(crm.appId);
    expect(result.outputs.oauth2PermissionScopeIds.user_impersonation).toBe(crm.userImpersonationScopeId);
    expect(result.outputs.oauth2PermissionScopes.find((scope: Plain) => scope.value === "user_impersonation")).toMatchObject({
      id: crm.userImpersonationScopeId,
      enabled: true,
    });
    expectNoUndefined(result.outputs);
  });

  test("an unknown client id and a missing argument are clear errors", async () => {
    await expect(provider.invoke(types.getServicePrincipal, { clientId: "12345678-0000-0000-0000-000000000000" })).rejects.toThrow(
      /no service principal found with clientId/,
    );
    expect((await provider.invoke(types.getServicePrincipal, {})).failures).toHaveLength(1);
  });
});

describe("app registration lifecycle", () => {
  const displayName = `s2s-test-${Date.now()}`;
  let app: Plain;
  let sp: Plain;
  let grant: Plain;
  let password: Plain;
  let appInputs: Plain;

  test("creates the application with the Dynamics CRM permission, owned by nobody by default", async () => {
    appInputs = await checked(types.application, {
      displayName,
      requiredResourceAccesses: [{ resourceAppId: crm.appId, resourceAccesses: [{ id: crm.userImpersonationScopeId, type: "Scope" }] }],
      notes: "made by a test",
    });
    const created = await provider.create(urn(types.application), appInputs);
    app = created.outs;
    expect(created.id).toBe(`/applications/${app.objectId}`);
    expect(app).toMatchObject({ id: created.id, displayName, signInAudience: "AzureADMyOrg", notes: "made by a test", owners: [] });
    // The caller was an owner at creation and was removed, since owners is not set (real provider).
    const caller = test_.emulator.deployer.objectId;
    expect(requestLog).toContain(`DELETE /v1.0/applications/${app.objectId}/owners/${caller}/$ref 204`);
    expect(app.requiredResourceAccesses).toEqual([
      { resourceAppId: crm.appId, resourceAccesses: [{ id: crm.userImpersonationScopeId, type: "Scope" }] },
    ]);
    expectNoUndefined(app);

    const stored = await graphGet(`v1.0/applications/${app.objectId}`);
    expect(stored.data).toMatchObject({ displayName, appId: app.clientId, signInAudience: "AzureADMyOrg" });
    expect(stored.data.requiredResourceAccess).toEqual([
      { resourceAppId: crm.appId, resourceAccess: [{ id: crm.userImpersonationScopeId, type: "Scope" }] },
    ]);
    expect((await graphGet(`v1.0/applications/${app.objectId}/owners`)).data.value).toEqual([]);
    expect(await provider.diff(created.id, urn(types.application), app, appInputs)).toEqual({ changes: false, replaces: [] });
  });

  test("creates its service principal, and refuses a second one unless useExisting", async () => {
    const inputs = await checked(types.servicePrincipal, { clientId: app.clientId, owners: [test_.emulator.deployer.objectId] });
    const created = await provider.create(urn(types.servicePrincipal), inputs);
    sp = created.outs;
    expect(created.id).toBe(`/servicePrincipals/${sp.objectId}`);
    expect(sp).toMatchObject({ clientId: app.clientId, displayName, owners: [test_.emulator.deployer.objectId], accountEnabled: true });
    expectNoUndefined(sp);
    const found = await graphGet(`v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${app.clientId}'`)}`);
    expect((found.data.value as Plain[]).map((entry) => entry.id)).toEqual([sp.objectId]);

    // The real provider's error, word for word, and no second POST.
    const refused = await requestsDuring(() =>
      expect(provider.create(urn(types.servicePrincipal, "again"), inputs)).rejects.toThrow(
        `A resource with the ID "${sp.objectId}" already exists: To be managed via Terraform, this resource needs to be imported into the State`,
      ),
    );
    expect(refused.filter((line) => line.startsWith("POST /v1.0/servicePrincipals"))).toEqual([]);
    const adopted = await provider.create(urn(types.servicePrincipal, "again"), { ...inputs, useExisting: true });
    expect(adopted.id).toBe(created.id);
    expect(adopted.outs).toMatchObject({ objectId: sp.objectId, useExisting: true, owners: [test_.emulator.deployer.objectId] });
  });

  test("grants admin consent for user_impersonation and updates its claims", async () => {
    const inputs = await checked(types.grant, {
      servicePrincipalObjectId: sp.objectId,
      resourceServicePrincipalObjectId: crm.servicePrincipalId,
      claimValues: ["user_impersonation"],
    });
    const created = await provider.create(urn(types.grant), inputs);
    grant = created.outs;
    expect(created.id).toMatch(/^\/oauth2PermissionGrants\/.+/);
    expect(grant).toEqual({
      id: created.id,
      servicePrincipalObjectId: sp.objectId,
      resourceServicePrincipalObjectId: crm.servicePrincipalId,
      claimValues: ["user_impersonation"],
    });
    const grantId = String(created.id).split("/").pop();
    expect((await graphGet(`v1.0/oauth2PermissionGrants/${grantId}`)).data).toMatchObject({
      clientId: sp.objectId,
      resourceId: crm.servicePrincipalId,
      consentType: "AllPrincipals",
      scope: "user_impersonation",
    });

    const wider = { ...inputs, claimValues: ["user_impersonation", "offline_access"] };
    expect(await provider.diff(created.id, urn(types.grant), grant, wider)).toEqual({ changes: true, replaces: [] });
    const updated = await provider.update(created.id, urn(types.grant), grant, wider);
    expect(updated.outs.claimValues).toEqual(["user_impersonation", "offline_access"]);
    expect((await graphGet(`v1.0/oauth2PermissionGrants/${grantId}`)).data.scope).toBe("user_impersonation offline_access");
    grant = updated.outs;
  });

  test("adds a password whose secret is returned as a secret and signs in", async () => {
    const endDate = new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const inputs = await checked(types.password, { applicationId: app.id, displayName: "ci", endDate });
    let created!: Awaited<ReturnType<typeof provider.create>>;
    const calls = await requestsDuring(async () => (created = await provider.create(urn(types.password), inputs)));
    password = created.outs;
    expect(created.id).toBe(`${app.objectId}/password/${password.keyId}`);
    expect(password).toMatchObject({ applicationId: app.id, displayName: "ci" });
    expect(isSecretEnvelope(password.value)).toBe(true);
    expectNoUndefined(password);
    // The real provider's sequence: GET the application, addPassword, then consecutive GETs until
    // the key has been seen `consecutive` times in a row (two with this test's timing).
    const appPath = `/v1.0/applications/${app.objectId}`;
    expect(calls).toEqual([`GET ${appPath} 200`, `POST ${appPath}/addPassword 200`, `GET ${appPath} 200`, `GET ${appPath} 200`]);
    // Dates are stored exactly as Graph answers them, not reformatted.
    const stored = await graphGet(`v1.0/applications/${app.objectId}`);
    const storedCredential = (stored.data.passwordCredentials as Plain[]).find((credential) => credential.keyId === password.keyId);
    expect(storedCredential).toBeDefined();
    expect(password.endDate).toBe(storedCredential!.endDateTime);
    expect(password.startDate).toBe(storedCredential!.startDateTime);
    expect(Date.parse(String(password.endDate))).toBe(Date.parse(endDate));

    const secret = unwrapSecrets<string>(password.value);
    const credential = new ClientSecretCredential(test_.emulator.tenantId, String(app.clientId), secret, {
      authorityHost: test_.emulator.authorityHost,
      disableInstanceDiscovery: true,
    });
    const token = await credential.getToken(`${test_.emulator.url}/.default`);
    expect(token?.token).toBeTruthy();

    // Refresh keeps the secret (Graph never shows it again), still marked secret.
    const read = await provider.read(created.id, urn(types.password), password);
    expect(read.id).toBe(created.id);
    expect(read.props.value).toEqual(password.value);
    // A date Graph writes differently from the program's string is a replacement, as with the real provider.
    const expected = read.props.endDate === endDate ? { changes: false, replaces: [] } : { changes: true, replaces: ["endDate"] };
    expect(await provider.diff(created.id, urn(types.password), read.props, inputs)).toEqual(expected);
    expect(
      await provider.diff(created.id, urn(types.password), read.props, { ...inputs, endDate: read.props.endDate, displayName: "ci-2" }),
    ).toEqual({ changes: true, replaces: ["displayName"] });
  });

  test("read shows an edited application, and update puts it back and changes owners", async () => {
    await graph.request({
      operation: "admin edit",
      method: "PATCH",
      path: `v1.0/applications/${app.objectId}`,
      body: { displayName: "renamed in the portal", requiredResourceAccess: [] },
    });
    const drifted = await provider.read(String(app.id), urn(types.application), app);
    expect(drifted.id).toBe(app.id);
    expect(drifted.props).toMatchObject({ displayName: "renamed in the portal", requiredResourceAccesses: [] });
    expect(await provider.diff(String(app.id), urn(types.application), drifted.props, appInputs)).toEqual({ changes: true, replaces: [] });

    const wanted = { ...appInputs, owners: [test_.emulator.deployer.objectId] };
    const updated = await provider.update(String(app.id), urn(types.application), drifted.props, wanted);
    expect(updated.outs).toMatchObject({ displayName, owners: [test_.emulator.deployer.objectId] });
    expect(updated.outs.requiredResourceAccesses).toHaveLength(1);
    const stored = await graphGet(`v1.0/applications/${app.objectId}`);
    expect(stored.data.displayName).toBe(displayName);
    expect(((await graphGet(`v1.0/applications/${app.objectId}/owners`)).data.value as Plain[]).map((owner) => owner.id)).toEqual([
      test_.emulator.deployer.objectId,
    ]);
    app = updated.outs;
  });

  test("a password removed outside Pulumi reads as gone; deleting it without a refresh is Graph's error", async () => {
    await graph.request({
      operation: "admin remove password",
      method: "POST",
      path: `v1.0/applications/${app.objectId}/removePassword`,
      body: { keyId: password.keyId },
    });
    const read = await provider.read(String(password.id), urn(types.password), password);
    expect(read.id).toBe("");
    // The real provider calls removePassword without looking first, and fails on its error.
    await expect(provider.delete(String(password.id), urn(types.password), password)).rejects.toThrow(
      /removePassword -> HTTP 404 Request_ResourceNotFound/,
    );
  });

  test("delete removes a password, the grant, the service principal and the application", async () => {
    const second = await provider.create(urn(types.password, "second"), await checked(types.password, { applicationId: app.id }));
    const removal = await requestsDuring(() => provider.delete(second.id, urn(types.password), second.outs));
    // removePassword first, then reads until the key is absent twice in a row (this test's timing).
    expect(removal).toEqual([
      `POST /v1.0/applications/${app.objectId}/removePassword 204`,
      `GET /v1.0/applications/${app.objectId} 200`,
      `GET /v1.0/applications/${app.objectId} 200`,
    ]);
    const credentials = (await graphGet(`v1.0/applications/${app.objectId}`)).data.passwordCredentials as Plain[];
    expect(credentials.map((credential) => credential.keyId)).not.toContain(second.outs.keyId);

    await provider.delete(String(grant.id), urn(types.grant), grant);
    expect((await graphGet(`v1.0/oauth2PermissionGrants/${String(grant.id).split("/").pop()}`)).status).toBe(404);
    expect((await provider.read(String(grant.id), urn(types.grant), grant)).id).toBe("");

    await provider.delete(String(sp.id), urn(types.servicePrincipal), sp);
    expect((await graphGet(`v1.0/servicePrincipals/${sp.objectId}`)).status).toBe(404);
    expect((await provider.read(String(sp.id), urn(types.servicePrincipal), sp)).id).toBe("");

    const appRemoval = await requestsDuring(() => provider.delete(String(app.id), urn(types.application), app));
    // DELETE, then GETs until 404 twice in a row (this test's timing).
    expect(appRemoval).toEqual([
      `DELETE /v1.0/applications/${app.objectId} 204`,
      `GET /v1.0/applications/${app.objectId} 404`,
      `GET /v1.0/applications/${app.objectId} 404`,
    ]);
    expect((await graphGet(`v1.0/applications/${app.objectId}`)).status).toBe(404);
    expect((await provider.read(String(app.id), urn(types.application), app)).id).toBe("");
    // Deleting what is already gone is Graph's 404, as with the real provider (a refresh drops it first).
    await expect(provider.delete(String(app.id), urn(types.application), app)).rejects.toThrow(
      /DELETE \/v1\.0\/applications\/\S+ -> HTTP 404 Request_ResourceNotFound/,
    );
  });
});

describe("drift on objects deleted outside Pulumi", () => {
  test("a deleted service principal and a deleted application read as gone", async () => {
    const app = await provider.create(
      urn(types.application, "drift"),
      await checked(types.application, { displayName: `s2s-drift-${Date.now()}` }),
    );
    const sp = await provider.create(
      urn(types.servicePrincipal, "drift"),
      await checked(types.servicePrincipal, { clientId: app.outs.clientId }),
    );
    await graph.request({ operation: "admin delete", method: "DELETE", path: `v1.0/servicePrincipals/${sp.outs.objectId}` });
    expect((await provider.read(sp.id, urn(types.servicePrincipal), sp.outs)).id).toBe("");
    await graph.request({ operation: "admin delete", method: "DELETE", path: `v1.0/applications/${app.outs.objectId}` });
    expect((await provider.read(app.id, urn(types.application), app.outs)).id).toBe("");
    // Without a refresh, deleting them is Graph's 404, as with the real provider.
    await expect(provider.delete(sp.id, urn(types.servicePrincipal), sp.outs)).rejects.toThrow(/-> HTTP 404 Request_ResourceNotFound/);
    await expect(provider.delete(app.id, urn(types.application), app.outs)).rejects.toThrow(/-> HTTP 404 Request_ResourceNotFound/);
  });
});

describe("no de-duplication", () => {
  test("two creates with one name make two applications; preventDuplicateNames refuses the second with the real error", async () => {
    const name = `s2s-twice-${Date.now()}`;
    const first = await provider.create(urn(types.application, "first"), await checked(types.application, { displayName: name }));
    const second = await provider.create(urn(types.application, "second"), await checked(types.application, { displayName: name }));
    expect(second.outs.objectId).not.toBe(first.outs.objectId);
    const found = await graphGet(`v1.0/applications?$filter=${encodeURIComponent(`displayName eq '${name}'`)}`);
    expect((found.data.value as Plain[]).map((entry) => entry.id).sort()).toEqual([first.outs.objectId, second.outs.objectId].sort());

    await expect(
      provider.create(
        urn(types.application, "third"),
        await checked(types.application, { displayName: name, preventDuplicateNames: true }),
      ),
    ).rejects.toThrow(`An existing "azuread_application" with name "${name}" (ID: "`);
    const after = await graphGet(`v1.0/applications?$filter=${encodeURIComponent(`displayName eq '${name}'`)}`);
    expect(after.data.value).toHaveLength(2);
    for (const app of [first, second]) await provider.delete(app.id, urn(types.application), app.outs);
  });

  test("an application create is one POST under the real name, then the temporary and the real name by PATCH", async () => {
    const name = `s2s-sequence-${Date.now()}`;
    let created!: Awaited<ReturnType<typeof provider.create>>;
    const calls = await requestsDuring(
      async () =>
        (created = await provider.create(urn(types.application, "sequence"), await checked(types.application, { displayName: name }))),
    );
    const objectId = created.outs.objectId;
    expect(calls.slice(0, 3)).toEqual([
      "POST /v1.0/applications 201",
      `PATCH /v1.0/applications/${objectId} 204`,
      `PATCH /v1.0/applications/${objectId} 204`,
    ]);
    expect(calls.filter((line) => line.startsWith("GET /v1.0/applications?"))).toEqual([]);
    await provider.delete(created.id, urn(types.application), created.outs);
  });
});

// internal/services/applications/application_certificate_resource.go (v3.8.0) PATCHes the
// application with its own id; the emulator accepts it as real Graph does (a different id is 400).
describe("certificate against the emulator", () => {
  test("create and delete PATCH the application's own id with its keyCredentials, and the emulator accepts them", async () => {
    const app = await provider.create(
      urn(types.application, "cert"),
      await checked(types.application, { displayName: `s2s-cert-${Date.now()}` }),
    );
    const generated = await generate([{ name: "commonName", value: "dataverse-s2s stand-in" }], {
      keyType: "rsa",
      keySize: 2048,
      algorithm: "sha256",
    });
    const inputs = await checked(types.certificate, {
      applicationId: app.id,
      type: "AsymmetricX509Cert",
      encoding: "pem",
      value: generated.cert,
    });
    const log = await requestsDuring(async () => {
      const certificate = await provider.create(urn(types.certificate), inputs);
      expect(certificate.id).toMatch(new RegExp(`^${app.outs.objectId}/certificate/`));
      await provider.delete(certificate.id, urn(types.certificate), certificate.outs);
    });
    expect(log.filter((line) => line.startsWith("PATCH"))).toEqual([
      `PATCH /v1.0/applications/${app.outs.objectId} 204`,
      `PATCH /v1.0/applications/${app.outs.objectId} 204`,
    ]);
    expect((await graphGet(`v1.0/applications/${app.outs.objectId}`)).data.keyCredentials).toEqual([]);
    await provider.delete(app.id, urn(types.application), app.outs);
  });
});

describe("resilience and errors", () => {
  test("throttled Graph calls are retried", async () => {
    await test_.setFaults({ rate429: 1, retryAfterSeconds: 0, pathPrefix: "/v1.0/applications", maxCount: 2 });
    const before = test_.emulator.requests().faults["429"] ?? 0;
    try {
      const app = await provider.create(
        urn(types.application, "throttled"),
        await checked(types.application, { displayName: `s2s-throttled-${Date.now()}` }),
      );
      expect(app.outs.displayName).toMatch(/^s2s-throttled-/);
      await provider.delete(app.id, urn(types.application), app.outs);
      expect((test_.emulator.requests().faults["429"] ?? 0) - before).toBe(2);
    } finally {
      await test_.setFaults({ rate429: 0, pathPrefix: null, maxCount: null });
    }
  });

  test("a wrong client secret is a clear error that does not contain the secret", async () => {
    const wrongSecret = "wrong-secret-value-12345";
    const bad = createAzureadProvider({
      config: () => ({ ...config, clientSecret: wrongSecret }),
      timing: fastTiming,
      log: () => undefined,
    }) as Required<Provider>;
    const failure = await bad.invoke(types.getServicePrincipal, { clientId: crm.appId }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.message).toMatch(/could not sign in as client .* Check azuread:clientId/);
    expect(failure?.message).not.toContain(wrongSecret);
  });

  test("a password for a missing application is a clear error", async () => {
    await expect(
      provider.create(
        urn(types.password, "orphan"),
        await checked(types.password, { applicationId: "/applications/00000000-1111-2222-3333-444444444444" }),
      ),
    ).rejects.toThrow(/application 00000000-1111-2222-3333-444444444444 was not found/);
  });
});
