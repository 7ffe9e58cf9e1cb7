// The Azure objects behind an interface, as directory-store.ts is for Entra's: the ARM, Key Vault
// and managed identity handlers read and change subscriptions, vaults, secrets, identities and role
// assignments only through these methods, which save the state once a change is complete. Secret
// values are sealed (AES-256-GCM under a key derived from the emulator's token key) so that the state
// file shows none in clear; that keeps values out of a casual read of the file, it is no protection
// against someone who has the file and this code.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { DirectoryStore } from "../directory-store";
import { seedAzure } from "../seed";
import type { EmulatorStore, ServicePrincipalRecord } from "../store";
import type {
  ArmDoc,
  AzureState,
  DeletedSecretRecord,
  IdentityRecord,
  SecretAttributes,
  SecretRecord,
  SecretVersion,
  SubscriptionRecord,
  VaultRecord,
} from "./model";

const lower = (text: string) => text.toLowerCase();

export class AzureStore {
  private readonly sealKey: Buffer;

  constructor(
    private readonly store: EmulatorStore,
    readonly directory: DirectoryStore,
    tokenKey: Buffer,
  ) {
    this.sealKey = createHash("sha256").update("dataverse-s2s emulator key vault values:").update(tokenKey).digest();
  }

  /** The Azure state; a state file written before it existed gets the seeded one. */
  get state(): AzureState {
    if (!this.store.state.azure) {
      this.store.state.azure = seedAzure();
      this.store.save();
    }
    return this.store.state.azure;
  }

  save(): void {
    this.store.save();
  }

  // ---- subscriptions and resource groups ------------------------------------------------------

  subscriptions(): SubscriptionRecord[] {
    return Object.values(this.state.subscriptions);
  }

  subscription(id: string): SubscriptionRecord | undefined {
    return this.state.subscriptions[lower(id)];
  }

  resourceGroup(subscriptionId: string, name: string): ArmDoc | undefined {
    return this.subscription(subscriptionId)?.resourceGroups[lower(name)];
  }

  putResourceGroup(subscription: SubscriptionRecord, doc: ArmDoc): void {
    subscription.resourceGroups[lower(doc.name)] = doc;
    this.save();
  }

  // ---- vaults and secrets ---------------------------------------------------------------------

  vaults(): VaultRecord[] {
    return Object.values(this.state.vaults);
  }

  vault(id: string): VaultRecord | undefined {
    return this.state.vaults[lower(id)];
  }

  /** Vault names are global (they are host names): the one vault of that name, whatever its group. */
  vaultByName(name: string): VaultRecord | undefined {
    return this.vaults().find((vault) => lower(vault.doc.name) === lower(name));
  }

  putVault(doc: ArmDoc): VaultRecord {
    const existing = this.vault(doc.id);
    const record: VaultRecord = existing ? { ...existing, doc } : { doc, secrets: {}, deletedSecrets: {} };
    this.state.vaults[lower(doc.id)] = record;
    this.save();
    return record;
  }

  deleteVault(id: string): void {
    delete this.state.vaults[lower(id)];
    this.save();
  }

  secret(vault: VaultRecord, name: string): SecretRecord | undefined {
    return vault.secrets[lower(name)];
  }

  deletedSecret(vault: VaultRecord, name: string): DeletedSecretRecord | undefined {
    return vault.deletedSecrets[lower(name)];
  }

  /** A new current version of a secret (Key Vault's SetSecret, and ARM's PUT with a value). */
  addSecretVersion(
    vault: VaultRecord,
    name: string,
    value: string,
    fields: { contentType: string | null; tags: Record<string, string>; attributes: Omit<SecretAttributes, "created" | "updated"> },
    now: number,
  ): { secret: SecretRecord; version: SecretVersion; created: boolean } {
    const existing = this.secret(vault, name);
    const secret: SecretRecord = existing ?? { name, versions: [] };
    const version: SecretVersion = {
      version: randomBytes(16).toString("hex"),
      sealedValue: this.seal(value),
      contentType: fields.contentType,
      tags: fields.tags,
      attributes: { ...fields.attributes, created: now, updated: now },
    };
    secret.versions.push(version);
    vault.secrets[lower(name)] = secret;
    this.save();
    return { secret, version, created: !existing };
  }

