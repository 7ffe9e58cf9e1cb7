// The directory (Entra objects) behind an interface: the Graph and Entra handlers read and change
// applications, service principals, credentials and grants only through these methods, which keep
// Graph's side effects together (a service principal follows its application, deleting an
// application deletes its principal and grants) and save the state once a change is complete.
import { randomUUID } from "node:crypto";
import type { ApplicationRecord, GraphDoc, RemovedSecret, SecretHash, ServicePrincipalRecord, StateData, EmulatorStore } from "./store";

export type DirectoryKind = "applications" | "servicePrincipals";
export type DirectoryRecord = ApplicationRecord | ServicePrincipalRecord;

function sameText(left: unknown, right: unknown): boolean {
  return typeof left === "string" && typeof right === "string" && left.toLowerCase() === right.toLowerCase();
}

export class DirectoryStore {
  constructor(private readonly store: EmulatorStore) {}

  private get state(): StateData {
    return this.store.state;
  }

  get tenant(): StateData["tenant"] {
    return this.state.tenant;
  }

  records(kind: DirectoryKind): DirectoryRecord[] {
    return Object.values(kind === "applications" ? this.state.applications : this.state.servicePrincipals);
  }

  byId(kind: DirectoryKind, id: string): DirectoryRecord | undefined {
    const table = kind === "applications" ? this.state.applications : this.state.servicePrincipals;
    return table[id.toLowerCase()] ?? table[id];
  }

  byAppId(kind: DirectoryKind, appId: string): DirectoryRecord | undefined {
    return this.records(kind).find((record) => sameText(record.doc.appId, appId));
  }

  application(appId: string): ApplicationRecord | undefined {
    return this.byAppId("applications", appId) as ApplicationRecord | undefined;
  }

  servicePrincipal(appId: string): ServicePrincipalRecord | undefined {
    return this.byAppId("servicePrincipals", appId) as ServicePrincipalRecord | undefined;
  }

  servicePrincipalById(id: string): ServicePrincipalRecord | undefined {
    return this.state.servicePrincipals[id.toLowerCase()];
  }

  /** An application or service principal as a directoryObject (with its @odata.type). */
  directoryObject(id: string): Record<string, unknown> | undefined {
    const servicePrincipal = this.state.servicePrincipals[id];
    if (servicePrincipal) return { "@odata.type": "#microsoft.graph.servicePrincipal", ...servicePrincipal.doc };
    const application = this.state.applications[id];
    if (application) return { "@odata.type": "#microsoft.graph.application", ...application.doc };
    return undefined;
  }

  addApplication(record: ApplicationRecord): void {
    this.state.applications[record.doc.id] = record;
    this.store.save();
  }

  addServicePrincipal(record: ServicePrincipalRecord): void {
    this.state.servicePrincipals[record.doc.id] = record;
    this.store.save();
  }

  /** Applies a change to an object (merge, owners) and keeps its service principal's copies in step. */
  update(kind: DirectoryKind, record: DirectoryRecord, change: (record: DirectoryRecord) => void): void {
    change(record);
    if (kind === "applications") this.syncServicePrincipal(record as ApplicationRecord);
    this.store.save();
  }

  /** Graph keeps a service principal's copies of the application's name, roles and scopes in step. */
  private syncServicePrincipal(application: ApplicationRecord): void {
    const servicePrincipal = this.servicePrincipal(String(application.doc.appId));
    if (!servicePrincipal) return;
    const api = (application.doc.api ?? {}) as Record<string, unknown>;
    servicePrincipal.doc.appDisplayName = application.doc.displayName ?? null;
    servicePrincipal.doc.appRoles = structuredClone(application.doc.appRoles ?? []);
    servicePrincipal.doc.oauth2PermissionScopes = structuredClone(api.oauth2PermissionScopes ?? []);
  }

  /** Deletes an application with its service principal and that principal's grants, as Entra does. */
  deleteApplication(application: ApplicationRecord, deletedDateTime: string): void {
    const servicePrincipal = this.servicePrincipal(String(application.doc.appId));
    if (servicePrincipal) this.removeServicePrincipal(servicePrincipal, deletedDateTime);
    delete this.state.applications[application.doc.id];
    this.state.deletedItems[application.doc.id] = { kind: "application", record: application, deletedDateTime };
    this.store.save();
  }

  deleteServicePrincipal(servicePrincipal: ServicePrincipalRecord, deletedDateTime: string): void {
    this.removeServicePrincipal(servicePrincipal, deletedDateTime);
    this.store.save();
  }

