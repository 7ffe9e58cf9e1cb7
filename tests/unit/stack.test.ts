// Pins the wiring of the stack with Pulumi mocks: the Dynamics CRM permission with the scope id
// looked up in the tenant, ids flowing from the app registration to the application user, roles
// cloned once and shared, and the outputs a connection dialog needs, the secret marked secret.
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../config/stack-config";
import { isSecret, recordResources, valueOf } from "../support/pulumi-mocks";

const userImpersonationId = "78ce3f0f-a1ce-49c2-8cde-64b5c0896db4";

const { recorded, byType } = recordResources({
  resourceState(args) {
    const state: Record<string, any> = { ...args.inputs };
    switch (args.type) {
      case "azuread:index/application:Application":
        Object.assign(state, { clientId: `client-of-${args.name}`, objectId: `object-of-${args.name}` });
        return { id: `/applications/object-of-${args.name}`, state };
      case "azuread:index/servicePrincipal:ServicePrincipal":
        Object.assign(state, { objectId: `sp-of-${args.name}`, applicationTenantId: "tenant-1" });
        return { id: `sp-of-${args.name}`, state };
      case "azuread:index/applicationPassword:ApplicationPassword":
        Object.assign(state, { value: `secret-of-${args.name}`, keyId: "key-1" });
        return { id: `password-of-${args.name}`, state };
      case "pulumi-nodejs:dynamic/dataverse-s2s:ClonedSecurityRole":
      case "pulumi-nodejs:dynamic/dataverse-s2s:ExistingSecurityRole":
        Object.assign(state, { roleId: `role-of-${args.name}` });
        return { id: `role-of-${args.name}`, state };
      case "pulumi-nodejs:dynamic/dataverse-s2s:ApplicationUser":
        Object.assign(state, { userId: `user-of-${args.name}` });
        return { id: `user-of-${args.name}`, state };
      case "pulumi-nodejs:dynamic/dataverse-s2s:SecretSchedule":
        Object.assign(state, {
          startDate: "2026-01-01T00:00:00.000Z",
          endDate: "2026-06-30T00:00:00.000Z",
          rotateAfter: "2026-05-31T00:00:00.000Z",
        });
        return { id: "schedule", state };
      case "azure-native:keyvault:Secret":
        Object.assign(state, { properties: { secretUri: `https://kv.vault.azure.net/secrets/${args.inputs.secretName}` } });
        return { id: `secret-${args.name}`, state };
      default:
        return { id: `${args.name}-id`, state };
    }
  },
  call(args) {
    if (args.token === "azuread:index/getServicePrincipal:getServicePrincipal") {
      expect(args.inputs.clientId).toBe("00000007-0000-0000-c000-000000000000");
      return {
        objectId: "crm-sp",
        clientId: args.inputs.clientId,
        oauth2PermissionScopeIds: { user_impersonation: userImpersonationId },
      };
    }
    return undefined;
  },
  preview: true,
  organization: "organization",
});

// Imported after the mocks are in place.
import { Adoptions, declareStack } from "../../components/stack";
import { parseStackConfig } from "../../config/stack-config";

async function declare(raw: Parameters<typeof parseStackConfig>[0], adoptions: Adoptions = new Map()) {
  recorded.length = 0;
  const config: StackConfig = parseStackConfig(raw);
  const outputs = declareStack(config, adoptions);
  // Let every output settle so that every resource is registered.
  await Promise.all(
    Object.values(outputs).flatMap((values) => Object.values(values).map((output) => valueOf(output as pulumi.Output<unknown>))),
  );
  return outputs;
}

