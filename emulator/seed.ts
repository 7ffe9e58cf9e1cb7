// The seeded, deterministic starting state: fixed GUIDs and a fixed deployer secret, so that a
// script or a test can rely on them without reading anything back.
import { createHash } from "node:crypto";
import { hashSecret, newApplicationDoc, newApplicationUserRow, newServicePrincipalDoc } from "./model";
import { PRIVILEGES, privilegeByName } from "./privileges";
import type { ApplicationRecord, EnvironmentState, GraphDoc, RoleRow, ServicePrincipalRecord, StateData } from "./store";
import type { AzureState } from "./arm/model";
import { ROLE_IDS, roleAssignmentDoc } from "./arm/roles";

export const SEEDED_IDS = {
  tenantId: "3f8a2c1e-5b7d-4e9a-8c6f-0a1b2c3d4e5f",
  tenantDisplayName: "Emulated Contoso",
  tenantDomain: "emulator.onmicrosoft.com",
  /** Microsoft's own tenant: owner of first-party apps. */
  microsoftTenantId: "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
  deployer: {
    clientId: "d3b1e2a4-6c8f-4a7b-9e0d-1f2a3b4c5d6e",
    applicationObjectId: "a1d2e3f4-0b1c-4d2e-8f3a-4b5c6d7e8f90",
    objectId: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
    displayName: "dataverse-s2s deployer",
    /** An emulator credential: fine to print at startup, never in a request log line. 40 characters. */
    clientSecret: "dep8Q~EmulatorDeployerSecret.NotForProd4",
    secretKeyId: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
    systemUserId: "e7f8a9b0-c1d2-4e3f-8a4b-5c6d7e8f9a0b",
  },
  dynamicsCrm: {
    appId: "00000007-0000-0000-c000-000000000000",
    servicePrincipalId: "c0ffee00-7d1a-4c2b-9e3f-000000000007",
    userImpersonationScopeId: "78ce3f0f-a1ce-49c2-8cde-64b5c0896db4",
  },
  microsoftGraph: {
    appId: "00000003-0000-0000-c000-000000000000",
    servicePrincipalId: "c0ffee00-7d1a-4c2b-9e3f-000000000003",
  },
  organizationId: "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d",
  rootBusinessUnit: { id: "b0b0b0b0-1111-4222-8333-444455556666", name: "emulatororg" },
  childBusinessUnit: { id: "b1b1b1b1-1111-4222-8333-444455556666", name: "Sales" },
  systemAdministrator: {
    templateId: "627090ff-40a3-4053-8790-584edc5be201",
    rootRoleId: "5a5a5a5a-0000-4000-8000-000000000001",
    childRoleId: "5a5a5a5a-0000-4000-8000-000000000002",
  },
  basicUser: {
    templateId: "d0a1b2c3-d4e5-4f60-8718-293a4b5c6d7e",
    rootRoleId: "5a5a5a5a-0000-4000-8000-000000000011",
    childRoleId: "5a5a5a5a-0000-4000-8000-000000000012",
  },
  createdOn: "2024-01-01T00:00:00Z",
  /** The Azure side: one subscription, one resource group, one RBAC vault (see arm/). */
  azure: {
    subscriptionId: "6d1f3b2a-8c4e-4f5a-9b7d-2e0c1a3f4b5c",
    subscriptionName: "Emulated subscription",
    resourceGroup: "dataverse-s2s",
    location: "westeurope",
    vaultName: "emulator-kv",
    /** Role assignment names (GUIDs) of the deployer's seeded roles. */
    deployerOwnerAssignment: "0a0b0c0d-1111-4222-8333-000000000001",
    deployerSecretsOfficerAssignment: "0a0b0c0d-1111-4222-8333-000000000002",
  },
} as const;

/** Privileges of the seeded "Basic User" role (a small, ordinary role). */
const BASIC_USER_PRIVILEGES: ReadonlyArray<[string, number]> = [
  ["prvReadAccount", 0],
  ["prvCreateAccount", 0],
  ["prvWriteAccount", 0],
  ["prvReadContact", 0],
  ["prvCreateContact", 0],
  ["prvWriteContact", 0],
  ["prvReadUser", 3],
  ["prvReadBusinessUnit", 3],
  ["prvReadRole", 1],
  ["prvReadOrganization", 3],
  ["prvReadSdkMessage", 3],
  ["prvReadPluginType", 3],
];

/** Privileges a newly created role receives from Dataverse itself (quirk newRoleSelfPrivileges, G). */
export const NEW_ROLE_SELF_PRIVILEGES: ReadonlyArray<[string, number]> = [
  ["prvReadSdkMessage", 3],
  ["prvReadPluginType", 3],
  ["prvReadSdkMessageProcessingStep", 3],
];

