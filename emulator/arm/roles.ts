// Azure RBAC, minimally but honestly: the built-in role definitions an integration meets (ids,
// names and permissions as Microsoft lists them), and the check ARM and Key Vault make: a principal
// may perform an action (management plane) or a data action (Key Vault data plane) at a scope when
// one of its role assignments at that scope or above grants it through a role's actions (minus its
// notActions), wildcards included.
// V: learn.microsoft.com/azure/role-based-access-control/built-in-roles (ids, actions, dataActions),
// .../role-definitions ("Actions" and "NotActions", "DataActions", wildcard "*"), .../scope-overview
// (assignments are inherited by child scopes). Only the roles below exist; no custom roles, no deny
// assignments, no conditions.
import type { ArmDoc } from "./model";

export interface RoleDefinition {
  id: string;
  roleName: string;
  description: string;
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

const KEY_VAULT_READER_ACTIONS = [
  "Microsoft.Authorization/*/read",
  "Microsoft.Insights/alertRules/*",
  "Microsoft.Resources/deployments/*",
  "Microsoft.Resources/subscriptions/resourceGroups/read",
  "Microsoft.Support/*",
  "Microsoft.KeyVault/checkNameAvailability/read",
  "Microsoft.KeyVault/deletedVaults/read",
  "Microsoft.KeyVault/locations/*/read",
  "Microsoft.KeyVault/vaults/*/read",
  "Microsoft.KeyVault/operations/read",
];

export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  {
    id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    roleName: "Owner",
    description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
    actions: ["*"],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
    roleName: "Contributor",
    description:
      "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
    actions: ["*"],
    notActions: ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"],
    dataActions: [],
    notDataActions: [],
  },
  {
    id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    roleName: "Reader",
    description: "View all resources, but does not allow you to make any changes.",
    actions: ["*/read"],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    roleName: "User Access Administrator",
    description: "Lets you manage user access to Azure resources.",
    actions: ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    id: "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
    roleName: "Managed Identity Contributor",
    description: "Create, Read, Update, and Delete User Assigned Identity",
    actions: [
      "Microsoft.ManagedIdentity/userAssignedIdentities/read",
      "Microsoft.ManagedIdentity/userAssignedIdentities/write",
      "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
      "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
      "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
      "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
      "Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action",
      "Microsoft.Authorization/*/read",
      "Microsoft.Insights/alertRules/*",
      "Microsoft.Resources/subscriptions/resourceGroups/read",
      "Microsoft.Resources/deployments/*",
      "Microsoft.Support/*",
    ],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    id: "f1a07417-d97a-45cb-824c-7a7467783830",
    roleName: "Managed Identity Operator",
    description: "Read and Assign User Assigned Identity",
    actions: [
      "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
      "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
      "Microsoft.Authorization/*/read",
      "Microsoft.Insights/alertRules/*",
      "Microsoft.Resources/subscriptions/resourceGroups/read",
      "Microsoft.Resources/deployments/*",
      "Microsoft.Support/*",
    ],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    id: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    roleName: "Key Vault Administrator",
    description: "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets.",
    actions: KEY_VAULT_READER_ACTIONS,
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/*"],
    notDataActions: [],
  },
  {
    id: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    roleName: "Key Vault Secrets Officer",
    description: "Perform any action on the secrets of a key vault, except manage permissions.",
    actions: KEY_VAULT_READER_ACTIONS,
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/secrets/*"],
    notDataActions: [],
  },
  {
    id: "4633458b-17de-408a-b874-0445c86b69e6",
    roleName: "Key Vault Secrets User",
    description: "Read secret contents.",
    actions: [],
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
    notDataActions: [],
  },
];

/** Ids of the built-in roles by name, for the seed and tests. */
export const ROLE_IDS = {
  owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  userAccessAdministrator: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  managedIdentityContributor: "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
  managedIdentityOperator: "f1a07417-d97a-45cb-824c-7a7467783830",
  keyVaultAdministrator: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
  keyVaultSecretsOfficer: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
} as const;

export function roleDefinition(id: string): RoleDefinition | undefined {
  return BUILT_IN_ROLES.find((role) => role.id === id.toLowerCase());
}

/** The role definition's resource id at a subscription, as ARM writes it in role assignments. */
export function roleDefinitionResourceId(subscriptionId: string, roleId: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`;
}

/** An action pattern ("Microsoft.KeyVault/vaults/*\/read") as a case-insensitive regular expression. */
function patternMatches(pattern: string, action: string): boolean {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`, "i").test(action);
}

function grants(allowed: string[], denied: string[], action: string): boolean {
  return allowed.some((pattern) => patternMatches(pattern, action)) && !denied.some((pattern) => patternMatches(pattern, action));
}

/** Whether `scope` is `assignmentScope` or below it (ARM ids compare case-insensitively, by segment). */
export function scopeCovers(assignmentScope: string, scope: string): boolean {
  const outer = assignmentScope.replace(/\/+$/, "").toLowerCase();
  const inner = scope.replace(/\/+$/, "").toLowerCase();
  return outer === "" || inner === outer || inner.startsWith(`${outer}/`);
}

export type PermissionKind = "action" | "dataAction";

/** The role assignment granting `action` to `principalId` at `scope`, if any. */
export function grantingAssignment(
  assignments: Iterable<ArmDoc>,
  principalId: string,
  action: string,
  scope: string,
  kind: PermissionKind,
): ArmDoc | undefined {
  for (const assignment of assignments) {
    const properties = assignment.properties as Record<string, string>;
    if (properties.principalId.toLowerCase() !== principalId.toLowerCase()) continue;
    if (!scopeCovers(properties.scope, scope)) continue;
    const role = roleDefinition(properties.roleDefinitionId.split("/").pop() ?? "");
    if (!role) continue;
    const ok = kind === "action" ? grants(role.actions, role.notActions, action) : grants(role.dataActions, role.notDataActions, action);
    if (ok) return assignment;
  }
  return undefined;
}

/** A role definition as ARM answers it (GET .../providers/Microsoft.Authorization/roleDefinitions/{id}). */
export function roleDefinitionDoc(role: RoleDefinition, subscriptionId: string | undefined): ArmDoc {
  return {
    id: subscriptionId
      ? roleDefinitionResourceId(subscriptionId, role.id)
      : `/providers/Microsoft.Authorization/roleDefinitions/${role.id}`,
    name: role.id,
    type: "Microsoft.Authorization/roleDefinitions",
    properties: {
      roleName: role.roleName,
      type: "BuiltInRole",
      description: role.description,
      assignableScopes: ["/"],
      permissions: [
        { actions: role.actions, notActions: role.notActions, dataActions: role.dataActions, notDataActions: role.notDataActions },
      ],
      createdOn: "2015-02-02T21:55:09.8806423Z",
      updatedOn: "2024-01-01T00:00:00.0000000Z",
      createdBy: null,
      updatedBy: null,
    },
  };
}

/** A role assignment document as ARM answers it (api-version 2022-04-01 fields). */
export function roleAssignmentDoc(args: {
  scope: string;
  name: string;
  subscriptionId: string;
  roleId: string;
  principalId: string;
  principalType: string;
  createdBy: string | null;
  now: string;
  description?: string | null;
}): ArmDoc {
  const scope = args.scope.replace(/\/+$/, "");
  return {
    id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${args.name}`,
    name: args.name,
    type: "Microsoft.Authorization/roleAssignments",
    properties: {
      roleDefinitionId: roleDefinitionResourceId(args.subscriptionId, args.roleId),
      principalId: args.principalId,
      principalType: args.principalType,
      scope: scope === "" ? "/" : scope,
      condition: null,
      conditionVersion: null,
      createdOn: args.now,
      updatedOn: args.now,
      createdBy: args.createdBy,
      updatedBy: args.createdBy,
      delegatedManagedIdentityResourceId: null,
      description: args.description ?? null,
    },
  };
}