describe("one integration", () => {
  let outputs: Awaited<ReturnType<typeof declare>>;
  beforeAll(async () => {
    outputs = await declare({
      environmentUrl: "https://contoso.crm.dynamics.com",
      integrations: [{ name: "etl", displayName: "ETL connector" }],
    });
  });

  test("the app registration is single tenant and asks for Dynamics CRM user_impersonation, scope id looked up", () => {
    const [application] = byType("application:Application");
    expect(application.name).toBe("etl-entra-app");
    expect(application.inputs.signInAudience).toBe("AzureADMyOrg");
    expect(application.inputs.displayName).toBe("ETL connector");
    expect(application.inputs.requiredResourceAccesses).toEqual([
      { resourceAppId: "00000007-0000-0000-c000-000000000000", resourceAccesses: [{ id: userImpersonationId, type: "Scope" }] },
    ]);
  });

  test("service principal and password hang off the application; the password has an end date", () => {
    expect(byType("servicePrincipal:ServicePrincipal")[0].inputs.clientId).toBe("client-of-etl-entra-app");
    const [password] = byType("applicationPassword:ApplicationPassword");
    expect(password.inputs.applicationId).toBe("/applications/object-of-etl-entra-app");
    expect(password.inputs.endDate).toBe("2026-06-30T00:00:00.000Z");
  });

  test("rotated-out secrets are tracked for the overlap, in the azuread provider's cloud", () => {
    const [retired] = byType("RetiredSecrets");
    expect(retired.name).toBe("etl-entra-retired-secrets");
    expect(retired.inputs).toMatchObject({
      applicationObjectId: "object-of-etl-entra-app",
      currentKeyId: "key-1",
      overlapDays: 7,
      metadataHost: "",
    });
  });

  test("the role is a clone of System Administrator named API User, in the environment", () => {
    const roles = byType("ClonedSecurityRole");
    expect(roles).toHaveLength(1);
    expect(roles[0].name).toBe("role-api-user");
    expect(roles[0].inputs).toMatchObject({
      environmentUrl: "https://contoso.crm.dynamics.com",
      name: "API User",
      sourceRole: "System Administrator",
      followSource: true,
      // The marker names the stack: a create adopts only this stack's role of that name.
      stack: "organization/dataverse-s2s/unit",
    });
  });

  test("the application user is tied to the app's client id and holds the role", () => {
    const [user] = byType("ApplicationUser");
    expect(user.name).toBe("etl-user");
    expect(user.inputs).toMatchObject({
      applicationId: "client-of-etl-entra-app",
      roleIds: ["role-of-role-api-user"],
      removeUnmanagedRoles: true,
      keepDisabledOnDelete: false,
    });
  });

  test("outputs are the connection values, the client secret marked secret", async () => {
    const etl = outputs.etl;
    expect(await valueOf(etl.environmentUrl)).toBe("https://contoso.crm.dynamics.com");
    expect(await valueOf(etl.tenantId)).toBe("tenant-1");
    expect(await valueOf(etl.clientId)).toBe("client-of-etl-entra-app");
    expect(await valueOf(etl.clientSecret)).toBe("secret-of-etl-entra-secret");
    expect(await isSecret(etl.clientSecret)).toBe(true);
    expect(await isSecret(etl.clientId)).toBe(false);
    expect(await valueOf(etl.secretExpiresAt)).toBe("2026-06-30T00:00:00.000Z");
    expect(await valueOf(etl.applicationUserId)).toBe("user-of-etl-user");
    expect(await valueOf(etl.securityRoleId)).toBe("role-of-role-api-user");
  });

  test("no admin consent grant unless asked", () => {
    expect(byType("ServicePrincipalDelegatedPermissionGrant")).toHaveLength(0);
    expect(byType("AdminConsentGrant")).toHaveLength(0);
  });
});

describe("several integrations", () => {
  test("integrations naming the same cloned role share one role; an existing role is looked up, not cloned", async () => {
    const outputs = await declare({
      environmentUrl: "https://localhost:8443",
      integrations: [
        { name: "etl", displayName: "ETL" },
        { name: "tests", displayName: "Test service", adminConsent: true },
        { name: "reports", displayName: "Reports", role: { existing: "Sales Manager" } },
      ],
    });
    expect(byType("ClonedSecurityRole").map((role) => role.name)).toEqual(["role-api-user"]);
    expect(byType("ExistingSecurityRole").map((role) => [role.name, role.inputs.name])).toEqual([["reports-role", "Sales Manager"]]);
    const users = Object.fromEntries(byType("ApplicationUser").map((user) => [user.name, user.inputs.roleIds]));
    expect(users).toEqual({
      "etl-user": ["role-of-role-api-user"],
      "tests-user": ["role-of-role-api-user"],
      "reports-user": ["role-of-reports-role"],
    });
    expect(await valueOf(outputs.tests.securityRoleId)).toBe("role-of-role-api-user");
    // A credential policy's guidance names each integration's own config keys.
    expect(
      byType("SecretSchedule").map((schedule) => [schedule.name, schedule.inputs.lifetimeSetting, schedule.inputs.credentialSetting]),
    ).toEqual([
      ["etl-entra-secret-schedule", "dataverse-s2s:integrations[0].secret.lifetimeDays", "dataverse-s2s:integrations[0].credential.type"],
      ["tests-entra-secret-schedule", "dataverse-s2s:integrations[1].secret.lifetimeDays", "dataverse-s2s:integrations[1].credential.type"],
      [
        "reports-entra-secret-schedule",
        "dataverse-s2s:integrations[2].secret.lifetimeDays",
        "dataverse-s2s:integrations[2].credential.type",
      ],
    ]);
    // The stack's own grant resource (it adopts a grant a killed run made); azuread's is not used.
    expect(byType("ServicePrincipalDelegatedPermissionGrant")).toHaveLength(0);
    const [grant] = byType("AdminConsentGrant");
    expect(grant.name).toBe("tests-entra-consent");
    expect(grant.inputs).toMatchObject({
      servicePrincipalObjectId: "sp-of-tests-entra-sp",
      resourceServicePrincipalObjectId: "crm-sp",
      claimValues: ["user_impersonation"],
    });
  });
});

