// Guards the rules of issue 13 ("the emulator as the services are"): each test names the rule it
// proves, and where a rule can be switched off, that the switch works.
import { createHash, createSign, randomUUID, X509Certificate } from "node:crypto";
import { generate } from "selfsigned";
import { SEEDED_IDS, startEmulator, type RunningEmulator } from "../../emulator";
import { createAppWithSecret, emulatorClient, entityId, type EmulatorClient } from "../../emulator/testkit";

let emu: RunningEmulator;
let c: EmulatorClient;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  c = emulatorClient(emu);
});

afterAll(async () => {
  await emu?.stop();
});

afterEach(async () => {
  emu.configure({
    replicationLagMs: 0,
    graphPageSize: 100,
    strict: { graphRequests: true, dataverseActions: true, graphPermissions: true },
    deployerGraphPermissions: ["Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"],
  });
});

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

function expectGraphError(answer: { status: number; data: any }, status: number, code: string): void {
  expect({ status: answer.status, code: answer.data?.error?.code }).toEqual({ status, code });
}

function expectAadsts(answer: { status: number; data: any }, code: number): void {
  expect(answer.data.error_codes).toEqual([code]);
  expect(answer.data.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
}

async function tokenWithForm(form: Record<string, string>): Promise<{ status: number; data: any }> {
  return c.request("POST", `${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`, new URLSearchParams(form).toString(), {
    "Content-Type": "application/x-www-form-urlencoded",
  });
}

async function createAppUser(appId: string): Promise<{ status: number; data: any; headers: Record<string, string> }> {
  return c.dataverse("POST", "systemusers", {
    applicationid: appId,
    accessmode: 4,
    isdisabled: false,
    "businessunitid@odata.bind": `/businessunits(${SEEDED_IDS.rootBusinessUnit.id})`,
  });
}

describe("dates are echoed as sent", () => {
  test("addPassword answers whole-second dates without .000, exactly as sent", async () => {
    const app = await c.graph("POST", "/applications", { displayName: unique("dates") });
    const password = await c.graph("POST", `/applications/${app.data.id}/addPassword`, {
      passwordCredential: { displayName: "d", startDateTime: "2026-01-01T00:00:00Z", endDateTime: "2027-01-01T00:00:00Z" },
    });
    expect(password.status).toBe(200);
    expect(password.data.endDateTime).toBe("2027-01-01T00:00:00Z");
    expect(password.data.startDateTime).toBe("2026-01-01T00:00:00Z");
    const read = await c.graph("GET", `/applications/${app.data.id}`);
    expect(read.data.passwordCredentials[0].endDateTime).toBe("2027-01-01T00:00:00Z");
    expect(read.data.createdDateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{7})?Z$/);
  });
});

