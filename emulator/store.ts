// The emulator's state behind an interface: in memory, seeded deterministically, optionally
// persisted as JSON (loaded at start when the file exists, saved after each change and on stop).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { AppManagementState } from "./app-management-policies";
import type { AzureState } from "./arm/model";

/** A Graph object as JSON (fields are Graph's own names). */
export type GraphDoc = Record<string, unknown> & { id: string };

export interface SecretHash {
  salt: string;
  hash: string;
}

export interface ApplicationRecord {
  doc: GraphDoc;
  /** Owner object ids (service principals; the emulator has no users). */
  owners: string[];
  /** Hashes of the password credentials' secrets, by keyId. Never returned, never logged. */
  secretHashes: Record<string, SecretHash>;
  /** The certificates of keyCredentials (base64 DER), by keyId: Graph answers `key: null`. */
  certificates?: Record<string, string>;
  /** federatedIdentityCredentials (a navigation property: not part of the application document). */
  federatedIdentityCredentials?: GraphDoc[];
  /** Real time (ms since epoch) at which a secret, by keyId, has reached every replica. */
  secretsReplicatedAtMs?: Record<string, number>;
  /**
   * Real time (ms since epoch) at which a key credential (by keyId) or a federated identity
   * credential (by id) is shown by every replica: reads leave it out before then.
   */
  credentialsReplicatedAtMs?: Record<string, number>;
  /** Secrets removed less than the replication lag ago: they still work until `validUntilMs`. */
  removedSecrets?: Record<string, RemovedSecret>;
  /** Real time (ms since epoch) at which the object has reached every replica. */
  replicatedAtMs?: number;
}

export interface RemovedSecret {
  hash: SecretHash;
  startDateTime: string | null;
  endDateTime: string | null;
  validUntilMs: number;
}

export interface ServicePrincipalRecord {
  doc: GraphDoc;
  owners: string[];
  /** Real time (ms since epoch) at which the object has reached every replica. */
  replicatedAtMs?: number;
}

interface DeletedItem {
  kind: "application" | "servicePrincipal";
  record: ApplicationRecord | ServicePrincipalRecord;
  deletedDateTime: string;
}

export interface BusinessUnitRow {
  businessunitid: string;
  name: string;
  parentbusinessunitid: string | null;
  createdon: string;
  modifiedon: string;
}

export interface RoleRow {
  roleid: string;
  name: string;
  description: string | null;
  businessunitid: string;
  roletemplateid: string | null;
  /** Set on the copies Dataverse keeps of a root business unit's role in each child business unit. */
  parentroleid: string | null;
  parentrootroleid: string;
  ismanaged: boolean;
  createdon: string;
  modifiedon: string;
  /** privilegeid -> depth (0 Basic .. 4 RecordFilter). Inherited copies read their root's. */
  privileges: Record<string, number>;
  /** Privileges Dataverse gave the role itself at creation (quirk): ReplacePrivilegesRole keeps them. */
  selfPrivileges: string[];
}

export interface SystemUserRow {
  systemuserid: string;
  applicationid: string | null;
  fullname: string;
  firstname: string;
  lastname: string;
  domainname: string;
  internalemailaddress: string;
  azureactivedirectoryobjectid: string | null;
  applicationiduri: string | null;
  accessmode: number;
  isdisabled: boolean;
  deletedstate: number;
  businessunitid: string;
  createdon: string;
  modifiedon: string;
  /** Assigned role ids (systemuserroles_association). */
  roles: string[];
}

export interface EnvironmentState {
  /** The environment's name in the emulator (start option `environments`); absent in older state files. */
  name?: string;
  organizationId: string;
  businessUnits: Record<string, BusinessUnitRow>;
  roles: Record<string, RoleRow>;
  systemUsers: Record<string, SystemUserRow>;
}

interface TenantState {
  tenantId: string;
  displayName: string;
  domain: string;
}

export interface StateData {
  version: 1;
  /** The emulator clock is real time plus this offset. */
  clockOffsetMs: number;
  tenant: TenantState;
  applications: Record<string, ApplicationRecord>;
  servicePrincipals: Record<string, ServicePrincipalRecord>;
  oauth2PermissionGrants: Record<string, GraphDoc>;
  deletedItems: Record<string, DeletedItem>;
  /** The first Dataverse environment (the only one by default). */
  environment: EnvironmentState;
  /** The second and later environments of the tenant (start option `environments`), in order. */
  moreEnvironments?: EnvironmentState[];
  /** Subscriptions, vaults, managed identities and role assignments (emulator/arm/); absent in older state files until first used. */
  azure?: AzureState;
  /** App management policies (emulator/app-management-policies.ts); absent until first used. */
  appManagement?: AppManagementState;
}

/** Every Dataverse environment of the tenant, the first one first. */
export function environmentsOf(state: StateData): EnvironmentState[] {
  return [state.environment, ...(state.moreEnvironments ?? [])];
}

/** Where the state lives. A handler changes `state` and calls `save()` once its change is complete. */
export interface EmulatorStore {
  readonly state: StateData;
  /** Persists the state when a state file is configured; a no-op in memory. */
  save(): void;
  /** Back to the seed. */
  reset(): void;
}

export class JsonFileStore implements EmulatorStore {
  private current: StateData;

  constructor(
    private readonly seed: () => StateData,
    private readonly file?: string,
  ) {
    this.current = this.load();
  }

  get state(): StateData {
    return this.current;
  }

  private load(): StateData {
    if (this.file && existsSync(this.file)) {
      const parsed = JSON.parse(readFileSync(this.file, "utf8")) as StateData;
      if (parsed.version !== 1) throw new Error(`emulator state file ${this.file} has unknown version ${String(parsed.version)}`);
      return parsed;
    }
    return this.seed();
  }

  save(): void {
    if (!this.file) return;
    const path = resolve(this.file);
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    // The file holds secret hashes (never secrets): keep it private anyway.
    writeFileSync(tmp, JSON.stringify(this.current), { mode: 0o600 });
    renameSync(tmp, path);
  }

  reset(): void {
    this.current = this.seed();
    this.save();
  }
}
