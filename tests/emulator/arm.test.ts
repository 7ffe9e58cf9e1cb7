// Guards the Azure side of the emulator (issue 24): Azure Resource Manager with its api-version,
// authentication, RBAC and not-found rules; Key Vault vaults and secrets on the management plane and
// the data plane; user-assigned managed identities with their service principals and federated
// credentials; role assignments; the App Service managed identity endpoint as @azure/identity's
// ManagedIdentityCredential uses it; the state file. Each expected code is Azure's own (the sources
// are named where the emulator implements the rule: emulator/arm/*.ts and emulator/README.md "ARM").
import { ClientSecretCredential, ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEEDED_IDS, startEmulator, type RunningEmulator } from "../../emulator";
import { createAppWithSecret, emulatorClient, entityId, type Answer, type EmulatorClient } from "../../emulator/testkit";

const KV = "api-version=2024-11-01";
const MI = "api-version=2023-01-31";
const RA = "api-version=2022-04-01";
const DATA = "api-version=7.5";
const ROLE = {
  owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  secretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
  secretsOfficer: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
};

let emu: RunningEmulator;
let c: EmulatorClient;
let seq = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  c = emulatorClient(emu);
});

afterAll(async () => {
  await emu?.stop();
});

const sub = () => `/subscriptions/${emu.azure.subscriptionId}`;
const group = () => `${sub()}/resourceGroups/${emu.azure.resourceGroup}`;
const vaultPath = (name = emu.azure.vaultName) => `${group()}/providers/Microsoft.KeyVault/vaults/${name}`;
const identityPath = (name: string) => `${group()}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

function expectArmError(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.data?.error?.code }).toEqual({ status, code });
  expect(typeof answer.data.error.message).toBe("string");
}

async function createIdentity(name = unique("mi")): Promise<{ id: string; clientId: string; principalId: string; name: string }> {
  const r = await c.arm("PUT", `${identityPath(name)}?${MI}`, { location: "westeurope" });
  expect(r.status).toBe(201);
  return { id: r.data.id, clientId: r.data.properties.clientId, principalId: r.data.properties.principalId, name };
}

async function assignRole(scope: string, roleId: string, principalId: string): Promise<Answer> {
  return c.arm("PUT", `${scope}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?${RA}`, {
    properties: {
      roleDefinitionId: `${sub()}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`,
      principalId,
      principalType: "ServicePrincipal",
    },
  });
}

describe("the cloud's metadata points ARM at the emulator", () => {
  test("resourceManager is the emulator, audiences are ARM's ids, Graph and login unchanged", async () => {
    const r = await c.request("GET", `${emu.url}/metadata/endpoints?api-version=2022-09-01`);
    expect(r.status).toBe(200);
    expect(r.data.resourceManager).toBe(`${emu.resourceManagerUrl}/`);
    expect(r.data.authentication.audiences).toEqual(["https://management.core.windows.net/", "https://management.azure.com/"]);
    expect(r.data.authentication.loginEndpoint).toBe(emu.authorityHost);
    expect(r.data.microsoftGraphResourceId).toBe(`${emu.authorityHost}/`);
  });

  test("tokens for ARM and Key Vault carry Azure's resource ids as audience", async () => {
    const audience = async (scope: string) =>
      JSON.parse(Buffer.from((await c.accessToken(scope)).split(".")[1], "base64url").toString()).aud as string;
    expect(await audience("https://management.azure.com/.default")).toBe("https://management.azure.com/");
    expect(await audience("https://management.core.windows.net//.default")).toBe("https://management.core.windows.net/");
    expect(await audience("https://vault.azure.net/.default")).toBe("https://vault.azure.net");
  });
});

describe("ARM's request rules", () => {
  // V: learn.microsoft.com/azure/azure-resource-manager/troubleshooting/ common-deployment-errors, error-register-resource-provider, error-not-found, error-parent-resource
  test("api-version: missing, malformed, not the provider's, not ARM's own", async () => {
    expectArmError(await c.arm("GET", vaultPath()), 400, "MissingApiVersionParameter");
    expectArmError(await c.arm("GET", `${vaultPath()}?api-version=latest`), 400, "InvalidApiVersionParameter");
    const unregistered = await c.arm("GET", `${vaultPath()}?api-version=2015-06-01`);
    expectArmError(unregistered, 400, "NoRegisteredProviderFound");
    expect(unregistered.data.error.message).toContain("2024-11-01");
    expectArmError(await c.arm("GET", `${group()}?api-version=2099-01-01`), 400, "InvalidApiVersionParameter");
    expect((await c.arm("GET", `${group()}?api-version=2024-03-01`)).status).toBe(200);
  });

  test("authentication: no token, a token for another audience, a forged token", async () => {
    const none = await c.request("GET", `${emu.resourceManagerUrl}${vaultPath()}?${KV}`);
    expectArmError(none, 401, "AuthenticationFailed");
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer authorization_uri=/);
    expectArmError(
      await c.arm("GET", `${vaultPath()}?${KV}`, undefined, await c.accessToken(c.graphScope)),
      401,
      "InvalidAuthenticationTokenAudience",
    );
    const token = await c.accessToken(c.armScope);
    const forged = `${token.split(".").slice(0, 2).join(".")}.${Buffer.from("forged").toString("base64url")}`;
    expectArmError(await c.arm("GET", `${vaultPath()}?${KV}`, undefined, forged), 401, "InvalidAuthenticationToken");
  });

  test("not found: subscription, resource group, resource, parent resource, namespace and type", async () => {
    expectArmError(
      await c.arm("GET", `/subscriptions/${crypto.randomUUID()}/resourceGroups/x/providers/Microsoft.KeyVault/vaults/v?${KV}`),
      404,
      "SubscriptionNotFound",
    );
    expectArmError(
      await c.arm("GET", `${sub()}/resourceGroups/nope/providers/Microsoft.KeyVault/vaults/v?${KV}`),
      404,
      "ResourceGroupNotFound",
    );
    expectArmError(await c.arm("GET", `${vaultPath("absent-vault")}?${KV}`), 404, "ResourceNotFound");
    expectArmError(
      await c.arm("PUT", `${vaultPath("absent-vault")}/secrets/s?${KV}`, { properties: { value: "v" } }),
      404,
      "ParentResourceNotFound",
    );
    expectArmError(await c.arm("GET", `${group()}/providers/Microsoft.Nope/things/x?${KV}`), 400, "InvalidResourceNamespace");
    expectArmError(await c.arm("GET", `${group()}/providers/Microsoft.KeyVault/managedHSMs/x?${KV}`), 400, "InvalidResourceType");
  });

  test("the seeded subscription, resource group and vault; the deployer's role assignments", async () => {
    const subscription = await c.arm("GET", `${sub()}?api-version=2022-12-01`);
    expect(subscription.status).toBe(200);
    expect(subscription.data).toMatchObject({ subscriptionId: emu.azure.subscriptionId, tenantId: emu.tenantId, state: "Enabled" });
    const list = await c.arm("GET", "/subscriptions?api-version=2022-12-01");
    expect(list.data.value.map((s: any) => s.subscriptionId)).toEqual([emu.azure.subscriptionId]);
    const vault = await c.arm("GET", `${vaultPath()}?${KV}`);
    expect(vault.status).toBe(200);
    expect(vault.data).toMatchObject({ id: emu.azure.vaultId, type: "Microsoft.KeyVault/vaults", location: "westeurope" });
    expect(vault.data.properties).toMatchObject({ vaultUri: emu.azure.vaultUri, enableRbacAuthorization: true, tenantId: emu.tenantId });
    const assignments = await c.arm(
      "GET",
      `${vaultPath()}/providers/Microsoft.Authorization/roleAssignments?${RA}&$filter=${encodeURIComponent(`principalId eq '${emu.deployer.objectId}'`)}`,
    );
    expect(assignments.status).toBe(200);
    const roles = assignments.data.value.map((a: any) => a.properties.roleDefinitionId.split("/").pop()).sort();
    expect(roles).toEqual([ROLE.secretsOfficer, ROLE.owner].sort());
  });
});

describe("Key Vault secrets, management plane and data plane", () => {
  test("PUT with value and exp, GET without the value, a second PUT is a new version, ARM DELETE is disallowed", async () => {
    const name = unique("client-secret");
    const exp = Math.floor(Date.now() / 1000) + 86400 * 30;
    const created = await c.arm("PUT", `${vaultPath()}/secrets/${name}?${KV}`, {
      properties: { value: "first-value", contentType: "text/plain", attributes: { exp } },
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ name, type: "Microsoft.KeyVault/vaults/secrets" });
    expect(created.data.properties.value).toBeUndefined();
    expect(created.data.properties.attributes).toMatchObject({ enabled: true, exp });
    expect(created.data.properties.secretUri).toBe(`${emu.azure.vaultUri}secrets/${name}`);
    const read = await c.arm("GET", `${vaultPath()}/secrets/${name}?${KV}`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.data)).not.toContain("first-value");
    const updated = await c.arm("PUT", `${vaultPath()}/secrets/${name}?${KV}`, {
      properties: { value: "second-value", attributes: { exp } },
    });
    expect(updated.status).toBe(200);
    expect(updated.data.properties.secretUriWithVersion).not.toBe(created.data.properties.secretUriWithVersion);
    // V: secrets.json has no DELETE; ARM answers as reported in Azure/terraform-provider-azapi#879.
    expectArmError(await c.arm("DELETE", `${vaultPath()}/secrets/${name}?${KV}`), 400, "DisallowedResourceOperation");
    expectArmError(await c.arm("GET", `${vaultPath()}/secrets/${unique("absent")}?${KV}`), 404, "ResourceNotFound");

    // The data plane, as a connector reads the exported value: the current version, with exp.
    const data = await c.keyVault("GET", `${emu.azure.vaultUri}secrets/${name}?${DATA}`);
    expect(data.status).toBe(200);
    expect(data.data).toMatchObject({ value: "second-value", attributes: { enabled: true, exp } });
    expect(data.data.id).toBe(updated.data.properties.secretUriWithVersion);
    const older = await c.keyVault("GET", `${created.data.properties.secretUriWithVersion}?${DATA}`);
    expect(older.data.value).toBe("first-value");
  });

  test("data plane: the challenge, api-version, not found, an expired secret still reads", async () => {
    const url = `${emu.azure.vaultUri}secrets/${unique("nothing")}`;
    const challenge = await c.request("GET", `${url}?${DATA}`);
    expect(challenge.status).toBe(401);
    expect(challenge.data.error.code).toBe("Unauthorized");
    expect(challenge.headers["www-authenticate"]).toBe(
      `Bearer authorization="${emu.authorityHost}/${emu.tenantId}", resource="https://vault.azure.net"`,
    );
    expect((await c.keyVault("GET", url)).data.error.code).toBe("BadParameter");
    const unknownVersion = await c.keyVault("GET", `${url}?api-version=2016-10-02`);
    expect(unknownVersion.data.error).toMatchObject({ code: "BadParameter", message: expect.stringContaining("is not recognized") });
    expect((await c.keyVault("GET", `${url}?${DATA}`, undefined, await c.accessToken(c.armScope))).status).toBe(401);
    const missing = await c.keyVault("GET", `${url}?${DATA}`);
    expect({ status: missing.status, code: missing.data.error.code }).toEqual({ status: 404, code: "SecretNotFound" });

    // V: about-secrets, "Retrieving (getting) an expired secret, can be used for recovery operations."
    const name = unique("expired");
    const past = Math.floor(Date.now() / 1000) - 60;
    await c.arm("PUT", `${vaultPath()}/secrets/${name}?${KV}`, { properties: { value: "old", attributes: { exp: past } } });
    const expired = await c.keyVault("GET", `${emu.azure.vaultUri}secrets/${name}?api-version=7.4`);
    expect(expired.status).toBe(200);
    expect(expired.data.attributes.exp).toBe(past);
    await c.arm("PUT", `${vaultPath()}/secrets/${name}?${KV}`, { properties: { attributes: { enabled: false } } });
    const disabled = await c.keyVault("GET", `${emu.azure.vaultUri}secrets/${name}?${DATA}`);
    expect({ status: disabled.status, inner: disabled.data.error.innererror.code }).toEqual({ status: 403, inner: "SecretDisabled" });
  });

  test("delete is a soft delete: the name is taken until purged (what azure-native's Secret delete meets)", async () => {
    const name = unique("soft");
    await c.arm("PUT", `${vaultPath()}/secrets/${name}?${KV}`, { properties: { value: "v1" } });
    const deleted = await c.keyVault("DELETE", `${emu.azure.vaultUri}secrets/${name}?${DATA}`);
    expect(deleted.status).toBe(200);
    expect(deleted.data).toMatchObject({ recoveryId: `${emu.azure.vaultUri}deletedsecrets/${name}` });
    expect(deleted.data.value).toBeUndefined();
    expect((await c.keyVault("GET", `${emu.azure.vaultUri}secrets/${name}?${DATA}`)).status).toBe(404);
    expectArmError(await c.arm("GET", `${vaultPath()}/secrets/${name}?${KV}`), 404, "ResourceNotFound");
    expectArmError(await c.arm("PUT", `${vaultPath()}/secrets/${name}?${KV}`, { properties: { value: "v2" } }), 409, "Conflict");
    expect((await c.keyVault("GET", `${emu.azure.vaultUri}deletedsecrets/${name}?${DATA}`)).status).toBe(200);
    expect((await c.keyVault("DELETE", `${emu.azure.vaultUri}deletedsecrets/${name}?${DATA}`)).status).toBe(204);
    expect((await c.arm("PUT", `${vaultPath()}/secrets/${name}?${KV}`, { properties: { value: "v2" } })).status).toBe(201);
  });

  test("@azure/keyvault-secrets against a vault URI: set, get, list, delete (soft), purge", async () => {
    const credential = new ClientSecretCredential(emu.tenantId, emu.deployer.clientId, emu.deployer.clientSecret, {
      authorityHost: emu.authorityHost,
      disableInstanceDiscovery: true,
    });
    // Offline the vault's host is 127.0.0.1, not *.vault.azure.net: the SDK's check of the challenge's resource is off.
    const client = new SecretClient(emu.azure.vaultUri, credential, { disableChallengeResourceVerification: true });
    const name = unique("sdk");
    const expiresOn = new Date(Math.floor(Date.now() / 1000 + 3600) * 1000);
    const set = await client.setSecret(name, "through-the-sdk", { expiresOn, contentType: "text/plain" });
    expect(set.properties.vaultUrl).toBe(emu.azure.vaultUri.replace(/\/$/, ""));
    const got = await client.getSecret(name);
    expect({ value: got.value, expiresOn: got.properties.expiresOn }).toEqual({ value: "through-the-sdk", expiresOn });
    const names: string[] = [];
    for await (const properties of client.listPropertiesOfSecrets()) names.push(properties.name);
    expect(names).toContain(name);
    const arm = await c.arm("GET", `${vaultPath()}/secrets/${name}?${KV}`);
    expect(arm.data.properties.attributes.exp).toBe(expiresOn.getTime() / 1000);
    await (await client.beginDeleteSecret(name)).pollUntilDone();
    await client.purgeDeletedSecret(name);
    await expect(client.getSecret(name)).rejects.toMatchObject({ statusCode: 404, code: "SecretNotFound" });
  });

  test("a vault is creatable; names are checked and global", async () => {
    const name = `kv${Date.now().toString(36)}`;
    const body = {
      location: "westeurope",
      properties: { tenantId: emu.tenantId, sku: { family: "A", name: "standard" }, enableRbacAuthorization: true },
    };
    const created = await c.arm("PUT", `${vaultPath(name)}?${KV}`, body);
    expect(created.status).toBe(201);
    // A vault is a host in Azure: offline it has a port of its own, and its URI is that origin.
    expect(created.data.properties.vaultUri).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(created.data.properties.vaultUri).not.toBe(emu.azure.vaultUri);
    expect(created.data.properties.vaultUri).toBe(emu.vaultUri(name));
    await c.arm("PUT", `${vaultPath(name)}/secrets/on-its-own-port?${KV}`, { properties: { value: "here" } });
    const secretUrl = `${created.data.properties.vaultUri}secrets/on-its-own-port?${DATA}`;
    // Owner manages the vault but has no data action: reading needs a Key Vault role, as in Azure.
    expect((await c.keyVault("GET", secretUrl)).data.error.innererror.code).toBe("ForbiddenByRbac");
    expect((await assignRole(created.data.id, ROLE.secretsOfficer, emu.deployer.objectId)).status).toBe(201);
    expect((await c.keyVault("GET", secretUrl)).data.value).toBe("here");
    expect((await c.arm("PUT", `${vaultPath(name)}?${KV}`, body)).status).toBe(200);
    expectArmError(await c.arm("PUT", `${vaultPath("a--b")}?${KV}`, body), 400, "VaultNameNotValid");
    expectArmError(await c.arm("PUT", `${vaultPath(`${name}x`)}?${KV}`, { properties: body.properties }), 400, "LocationRequired");
    const otherGroup = `${sub()}/resourceGroups/${unique("rg")}`;
    expect((await c.arm("PUT", `${otherGroup}?api-version=2024-03-01`, { location: "westeurope" })).status).toBe(201);
    expectArmError(await c.arm("PUT", `${otherGroup}/providers/Microsoft.KeyVault/vaults/${name}?${KV}`, body), 409, "VaultAlreadyExists");
    expect((await c.arm("DELETE", `${vaultPath(name)}?${KV}`)).status).toBe(200);
    expect((await c.arm("DELETE", `${vaultPath(name)}?${KV}`)).status).toBe(204);
  });
});

describe("RBAC: role assignments decide", () => {
  test("an app without roles: AuthorizationFailed on ARM, ForbiddenByRbac on the data plane; Key Vault Secrets User lets it read", async () => {
    const app = await createAppWithSecret(c, unique("reader"));
    const armToken = await c.accessToken(c.armScope, app.appId, app.secret);
    const denied = await c.arm("GET", `${vaultPath()}?${KV}`, undefined, armToken);
    expectArmError(denied, 403, "AuthorizationFailed");
    expect(denied.data.error.message).toContain(`'Microsoft.KeyVault/vaults/read' over scope '${emu.azure.vaultId}'`);

    const name = unique("shared");
    await c.arm("PUT", `${vaultPath()}/secrets/${name}?${KV}`, { properties: { value: "for-the-connector" } });
    const kvToken = await c.accessToken(c.keyVaultScope, app.appId, app.secret);
    const forbidden = await c.keyVault("GET", `${emu.azure.vaultUri}secrets/${name}?${DATA}`, undefined, kvToken);
    expect({ status: forbidden.status, code: forbidden.data.error.code, inner: forbidden.data.error.innererror.code }).toEqual({
      status: 403,
      code: "Forbidden",
      inner: "ForbiddenByRbac",
    });

    const assigned = await assignRole(emu.azure.vaultId, ROLE.secretsUser, app.spId);
    expect(assigned.status).toBe(201);
    expect(assigned.data.properties).toMatchObject({ principalId: app.spId, scope: emu.azure.vaultId, principalType: "ServicePrincipal" });
    const read = await c.keyVault("GET", `${emu.azure.vaultUri}secrets/${name}?${DATA}`, undefined, kvToken);
    expect(read.data.value).toBe("for-the-connector");
    // Secrets User reads, it does not write; and it is no management role.
    const write = await c.keyVault("PUT", `${emu.azure.vaultUri}secrets/${name}?${DATA}`, { value: "x" }, kvToken);
    expect(write.status).toBe(403);
    expectArmError(await c.arm("GET", `${vaultPath()}/secrets/${name}?${KV}`, undefined, armToken), 403, "AuthorizationFailed");

    expect((await c.arm("DELETE", `${assigned.data.id}?${RA}`)).status).toBe(200);
    expect((await c.keyVault("GET", `${emu.azure.vaultUri}secrets/${name}?${DATA}`, undefined, kvToken)).status).toBe(403);
  });

  // V: learn.microsoft.com/azure/role-based-access-control/troubleshooting
  test("role assignment rules: GUID names, known roles, known principals, no duplicates, no updates", async () => {
    const app = await createAppWithSecret(c, unique("assignee"));
    const at = (name: string) => `${emu.azure.vaultId}/providers/Microsoft.Authorization/roleAssignments/${name}?${RA}`;
    const body = (roleId: string, principalId: string, principalType?: string) => ({
      properties: {
        roleDefinitionId: `${sub()}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`,
        principalId,
        ...(principalType ? { principalType } : {}),
      },
    });
    expectArmError(await c.arm("PUT", at("not-a-guid"), body(ROLE.secretsUser, app.spId)), 400, "InvalidRoleAssignmentId");
    expectArmError(await c.arm("PUT", at(crypto.randomUUID()), body(crypto.randomUUID(), app.spId)), 400, "RoleDefinitionDoesNotExist");
    expectArmError(await c.arm("PUT", at(crypto.randomUUID()), body(ROLE.secretsUser, crypto.randomUUID())), 400, "PrincipalNotFound");
    const name = crypto.randomUUID();
    expect((await c.arm("PUT", at(name), body(ROLE.secretsUser, app.spId))).status).toBe(201);
    expect((await c.arm("PUT", at(name), body(ROLE.secretsUser, app.spId))).status).toBe(200);
    expectArmError(await c.arm("PUT", at(name), body(ROLE.secretsOfficer, app.spId)), 409, "RoleAssignmentUpdateNotPermitted");
    expectArmError(await c.arm("PUT", at(crypto.randomUUID()), body(ROLE.secretsUser, app.spId)), 409, "RoleAssignmentExists");
    const definition = await c.arm(
      "GET",
      `${sub()}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-05-01-preview&$filter=${encodeURIComponent("roleName eq 'Key Vault Secrets User'")}`,
    );
    expect(definition.data.value.map((d: any) => d.name)).toEqual([ROLE.secretsUser]);

    // Writing role assignments needs Microsoft.Authorization/roleAssignments/write (Owner has it, the app does not).
    const token = await c.accessToken(c.armScope, app.appId, app.secret);
    expectArmError(await c.arm("PUT", at(crypto.randomUUID()), body(ROLE.owner, app.spId), token), 403, "AuthorizationFailed");
  });
});

describe("user-assigned managed identities", () => {
  test("PUT makes the identity and its service principal in Graph; federated credentials; DELETE removes both", async () => {
    const identity = await createIdentity();
    const got = await c.arm("GET", `${identity.id}?${MI}`);
    expect(got.data).toMatchObject({
      name: identity.name,
      type: "Microsoft.ManagedIdentity/userAssignedIdentities",
      location: "westeurope",
    });
    expect(got.data.properties).toMatchObject({ tenantId: emu.tenantId, clientId: identity.clientId, principalId: identity.principalId });

    const sps = await c.graph("GET", `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${identity.clientId}'`)}`);
    expect(sps.data.value).toHaveLength(1);
    expect(sps.data.value[0]).toMatchObject({
      id: identity.principalId,
      appId: identity.clientId,
      servicePrincipalType: "ManagedIdentity",
      displayName: identity.name,
    });

    const fic = `${identity.id}/federatedIdentityCredentials/github-main?${MI}`;
    const properties = {
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:contoso/app:ref:refs/heads/main",
      audiences: ["api://AzureADTokenExchange"],
    };
    const created = await c.arm("PUT", fic, { properties });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({
      name: "github-main",
      type: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
      properties,
    });
    expect((await c.arm("PUT", fic, { properties })).status).toBe(200);
    expectArmError(
      await c.arm("PUT", `${identity.id}/federatedIdentityCredentials/two?${MI}`, { properties: { ...properties, audiences: ["a", "b"] } }),
      400,
      "BadRequest",
    );
    expectArmError(await c.arm("PUT", `${identity.id}/federatedIdentityCredentials/copy?${MI}`, { properties }), 409, "Conflict");
    expect((await c.arm("GET", `${identity.id}/federatedIdentityCredentials?${MI}`)).data.value).toHaveLength(1);
    expectArmError(
      await c.arm("PUT", `${identityPath("absent-identity")}/federatedIdentityCredentials/x?${MI}`, { properties }),
      404,
      "ParentResourceNotFound",
    );
    expect((await c.arm("DELETE", fic)).status).toBe(200);
    expect((await c.arm("DELETE", fic)).status).toBe(204);

    expect((await c.arm("DELETE", `${identity.id}?${MI}`)).status).toBe(200);
    expectArmError(await c.arm("GET", `${identity.id}?${MI}`), 404, "ResourceNotFound");
    expect((await c.graph("GET", `/servicePrincipals/${identity.principalId}`)).status).toBe(404);
  });

  test("workload identity federation to the identity: a federated assertion gets a token as the identity", async () => {
    const identity = await createIdentity();
    const { token: assertion, issuer } = emu.federatedToken("system:serviceaccount:etl:runner");
    const asIdentity = (clientAssertion: string) =>
      c.request(
        "POST",
        `${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`,
        new URLSearchParams({
          grant_type: "client_credentials",
          client_id: identity.clientId,
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          client_assertion: clientAssertion,
          scope: "https://vault.azure.net/.default",
        }).toString(),
        { "Content-Type": "application/x-www-form-urlencoded" },
      );
    expect((await asIdentity(assertion)).data.error_codes).toEqual([700211]);
    const properties = { issuer, subject: "system:serviceaccount:etl:runner", audiences: ["api://AzureADTokenExchange"] };
    expect((await c.arm("PUT", `${identity.id}/federatedIdentityCredentials/etl?${MI}`, { properties })).status).toBe(201);
    const granted = await asIdentity(assertion);
    expect(granted.status).toBe(200);
    const claims = JSON.parse(Buffer.from(granted.data.access_token.split(".")[1], "base64url").toString());
    expect(claims).toMatchObject({
      aud: "https://vault.azure.net",
      appid: identity.clientId,
      oid: identity.principalId,
      xms_mirid: identity.id,
    });
    const secret = await c.token(c.keyVaultScope, identity.clientId, "not-a-secret");
    expect(secret.status).toBe(401);
  });

  test("the location is required; an unsupported api-version is refused", async () => {
    expectArmError(await c.arm("PUT", `${identityPath(unique("mi"))}?${MI}`, {}), 400, "LocationRequired");
    expectArmError(await c.arm("PUT", `${identityPath(unique("mi"))}?${KV}`, { location: "westeurope" }), 400, "NoRegisteredProviderFound");
  });
});