describe("strict Graph requests", () => {
  test("unknown property, wrong type, bad enum, read-only and passwordCredentials in PATCH are 400 Request_BadRequest", async () => {
    const app = await c.graph("POST", "/applications", { displayName: unique("strict") });
    const patch = (body: unknown) => c.graph("PATCH", `/applications/${app.data.id}`, body);
    expectGraphError(await patch({ notAProperty: 1 }), 400, "Request_BadRequest");
    expectGraphError(await patch({ displayName: 42 }), 400, "Request_BadRequest");
    expectGraphError(await patch({ signInAudience: "Everyone" }), 400, "Request_BadRequest");
    expectGraphError(await patch({ appId: randomUUID() }), 400, "Request_BadRequest");
    expectGraphError(await patch({ passwordCredentials: [] }), 400, "Request_BadRequest");
    expectGraphError(await c.graph("POST", "/applications", { displayName: unique("strict"), colour: "blue" }), 400, "Request_BadRequest");
    expect((await patch({ signInAudience: "AzureADMultipleOrgs", tags: ["a"] })).status).toBe(204);
    emu.configure({ strict: { graphRequests: false } });
    expect((await patch({ notAProperty: 1 })).status).toBe(204);
  });

  test("PATCH accepts a read-only property equal to the object's own (id, appId), and still refuses a different value", async () => {
    // As real Graph: terraform-provider-azuread v3.8.0 sends the application's own id with its
    // keyCredentials (internal/services/applications/application_certificate_resource.go).
    const app = await c.graph("POST", "/applications", { displayName: unique("own-id") });
    const sp = await c.graph("POST", "/servicePrincipals", { appId: app.data.appId });
    for (const [path, doc] of [
      [`/applications/${app.data.id}`, app.data],
      [`/servicePrincipals/${sp.data.id}`, sp.data],
    ] as const) {
      const patch = (body: unknown) => c.graph("PATCH", path, body);
      expect((await patch({ id: doc.id, notes: "own id" })).status).toBe(204);
      expect((await patch({ id: String(doc.id).toUpperCase() })).status).toBe(204);
      expect((await patch({ appId: doc.appId })).status).toBe(204);
      const refused = await patch({ id: randomUUID(), notes: "other id" });
      expectGraphError(refused, 400, "Request_BadRequest");
      expect(refused.data.error.message).toBe("Property 'id' is read-only and cannot be set.");
      expectGraphError(await patch({ appId: randomUUID() }), 400, "Request_BadRequest");
      const read = await c.graph("GET", path);
      expect({ id: read.data.id, notes: read.data.notes }).toEqual({ id: doc.id, notes: "own id" });
    }
  });

  test("request bodies may carry their own @odata.type (as go-azure-sdk's models send it), not another type", async () => {
    // go-azure-sdk microsoft-graph/common-types/stable model_application.go, model_serviceprincipal.go,
    // model_oauth2permissiongrant.go (MarshalJSON adds "@odata.type"), as terraform-provider-azuread v3.8.0 sends them.
    const app = await c.graph("POST", "/applications", { "@odata.type": "#microsoft.graph.application", displayName: unique("typed") });
    expect(app.status).toBe(201);
    const sp = await c.graph("POST", "/servicePrincipals", {
      "@odata.type": "#microsoft.graph.servicePrincipal",
      appId: app.data.appId,
      samlSingleSignOnSettings: {},
    });
    expect(sp.status).toBe(201);
    const appPath = `/applications/${app.data.id}`;
    const spPath = `/servicePrincipals/${sp.data.id}`;
    expect(
      (await c.graph("PATCH", appPath, { "@odata.type": "#microsoft.graph.application", id: app.data.id, keyCredentials: [] })).status,
    ).toBe(204);
    expect(
      (await c.graph("PATCH", spPath, { "@odata.type": "#microsoft.graph.servicePrincipal", samlSingleSignOnSettings: {} })).status,
    ).toBe(204);
    const grant = await c.graph("POST", "/oauth2PermissionGrants", {
      "@odata.type": "#microsoft.graph.oAuth2PermissionGrant",
      clientId: sp.data.id,
      resourceId: SEEDED_IDS.dynamicsCrm.servicePrincipalId,
      consentType: "AllPrincipals",
      scope: "user_impersonation",
    });
    expect(grant.status).toBe(201);
    const grantPath = `/oauth2PermissionGrants/${grant.data.id}`;
    expect(
      (await c.graph("PATCH", grantPath, { "@odata.type": "#microsoft.graph.oAuth2PermissionGrant", scope: "user_impersonation" })).status,
    ).toBe(204);
    for (const [path, body] of [
      [appPath, { "@odata.type": "#microsoft.graph.servicePrincipal", notes: "x" }],
      [spPath, { "@odata.type": "#microsoft.graph.application", notes: "x" }],
      [grantPath, { "@odata.type": "#microsoft.graph.application", scope: "x" }],
    ] as const) {
      const refused = await c.graph("PATCH", path, body);
      expectGraphError(refused, 400, "Request_BadRequest");
      expect(refused.data.error.message).toMatch(/^The entity type 'microsoft\.graph\.\w+' is not compatible with the base type/);
    }
    expectGraphError(
      await c.graph("POST", "/applications", { "@odata.type": "#microsoft.graph.user", displayName: unique("typed") }),
      400,
      "Request_BadRequest",
    );
  });

  test("unknown $select names are 400; $count needs ConsistencyLevel: eventual", async () => {
    const app = await c.graph("POST", "/applications", { displayName: unique("select") });
    expectGraphError(await c.graph("GET", `/applications/${app.data.id}?$select=displayName,nope`), 400, "Request_BadRequest");
    expect((await c.graph("GET", `/applications/${app.data.id}?$select=displayName,appId`)).data).toMatchObject({
      displayName: app.data.displayName,
    });
    expectGraphError(await c.graph("GET", "/applications?$count=true"), 400, "Request_BadRequest");
    const counted = await c.graph("GET", "/applications?$count=true", undefined, undefined, { ConsistencyLevel: "eventual" });
    expect(counted.status).toBe(200);
    expect(counted.data["@odata.count"]).toBeGreaterThanOrEqual(1);
  });

  test("lists page with @odata.nextLink at the configured page size", async () => {
    emu.configure({ graphPageSize: 2 });
    const prefix = unique("page");
    for (let index = 0; index < 5; index++) await c.graph("POST", "/applications", { displayName: `${prefix}-${index}` });
    const names: string[] = [];
    let url: string | undefined = `/applications?$filter=${encodeURIComponent(`startswith(displayName,'${prefix}')`)}`;
    let pages = 0;
    while (url) {
      const page: { status: number; data: any } = await c.graph("GET", url);
      expect(page.status).toBe(200);
      expect(page.data.value.length).toBeLessThanOrEqual(2);
      names.push(...page.data.value.map((item: { displayName: string }) => item.displayName));
      const next: string | undefined = page.data["@odata.nextLink"];
      url = next ? next.slice(emu.graphUrl.length) : undefined;
      pages++;
    }
    expect(pages).toBe(3);
    expect(names.sort()).toEqual([0, 1, 2, 3, 4].map((index) => `${prefix}-${index}`));
  });
});