  /** Changes the current version's attributes, content type or tags (no new version). */
  updateCurrentVersion(secret: SecretRecord, change: (version: SecretVersion) => void, now: number): SecretVersion {
    const current = secret.versions[secret.versions.length - 1];
    change(current);
    current.attributes.updated = now;
    this.save();
    return current;
  }

  /** Soft delete: the secret moves to the vault's deleted secrets until purged or recovered. */
  deleteSecret(vault: VaultRecord, secret: SecretRecord, deletedDate: number, retentionDays: number): DeletedSecretRecord {
    delete vault.secrets[lower(secret.name)];
    const deleted: DeletedSecretRecord = { secret, deletedDate, scheduledPurgeDate: deletedDate + retentionDays * 86400 };
    vault.deletedSecrets[lower(secret.name)] = deleted;
    this.save();
    return deleted;
  }

  purgeSecret(vault: VaultRecord, name: string): void {
    delete vault.deletedSecrets[lower(name)];
    this.save();
  }

  recoverSecret(vault: VaultRecord, deleted: DeletedSecretRecord): SecretRecord {
    delete vault.deletedSecrets[lower(deleted.secret.name)];
    vault.secrets[lower(deleted.secret.name)] = deleted.secret;
    this.save();
    return deleted.secret;
  }

  /** A version's value in clear. */
  reveal(version: SecretVersion): string {
    const sealed = Buffer.from(version.sealedValue, "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.sealKey, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString("utf8");
  }

  private seal(value: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.sealKey, iv);
    const body = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
  }

  // ---- managed identities -----------------------------------------------------------------------

  identities(): IdentityRecord[] {
    return Object.values(this.state.identities);
  }

  identity(id: string): IdentityRecord | undefined {
    return this.state.identities[lower(id)];
  }

  /** The identity whose properties.<field> is `value` (clientId or principalId), case-insensitively. */
  identityBy(field: "clientId" | "principalId", value: string): IdentityRecord | undefined {
    return this.identities().find(
      (identity) => lower(String((identity.doc.properties as Record<string, unknown>)[field])) === lower(value),
    );
  }

  /** Creates an identity with its service principal in the directory, or replaces an identity's document. */
  putIdentity(doc: ArmDoc, servicePrincipal: ServicePrincipalRecord | undefined): IdentityRecord {
    const existing = this.identity(doc.id);
    const record: IdentityRecord = existing ? { ...existing, doc } : { doc, federatedCredentials: {} };
    this.state.identities[lower(doc.id)] = record;
    if (servicePrincipal) this.directory.addServicePrincipal(servicePrincipal);
    this.save();
    return record;
  }

  /** Deletes an identity, its federated credentials and its service principal (Azure deletes the principal with the identity). */
  deleteIdentity(identity: IdentityRecord, deletedDateTime: string): void {
    delete this.state.identities[lower(identity.doc.id)];
    const principalId = String((identity.doc.properties as Record<string, unknown>).principalId);
    const servicePrincipal = this.directory.servicePrincipalById(principalId);
    if (servicePrincipal) this.directory.deleteServicePrincipal(servicePrincipal, deletedDateTime);
    this.save();
  }

  putFederatedCredential(identity: IdentityRecord, doc: ArmDoc): void {
    identity.federatedCredentials[lower(doc.name)] = doc;
    this.save();
  }

  deleteFederatedCredential(identity: IdentityRecord, name: string): void {
    delete identity.federatedCredentials[lower(name)];
    this.save();
  }

  // ---- role assignments -----------------------------------------------------------------------

  roleAssignments(): ArmDoc[] {
    return Object.values(this.state.roleAssignments);
  }

  roleAssignment(id: string): ArmDoc | undefined {
    return this.state.roleAssignments[lower(id)];
  }

  addRoleAssignment(doc: ArmDoc): void {
    this.state.roleAssignments[lower(doc.id)] = doc;
    this.save();
  }

  deleteRoleAssignment(id: string): void {
    delete this.state.roleAssignments[lower(id)];
    this.save();
  }
}