  private removeServicePrincipal(servicePrincipal: ServicePrincipalRecord, deletedDateTime: string): void {
    const id = servicePrincipal.doc.id;
    for (const [grantId, grant] of Object.entries(this.state.oauth2PermissionGrants)) {
      if (sameText(grant.clientId, id) || sameText(grant.resourceId, id)) delete this.state.oauth2PermissionGrants[grantId];
    }
    for (const record of [...Object.values(this.state.applications), ...Object.values(this.state.servicePrincipals)]) {
      record.owners = record.owners.filter((owner) => owner !== id);
    }
    delete this.state.servicePrincipals[id];
    this.state.deletedItems[id] = { kind: "servicePrincipal", record: servicePrincipal, deletedDateTime };
  }

  deletedItem(id: string): StateData["deletedItems"][string] | undefined {
    return this.state.deletedItems[id.toLowerCase()];
  }

  purgeDeletedItem(id: string): void {
    delete this.state.deletedItems[id.toLowerCase()];
    this.store.save();
  }

  // ---- password credentials ----------------------------------------------------------------

  addPassword(
    application: ApplicationRecord,
    credential: GraphDoc | Record<string, unknown>,
    hash: SecretHash,
    replicatedAtMs: number,
  ): void {
    const keyId = String(credential.keyId);
    (application.doc.passwordCredentials as unknown[]).push(credential);
    application.secretHashes[keyId] = hash;
    application.secretsReplicatedAtMs = { ...(application.secretsReplicatedAtMs ?? {}), [keyId]: replicatedAtMs };
    this.store.save();
  }

  /** Removes a password credential; it keeps working until `validUntilMs` (replication lag). */
  removePassword(application: ApplicationRecord, keyId: string, validUntilMs: number): boolean {
    const credentials = application.doc.passwordCredentials as Array<Record<string, unknown>>;
    const index = credentials.findIndex((credential) => sameText(credential.keyId, keyId));
    if (index < 0) return false;
    const [removed] = credentials.splice(index, 1);
    const storedKeyId = String(removed.keyId);
    const hash = application.secretHashes[storedKeyId];
    delete application.secretHashes[storedKeyId];
    if (hash && validUntilMs > Date.now()) {
      const lingering: RemovedSecret = {
        hash,
        startDateTime: (removed.startDateTime as string | null) ?? null,
        endDateTime: (removed.endDateTime as string | null) ?? null,
        validUntilMs,
      };
      application.removedSecrets = { ...(application.removedSecrets ?? {}), [storedKeyId]: lingering };
    }
    this.store.save();
    return true;
  }

  // ---- key credentials and federated identity credentials ------------------------------------

  /** Replaces the key credentials; those with a keyId not seen before replicate at `newKeysReplicatedAtMs`. */
  setKeyCredentials(
    application: ApplicationRecord,
    credentials: Record<string, unknown>[],
    certificates: Record<string, string>,
    newKeysReplicatedAtMs: number,
  ): void {
    const before = new Set(
      ((application.doc.keyCredentials as Array<Record<string, unknown>> | undefined) ?? []).map((key) => String(key.keyId)),
    );
    for (const credential of credentials) {
      const keyId = String(credential.keyId);
      if (!before.has(keyId))
        application.credentialsReplicatedAtMs = { ...(application.credentialsReplicatedAtMs ?? {}), [keyId]: newKeysReplicatedAtMs };
    }
    application.doc.keyCredentials = credentials;
    application.certificates = certificates;
    this.store.save();
  }

  federatedCredentials(application: ApplicationRecord): GraphDoc[] {
    return application.federatedIdentityCredentials ?? [];
  }

  addFederatedCredential(application: ApplicationRecord, credential: Omit<GraphDoc, "id">, replicatedAtMs: number): GraphDoc {
    const created: GraphDoc = { id: randomUUID(), ...credential };
    application.federatedIdentityCredentials = [...this.federatedCredentials(application), created];
    application.credentialsReplicatedAtMs = { ...(application.credentialsReplicatedAtMs ?? {}), [created.id]: replicatedAtMs };
    this.store.save();
    return created;
  }

  updateFederatedCredential(application: ApplicationRecord, credential: GraphDoc, changes: Record<string, unknown>): void {
    Object.assign(credential, structuredClone(changes));
    this.store.save();
  }

  deleteFederatedCredential(application: ApplicationRecord, id: string): void {
    application.federatedIdentityCredentials = this.federatedCredentials(application).filter((credential) => credential.id !== id);
    this.store.save();
  }

  // ---- oauth2PermissionGrants -----------------------------------------------------------------

  grants(): GraphDoc[] {
    return Object.values(this.state.oauth2PermissionGrants);
  }

  grant(id: string): GraphDoc | undefined {
    return this.state.oauth2PermissionGrants[id];
  }

  addGrant(grant: GraphDoc): void {
    this.state.oauth2PermissionGrants[grant.id] = grant;
    this.store.save();
  }

  updateGrantScope(grant: GraphDoc, scope: string): void {
    grant.scope = scope;
    this.store.save();
  }

  deleteGrant(id: string): void {
    delete this.state.oauth2PermissionGrants[id];
    this.store.save();
  }
}