function role(
  id: string,
  name: string,
  bu: string,
  template: string | null,
  parent: string | null,
  root: string,
  privileges: Record<string, number>,
): RoleRow {
  return {
    roleid: id,
    name,
    description: null,
    businessunitid: bu,
    roletemplateid: template,
    parentroleid: parent,
    parentrootroleid: root,
    ismanaged: template !== null,
    createdon: SEEDED_IDS.createdOn,
    modifiedon: SEEDED_IDS.createdOn,
    privileges: parent ? {} : privileges,
    selfPrivileges: [],
  };
}

/** The name of the one environment when the start option `environments` is not given. */
export const DEFAULT_ENVIRONMENT_NAME = "default";

/** The seeded state: one tenant and the named Dataverse environments (one, "default", unless told). */
export function seedState(names: readonly string[] = [DEFAULT_ENVIRONMENT_NAME]): StateData {
  if (names.length === 0) throw new Error("the emulator needs at least one environment");
  const { deployerApp, deployerSp } = seedDeployer();
  const crmSp = seedDynamicsCrm();
  const graphSp = seedMicrosoftGraph();
  return {
    version: 1,
    clockOffsetMs: 0,
    tenant: { tenantId: SEEDED_IDS.tenantId, displayName: SEEDED_IDS.tenantDisplayName, domain: SEEDED_IDS.tenantDomain },
    applications: { [SEEDED_IDS.deployer.applicationObjectId]: deployerApp },
    servicePrincipals: {
      [SEEDED_IDS.deployer.objectId]: deployerSp,
      [SEEDED_IDS.dynamicsCrm.servicePrincipalId]: { doc: crmSp, owners: [] },
      [SEEDED_IDS.microsoftGraph.servicePrincipalId]: { doc: graphSp, owners: [] },
    },
    oauth2PermissionGrants: {},
    deletedItems: {},
    azure: seedAzure(),
    environment: seedEnvironment(names[0], environmentIds(names[0], 0), deployerApp, deployerSp),
    ...(names.length > 1
      ? {
          moreEnvironments: names
            .slice(1)
            .map((name, index) => seedEnvironment(name, environmentIds(name, index + 1), deployerApp, deployerSp)),
        }
      : {}),
  };
}

/** The deployer app registration (the CI identity), its fixed secret and its service principal. */
function seedDeployer(): { deployerApp: ApplicationRecord; deployerSp: ServicePrincipalRecord } {
  const createdOn = SEEDED_IDS.createdOn;
  const deployer = SEEDED_IDS.deployer;
  const deployerDoc = newApplicationDoc(deployer.applicationObjectId, deployer.clientId, createdOn, SEEDED_IDS.tenantDomain);
  deployerDoc.displayName = deployer.displayName;
  deployerDoc.passwordCredentials = [
    {
      customKeyIdentifier: null,
      displayName: "emulator deployer secret",
      endDateTime: "2099-12-31T00:00:00Z",
      hint: deployer.clientSecret.slice(0, 3),
      keyId: deployer.secretKeyId,
      secretText: null,
      startDateTime: createdOn,
    },
  ];
  const deployerApp: ApplicationRecord = {
    doc: deployerDoc,
    owners: [],
    secretHashes: { [deployer.secretKeyId]: hashSecret(deployer.clientSecret) },
  };
  const deployerSp: ServicePrincipalRecord = {
    doc: newServicePrincipalDoc(deployer.objectId, deployerDoc, SEEDED_IDS.tenantId),
    owners: [],
  };

  return { deployerApp, deployerSp };
}

/** Dynamics CRM's service principal (Microsoft's tenant), which offers the user_impersonation scope. */
function seedDynamicsCrm(): GraphDoc {
  const createdOn = SEEDED_IDS.createdOn;
  const crm = SEEDED_IDS.dynamicsCrm;
  const crmApp = newApplicationDoc("00000000-0000-0000-0000-000000000000", crm.appId, createdOn, "microsoft.com");
  crmApp.displayName = "Dynamics CRM";
  crmApp.api = {
    acceptMappedClaims: null,
    knownClientApplications: [],
    requestedAccessTokenVersion: null,
    preAuthorizedApplications: [],
    oauth2PermissionScopes: [
      {
        adminConsentDescription: "Allows the application to access Microsoft Dataverse acting as users in the organization.",
        adminConsentDisplayName: "Access Common Data Service as organization users",
        id: crm.userImpersonationScopeId,
        isEnabled: true,
        type: "User",
        userConsentDescription: "Allows the application to access Microsoft Dataverse as you.",
        userConsentDisplayName: "Access Common Data Service as you",
        value: "user_impersonation",
      },
    ],
  };
  const crmSp = newServicePrincipalDoc(crm.servicePrincipalId, crmApp, SEEDED_IDS.microsoftTenantId);
  crmSp.servicePrincipalNames = [crm.appId, "https://admin.services.crm.dynamics.com", "Microsoft.CRM"];

  return crmSp;
}