describe("the managed identity endpoint (App Service protocol)", () => {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [name, value] of Object.entries(emu.managedIdentity.env)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  test("raw: the header, the api-version, the identity and the answer's fields", async () => {
    const identity = await createIdentity();
    const url = (query: string) => `${emu.managedIdentity.endpoint}?${query}`;
    const header = { "X-IDENTITY-HEADER": emu.managedIdentity.header };
    const ok = await c.request(
      "GET",
      url(`api-version=2019-08-01&resource=https://vault.azure.net&client_id=${identity.clientId}`),
      undefined,
      header,
    );
    expect(ok.status).toBe(200);
    expect(ok.data).toMatchObject({ resource: "https://vault.azure.net", token_type: "Bearer", client_id: identity.clientId });
    expect(ok.data.expires_on).toMatch(/^\d+$/);
    const claims = JSON.parse(Buffer.from(ok.data.access_token.split(".")[1], "base64url").toString());
    expect(claims).toMatchObject({
      aud: "https://vault.azure.net",
      appid: identity.clientId,
      oid: identity.principalId,
      tid: emu.tenantId,
      xms_mirid: identity.id,
    });
    const byResourceId = await c.request(
      "GET",
      url(`api-version=2019-08-01&resource=https://management.azure.com/&mi_res_id=${encodeURIComponent(identity.id)}`),
      undefined,
      header,
    );
    expect(byResourceId.status).toBe(200);
    expect(
      (await c.request("GET", url(`api-version=2019-08-01&resource=https://vault.azure.net&client_id=${identity.clientId}`))).status,
    ).toBe(401);
    expect(
      (
        await c.request(
          "GET",
          url(`api-version=2017-09-01&resource=https://vault.azure.net&client_id=${identity.clientId}`),
          undefined,
          header,
        )
      ).status,
    ).toBe(400);
    const unknown = await c.request(
      "GET",
      url(`api-version=2019-08-01&resource=https://vault.azure.net&client_id=${crypto.randomUUID()}`),
      undefined,
      header,
    );
    expect(unknown.data).toMatchObject({ statusCode: 400, message: "Unable to load the proper Managed Identity." });
    const system = await c.request("GET", url("api-version=2019-08-01&resource=https://vault.azure.net"), undefined, header);
    expect(system.status).toBe(400);
  });

  test("ManagedIdentityCredential gets a Dataverse token; WhoAmI answers once the application user exists; Key Vault with a role", async () => {
    const identity = await createIdentity();
    const credential = new ManagedIdentityCredential({ clientId: identity.clientId });
    const dataverseToken = (await credential.getToken(`${emu.environmentUrl}/.default`)).token;
    expect((await c.dataverse("GET", "WhoAmI", undefined, dataverseToken)).data.error.code).toBe("0x80072560");

    const created = await c.dataverse("POST", "systemusers", {
      applicationid: identity.clientId,
      "businessunitid@odata.bind": `/businessunits(${SEEDED_IDS.rootBusinessUnit.id})`,
    });
    expect(created.status).toBe(204);
    const userId = entityId(created.headers);
    const whoAmI = await c.dataverse("GET", "WhoAmI", undefined, dataverseToken);
    expect(whoAmI.status).toBe(200);
    expect(whoAmI.data.UserId).toBe(userId);

    const name = unique("for-mi");
    await c.arm("PUT", `${vaultPath()}/secrets/${name}?${KV}`, { properties: { value: "mi-reads-this" } });
    const vaultToken = (await credential.getToken("https://vault.azure.net/.default")).token;
    expect((await c.keyVault("GET", `${emu.azure.vaultUri}secrets/${name}?${DATA}`, undefined, vaultToken)).status).toBe(403);
    expect((await assignRole(emu.azure.vaultId, ROLE.secretsUser, identity.principalId)).status).toBe(201);
    expect((await c.keyVault("GET", `${emu.azure.vaultUri}secrets/${name}?${DATA}`, undefined, vaultToken)).data.value).toBe(
      "mi-reads-this",
    );
    // As a connector reads it: @azure/keyvault-secrets with the identity (the challenge, then the token).
    const client = new SecretClient(emu.azure.vaultUri, credential, { disableChallengeResourceVerification: true });
    expect((await client.getSecret(name)).value).toBe("mi-reads-this");

    const graphToken = (await credential.getToken(c.graphScope)).token;
    const graph = await c.graph("GET", `/servicePrincipals/${identity.principalId}`, undefined, graphToken);
    expect(graph.status).toBe(403); // a token Graph accepts; the identity has no Graph application permission
  });
});

