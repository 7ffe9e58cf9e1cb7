// The minimal use of the package (issue 23): `new DataverseIntegration("etl", { environmentUrl,
// displayName })` declares what the stack's configuration declares by default (a role "API User"
// cloned from System Administrator, a client secret valid 180 days rotated from 30 days before
// expiry), checks its own environment unless a check covering it is given (`checkedBy`), and sends
// its Graph calls to the azuread provider's configured cloud, as the azuread resources go there.
import * as pulumi from "@pulumi/pulumi";
import { recordResources, valueOf } from "../support/pulumi-mocks";

const { recorded, byType } = recordResources({
  resourceState(args) {
    const state: Record<string, any> = { ...args.inputs };
    switch (args.type) {
      case "azuread:index/application:Application":
        return {
          id: `/applications/object-of-${args.name}`,
          state: { ...state, clientId: `client-of-${args.name}`, objectId: `object-of-${args.name}` },
        };
      case "azuread:index/servicePrincipal:ServicePrincipal":
        return { id: `sp-of-${args.name}`, state: { ...state, objectId: `sp-of-${args.name}`, applicationTenantId: "tenant-1" } };
      case "azuread:index/applicationPassword:ApplicationPassword":
        return { id: `password-of-${args.name}`, state: { ...state, value: "secret", keyId: "key-1" } };
      case "pulumi-nodejs:dynamic/dataverse-s2s:SecretSchedule":
        return {
          id: "schedule",
          state: {
            ...state,
            startDate: "2026-01-01T00:00:00.000Z",
            endDate: "2026-06-30T00:00:00.000Z",
            rotateAfter: "2026-05-31T00:00:00.000Z",
          },
        };
      default:
        return undefined;
    }
  },
  call(args) {
    if (args.token !== "azuread:index/getServicePrincipal:getServicePrincipal") return undefined;
    return { objectId: "crm-sp", clientId: args.inputs.clientId, oauth2PermissionScopeIds: { user_impersonation: "scope-1" } };
  },
  organization: "organization",
});
// The azuread provider's configuration of the program (a sovereign cloud, or the emulator).
pulumi.runtime.setConfig("azuread:metadataHost", "login.sovereign.example");

// Imported after the mocks are in place.
import { DataverseIntegration, DataverseIntegrationArgs } from "../../components/integration";

const environmentUrl = "https://contoso.crm.dynamics.com";

/** Declares one integration and waits until every resource of it is registered. */
async function declare(name: string, args: Partial<DataverseIntegrationArgs> = {}) {
  recorded.length = 0;
  const integration = new DataverseIntegration(name, { environmentUrl, displayName: "ETL", ...args });
  await Promise.all(
    [integration.applicationUserId, integration.securityRoleId, integration.secretExpiresAt].map((output) => valueOf(output)),
  );
  return integration;
}

describe("the minimal integration", () => {
  let integration: DataverseIntegration;
  beforeAll(async () => {
    integration = await declare("etl");
  });

  test("holds a role of its own named API User, cloned from System Administrator, following its source", async () => {
    const roles = byType("ClonedSecurityRole");
    expect(roles.map((role) => role.name)).toEqual(["etl-role"]);
    expect(roles[0].inputs).toMatchObject({
      environmentUrl,
      name: "API User",
      sourceRole: "System Administrator",
      followSource: true,
      stack: "organization/dataverse-s2s/unit",
    });
    expect(byType("ApplicationUser")[0].inputs.roleIds).toEqual([await valueOf(integration.securityRoleId)]);
  });

  test("has a client secret valid 180 days, rotated from 30 days before expiry", () => {
    const [schedule] = byType("SecretSchedule");
    expect(schedule.inputs).toMatchObject({ lifetimeDays: 180, rotateBeforeDays: 30 });
    expect(byType("RetiredSecrets")[0].inputs.overlapDays).toBe(7);
  });

  test("checks its own environment: the role it clones, the root business unit", () => {
    const checks = byType("EnvironmentCheck");
    expect(checks.map((check) => check.name)).toEqual(["etl-environment-check"]);
    expect(checks[0].inputs).toMatchObject({
      environmentUrl,
      businessUnit: "",
      rolesToClone: [{ setting: "DataverseIntegration 'etl': role.clone.cloneFrom", name: "System Administrator" }],
      existingRoles: [],
    });
  });

  test("sends the dynamic providers' Graph calls to the azuread provider's configured cloud", () => {
    for (const type of ["EnvironmentCheck", "SecretSchedule", "CredentialPolicyGate", "RetiredSecrets", "AppLeftovers"]) {
      expect({ type, metadataHost: byType(type)[0].inputs.metadataHost }).toEqual({ type, metadataHost: "login.sovereign.example" });
    }
  });
});

test("an integration whose environment a given check covers (checkedBy) declares no check of its own", async () => {
  const stackCheck = new pulumi.ComponentResource("test:index:Check", "stack-check");
  await declare("reports", { checkedBy: stackCheck, role: { roleId: "shared-role" } });
  expect(byType("EnvironmentCheck")).toEqual([]);
  expect(byType("ClonedSecurityRole")).toEqual([]);
  expect(byType("ApplicationUser")[0].inputs.roleIds).toEqual(["shared-role"]);
});

test("an explicit entraCloud wins over the azuread provider's config", async () => {
  await declare("public", { entraCloud: {} });
  expect(byType("EnvironmentCheck")[0].inputs.metadataHost).toBe("");
});
