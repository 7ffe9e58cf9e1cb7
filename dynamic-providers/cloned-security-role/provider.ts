/**
 * A Dataverse security role cloned from another one: what "Copy Role" does in the UI.
 *
 *   create  -> find the business unit and the source role (once per process: the environment check
 *              has usually done it), one $batch GET of roles of that name and of the source's
 *              privileges, POST roles (or adopt a role of the same name that this stack made: its
 *              marker names this stack and this role), then one $batch: a change set of
 *              ReplacePrivilegesRole + AddPrivilegesRole (all or nothing) and RetrieveRolePrivilegesRole
 *              to read back what the role holds
 *   read    -> one $batch: GET roles(<id>), RetrieveRolePrivilegesRole for the role and its source
 *   update  -> PATCH roles(<id>) for a new name; privileges written again from the source
 *   delete  -> DELETE roles(<id>) (404 is done), unless another resource of the stack has taken the
 *              role over since (its marker is no longer this resource's): then the role is left alone
 *
 * Drift is measured against what was read back right after the last apply, not against what was
 * sent: Dataverse adds and keeps a few privileges by itself, which must not look like drift forever.
 * What was read back is kept packed (shared/privileges.ts), so a copy of System Administrator stays
 * small in state; outputs of earlier versions are read by migrations.ts. The marker, the take-over and
 * the delete are those of every role the stack makes (shared/managed-role.ts).
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  DataverseClient,
  findRoleByNameRequest,
  forgetEnvironmentLookups,
  RolePrivilege,
  rolePrivilegesOf,
  rolePrivilegesRequest,
  RoleRecord,
  roleRequest,
  rowsOf,
} from "../../lib/dataverse-client";
import { roleDefaults, systemAdministratorTemplateId } from "../../lib/defaults";
import {
  appliedPrivilegeState,
  businessUnitIdOf,
  currentPrivilegeState,
  deleteOwnRole,
  makeOrTakeOverRole,
  managedRoleInputs,
  ManagedRoleInputs,
  roleDescription,
  roleNameRule,
} from "../shared/managed-role";
import { packPrivileges, parsePrivilegeEntry, privilegeDigest, privilegeEntries } from "../shared/privileges";
import { computeDiff, describeFailure, gone, inputProblems, stateOf } from "../shared/provider-support";
import { appliedEntries, withPackedPrivileges } from "./migrations";

/** Inputs as the provider receives them, defaults applied. */
export interface ClonedSecurityRoleInputs extends ManagedRoleInputs {
  sourceRole: string;
  followSource: boolean;
  /** Privileges of the source not copied (role.excludePrivileges), by name. */
  excludePrivileges: string[];
}

export interface ClonedSecurityRoleOutputs extends ClonedSecurityRoleInputs {
  roleId: string;
  businessUnitId: string;
  sourceRoleId: string;
  /**
   * Privileges read back right after the last apply: sorted "name:depth" entries, packed
   * (shared/privileges.ts packPrivileges; about 6 KB for a copy of System Administrator).
   */
  appliedPrivilegeSet: string;
  appliedDigest: string;
  /** The role's privileges now (refreshed by read). */
  privilegeCount: number;
  privilegeDigest: string;
  /** What differs between the last apply and now: "-prvX:Global" lost, "+prvY:Basic" added. */
  privilegeDrift: string[];
  /** Digest of the source role's privileges when they were last copied, and now. */
  copiedSourceDigest: string;
  sourceDigest: string;
  /**
   * The role's name as last read from Dataverse. `name` stays the configured one: a name changed in
   * config is another role (replaced), a name changed in Dataverse by hand is drift (renamed back).
   */
  observedName?: string;
}

const describeRole = (inputs: Pick<ClonedSecurityRoleInputs, "stack" | "name" | "sourceRole">): string =>
  roleDescription(inputs, `a copy of '${inputs.sourceRole}' for server-to-server application users`);

async function findSource(client: DataverseClient, sourceRole: string, businessUnitId: string): Promise<RoleRecord> {
  const found =
    (await client.findSourceRole(sourceRole, businessUnitId)) ?? (await client.findSourceRole(sourceRole, await client.businessUnitId()));
  if (!found) {
    throw new Error(
      `Dataverse: there is no security role '${sourceRole}' to copy in ${client.environmentUrl}. Set the integration's role.cloneFrom ` +
        `to the name of an existing role (as shown in Settings > Security > Security roles) or to a role template id ` +
        `(${roleDefaults.cloneFrom}: ${systemAdministratorTemplateId}).`,
    );
  }
  return found;
}

/** Names compared as Dataverse compares them (without case), sorted: how excludePrivileges is kept. */
const normalisedNames = (names: readonly string[] | undefined): string[] => [...new Set((names ?? []).map((name) => name.trim()))].sort();
const sameNames = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  JSON.stringify(normalisedNames(a).map((name) => name.toLowerCase())) ===
  JSON.stringify(normalisedNames(b).map((name) => name.toLowerCase()));