/** Microsoft Graph's service principal, whose app roles are the application permissions. */
function seedMicrosoftGraph(): GraphDoc {
  const createdOn = SEEDED_IDS.createdOn;
  const graph = SEEDED_IDS.microsoftGraph;
  const graphApp = newApplicationDoc("00000000-0000-0000-0000-000000000003", graph.appId, createdOn, "microsoft.com");
  graphApp.displayName = "Microsoft Graph";
  graphApp.api = {
    acceptMappedClaims: null,
    knownClientApplications: [],
    requestedAccessTokenVersion: null,
    preAuthorizedApplications: [],
    oauth2PermissionScopes: [
      {
        adminConsentDescription: "Allows users to sign-in to the app, and allows the app to read the profile of signed-in users.",
        adminConsentDisplayName: "Sign in and read user profile",
        id: "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
        isEnabled: true,
        type: "User",
        userConsentDescription: "Allows you to sign in to the app with your organizational account and let the app read your profile.",
        userConsentDisplayName: "Sign you in and read your profile",
        value: "User.Read",
      },
    ],
  };
  graphApp.appRoles = [
    {
      allowedMemberTypes: ["Application"],
      description: "Allows the app to create, read, update and delete applications and service principals without a signed-in user.",
      displayName: "Read and write all applications",
      id: "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
      isEnabled: true,
      origin: "Application",
      value: "Application.ReadWrite.All",
    },
  ];
  const graphSp = newServicePrincipalDoc(graph.servicePrincipalId, graphApp, SEEDED_IDS.microsoftTenantId);
  graphSp.servicePrincipalNames = [graph.appId, "https://graph.microsoft.com"];

  return graphSp;
}

/** The ids of one environment's seeded rows. */
interface EnvironmentIds {
  organizationId: string;
  rootBusinessUnit: { id: string; name: string };
  childBusinessUnit: { id: string; name: string };
  systemAdministrator: { rootRoleId: string; childRoleId: string };
  basicUser: { rootRoleId: string; childRoleId: string };
  deployerSystemUserId: string;
}

