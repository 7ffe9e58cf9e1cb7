// One Dataverse environment's rows behind an interface: the Dataverse handlers read and change
// business units, security roles and their privileges, application users and their role
// assignments only through these methods, which keep Dataverse's side effects together (a role has
// an inherited copy in every child business unit, deleting a role ends its assignments, moving a
// user to another business unit drops its roles) and save the state once a change is complete.
import { createHash } from "node:crypto";
import { sameId } from "./http";
import type { BusinessUnitRow, EmulatorStore, EnvironmentState, RoleRow, SystemUserRow } from "./store";

/** What a PATCH of a systemuser may change (validated by the handler). */
export interface SystemUserChanges {
  isdisabled?: boolean;
  firstname?: string;
  lastname?: string;
  internalemailaddress?: string;
  businessunitid?: string;
}

/** The id Dataverse gives a role's inherited copy in a child business unit (deterministic here). */
function inheritedCopyId(roleId: string, businessUnitId: string): string {
  const digest = createHash("sha1").update(`${roleId}:${businessUnitId}`).digest("hex");
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-8${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
}

/** The root role of an inherited copy (or the role itself): a copy grants its root's privileges. */
export function rootRoleOf(environment: EnvironmentState, role: RoleRow): RoleRow {
  return role.parentroleid ? (environment.roles[role.parentrootroleid] ?? role) : role;
}

export class DataverseStore {
  constructor(
    private readonly store: EmulatorStore,
    private readonly environment: EnvironmentState,
  ) {}

  get organizationId(): string {
    return this.environment.organizationId;
  }

  // ---- business units ---------------------------------------------------------------------------

  businessUnits(): BusinessUnitRow[] {
    return Object.values(this.environment.businessUnits);
  }

  businessUnit(id: string): BusinessUnitRow | undefined {
    return this.environment.businessUnits[id];
  }

  /** The business unit without a parent (every environment has one, from the seed). */
  rootBusinessUnit(): BusinessUnitRow {
    const root = this.businessUnits().find((businessUnit) => businessUnit.parentbusinessunitid === null);
    if (!root) throw new Error("the environment has no root business unit (a damaged state file?)");
    return root;
  }

  /** The ids of every business unit below one, depth first. */
  private descendantBusinessUnitIds(businessUnitId: string): string[] {
    const found: string[] = [];
    const walk = (parentId: string) => {
      for (const businessUnit of this.businessUnits()) {
        if (businessUnit.parentbusinessunitid === parentId) {
          found.push(businessUnit.businessunitid);
          walk(businessUnit.businessunitid);
        }
      }
    };
    walk(businessUnitId);
    return found;
  }

  // ---- roles --------------------------------------------------------------------------------------

  roles(): RoleRow[] {
    return Object.values(this.environment.roles);
  }

  role(id: string): RoleRow | undefined {
    return this.environment.roles[id];
  }

  /** privilegeid -> depth the role grants: an inherited copy grants its root's. */
  effectivePrivileges(role: RoleRow): Record<string, number> {
    return rootRoleOf(this.environment, role).privileges;
  }

  private inheritedCopies(role: RoleRow): RoleRow[] {
    return this.roles().filter((candidate) => candidate.parentroleid === role.roleid);
  }

  /** Adds a role and, as Dataverse does, an inherited copy of it in each child business unit. */
  addRole(role: RoleRow): void {
    this.environment.roles[role.roleid] = role;
    for (const childId of this.descendantBusinessUnitIds(role.businessunitid)) {
      const copyId = inheritedCopyId(role.roleid, childId);
      this.environment.roles[copyId] = {
        ...role,
        roleid: copyId,
        businessunitid: childId,
        parentroleid: role.roleid,
        parentrootroleid: role.roleid,
        privileges: {},
        selfPrivileges: [],
      };
    }
    this.store.save();
  }

  /** Applies a change (name, description, modifiedon) to a role and its inherited copies. */
  updateRole(role: RoleRow, change: (row: RoleRow) => void): void {
    change(role);
    for (const copy of this.inheritedCopies(role)) change(copy);
    this.store.save();
  }

  /** Deletes a role with its inherited copies; the users holding any of them lose it. */
  deleteRole(role: RoleRow): void {
    const gone = new Set([role.roleid, ...this.inheritedCopies(role).map((copy) => copy.roleid)]);
    for (const id of gone) delete this.environment.roles[id];
    for (const user of this.systemUsers()) user.roles = user.roles.filter((roleId) => !gone.has(roleId));
    this.store.save();
  }

  /**
   * AddPrivilegesRole: grants each privilege at its depth; with `keepExistingDepth` (a quirk of the
   * service) a privilege the role already has keeps its depth.
   */
  addRolePrivileges(role: RoleRow, given: Record<string, number>, keepExistingDepth: boolean, modifiedon: string): void {
    for (const [privilegeId, depth] of Object.entries(given)) {
      if (privilegeId in role.privileges && keepExistingDepth) continue;
      role.privileges[privilegeId] = depth;
    }
    role.modifiedon = modifiedon;
    this.store.save();
  }

  /**
   * ReplacePrivilegesRole: the role grants exactly `given`; with `keepSelfPrivileges` (a quirk of the
   * service) the privileges Dataverse gave the role at creation stay.
   */
  replaceRolePrivileges(role: RoleRow, given: Record<string, number>, keepSelfPrivileges: boolean, modifiedon: string): void {
    const next: Record<string, number> = { ...given };
    if (keepSelfPrivileges) {
      for (const privilegeId of role.selfPrivileges) {
        if (privilegeId in role.privileges && !(privilegeId in next)) next[privilegeId] = role.privileges[privilegeId];
      }
    }
    role.privileges = next;
    role.modifiedon = modifiedon;
    this.store.save();
  }

  removeRolePrivilege(role: RoleRow, privilegeId: string, modifiedon: string): void {
    delete role.privileges[privilegeId];
    role.modifiedon = modifiedon;
    this.store.save();
  }

  // ---- system users ---------------------------------------------------------------------------

  systemUsers(): SystemUserRow[] {
    return Object.values(this.environment.systemUsers);
  }

  systemUser(id: string): SystemUserRow | undefined {
    return this.environment.systemUsers[id];
  }

  /** The application user (not deleted) of an app registration, by its application (client) id. */
  liveApplicationUser(applicationId: string): SystemUserRow | undefined {
    return this.systemUsers().find((user) => user.deletedstate === 0 && sameId(user.applicationid, applicationId));
  }

  /** Whether an app has an application user, soft-deleted ones included (one per app id). */
  hasApplicationUser(applicationId: string): boolean {
    return this.systemUsers().some((user) => sameId(user.applicationid, applicationId));
  }

  addSystemUser(user: SystemUserRow): void {
    this.environment.systemUsers[user.systemuserid] = user;
    this.store.save();
  }

  /** Applies a PATCH; moving a user to another business unit removes its roles (Dataverse's default). */
  updateSystemUser(user: SystemUserRow, changes: SystemUserChanges, modifiedon: string): void {
    if (changes.isdisabled !== undefined) user.isdisabled = changes.isdisabled;
    if (changes.firstname !== undefined) user.firstname = changes.firstname;
    if (changes.lastname !== undefined) user.lastname = changes.lastname;
    if (changes.internalemailaddress !== undefined) user.internalemailaddress = changes.internalemailaddress;
    if (changes.businessunitid !== undefined) {
      if (changes.businessunitid !== user.businessunitid) user.roles = [];
      user.businessunitid = changes.businessunitid;
    }
    user.fullname = user.firstname === "#" ? `# ${user.lastname}` : `${user.firstname} ${user.lastname}`.trim();
    user.modifiedon = modifiedon;
    this.store.save();
  }

  /** The first delete marks the user deleted (deletedstate 1); the second removes the row. */
  deleteSystemUser(user: SystemUserRow, modifiedon: string): void {
    if (user.deletedstate === 0) {
      user.deletedstate = 1;
      user.modifiedon = modifiedon;
    } else {
      delete this.environment.systemUsers[user.systemuserid];
    }
    this.store.save();
  }

  /** The roles assigned to a user (systemuserroles_association), in assignment order. */
  assignedRoles(user: SystemUserRow): RoleRow[] {
    return user.roles.map((roleId) => this.environment.roles[roleId]).filter((role): role is RoleRow => role !== undefined);
  }

  /** Assigns a role; assigning one the user already has changes only modifiedon. */
  assignRole(user: SystemUserRow, role: RoleRow, modifiedon: string): void {
    if (!user.roles.includes(role.roleid)) user.roles.push(role.roleid);
    user.modifiedon = modifiedon;
    this.store.save();
  }

  /** Removes a role assignment; removing one the user does not have changes only modifiedon. */
  unassignRole(user: SystemUserRow, roleId: string, modifiedon: string): void {
    user.roles = user.roles.filter((assigned) => assigned !== roleId);
    user.modifiedon = modifiedon;
    this.store.save();
  }

  // ---- change sets ------------------------------------------------------------------------------

  /** A copy of the environment, for putting it back when a $batch change set fails. */
  snapshot(): EnvironmentState {
    return structuredClone(this.environment);
  }

  restore(snapshot: EnvironmentState): void {
    Object.assign(this.environment, snapshot);
    this.store.save();
  }
}