/** Copies the source's privileges, but the excluded ones, into the role and returns what the role holds afterwards. */
async function copyPrivileges(
  client: DataverseClient,
  roleId: string,
  businessUnitId: string,
  sourceRoleId: string,
  excludePrivileges: readonly string[],
  sourcePrivileges?: readonly RolePrivilege[],
) {
  const privileges = sourcePrivileges ?? (await client.rolePrivileges(sourceRoleId));
  const excluded = new Set(excludePrivileges.map((name) => name.toLowerCase()));
  const copied = privileges.filter((privilege) => !excluded.has(privilege.name.toLowerCase()));
  const applied = privilegeEntries(await client.replacePrivileges(roleId, businessUnitId, copied));
  return { applied, sourceDigest: privilegeDigest(privilegeEntries(privileges)) };
}

function outputsAfterApply(
  inputs: ClonedSecurityRoleInputs,
  ids: { roleId: string; businessUnitId: string; sourceRoleId: string },
  copy: { applied: string[]; sourceDigest: string },
): ClonedSecurityRoleOutputs {
  return {
    ...inputs,
    ...ids,
    appliedPrivilegeSet: packPrivileges(copy.applied),
    ...appliedPrivilegeState(copy.applied),
    copiedSourceDigest: copy.sourceDigest,
    sourceDigest: copy.sourceDigest,
  };
}