describe("lifecycle", () => {
  test("roles belong to the stack: one per role name, whichever integrations use it, aliased to the first integration's old child", async () => {
    await declare({
      environmentUrl: "https://localhost:8443",
      integrations: [
        { name: "crm", displayName: "CRM", role: { name: "Sync User" } },
        { name: "etl", displayName: "ETL", formerNames: ["old-etl"] },
        { name: "tests", displayName: "Tests" },
        { name: "audit", displayName: "Audit", role: { name: "sync user" } },
      ],
    });
    const roles = byType("ClonedSecurityRole");
    expect(roles.map((role) => [role.name, role.inputs.name])).toEqual([
      ["role-sync-user", "Sync User"],
      ["role-api-user", "API User"],
    ]);
    const users = Object.fromEntries(byType("ApplicationUser").map((user) => [user.name, user.inputs.roleIds]));
    expect(users).toEqual({
      "crm-user": ["role-of-role-sync-user"],
      "etl-user": ["role-of-role-api-user"],
      "tests-user": ["role-of-role-api-user"],
      "audit-user": ["role-of-role-sync-user"],
    });
  });

  test("apps are tagged with the stack and the integration; leftovers are looked for under the current and former names", async () => {
    await declare({
      environmentUrl: "https://localhost:8443",
      integrations: [{ name: "etl", displayName: "ETL", formerNames: ["old-etl"] }],
    });
    const [application] = byType("application:Application");
    expect(application.inputs.tags).toEqual(["dataverse-s2s:organization/dataverse-s2s/unit:etl"]);
    expect(application.inputs.notes).toContain("stack organization/dataverse-s2s/unit, integration etl");
    const [leftovers] = byType("AppLeftovers");
    expect(leftovers.inputs).toMatchObject({
      applicationObjectId: "object-of-etl-entra-app",
      servicePrincipalObjectId: "sp-of-etl-entra-sp",
      markerTags: ["dataverse-s2s:organization/dataverse-s2s/unit:etl", "dataverse-s2s:organization/dataverse-s2s/unit:old-etl"],
    });
  });
});

describe("credentials and Key Vault export", () => {
  test("a certificate replaces the client secret: no password, no schedule, no secret output", async () => {
    const { generate } = await import("selfsigned");
    const certificate = (await generate([{ name: "commonName", value: "etl" }], { keyType: "ec" })).cert;
    const outputs = await declare({
      environmentUrl: "https://localhost:8443",
      integrations: [{ name: "etl", displayName: "ETL", credential: { type: "certificate", certificatePem: certificate } }],
    });
    expect(byType("applicationPassword:ApplicationPassword")).toHaveLength(0);
    expect(byType("SecretSchedule")).toHaveLength(0);
    const [uploaded] = byType("applicationCertificate:ApplicationCertificate");
    expect(uploaded.inputs).toMatchObject({
      applicationId: "/applications/object-of-etl-entra-app",
      type: "AsymmetricX509Cert",
      encoding: "pem",
    });
    expect(await valueOf(outputs.etl.clientSecret)).toBeUndefined();
    expect(byType("ApplicationUser")[0].inputs.applicationId).toBe("client-of-etl-entra-app");
  });

  test("a federated credential trusts the GitHub Actions environment", async () => {
    await declare({
      environmentUrl: "https://localhost:8443",
      integrations: [
        {
          name: "etl",
          displayName: "ETL",
          credential: { type: "federated", github: { owner: "contoso", repo: "etl", environment: "prod" } },
        },
      ],
    });
    const [federated] = byType("applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential");
    expect(federated.inputs).toMatchObject({
      applicationId: "/applications/object-of-etl-entra-app",
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:contoso/etl:environment:prod",
      audiences: ["api://AzureADTokenExchange"],
    });
  });

  test("the Key Vault export writes the connection values with the secret's expiry", async () => {
    const id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-dv/providers/Microsoft.KeyVault/vaults/kv-dv";
    const outputs = await declare({
      environmentUrl: "https://localhost:8443",
      integrations: [{ name: "etl", displayName: "ETL", keyVault: { id } }],
    });
    const secrets = Object.fromEntries(byType("keyvault:Secret").map((secret) => [secret.inputs.secretName, secret.inputs]));
    expect(Object.keys(secrets).sort()).toEqual(["etl-client-id", "etl-client-secret", "etl-environment-url", "etl-tenant-id"]);
    expect(secrets["etl-client-secret"]).toMatchObject({ vaultName: "kv-dv", resourceGroupName: "rg-dv" });
    // The mocks hand over the secret-marked properties wrapped in { value }.
    const properties = secrets["etl-client-secret"].properties.value;
    expect(properties).toMatchObject({
      value: "secret-of-etl-entra-secret",
      attributes: { expires: Date.parse("2026-06-30T00:00:00.000Z") / 1000 },
    });
    expect(await valueOf(outputs.etl.clientSecret)).toBe("secret-of-etl-entra-secret");
  });
});