/** A GUID derived from a text (version 4 layout), so that seeded ids are the same at every start. */
function derivedGuid(text: string): string {
  const digest = createHash("sha256").update(`dataverse-s2s emulator:${text}`).digest("hex");
  const variant = ((parseInt(digest[16], 16) & 0x3) | 0x8).toString(16);
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-${variant}${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
}

/**
 * The first environment keeps the fixed SEEDED_IDS (so everything written for one environment is
 * unchanged); the others get ids derived from their name, as real environments of one tenant have
 * their own organization, business unit, role and user ids. Role templates and privilege ids are
 * the same in every environment, as in Dataverse.
 */
function environmentIds(name: string, index: number): EnvironmentIds {
  if (index === 0) {
    return {
      organizationId: SEEDED_IDS.organizationId,
      rootBusinessUnit: { ...SEEDED_IDS.rootBusinessUnit },
      childBusinessUnit: { ...SEEDED_IDS.childBusinessUnit },
      systemAdministrator: {
        rootRoleId: SEEDED_IDS.systemAdministrator.rootRoleId,
        childRoleId: SEEDED_IDS.systemAdministrator.childRoleId,
      },
      basicUser: { rootRoleId: SEEDED_IDS.basicUser.rootRoleId, childRoleId: SEEDED_IDS.basicUser.childRoleId },
      deployerSystemUserId: SEEDED_IDS.deployer.systemUserId,
    };
  }
  const id = (what: string) => derivedGuid(`environment ${name}:${what}`);
  return {
    organizationId: id("organization"),
    rootBusinessUnit: { id: id("root business unit"), name: `${name.toLowerCase().replace(/[^a-z0-9]/g, "")}org` },
    childBusinessUnit: { id: id("child business unit"), name: "Sales" },
    systemAdministrator: { rootRoleId: id("System Administrator"), childRoleId: id("System Administrator in Sales") },
    basicUser: { rootRoleId: id("Basic User"), childRoleId: id("Basic User in Sales") },
    deployerSystemUserId: id("deployer application user"),
  };
}

/**
 * One environment as it is after the one-time manual step: business units, System Administrator
 * with every privilege, Basic User, and the deployer as an application user holding System Administrator.
 */
function seedEnvironment(
  name: string,
  ids: EnvironmentIds,
  deployerApp: ApplicationRecord,
  deployerSp: ServicePrincipalRecord,
): EnvironmentState {
  const t = SEEDED_IDS.createdOn;
  const root = ids.rootBusinessUnit;
  const child = ids.childBusinessUnit;
  const sa = { ...ids.systemAdministrator, templateId: SEEDED_IDS.systemAdministrator.templateId };
  const bu = { ...ids.basicUser, templateId: SEEDED_IDS.basicUser.templateId };
  const allGlobal: Record<string, number> = {};
  for (const p of PRIVILEGES) allGlobal[p.privilegeid] = 3;
  const basic: Record<string, number> = {};
  for (const [privilege, depth] of BASIC_USER_PRIVILEGES) basic[privilegeByName(privilege).privilegeid] = depth;

  const roles: Record<string, RoleRow> = {
    [sa.rootRoleId]: role(sa.rootRoleId, "System Administrator", root.id, sa.templateId, null, sa.rootRoleId, allGlobal),
    [sa.childRoleId]: role(sa.childRoleId, "System Administrator", child.id, sa.templateId, sa.rootRoleId, sa.rootRoleId, {}),
    [bu.rootRoleId]: role(bu.rootRoleId, "Basic User", root.id, bu.templateId, null, bu.rootRoleId, basic),
    [bu.childRoleId]: role(bu.childRoleId, "Basic User", child.id, bu.templateId, bu.rootRoleId, bu.rootRoleId, {}),
  };

  const deployerUser = newApplicationUserRow({
    systemuserid: ids.deployerSystemUserId,
    app: deployerApp,
    sp: deployerSp,
    businessunitid: root.id,
    isdisabled: false,
    domain: SEEDED_IDS.tenantDomain,
    now: t,
  });
  deployerUser.roles = [sa.rootRoleId];

  return {
    name,
    organizationId: ids.organizationId,
    businessUnits: {
      [root.id]: { businessunitid: root.id, name: root.name, parentbusinessunitid: null, createdon: t, modifiedon: t },
      [child.id]: { businessunitid: child.id, name: child.name, parentbusinessunitid: root.id, createdon: t, modifiedon: t },
    },
    roles,
    systemUsers: { [ids.deployerSystemUserId]: deployerUser },
  };
}

/**
 * The Azure side as a deployment finds it: a subscription and a resource group holding an RBAC Key
 * Vault, the deployer Owner of the subscription (it creates identities and assigns roles) and Key
 * Vault Secrets Officer on the vault (azure-native deletes a secret through the data plane).
 */
export function seedAzure(): AzureState {
  const azure = SEEDED_IDS.azure;
  const t = SEEDED_IDS.createdOn;
  const subscriptionScope = `/subscriptions/${azure.subscriptionId}`;
  const groupId = `${subscriptionScope}/resourceGroups/${azure.resourceGroup}`;
  const vaultId = `${groupId}/providers/Microsoft.KeyVault/vaults/${azure.vaultName}`;
  const assignment = (scope: string, name: string, roleId: string) =>
    roleAssignmentDoc({
      scope,
      name,
      subscriptionId: azure.subscriptionId,
      roleId,
      principalId: SEEDED_IDS.deployer.objectId,
      principalType: "ServicePrincipal",
      createdBy: null,
      now: t,
    });
  const owner = assignment(subscriptionScope, azure.deployerOwnerAssignment, ROLE_IDS.owner);
  const officer = assignment(vaultId, azure.deployerSecretsOfficerAssignment, ROLE_IDS.keyVaultSecretsOfficer);
  return {
    subscriptions: {
      [azure.subscriptionId]: {
        subscriptionId: azure.subscriptionId,
        displayName: azure.subscriptionName,
        resourceGroups: {
          [azure.resourceGroup.toLowerCase()]: {
            id: groupId,
            name: azure.resourceGroup,
            type: "Microsoft.Resources/resourceGroups",
            location: azure.location,
            tags: {},
            properties: { provisioningState: "Succeeded" },
          },
        },
      },
    },
    vaults: {
      [vaultId.toLowerCase()]: {
        doc: {
          id: vaultId,
          name: azure.vaultName,
          type: "Microsoft.KeyVault/vaults",
          location: azure.location,
          tags: {},
          properties: {
            tenantId: SEEDED_IDS.tenantId,
            sku: { family: "A", name: "standard" },
            accessPolicies: [],
            enabledForDeployment: false,
            enabledForDiskEncryption: false,
            enabledForTemplateDeployment: false,
            enableSoftDelete: true,
            softDeleteRetentionInDays: 90,
            enableRbacAuthorization: true,
            provisioningState: "Succeeded",
            publicNetworkAccess: "Enabled",
          },
        },
        secrets: {},
        deletedSecrets: {},
      },
    },
    identities: {},
    roleAssignments: { [owner.id.toLowerCase()]: owner, [officer.id.toLowerCase()]: officer },
  };
}
