// The Azure side of the emulated tenant, as stored in the state file: subscriptions with their
// resource groups, Key Vault vaults with their secrets, user-assigned managed identities with their
// federated identity credentials, and RBAC role assignments. Documents are ARM's own JSON (what a
// GET answers) except what depends on the port (vaultUri, secretUri), filled in when answering.

/** An ARM resource as JSON: id, name, type, then the resource's own fields. */
export type ArmDoc = Record<string, unknown> & { id: string; name: string; type: string };

export interface SubscriptionRecord {
  subscriptionId: string;
  displayName: string;
  /** Resource group documents by lower-case name. */
  resourceGroups: Record<string, ArmDoc>;
}

/** Key Vault secret attributes (data plane names; times in seconds since the epoch, as Key Vault sends them). */
export interface SecretAttributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

export interface SecretVersion {
  /** 32 lower-case hex digits, as Key Vault's version ids. */
  version: string;
  /** The value sealed with the emulator's key (azure-store.ts): the state file holds no secret value in clear. */
  sealedValue: string;
  contentType: string | null;
  tags: Record<string, string>;
  attributes: SecretAttributes;
}

export interface SecretRecord {
  /** The name as first written (Key Vault names are case-insensitive and keep their first spelling). */
  name: string;
  /** Oldest first: the last one is the current version. */
  versions: SecretVersion[];
}

export interface DeletedSecretRecord {
  secret: SecretRecord;
  /** Seconds since the epoch. */
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface VaultRecord {
  /** The vault document without properties.vaultUri (that depends on the port). */
  doc: ArmDoc;
  /** Secrets by lower-case name. */
  secrets: Record<string, SecretRecord>;
  /** Soft-deleted secrets by lower-case name. */
  deletedSecrets: Record<string, DeletedSecretRecord>;
}

export interface IdentityRecord {
  doc: ArmDoc;
  /** federatedIdentityCredentials documents by lower-case name. */
  federatedCredentials: Record<string, ArmDoc>;
}

export interface AzureState {
  /** By lower-case subscription id. */
  subscriptions: Record<string, SubscriptionRecord>;
  /** By lower-case resource id. */
  vaults: Record<string, VaultRecord>;
  /** By lower-case resource id. */
  identities: Record<string, IdentityRecord>;
  /** Role assignment documents by lower-case resource id ({scope}/providers/Microsoft.Authorization/roleAssignments/{guid}). */
  roleAssignments: Record<string, ArmDoc>;
}
