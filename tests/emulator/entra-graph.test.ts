// Guards the Entra ID and Graph side of the emulator: the metadata, token and Graph calls the
// azuread provider and @azure/identity make, with their real error bodies and codes.
import { ClientSecretCredential } from "@azure/identity";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { createAppWithSecret, emulatorClient, type EmulatorClient } from "../../emulator/testkit";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CRM_APP_ID = "00000007-0000-0000-c000-000000000000";

let emu: RunningEmulator;
let c: EmulatorClient;
const lines: string[] = [];

beforeAll(async () => {
  emu = await startEmulator({ port: 0, log: (l) => lines.push(l) });
  c = emulatorClient(emu);
});

afterAll(async () => {
  await emu?.stop();
});

function claimsOf(jwt: string): Record<string, unknown> {
  const parts = jwt.split(".");
  expect(parts).toHaveLength(3);
  for (const p of parts) expect(p).toMatch(/^[A-Za-z0-9_-]+$/); // unpadded base64url
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

function expectAadsts(r: { status: number; data: any }, status: number, error: string, code: number): void {
  expect(r.status).toBe(status);
  expect(r.data.error).toBe(error);
  expect(r.data.error_codes).toEqual([code]);
  expect(r.data.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
  expect(r.data.trace_id).toMatch(GUID);
  expect(r.data.correlation_id).toMatch(GUID);
  expect(typeof r.data.timestamp).toBe("string");
}

describe("Entra metadata and discovery", () => {
  test("GET /metadata/endpoints answers the shape the azuread provider parses", async () => {
    const r = await c.request("GET", `${emu.url}/metadata/endpoints?api-version=2022-09-01`);
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    // resourceManager and the audiences (ARM's own ids, the first one clients take as ARM's) are for ARM clients: tests/emulator/arm.test.ts.
    expect(r.data).toEqual({
      name: "LocalEntra",
      resourceManager: `${emu.resourceManagerUrl}/`,
      microsoftGraphResourceId: `${emu.authorityHost}/`,
      authentication: {
        loginEndpoint: emu.authorityHost,
        audiences: ["https://management.core.windows.net/", "https://management.azure.com/"],
        tenant: "common",
        identityProvider: "AAD",
      },
    });
    expect(emu.metadataHost).toBe(`127.0.0.1:${emu.port}`);
  });

  test("OpenID configuration for the tenant and for common", async () => {
    const r = await c.request("GET", `${emu.authorityHost}/${emu.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(r.status).toBe(200);
    expect(r.data.token_endpoint).toBe(`${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`);
    expect(r.data.issuer).toBe(`${emu.authorityHost}/${emu.tenantId}/v2.0`);
    expect(r.data.authorization_endpoint).toBeDefined();
    const common = await c.request("GET", `${emu.authorityHost}/common/v2.0/.well-known/openid-configuration`);
    expect(common.status).toBe(200);
    const unknown = await c.request(
      "GET",
      `${emu.authorityHost}/11111111-2222-4333-8444-555555555555/v2.0/.well-known/openid-configuration`,
    );
    expectAadsts(unknown, 400, "invalid_request", 90002);
  });
});

describe("Entra token endpoint", () => {
  test("client credentials give a Graph token with the claims the provider reads", async () => {
    const r = await c.token(c.graphScope);
    expect(r.status).toBe(200);
    expect(r.data.token_type).toBe("Bearer");
    expect(r.data.expires_in).toBe(3599);
    expect(r.data.ext_expires_in).toBeGreaterThanOrEqual(3599);
    const claims = claimsOf(r.data.access_token);
    expect(claims.aud).toBe(emu.authorityHost);
    expect(claims.oid).toBe(emu.deployer.objectId);
    expect(claims.tid).toBe(emu.tenantId);
    expect(claims.appid).toBe(emu.deployer.clientId);
    expect(claims.azp).toBe(emu.deployer.clientId);
    expect(claims.idtyp).toBe("app");
    // Graph application permissions granted to the deployer (the configured least set).
    expect(claims.roles).toEqual(["Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"]);
    expect((claims.exp as number) - (claims.iat as number)).toBeGreaterThanOrEqual(3600);
  });

  test("a Dataverse scope gives aud = environment URL (trailing slash and /.default stripped)", async () => {
    const r = await c.token(`${emu.environmentUrl}//.default`);
    expect(r.status).toBe(200);
    expect(claimsOf(r.data.access_token).aud).toBe(emu.environmentUrl);
  });

  test("unknown client: AADSTS700016", async () => {
    expectAadsts(await c.token(c.graphScope, "99999999-9999-4999-8999-999999999999", "x"), 400, "unauthorized_client", 700016);
  });

  test("wrong secret: AADSTS7000215", async () => {
    expectAadsts(await c.token(c.graphScope, emu.deployer.clientId, "not-the-secret"), 401, "invalid_client", 7000215);
  });

  test("expired secret (emulator clock moved past endDateTime): AADSTS7000222", async () => {
    const end = new Date(emu.now().getTime() + 3600_000).toISOString();
    const app = await createAppWithSecret(c, "expiring-secret-app", end);
    expect((await c.token(c.graphScope, app.appId, app.secret)).status).toBe(200);
    const set = await c.admin("POST", "clock", { offsetMs: 2 * 3600_000 });
    expect(set.status).toBe(200);
    try {
      expectAadsts(await c.token(c.graphScope, app.appId, app.secret), 401, "invalid_client", 7000222);
    } finally {
      emu.setClock(0);
    }
    expect((await c.token(c.graphScope, app.appId, app.secret)).status).toBe(200);
  });

  test("unknown tenant: AADSTS90002", async () => {
    expectAadsts(
      await c.token(c.graphScope, emu.deployer.clientId, emu.deployer.clientSecret, "00000000-1111-4222-8333-444444444444"),
      400,
      "invalid_request",
      90002,
    );
  });

  test("scope without /.default: AADSTS1002012; unknown resource: AADSTS500011", async () => {
    expectAadsts(await c.token(`${emu.authorityHost}/Application.ReadWrite.All`), 400, "invalid_scope", 1002012);
    expectAadsts(await c.token("https://elsewhere.example/.default"), 400, "invalid_resource", 500011);
  });

  test("unsupported grant type and missing client_id", async () => {
    const form = (f: Record<string, string>) =>
      c.request("POST", `${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`, new URLSearchParams(f).toString(), {
        "Content-Type": "application/x-www-form-urlencoded",
      });
    expectAadsts(
      await form({ grant_type: "password", client_id: emu.deployer.clientId, scope: c.graphScope }),
      400,
      "unsupported_grant_type",
      70003,
    );
    expectAadsts(await form({ grant_type: "client_credentials", scope: c.graphScope }), 400, "invalid_request", 900144);
  });
});

describe("@azure/identity ClientSecretCredential against the emulator", () => {
  const credential = (clientId: string, secret: string, tenant = emu.tenantId) =>
    new ClientSecretCredential(tenant, clientId, secret, { authorityHost: emu.authorityHost, disableInstanceDiscovery: true });

  test("gets a Graph token and a Dataverse token", async () => {
    const cred = credential(emu.deployer.clientId, emu.deployer.clientSecret);
    const g = await cred.getToken(c.graphScope);
    expect(claimsOf(g.token).aud).toBe(emu.authorityHost);
    expect(g.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3000_000);
    const d = await cred.getToken(c.dataverseScope);
    expect(claimsOf(d.token).aud).toBe(emu.environmentUrl);
    const who = await c.dataverse("GET", "WhoAmI", undefined, d.token);
    expect(who.status).toBe(200);
    expect(who.data.UserId).toBe(emu.deployer.systemUserId);
  });

  test("fails with AADSTS7000215 for a wrong secret and AADSTS700016 for an unknown client", async () => {
    await expect(credential(emu.deployer.clientId, "wrong").getToken(c.graphScope)).rejects.toThrow(/AADSTS7000215/);
    await expect(credential("99999999-9999-4999-8999-999999999999", "x").getToken(c.graphScope)).rejects.toThrow(/AADSTS700016/);
  });
});

describe("Graph authentication", () => {
  test("no token, a foreign token and a Dataverse token are refused with InvalidAuthenticationToken", async () => {
    const none = await c.request("GET", `${emu.graphUrl}/applications`);
    expect(none.status).toBe(401);
    expect(none.data.error.code).toBe("InvalidAuthenticationToken");
    expect(none.data.error.innerError["request-id"]).toMatch(GUID);
    const forged = await c.graph("GET", "/applications", undefined, "eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.");
    expect(forged.status).toBe(401);
    const dv = await c.graph("GET", "/applications", undefined, await c.accessToken(c.dataverseScope));
    expect(dv.status).toBe(401);
    expect(dv.data.error.message).toMatch(/audience/i);
  });
});

describe("Graph applications as the azuread provider calls them", () => {
  test("create, patch twice, read (v1.0 and beta), owners, passwords, delete, then 404", async () => {
    const owner = `${emu.graphUrl}/directoryObjects/${emu.deployer.objectId}`;
    const created = await c.graph("POST", "/applications", {
      displayName: "tf-temp-name",
      signInAudience: "AzureADMyOrg",
      requiredResourceAccess: [
        { resourceAppId: CRM_APP_ID, resourceAccess: [{ id: "78ce3f0f-a1ce-49c2-8cde-64b5c0896db4", type: "Scope" }] },
      ],
      "owners@odata.bind": [owner],
    });
    expect(created.status).toBe(201);
    const id: string = created.data.id;
    expect(id).toMatch(GUID);
    expect(created.data.appId).toMatch(GUID);
    expect(created.data.requiredResourceAccess[0].resourceAppId).toBe(CRM_APP_ID);

    // Graph refuses a property it does not declare (issue 13: no silent drop).
    expect((await c.graph("PATCH", `/applications/${id}`, { displayName: "integration-a", someFutureField: { x: 1 } })).status).toBe(400);
    expect((await c.graph("PATCH", `/applications/${id}`, { displayName: "integration-a", description: null, notes: null })).status).toBe(
      204,
    );
    expect(
      (
        await c.graph("PATCH", `/applications/${id}`, {
          displayName: "integration-a",
          web: { redirectUris: [] },
          api: { requestedAccessTokenVersion: 2 },
        })
      ).status,
    ).toBe(204);

    const got = await c.graph("GET", `/applications/${id}`);
    expect(got.status).toBe(200);
    expect(got.data.displayName).toBe("integration-a");
    expect(got.data.description).toBeNull();
    expect(got.data).not.toHaveProperty("someFutureField");
    expect(got.data.api.requestedAccessTokenVersion).toBe(2);
    expect(got.data.api.oauth2PermissionScopes).toEqual([]);
    expect(got.data.web.implicitGrantSettings).toEqual({ enableAccessTokenIssuance: false, enableIdTokenIssuance: false });

    const beta = await c.graph("GET", `/beta/applications/${id}?$select=id,samlMetadataUrl,displayName`);
    expect(beta.status).toBe(200);
    expect(beta.data.id).toBe(id);
    expect(beta.data.displayName).toBe("integration-a");
    expect("samlMetadataUrl" in beta.data).toBe(true);

    const owners = await c.graph("GET", `/applications/${id}/owners`);
    expect(owners.status).toBe(200);
    expect(owners.data.value.map((o: any) => o.id)).toEqual([emu.deployer.objectId]);
    expect(owners.data.value[0]["@odata.type"]).toBe("#microsoft.graph.servicePrincipal");

    const crmSpId = (await c.graph("GET", `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${CRM_APP_ID}'`)}`)).data.value[0].id;
    expect(
      (await c.graph("POST", `/applications/${id}/owners/$ref`, { "@odata.id": `${emu.graphUrl}/directoryObjects/${crmSpId}` })).status,
    ).toBe(204);
    const dup = await c.graph("POST", `/applications/${id}/owners/$ref`, { "@odata.id": `${emu.graphUrl}/directoryObjects/${crmSpId}` });
    expect(dup.status).toBe(400);
    expect((await c.graph("DELETE", `/applications/${id}/owners/${emu.deployer.objectId}/$ref`)).status).toBe(204);
    expect((await c.graph("GET", `/applications/${id}/owners`)).data.value.map((o: any) => o.id)).toEqual([crmSpId]);

    const before = emu.now().getTime();
    const pw = await c.graph("POST", `/applications/${id}/addPassword`, { passwordCredential: { displayName: "pulumi" } });
    expect(pw.status).toBe(200);
    expect(pw.data.keyId).toMatch(GUID);
    expect(pw.data.secretText).toHaveLength(40);
    expect(pw.data.hint).toBe(pw.data.secretText.slice(0, 3));
    expect(pw.data.displayName).toBe("pulumi");
    const years = (Date.parse(pw.data.endDateTime) - Date.parse(pw.data.startDateTime)) / (365.25 * 24 * 3600 * 1000);
    expect(years).toBeCloseTo(2, 2);
    expect(Date.parse(pw.data.startDateTime)).toBeGreaterThanOrEqual(before - 1000);
    const listed = (await c.graph("GET", `/applications/${id}`)).data.passwordCredentials;
    expect(listed).toHaveLength(1);
    expect(listed[0].keyId).toBe(pw.data.keyId);
    expect(listed[0].secretText).toBeNull();

    // The new secret works once the app has a service principal, and stops working when removed.
    expect((await c.graph("POST", "/servicePrincipals", { appId: created.data.appId })).status).toBe(201);
    expect((await c.token(c.graphScope, created.data.appId, pw.data.secretText)).status).toBe(200);
    expect((await c.graph("POST", `/applications/${id}/removePassword`, { keyId: pw.data.keyId })).status).toBe(204);
    expect((await c.graph("GET", `/applications/${id}`)).data.passwordCredentials).toEqual([]);
    expect((await c.token(c.graphScope, created.data.appId, pw.data.secretText)).status).toBe(401);
    expect((await c.graph("POST", `/applications/${id}/removePassword`, { keyId: pw.data.keyId })).status).toBe(404);

    expect((await c.graph("DELETE", `/applications/${id}`)).status).toBe(204);
    for (let i = 0; i < 5; i++) {
      const gone = await c.graph("GET", `/applications/${id}`);
      expect(gone.status).toBe(404);
      expect(gone.data.error.code).toBe("Request_ResourceNotFound");
    }
    // Its service principal went with it.
    const sps = await c.graph("GET", `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${created.data.appId}'`)}`);
    expect(sps.data.value).toEqual([]);
    // And the deleted item is visible in the directory's deleted items.
    expect((await c.graph("GET", `/directory/deletedItems/${id}`)).status).toBe(200);
  });

  test("find by appId: $filter and the (appId='...') key", async () => {
    const created = await c.graph("POST", "/applications", { displayName: "find-me" });
    const appId: string = created.data.appId;
    const byFilter = await c.graph("GET", `/applications?$filter=${encodeURIComponent(`appId eq '${appId.toUpperCase()}'`)}`);
    expect(byFilter.status).toBe(200);
    expect(byFilter.data["@odata.context"]).toContain("$metadata#applications");
    expect(byFilter.data.value.map((a: any) => a.id)).toEqual([created.data.id]);
    const byKey = await c.graph("GET", `/applications(appId='${appId}')`);
    expect(byKey.status).toBe(200);
    expect(byKey.data.id).toBe(created.data.id);
    expect((await c.graph("GET", `/applications(appId='00000000-0000-4000-8000-000000000000')`)).status).toBe(404);
    const bad = await c.graph("GET", `/applications?$filter=${encodeURIComponent("appId in ('x')")}`);
    expect(bad.status).toBe(400);
    expect(bad.data.error.code).toBe("Request_UnsupportedQuery");
  });

  test("create without displayName is a 400 with a Graph error body", async () => {
    const r = await c.graph("POST", "/applications", { signInAudience: "AzureADMyOrg" });
    expect(r.status).toBe(400);
    expect(r.data.error.code).toBe("Request_BadRequest");
  });
});

describe("Graph service principals", () => {
  test("empty list first, create copies from the application, duplicate 409, patch, owners, beta read, delete", async () => {
    const app = await c.graph("POST", "/applications", {
      displayName: "sp-owner-app",
      api: {
        oauth2PermissionScopes: [
          {
            id: "0b0b0b0b-1111-4222-8333-444455556666",
            value: "read",
            type: "User",
            isEnabled: true,
            adminConsentDisplayName: "Read",
            adminConsentDescription: "Read",
          },
        ],
      },
      appRoles: [
        {
          id: "0c0c0c0c-1111-4222-8333-444455556666",
          value: "Task.Run",
          allowedMemberTypes: ["Application"],
          displayName: "Run",
          description: "Run",
          isEnabled: true,
        },
      ],
    });
    const appId: string = app.data.appId;
    const filter = `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${appId}'`)}`;
    expect((await c.graph("GET", filter)).data.value).toEqual([]);

    const sp = await c.graph("POST", "/servicePrincipals", {
      appId,
      "owners@odata.bind": [`${emu.graphUrl}/directoryObjects/${emu.deployer.objectId}`],
    });
    expect(sp.status).toBe(201);
    expect(sp.data.id).toMatch(GUID);
    expect(sp.data.displayName).toBe("sp-owner-app");
    expect(sp.data.appDisplayName).toBe("sp-owner-app");
    expect(sp.data.oauth2PermissionScopes.map((s: any) => s.value)).toEqual(["read"]);
    expect(sp.data.appRoles.map((s: any) => s.value)).toEqual(["Task.Run"]);
    expect(sp.data.servicePrincipalNames).toContain(appId);

    const again = await c.graph("POST", "/servicePrincipals", { appId });
    expect(again.status).toBe(409);
    const none = await c.graph("POST", "/servicePrincipals", { appId: "12345678-1234-4234-8234-123456789012" });
    expect(none.status).toBe(400);
    expect(none.data.error.message).toMatch(/does not reference a valid application object/);

    const listed = await c.graph("GET", filter);
    expect(listed.data.value.map((s: any) => s.id)).toEqual([sp.data.id]);
    expect((await c.graph("PATCH", `/servicePrincipals/${sp.data.id}`, { description: "managed by pulumi", notes: null })).status).toBe(
      204,
    );
    const got = await c.graph("GET", `/servicePrincipals/${sp.data.id}`);
    expect(got.data.description).toBe("managed by pulumi");
    const beta = await c.graph("GET", `/beta/servicePrincipals/${sp.data.id}?$select=samlMetadataUrl`);
    expect(beta.status).toBe(200);
    expect(beta.data.samlMetadataUrl).toBeNull();
    expect((await c.graph("GET", `/servicePrincipals/${sp.data.id}/owners`)).data.value.map((o: any) => o.id)).toEqual([
      emu.deployer.objectId,
    ]);
    expect((await c.graph("DELETE", `/servicePrincipals/${sp.data.id}/owners/${emu.deployer.objectId}/$ref`)).status).toBe(204);
    expect((await c.graph("GET", `/servicePrincipals(appId='${appId}')`)).data.id).toBe(sp.data.id);

    expect((await c.graph("DELETE", `/servicePrincipals/${sp.data.id}`)).status).toBe(204);
    expect((await c.graph("GET", `/servicePrincipals/${sp.data.id}`)).status).toBe(404);
    expect((await c.graph("GET", filter)).data.value).toEqual([]);
  });

  test("getServicePrincipal(clientId = Dynamics CRM): user_impersonation scope, appId matched case-insensitively", async () => {
    const r = await c.graph("GET", `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${CRM_APP_ID.toUpperCase()}'`)}`);
    expect(r.status).toBe(200);
    expect(r.data.value).toHaveLength(1);
    const sp = r.data.value[0];
    expect(sp.displayName).toBe("Dynamics CRM");
    const scope = sp.oauth2PermissionScopes.find((s: any) => s.value === "user_impersonation");
    expect(scope).toMatchObject({ id: "78ce3f0f-a1ce-49c2-8cde-64b5c0896db4", type: "User", isEnabled: true });
    expect(scope.adminConsentDisplayName).toBeTruthy();
  });
});

describe("Graph oauth2PermissionGrants (admin consent)", () => {
  test("create, get, list by clientId, patch scope, duplicate 409, delete; deleting the app removes them", async () => {
    const crmSpId = (await c.graph("GET", `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${CRM_APP_ID}'`)}`)).data.value[0].id;
    const app = await createAppWithSecret(c, "consent-app");
    const body = { clientId: app.spId, resourceId: crmSpId, scope: "user_impersonation", consentType: "AllPrincipals" };
    const g = await c.graph("POST", "/oauth2PermissionGrants", body);
    expect(g.status).toBe(201);
    expect(g.data).toMatchObject({ ...body, principalId: null });
    const id: string = g.data.id;
    expect((await c.graph("GET", `/oauth2PermissionGrants/${id}`)).data.scope).toBe("user_impersonation");
    const list = await c.graph("GET", `/oauth2PermissionGrants?$filter=${encodeURIComponent(`clientId eq '${app.spId}'`)}`);
    expect(list.data.value.map((x: any) => x.id)).toEqual([id]);
    expect((await c.graph("POST", "/oauth2PermissionGrants", body)).status).toBe(409);
    expect((await c.graph("PATCH", `/oauth2PermissionGrants/${id}`, { scope: "user_impersonation other" })).status).toBe(204);
    expect((await c.graph("GET", `/oauth2PermissionGrants/${id}`)).data.scope).toBe("user_impersonation other");
    expect((await c.graph("DELETE", `/oauth2PermissionGrants/${id}`)).status).toBe(204);
    expect((await c.graph("GET", `/oauth2PermissionGrants/${id}`)).status).toBe(404);

    const g2 = await c.graph("POST", "/oauth2PermissionGrants", body);
    expect(g2.status).toBe(201);
    expect((await c.graph("DELETE", `/applications/${app.id}`)).status).toBe(204);
    expect((await c.graph("GET", `/oauth2PermissionGrants/${g2.data.id}`)).status).toBe(404);
    const bad = await c.graph("POST", "/oauth2PermissionGrants", { ...body, clientId: "12345678-1234-4234-8234-123456789012" });
    expect(bad.status).toBe(400);
  });
});

describe("Observability", () => {
  test("request lines never contain a secret", async () => {
    const app = await createAppWithSecret(c, "log-check-app");
    await c.token(c.graphScope, app.appId, app.secret);
    await c.request("GET", `${emu.url}/metadata/endpoints?client_secret=${encodeURIComponent(emu.deployer.clientSecret)}`);
    const all = lines.join("\n");
    expect(lines.length).toBeGreaterThan(10);
    expect(all).not.toContain(emu.deployer.clientSecret);
    expect(all).not.toContain(app.secret);
    expect(all).toContain("client_secret=***");
    expect(all).toMatch(/graph POST \/v1\.0\/applications\/[0-9a-f-]{36}\/addPassword 200 \d+ms/);
  });
});