describe("replication lag", () => {
  test("every call to a new app answers 404, a new SP is answered by id, application user 0x80072559, new secret AADSTS7000215, removed secret still works", async () => {
    const old = await createAppWithSecret(c, unique("lag-old"));
    emu.configure({ replicationLagMs: 1500 });
    const app = await c.graph("POST", "/applications", { displayName: unique("lag") });
    expect(app.status).toBe(201);
    expectGraphError(await c.graph("GET", `/applications/${app.data.id}`), 404, "Request_ResourceNotFound");
    const servicePrincipal = await c.graph("POST", "/servicePrincipals", { appId: app.data.appId });
    expect(servicePrincipal.status).toBe(201);
    const user = await createAppUser(app.data.appId);
    expect({ status: user.status, code: user.data.error?.code }).toEqual({ status: 400, code: "0x80072559" });
    // Every call addressed to the new application answers 404 until the lag has passed, not only a read.
    const ownerRef = { "@odata.id": `${emu.graphUrl}/v1.0/directoryObjects/${emu.deployer.objectId}` };
    const addressed: [Parameters<EmulatorClient["graph"]>[0], string, unknown?][] = [
      ["PATCH", `/applications/${app.data.id}`, { notes: "x" }],
      ["GET", `/applications/${app.data.id}/owners`],
      ["POST", `/applications/${app.data.id}/owners/$ref`, ownerRef],
      ["DELETE", `/applications/${app.data.id}/owners/${emu.deployer.objectId}/$ref`],
      ["POST", `/applications/${app.data.id}/addPassword`, { passwordCredential: { displayName: "new" } }],
      ["POST", `/applications/${app.data.id}/removePassword`, { keyId: randomUUID() }],
      ["GET", `/applications/${app.data.id}/federatedIdentityCredentials`],
      ["GET", `/applications(appId='${app.data.appId}')`],
      ["DELETE", `/applications/${app.data.id}`],
    ];
    for (const [method, path, body] of addressed) {
      const answer = await c.graph(method, path, body);
      expect({ call: `${method} ${path}`, status: answer.status, code: answer.data?.error?.code }).toEqual({
        call: `${method} ${path}`,
        status: 404,
        code: "Request_ResourceNotFound",
      });
    }
    // The new service principal: its first PATCH and the reads after it are answered, as the real
    // provider (which does not retry them) needs; lists do not show it yet.
    expect((await c.graph("PATCH", `/servicePrincipals/${servicePrincipal.data.id}`, { description: "x" })).status).toBe(204);
    expect((await c.graph("GET", `/servicePrincipals/${servicePrincipal.data.id}`)).status).toBe(200);
    expect((await c.graph("GET", `/servicePrincipals/${servicePrincipal.data.id}/owners`)).status).toBe(200);
    const listed = (kind: string, appId: string) =>
      c.graph("GET", `/${kind}?$filter=${encodeURIComponent(`appId eq '${appId}'`)}`).then((answer) => answer.data.value.length);
    expect(await listed("servicePrincipals", app.data.appId)).toBe(0);
    expect(await listed("applications", app.data.appId)).toBe(0);
    // A secret added to a replicated application is unknown to the token service until the lag has passed.
    const password = await c.graph("POST", `/applications/${old.id}/addPassword`, { passwordCredential: { displayName: "new" } });
    expect(password.status).toBe(200);
    expectAadsts(await c.token(c.dataverseScope, old.appId, password.data.secretText), 7000215);
    expect((await c.graph("POST", `/applications/${old.id}/removePassword`, { keyId: old.keyId })).status).toBe(204);
    expect((await c.token(c.dataverseScope, old.appId, old.secret)).status).toBe(200);

    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect((await c.graph("GET", `/applications/${app.data.id}`)).status).toBe(200);
    expect(await listed("servicePrincipals", app.data.appId)).toBe(1);
    expect(await listed("applications", app.data.appId)).toBe(1);
    expect((await createAppUser(app.data.appId)).status).toBe(204);
    expect((await c.graph("PATCH", `/applications/${app.data.id}`, { notes: "x" })).status).toBe(204);
    expect((await c.graph("GET", `/applications/${app.data.id}/owners`)).status).toBe(200);
    expect((await c.graph("POST", `/applications/${app.data.id}/addPassword`, { passwordCredential: {} })).status).toBe(200);
    expect((await c.graph("DELETE", `/servicePrincipals/${servicePrincipal.data.id}`)).status).toBe(204);
    expect((await c.token(c.dataverseScope, old.appId, password.data.secretText)).status).toBe(200);
    expectAadsts(await c.token(c.dataverseScope, old.appId, old.secret), 7000215);
  });

  test("reads of a replicated application leave out password, key and federated credentials younger than the lag", async () => {
    const app = await createAppWithSecret(c, unique("lag-credentials"));
    emu.configure({ replicationLagMs: 1500 });
    const keyIds = async (property: "passwordCredentials" | "keyCredentials") =>
      ((await c.graph("GET", `/applications/${app.id}`)).data[property] as { keyId: string }[]).map((credential) => credential.keyId);
    const password = await c.graph("POST", `/applications/${app.id}/addPassword`, { passwordCredential: { displayName: "new" } });
    expect(password.status).toBe(200);
    expect(await keyIds("passwordCredentials")).toEqual([app.keyId]);
    // The list shows the application as the same replica does.
    const listedPasswords = await c.graph("GET", `/applications?$filter=${encodeURIComponent(`appId eq '${app.appId}'`)}`);
    expect(listedPasswords.data.value[0].passwordCredentials.map((credential: { keyId: string }) => credential.keyId)).toEqual([app.keyId]);

    const certificate = await selfSignedCertificate();
    const patch = await c.graph("PATCH", `/applications/${app.id}`, {
      keyCredentials: [{ type: "AsymmetricX509Cert", usage: "Verify", key: certificate.certificateDerBase64, displayName: "ci" }],
    });
    expect(patch.status).toBe(204);
    expect(await keyIds("keyCredentials")).toEqual([]);

    const base = `/applications/${app.id}/federatedIdentityCredentials`;
    const created = await c.graph("POST", base, {
      name: "lagging",
      issuer: "https://issuer.example",
      subject: "subject",
      audiences: ["api://AzureADTokenExchange"],
    });
    expect(created.status).toBe(201);
    expectGraphError(await c.graph("GET", `${base}/${created.data.id}`), 404, "Request_ResourceNotFound");
    expectGraphError(await c.graph("GET", `${base}(name='lagging')`), 404, "Request_ResourceNotFound");
    expect((await c.graph("GET", base)).data.value).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(await keyIds("passwordCredentials")).toEqual([app.keyId, password.data.keyId]);
    expect(await keyIds("keyCredentials")).toHaveLength(1);
    expect((await c.graph("GET", `${base}/${created.data.id}`)).status).toBe(200);
    expect((await c.graph("GET", base)).data.value).toHaveLength(1);
  });
});