describe("adopting a manual setup", () => {
  const hand = {
    clientId: "11111111-2222-4333-8444-555555555555",
    applicationObjectId: "aaaaaaaa-0000-4000-8000-000000000001",
    displayName: "ETL connector",
    servicePrincipalObjectId: "bbbbbbbb-0000-4000-8000-000000000002",
  };
  const config = {
    environmentUrl: "https://contoso.crm.dynamics.com",
    integrations: [{ name: "etl", displayName: "ETL connector", adopt: { clientId: hand.clientId, roleName: "API User (by hand)" } }],
  };
  const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

  test("the app and its service principal are imported by their azuread ids; the role takes over the named one", async () => {
    await declare(config, new Map([["etl", { ...hand, secrets: [] }]]));
    expect(byType("application:Application")[0].importId).toBe(`/applications/${hand.applicationObjectId}`);
    expect(byType("servicePrincipal:ServicePrincipal")[0].importId).toBe(`/servicePrincipals/${hand.servicePrincipalObjectId}`);
    expect(byType("ClonedSecurityRole")[0].inputs).toMatchObject({ name: "API User", adoptName: "API User (by hand)" });
    // No valid secret to keep: the stack makes its own at once.
    expect(byType("applicationPassword:ApplicationPassword")).toHaveLength(1);
  });

  test("a valid hand-made secret is kept: no secret made, none published, a note says which and until when", async () => {
    const secret = { keyId: "cccccccc-0000-4000-8000-000000000003", displayName: "Manual secret", endDateTime: future(300) };
    const outputs = await declare(config, new Map([["etl", { ...hand, secrets: [secret] }]]));
    expect(byType("applicationPassword:ApplicationPassword")).toEqual([]);
    expect(byType("SecretSchedule")).toEqual([]);
    expect(await valueOf(outputs.etl.clientSecret)).toBeUndefined();
    expect(await valueOf(outputs.etl.secretExpiresAt)).toBe(secret.endDateTime);
    const note = await valueOf(outputs.etl.secretNote);
    expect(note).toContain(`key id ${secret.keyId}`);
    expect(note).toMatch(/Entra never returns a secret's text, so it is not published/);
  });

  test("inside its rotation window, or once the stack has a secret of its own, the stack's secret is made as usual", async () => {
    const expiring = { keyId: "cccccccc-0000-4000-8000-000000000004", displayName: "Manual secret", endDateTime: future(10) };
    await declare(config, new Map([["etl", { ...hand, secrets: [expiring] }]]));
    expect(byType("applicationPassword:ApplicationPassword")).toHaveLength(1);
    const lasting = { ...expiring, endDateTime: future(300) };
    const own = { keyId: "cccccccc-0000-4000-8000-000000000005", displayName: "dataverse-s2s", endDateTime: future(100) };
    const outputs = await declare(config, new Map([["etl", { ...hand, secrets: [lasting, own] }]]));
    expect(byType("applicationPassword:ApplicationPassword")).toHaveLength(1);
    expect(await valueOf(outputs.etl.secretNote)).toBeUndefined();
  });
});
