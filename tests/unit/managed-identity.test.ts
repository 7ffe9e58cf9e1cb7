// Managed identity integrations (issue 24): the config rules, each naming its setting, and the
// wiring with Pulumi mocks: no app registration, the application user for the identity's client id,
// an identity the stack makes with azure-native (tagged with its stack and integration), and the
// environment check's managed identity lookups.
import * as pulumi from "@pulumi/pulumi";
import { recordResources, valueOf } from "../support/pulumi-mocks";

const { recorded, byType } = recordResources({
  resourceState(args) {
    const state: Record<string, any> = { ...args.inputs };
    switch (args.type) {
      case "azure-native:managedidentity:UserAssignedIdentity":
        Object.assign(state, {
          clientId: `client-of-${args.name}`,
          principalId: `principal-of-${args.name}`,
          tenantId: "tenant-of-identity",
        });
        return { id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${args.name}`, state };
      case "pulumi-nodejs:dynamic/dataverse-s2s:ClonedSecurityRole":
      case "pulumi-nodejs:dynamic/dataverse-s2s:SpecSecurityRole":
        return { id: `role-of-${args.name}`, state: { ...state, roleId: `role-of-${args.name}` } };
      case "pulumi-nodejs:dynamic/dataverse-s2s:ApplicationUser":
        return { id: `user-of-${args.name}`, state: { ...state, userId: `user-of-${args.name}` } };
      default:
        return { id: `${args.name}-id`, state };
    }
  },
  organization: "organization",
});

// The azuread provider's tenant: an identity named by client id only is published with it.
pulumi.runtime.setConfig("azuread:tenantId", "tenant-of-azuread");

// Imported after the mocks are in place.
import { declareStack } from "../../components/stack";
import { parseStackConfig, StackConfigError } from "../../config/stack-config";
import { DataverseIntegration } from "../../components/integration";
import { managedIdentityIdProblem } from "../../lib/managed-identity-rules";

const environmentUrl = "https://contoso.crm.dynamics.com";
const subscriptionId = "6d1f3b2a-8c4e-4f5a-9b7d-2e0c1a3f4b5c";
const clientId = "11111111-2222-4333-8444-555555555555";
const resourceId = `/subscriptions/${subscriptionId}/resourceGroups/functions/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders-fn`;

function problemsOf(integrations: unknown[], azure: { subscriptionId?: string } = { subscriptionId }): string[] {
  try {
    parseStackConfig({ environmentUrl, integrations, azure });
  } catch (error) {
    if (error instanceof StackConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("config: credential.type managedIdentity", () => {
  test("each of the three forms is read", () => {
    const config = parseStackConfig({
      environmentUrl,
      azure: { subscriptionId },
      integrations: [
        { name: "by-client", credential: { type: "managedIdentity", clientId: clientId.toUpperCase() } },
        { name: "by-id", credential: { type: "managedIdentity", resourceId } },
        {
          name: "made",
          credential: { type: "managedIdentity", create: { resourceGroup: "functions", location: "westeurope", name: "orders-mi" } },
        },
      ],
    });
    expect(config.integrations.map((integration) => integration.credential)).toEqual([
      { kind: "managedIdentity", clientId },
      { kind: "managedIdentity", resourceId },
      { kind: "managedIdentity", create: { resourceGroup: "functions", location: "westeurope", name: "orders-mi" } },
    ]);
    expect(config.azure).toEqual({ subscriptionId });
  });

  test("exactly one of clientId, resourceId or create", () => {
    expect(problemsOf([{ name: "etl", credential: { type: "managedIdentity" } }])).toEqual([
      expect.stringMatching(
        /^dataverse-s2s:integrations\[0\]\.credential: a managed identity needs exactly one of clientId .* resourceId .* or create/,
      ),
    ]);
    expect(problemsOf([{ name: "etl", credential: { type: "managedIdentity", clientId, resourceId } }])).toEqual([
      expect.stringContaining("drop all but one of clientId, resourceId"),
    ]);
  });

  test("a malformed client id, resource id or create block is refused naming its key", () => {
    expect(problemsOf([{ name: "etl", credential: { type: "managedIdentity", clientId: "orders-fn" } }])).toEqual([
      expect.stringMatching(/^dataverse-s2s:integrations\[0\]\.credential\.clientId must be the managed identity's client id, a GUID/),
    ]);
    expect(problemsOf([{ name: "etl", credential: { type: "managedIdentity", resourceId: clientId } }])).toEqual([
      expect.stringMatching(/^dataverse-s2s:integrations\[0\]\.credential\.resourceId: .* is a GUID .*credential\.clientId/),
    ]);
    expect(
      problemsOf([{ name: "etl", credential: { type: "managedIdentity", create: { resourceGroup: "bad/group", location: "", size: 1 } } }]),
    ).toEqual([
      "dataverse-s2s:integrations[0].credential.create.size is not a known setting (use resourceGroup, location and name).",
      expect.stringMatching(
        /^dataverse-s2s:integrations\[0\]\.credential\.create\.resourceGroup must be the name of an existing resource group/,
      ),
      expect.stringMatching(/^dataverse-s2s:integrations\[0\]\.credential\.create\.location must be an Azure location/),
    ]);
    expect(problemsOf([{ name: "etl", credential: { type: "managedIdentity", clientId, certificatePem: "x" } }])).toEqual([
      "dataverse-s2s:integrations[0].credential.certificatePem does not apply to type managedIdentity (use type, clientId, resourceId, create).",
    ]);
  });

  test("resource ids: a Function app's id and a malformed name are explained", () => {
    expect(managedIdentityIdProblem(`/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.Web/sites/orders`)).toMatch(
      /App Service or Function app, not its identity/,
    );
    expect(managedIdentityIdProblem(resourceId.replace("orders-fn", "x"))).toMatch(/names the identity 'x'/);
    expect(managedIdentityIdProblem(resourceId)).toBeUndefined();
  });

  test("making an identity needs the azure-native provider's subscription", () => {
    const create = { type: "managedIdentity", create: { resourceGroup: "functions", location: "westeurope" } };
    expect(problemsOf([{ name: "etl", credential: create }], {})).toEqual([
      expect.stringMatching(
        /^dataverse-s2s:integrations\[0\]\.credential\.create makes a managed identity.*set azure-native:subscriptionId \(or ARM_SUBSCRIPTION_ID\)/,
      ),
    ]);
    // Existing identities need none.
    expect(problemsOf([{ name: "etl", credential: { type: "managedIdentity", clientId } }], {})).toEqual([]);
  });

  test("adopt and adminConsent do not apply; one identity is one integration's", () => {
    expect(
      problemsOf([
        { name: "etl", credential: { type: "managedIdentity", clientId }, adopt: { clientId }, adminConsent: true },
        { name: "etl-two", credential: { type: "managedIdentity", clientId } },
      ]),
    ).toEqual([
      expect.stringMatching(/^dataverse-s2s:integrations\[0\]\.adopt does not apply with credential\.type managedIdentity/),
      expect.stringMatching(/^dataverse-s2s:integrations\[0\]\.adminConsent does not apply with credential\.type managedIdentity/),
      expect.stringMatching(/^dataverse-s2s:integrations\[1\]\.credential\.clientId '.*' is the identity of integrations\[0\] too/),
    ]);
  });
});

async function settle(outputs: Record<string, Record<string, pulumi.Output<unknown> | undefined>>) {
  await Promise.all(Object.values(outputs).flatMap((values) => Object.values(values).map((output) => output && valueOf(output))));
}

describe("the stack with managed identities", () => {
  let outputs: ReturnType<typeof declareStack>;
  beforeAll(async () => {
    recorded.length = 0;
    const config = parseStackConfig({
      environmentUrl,
      azure: { subscriptionId },
      integrations: [
        { name: "by-client", credential: { type: "managedIdentity", clientId } },
        { name: "by-id", credential: { type: "managedIdentity", resourceId } },
        {
          name: "made",
          role: { name: "Orders", privileges: { salesorder: ["read"] } },
          credential: { type: "managedIdentity", create: { resourceGroup: "functions", location: "westeurope" } },
        },
      ],
    });
    const resolved = new Map([["by-id", { clientId: "99999999-2222-4333-8444-555555555555", principalId: "p", tenantId: "tenant-of-id" }]]);
    outputs = declareStack(config, new Map(), resolved);
    await settle(outputs as never);
  });

  test("no app registration, service principal, secret or leftover cleanup", () => {
    expect(recorded.filter((resource) => resource.type.startsWith("azuread:"))).toEqual([]);
    for (const type of ["AppLeftovers", "SecretSchedule", "RetiredSecrets", "CredentialPolicyGate"]) expect(byType(type)).toEqual([]);
  });

  test("each application user is for its identity's client id", () => {
    const users = Object.fromEntries(byType("ApplicationUser").map((user) => [user.name, user.inputs.applicationId]));
    expect(users).toEqual({
      "by-client-user": clientId,
      "by-id-user": "99999999-2222-4333-8444-555555555555",
      "made-user": "client-of-made-identity",
    });
  });

  test("an identity the stack makes: azure-native, in the configured group and location, tagged with its stack and integration", () => {
    const [identity] = byType("managedidentity:UserAssignedIdentity");
    expect(identity.name).toBe("made-identity");
    expect(identity.inputs).toEqual({
      resourceGroupName: "functions",
      location: "westeurope",
      tags: {
        "managed-by": "dataverse-s2s",
        "dataverse-s2s-stack": "organization/dataverse-s2s/unit",
        "dataverse-s2s-integration": "made",
      },
    });
  });

  test("an identity the stack makes has its IdentityLeftovers: the identity in state, the stack's and the integration's marker, azure-native's cloud", () => {
    const leftovers = byType("IdentityLeftovers");
    expect(leftovers.map((resource) => resource.name)).toEqual(["made-identity-leftovers"]);
    expect(leftovers[0].inputs).toMatchObject({
      identityId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/made-identity",
      stack: "organization/dataverse-s2s/unit",
      integrations: ["made"],
      metadataHost: "",
      environment: "",
    });
  });

  test("outputs: the identity's client id and tenant, the user and role, no secret", async () => {
    expect(await valueOf(outputs["by-client"].tenantId)).toBe("tenant-of-azuread");
    expect(await valueOf(outputs["by-id"].clientId)).toBe("99999999-2222-4333-8444-555555555555");
    expect(await valueOf(outputs["by-id"].tenantId)).toBe("tenant-of-id");
    expect(await valueOf(outputs.made.clientId)).toBe("client-of-made-identity");
    expect(await valueOf(outputs.made.tenantId)).toBe("tenant-of-identity");
    expect(await valueOf(outputs.made.applicationUserId)).toBe("user-of-made-user");
    expect(await valueOf(outputs.made.securityRoleId)).toBe("role-of-role-orders");
    for (const values of Object.values(outputs)) {
      expect(await valueOf(values.clientSecret)).toBeUndefined();
      expect(await valueOf(values.secretExpiresAt)).toBeUndefined();
    }
  });

  test("the environment check looks up each existing identity's principal and each group identities are made in", () => {
    const [check] = byType("EnvironmentCheck");
    expect(check.inputs.managedIdentities).toEqual([
      { setting: "dataverse-s2s:integrations[0].credential.clientId", clientId },
      { setting: "dataverse-s2s:integrations[1].credential.resourceId", clientId: "99999999-2222-4333-8444-555555555555" },
    ]);
    expect(check.inputs.identityResourceGroups).toEqual([
      { setting: "dataverse-s2s:integrations[2].credential.create.resourceGroup", subscriptionId, resourceGroup: "functions" },
    ]);
    expect(check.inputs.secretCredentials).toEqual([]);
  });
});

describe("DataverseIntegration with a managed identity", () => {
  test("an existing identity by client id: the user is its, the tenant given", async () => {
    recorded.length = 0;
    const integration = new DataverseIntegration("orders", {
      environmentUrl,
      displayName: "Orders function",
      credential: { kind: "managedIdentity", clientId, tenantId: "tenant-1" },
    });
    // Every resource registered (dynamic providers serialized) before the test ends.
    await Promise.all([integration.applicationUserId, integration.securityRoleId].map((output) => valueOf(output)));
    expect(await valueOf(integration.clientId)).toBe(clientId);
    expect(await valueOf(integration.tenantId)).toBe("tenant-1");
    expect(await valueOf(integration.clientSecret)).toBeUndefined();
    expect(byType("ApplicationUser")[0].inputs.applicationId).toBe(clientId);
    expect(byType("EnvironmentCheck")[0].inputs.managedIdentities).toEqual([
      { setting: "DataverseIntegration 'orders': credential.clientId", clientId },
    ]);
    expect(recorded.filter((resource) => resource.type.startsWith("azuread:"))).toEqual([]);
  });

  test("adminConsent with a managed identity is refused", () => {
    expect(
      () =>
        new DataverseIntegration("consent", {
          environmentUrl,
          displayName: "Consent",
          adminConsent: true,
          credential: { kind: "managedIdentity", clientId, tenantId: "tenant-1" },
        }),
    ).toThrow(/adminConsent do not apply to a managed identity/);
  });
});