describe("Graph application permissions", () => {
  test("the token carries the configured roles; routes answer 403 Authorization_RequestDenied without them", async () => {
    emu.configure({ deployerGraphPermissions: ["Application.ReadWrite.OwnedBy"] });
    const form = {
      grant_type: "client_credentials",
      client_id: emu.deployer.clientId,
      client_secret: emu.deployer.clientSecret,
      scope: c.graphScope,
    };
    const token = (await tokenWithForm(form)).data.access_token as string;
    expect(JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).roles).toEqual(["Application.ReadWrite.OwnedBy"]);
    // OwnedBy: the caller creates and manages its own applications only.
    const own = await c.graph("POST", "/applications", { displayName: unique("owned") }, token);
    expect(own.status).toBe(201);
    expect((await c.graph("POST", `/applications/${own.data.id}/addPassword`, { passwordCredential: {} }, token)).status).toBe(200);
    const other = await c.graph("POST", "/applications", { displayName: unique("not-owned") });
    expect((await c.graph("DELETE", `/applications/${other.data.id}/owners/${emu.deployer.objectId}/$ref`)).status).toBe(204);
    expectGraphError(await c.graph("PATCH", `/applications/${other.data.id}`, { notes: "x" }, token), 403, "Authorization_RequestDenied");
    expectGraphError(
      await c.graph("POST", `/applications/${other.data.id}/addPassword`, { passwordCredential: {} }, token),
      403,
      "Authorization_RequestDenied",
    );
    // Grants need DelegatedPermissionGrant.ReadWrite.All.
    const grant = {
      clientId: emu.deployer.objectId,
      consentType: "AllPrincipals",
      resourceId: SEEDED_IDS.dynamicsCrm.servicePrincipalId,
      scope: "user_impersonation",
    };
    expectGraphError(await c.graph("POST", "/oauth2PermissionGrants", grant, token), 403, "Authorization_RequestDenied");

    emu.configure({ deployerGraphPermissions: [] });
    const bare = (await tokenWithForm(form)).data.access_token as string;
    expectGraphError(await c.graph("POST", "/applications", { displayName: unique("none") }, bare), 403, "Authorization_RequestDenied");
    emu.configure({ strict: { graphPermissions: false } });
    expect((await c.graph("POST", "/applications", { displayName: unique("lenient") }, bare)).status).toBe(201);
  });
});