describe("state file", () => {
  test("vaults, secrets, identities and assignments survive a restart; no secret value in clear in the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arm-state-"));
    const stateFile = join(dir, "state.json");
    try {
      const first = await startEmulator({ port: 0, stateFile });
      const c1 = emulatorClient(first);
      const group1 = `/subscriptions/${first.azure.subscriptionId}/resourceGroups/${first.azure.resourceGroup}`;
      const identity = await c1.arm("PUT", `${group1}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/persisted?${MI}`, {
        location: "westeurope",
      });
      await c1.arm("PUT", `${first.azure.vaultId}/secrets/persisted?${KV}`, { properties: { value: "kept-across-restarts" } });
      await first.stop();
      expect(readFileSync(stateFile, "utf8")).not.toContain("kept-across-restarts");

      const second = await startEmulator({ port: 0, stateFile });
      try {
        const c2 = emulatorClient(second);
        const read = await c2.keyVault("GET", `${second.azure.vaultUri}secrets/persisted?${DATA}`);
        expect(read.data.value).toBe("kept-across-restarts");
        expect((await c2.arm("GET", `${identity.data.id}?${MI}`)).data.properties.clientId).toBe(identity.data.properties.clientId);
        expect((await c2.graph("GET", `/servicePrincipals/${identity.data.properties.principalId}`)).status).toBe(200);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