export const provider: pulumi.dynamic.ResourceProvider<ClonedSecurityRoleInputs, ClonedSecurityRoleOutputs> = {
  async check(_olds: ClonedSecurityRoleInputs, news: Partial<ClonedSecurityRoleInputs>) {
    const inputs: ClonedSecurityRoleInputs = {
      ...managedRoleInputs(news),
      sourceRole: String(news.sourceRole ?? roleDefaults.cloneFrom).trim(),
      followSource: news.followSource ?? roleDefaults.followSource,
      excludePrivileges: normalisedNames(news.excludePrivileges),
    };
    const failures = inputProblems(inputs.environmentUrl, [
      roleNameRule(inputs.name, roleDefaults.name),
      [inputs.sourceRole === "", "sourceRole", `give the role to copy: a name such as "${roleDefaults.cloneFrom}" or a role template id`],
    ]);
    return { inputs, failures };
  },

  async diff(_id: string, olds: ClonedSecurityRoleOutputs, news: ClonedSecurityRoleInputs) {
    return computeDiff(olds, news, {
      // Another name is another role (the stack keys its roles by name): the new one is made (or
      // adopted) first and the user moved to it; the old one is deleted last, if no one holds it.
      replaceOn: ["environmentUrl", "businessUnit", "name"],
      updateOn: ["sourceRole", "followSource", "stack", "excludePrivileges"],
      // Dataverse compares role and privilege names without case; a state from before excludePrivileges has none.
      equal: {
        sourceRole: (old, wanted) => old.toLowerCase() === wanted.toLowerCase(),
        name: (old, wanted) => old.toLowerCase() === wanted.toLowerCase(),
        stack: (old, wanted) => (old ?? "") === wanted,
        excludePrivileges: (old, wanted) => sameNames(old, wanted),
      },
      otherChange:
        // The same role name in another case is a rename in place.
        (typeof news.name === "string" && olds.name !== news.name) ||
        // Someone renamed the role in Dataverse: it is renamed back.
        (typeof news.name === "string" && olds.observedName !== undefined && olds.observedName !== news.name) ||
        // Someone edited the role since the last apply.
        olds.privilegeDigest !== olds.appliedDigest ||
        // The source gained or lost privileges since they were copied.
        (news.followSource && olds.sourceDigest !== olds.copiedSourceDigest),
      // An update keeps the role's ids, so that dependents (the application user) do not see them as unknown.
      // A replacement makes the new role before deleting the old one, so the user is never without one.
      stables: ["roleId", "businessUnitId"],
    });
  },

  async create(inputs: ClonedSecurityRoleInputs) {
    const client = new DataverseClient(inputs.environmentUrl);
    try {
      // The business unit and the source are usually known already: the environment check looked them up.
      const businessUnitId = await businessUnitIdOf(client, inputs.businessUnit);
      const source = await findSource(client, inputs.sourceRole, businessUnitId);
      const [sameNameAnswer, sourceAnswer] = await client.batch(`create security role '${inputs.name}'`, [
        findRoleByNameRequest(inputs.name, businessUnitId),
        rolePrivilegesRequest(source.roleid),
      ]);
      const sameName = rowsOf<RoleRecord>(sameNameAnswer.data);
      const roleId = await makeOrTakeOverRole(client, inputs, businessUnitId, sameName, describeRole(inputs));
      const copy = await copyPrivileges(
        client,
        roleId,
        businessUnitId,
        source.roleid,
        inputs.excludePrivileges,
        rolePrivilegesOf(sourceAnswer.data),
      );
      return { id: roleId, outs: outputsAfterApply(inputs, { roleId, businessUnitId, sourceRoleId: source.roleid }, copy) };
    } catch (error) {
      forgetEnvironmentLookups(inputs.environmentUrl);
      throw describeFailure(error, `create security role '${inputs.name}'`);
    }
  },

  async read(id: string, state?: ClonedSecurityRoleOutputs) {
    const props = withPackedPrivileges(stateOf(state, id));
    const client = new DataverseClient(props.environmentUrl);
    try {
      // One round trip: the role, its privileges and (when followed) its source's; a 404 is an answer.
      const [roleAnswer, privilegesAnswer, sourceAnswer] = await client.batch(
        `read security role '${props.name}'`,
        [
          roleRequest(id),
          { ...rolePrivilegesRequest(id), acceptStatus: [404] },
          ...(props.followSource ? [{ ...rolePrivilegesRequest(props.sourceRoleId), acceptStatus: [404] }] : []),
        ],
        { continueOnError: true },
      );
      if (roleAnswer.status === 404 || privilegesAnswer.status === 404) return gone<ClonedSecurityRoleOutputs>();
      const role = roleAnswer.data as RoleRecord;
      const current = privilegeEntries(rolePrivilegesOf(privilegesAnswer.data));
      // A source that is gone keeps the digest of its last copy.
      const sourceDigest =
        sourceAnswer && sourceAnswer.status !== 404
          ? privilegeDigest(privilegeEntries(rolePrivilegesOf(sourceAnswer.data)))
          : props.sourceDigest;
      const outs: ClonedSecurityRoleOutputs = {
        ...props,
        observedName: role.name,
        businessUnitId: role._businessunitid_value.toLowerCase(),
        ...currentPrivilegeState(appliedEntries(props), current),
        sourceDigest,
      };
      return { id, props: outs };
    } catch (error) {
      throw describeFailure(error, `read security role '${props.name}'`);
    }
  },

  async update(id: string, olds: ClonedSecurityRoleOutputs, news: ClonedSecurityRoleInputs) {
    const client = new DataverseClient(news.environmentUrl);
    try {
      const renamedByHand = olds.observedName !== undefined && olds.observedName !== news.name;
      if (olds.name !== news.name || renamedByHand || olds.sourceRole !== news.sourceRole || (olds.stack ?? "") !== news.stack) {
        await client.updateRole(id, { name: news.name, description: describeRole(news) });
      }
      const source =
        news.sourceRole.toLowerCase() === olds.sourceRole.toLowerCase() && !news.followSource
          ? { roleid: olds.sourceRoleId }
          : await findSource(client, news.sourceRole, olds.businessUnitId);
      // Without followSource the privileges copied last time are put back, not the source's new ones.
      const copy =
        news.followSource || source.roleid !== olds.sourceRoleId || !sameNames(olds.excludePrivileges, news.excludePrivileges)
          ? await copyPrivileges(client, id, olds.businessUnitId, source.roleid, news.excludePrivileges)
          : await restorePrivileges(client, id, olds);
      return { outs: outputsAfterApply(news, { roleId: id, businessUnitId: olds.businessUnitId, sourceRoleId: source.roleid }, copy) };
    } catch (error) {
      forgetEnvironmentLookups(news.environmentUrl);
      throw describeFailure(error, `update security role '${news.name}'`);
    }
  },

  async delete(id: string, props: ClonedSecurityRoleOutputs) {
    await deleteOwnRole(id, props);
  },
};

/** Puts back the privileges read after the last apply (when the role must not follow its source). */
async function restorePrivileges(client: DataverseClient, roleId: string, olds: ClonedSecurityRoleOutputs) {
  const wanted = appliedEntries(olds);
  // Privilege ids by name, from the role and its source (state keeps names only).
  const [roleAnswer, sourceAnswer] = await client.batch(`restore the privileges of role ${roleId}`, [
    rolePrivilegesRequest(roleId),
    rolePrivilegesRequest(olds.sourceRoleId),
  ]);
  const catalogue = new Map(
    [...rolePrivilegesOf(roleAnswer.data), ...rolePrivilegesOf(sourceAnswer.data)].map((privilege) => [
      privilege.name,
      privilege.privilegeId,
    ]),
  );
  const privileges = wanted.flatMap((entry) => {
    const { name, depth } = parsePrivilegeEntry(entry);
    const privilegeId = catalogue.get(name);
    return privilegeId ? [{ privilegeId, name, depth }] : [];
  });
  const applied = privilegeEntries(await client.replacePrivileges(roleId, olds.businessUnitId, privileges));
  return { applied, sourceDigest: olds.copiedSourceDigest };
}