describe("AADSTS7000229", () => {
  test("a token for an app without a service principal is refused with AADSTS7000229", async () => {
    const app = await c.graph("POST", "/applications", { displayName: unique("no-sp") });
    const password = await c.graph("POST", `/applications/${app.data.id}/addPassword`, { passwordCredential: {} });
    const answer = await c.token(c.dataverseScope, app.data.appId, password.data.secretText);
    expect({ status: answer.status, error: answer.data.error }).toEqual({ status: 401, error: "invalid_client" });
    expectAadsts(answer, 7000229);
  });
});

async function selfSignedCertificate(): Promise<{ certificateDerBase64: string; privateKeyPem: string; thumbprint: string }> {
  const generated = await generate([{ name: "commonName", value: "dataverse-s2s test" }], {
    keyType: "rsa",
    keySize: 2048,
    algorithm: "sha256",
  });
  const certificate = new X509Certificate(generated.cert);
  const thumbprint = Buffer.from(certificate.fingerprint.replace(/:/g, ""), "hex").toString("base64url");
  return { certificateDerBase64: certificate.raw.toString("base64"), privateKeyPem: generated.private, thumbprint };
}

function signedAssertion(privateKeyPem: string, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const signedPart = `${encode({ alg: "RS256", typ: "JWT", ...header })}.${encode(payload)}`;
  return `${signedPart}.${createSign("RSA-SHA256").update(signedPart).sign(privateKeyPem).toString("base64url")}`;
}

describe("certificate and federated credentials", () => {
  test("keyCredentials via PATCH; a client assertion signed with the certificate key gets a token and WhoAmI", async () => {
    const app = await createAppWithSecret(c, unique("cert"));
    const certificate = await selfSignedCertificate();
    const patch = await c.graph("PATCH", `/applications/${app.id}`, {
      keyCredentials: [{ type: "AsymmetricX509Cert", usage: "Verify", key: certificate.certificateDerBase64, displayName: "ci" }],
    });
    expect(patch.status).toBe(204);
    const read = await c.graph("GET", `/applications/${app.id}`);
    expect(read.data.keyCredentials).toHaveLength(1);
    expect(read.data.keyCredentials[0]).toMatchObject({ type: "AsymmetricX509Cert", usage: "Verify", key: null, displayName: "ci" });
    expect((await createAppUser(app.appId)).status).toBe(204);

    const tokenEndpoint = `${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`;
    const now = Math.floor(Date.now() / 1000);
    const claims = { aud: tokenEndpoint, iss: app.appId, sub: app.appId, jti: randomUUID(), nbf: now, exp: now + 600 };
    const form = (assertion: string) => ({
      grant_type: "client_credentials",
      client_id: app.appId,
      scope: c.dataverseScope,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    });
    const answer = await tokenWithForm(form(signedAssertion(certificate.privateKeyPem, { x5t: certificate.thumbprint }, claims)));
    expect(answer.status).toBe(200);
    const whoAmI = await c.dataverse("GET", "WhoAmI", undefined, answer.data.access_token);
    expect(whoAmI.status).toBe(200);

    // MSAL names the certificate by its SHA-256 thumbprint (x5t#S256); Entra accepts either.
    const sha256 = createHash("sha256").update(Buffer.from(certificate.certificateDerBase64, "base64")).digest("base64url");
    expect((await tokenWithForm(form(signedAssertion(certificate.privateKeyPem, { "x5t#S256": sha256 }, claims)))).status).toBe(200);
    expectAadsts(
      await tokenWithForm(form(signedAssertion(certificate.privateKeyPem, { "x5t#S256": certificate.thumbprint }, claims))),
      700027,
    );

    const stranger = await selfSignedCertificate();
    expectAadsts(await tokenWithForm(form(signedAssertion(stranger.privateKeyPem, { x5t: stranger.thumbprint }, claims))), 700027);
    expectAadsts(await tokenWithForm(form(signedAssertion(stranger.privateKeyPem, { x5t: certificate.thumbprint }, claims))), 700027);
  });

  test("federatedIdentityCredentials CRUD; a federated assertion from a trusted issuer gets a token and WhoAmI", async () => {
    const app = await createAppWithSecret(c, unique("federated"));
    const base = `/applications/${app.id}/federatedIdentityCredentials`;
    const issued = emu.federatedToken("repo:contoso/integration:ref:refs/heads/main");
    const created = await c.graph("POST", base, {
      name: "main-branch",
      issuer: issued.issuer,
      subject: "repo:contoso/integration:ref:refs/heads/main",
      audiences: ["api://AzureADTokenExchange"],
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ name: "main-branch", issuer: issued.issuer, audiences: ["api://AzureADTokenExchange"] });
    expectGraphError(
      await c.graph("POST", base, { name: "main-branch", issuer: "https://x", subject: "y", audiences: ["api://AzureADTokenExchange"] }),
      409,
      "Request_MultipleObjectsWithSameKeyValue",
    );
    expectGraphError(
      await c.graph("POST", base, { name: "bad", issuer: "https://x", subject: "y", audiences: [] }),
      400,
      "Request_BadRequest",
    );
    expect((await c.graph("GET", base)).data.value).toHaveLength(1);
    expect((await c.graph("GET", `${base}/${created.data.id}`)).data.subject).toBe("repo:contoso/integration:ref:refs/heads/main");
    expect((await c.graph("PATCH", `${base}/${created.data.id}`, { description: "CI" })).status).toBe(204);
    expectGraphError(await c.graph("PATCH", `${base}/${created.data.id}`, { name: "renamed" }), 400, "Request_BadRequest");
    expect((await createAppUser(app.appId)).status).toBe(204);

    const form = (assertion: string) => ({
      grant_type: "client_credentials",
      client_id: app.appId,
      scope: c.dataverseScope,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    });
    const answer = await tokenWithForm(form(issued.token));
    expect(answer.status).toBe(200);
    expect((await c.dataverse("GET", "WhoAmI", undefined, answer.data.access_token)).status).toBe(200);
    expectAadsts(await tokenWithForm(form(emu.federatedToken("repo:someone/else").token)), 70021);

    const removed = await c.graph("DELETE", `${base}/${created.data.id}`);
    expect(removed.status).toBe(204);
    expectAadsts(await tokenWithForm(form(emu.federatedToken("repo:contoso/integration:ref:refs/heads/main").token)), 700211);
  });
});

describe("strict Dataverse actions", () => {
  test("unknown action parameters and a depth the privilege does not allow are 400", async () => {
    const role = await c.dataverse("POST", "roles", {
      name: unique("strict-role"),
      "businessunitid@odata.bind": `/businessunits(${SEEDED_IDS.rootBusinessUnit.id})`,
    });
    const roleId = entityId(role.headers);
    const privileges = await c.dataverse("GET", "privileges?$select=privilegeid,name&$filter=name eq 'prvReadAccount'");
    const privilegeId = privileges.data.value[0].privilegeid as string;
    const action = (name: string, body: unknown) => c.dataverse("POST", `roles(${roleId})/Microsoft.Dynamics.CRM.${name}`, body);
    const rejected = await action("AddPrivilegesRole", { Privileges: [{ PrivilegeId: privilegeId, Depth: "Global" }], Extra: true });
    expect({ status: rejected.status, code: rejected.data.error?.code }).toEqual({ status: 400, code: "0x80040203" });
    const recordFilter = await action("AddPrivilegesRole", { Privileges: [{ PrivilegeId: privilegeId, Depth: "RecordFilter" }] });
    expect(recordFilter.status).toBe(400);
    const removeById = await action("RemovePrivilegeRole", { PrivilegeId: privilegeId });
    expect({ status: removeById.status, code: removeById.data.error?.code }).toEqual({ status: 400, code: "0x80040203" });
    expect(
      (
        await action("AddPrivilegesRole", {
          Privileges: [{ PrivilegeId: privilegeId, Depth: "Global", BusinessUnitId: SEEDED_IDS.rootBusinessUnit.id }],
        })
      ).status,
    ).toBe(204);
    expect(
      (await action("RemovePrivilegeRole", { Privilege: { "@odata.type": "Microsoft.Dynamics.CRM.privilege", privilegeid: privilegeId } }))
        .status,
    ).toBe(204);
  });
  test("a privilege of an organization-owned table has one depth, Global: its row says so, and any other depth is 400", async () => {
    const role = await c.dataverse("POST", "roles", {
      name: unique("org-owned-role"),
      "businessunitid@odata.bind": `/businessunits(${SEEDED_IDS.rootBusinessUnit.id})`,
    });
    const roleId = entityId(role.headers);
    const rows = await c.dataverse(
      "GET",
      "privileges?$select=privilegeid,name,canbebasic,canbelocal,canbedeep,canbeglobal,canbeentityreference,canbeparententityreference&$filter=name eq 'prvReadProduct' or name eq 'prvReadContact'",
    );
    const byName = Object.fromEntries((rows.data.value as Record<string, unknown>[]).map((row) => [row.name, row]));
    expect(byName.prvReadProduct).toMatchObject({ canbebasic: false, canbelocal: false, canbedeep: false, canbeglobal: true });
    expect(byName.prvReadContact).toMatchObject({ canbebasic: true, canbelocal: true, canbedeep: true, canbeglobal: true });
    expect(byName.prvReadProduct).toMatchObject({ canbeentityreference: false, canbeparententityreference: false });
    const grant = (name: string, depth: string) =>
      c.dataverse("POST", `roles(${roleId})/Microsoft.Dynamics.CRM.AddPrivilegesRole`, {
        Privileges: [{ PrivilegeId: byName[name].privilegeid, Depth: depth }],
      });
    for (const depth of ["Basic", "Local", "Deep"]) {
      const refused = await grant("prvReadProduct", depth);
      expect({ status: refused.status, code: refused.data.error?.code }).toEqual({ status: 400, code: "0x80040203" });
      expect(refused.data.error?.message).toMatch(/prvReadProduct cannot be granted at depth/);
    }
    expect((await grant("prvReadProduct", "Global")).status).toBe(204);
    expect((await grant("prvReadContact", "Local")).status).toBe(204);
  });
});
