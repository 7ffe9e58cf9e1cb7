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
 * What was read back is kept packed (privileges.ts), so a copy of System Administrator stays small in state.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  DataverseClient,
  findRoleByNameRequest,
  forgetEnvironmentLookups,
  isInheritedCopy,
  RolePrivilege,
  rolePrivilegesOf,
  rolePrivilegesRequest,
  RoleRecord,
  roleRequest,
  rowsOf,
} from "../../lib/dataverse-client";
import { roleDefaults, systemAdministratorTemplateId } from "../../lib/defaults";
import {
  packPrivileges,
  parsePrivilegeEntry,
  privilegeDifferences,
  privilegeDigest,
  privilegeEntries,
  unpackPrivileges,
} from "../shared/privileges";
import { computeDiff, describeFailure, gone, inputProblems, stateOf } from "../shared/provider-support";

/** Inputs as the provider receives them, defaults applied. */
export interface ClonedSecurityRoleInputs {
  environmentUrl: string;
  name: string;
  sourceRole: string;
  businessUnit: string;
  followSource: boolean;
  /** Privileges of the source not copied (role.excludePrivileges), by name. */
  excludePrivileges: string[];
  /**
   * The stack that owns the role, "<organization>/<project>/<stack>", written into the role's marker
   * (empty: the marker of earlier versions, which named no stack).
   */
  stack: string;
  /**
   * A role made by hand that the create takes over (config adopt.roleName, else role.name of an
   * integration with adopt); empty: only a leftover of this stack is taken over. Read by create only.
   */
  adoptName?: string;
}

export interface ClonedSecurityRoleOutputs extends ClonedSecurityRoleInputs {
  roleId: string;
  businessUnitId: string;
  sourceRoleId: string;
  /**
   * Privileges read back right after the last apply: sorted "name:depth" entries, packed
   * (privileges.ts packPrivileges; about 6 KB for a copy of System Administrator).
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

/** The privileges read after the last apply; states written before they were packed hold a plain list. */
function appliedEntries(props: ClonedSecurityRoleOutputs): string[] {
  if (props.appliedPrivilegeSet) return unpackPrivileges(props.appliedPrivilegeSet);
  return (props as { appliedPrivileges?: string[] }).appliedPrivileges ?? [];
}

/** The outputs without a plain list of an older state (it is packed instead). */
function withPackedPrivileges(props: ClonedSecurityRoleOutputs): ClonedSecurityRoleOutputs {
  const { appliedPrivileges: legacy, ...rest } = props as ClonedSecurityRoleOutputs & { appliedPrivileges?: string[] };
  return legacy === undefined ? props : { ...rest, appliedPrivilegeSet: packPrivileges(legacy) };
}

/** Marks roles made by this project, so a re-run after a crash adopts instead of duplicating. */
export const managedRoleMarker = "Managed by dataverse-s2s";

/** Whose role it is: a stack and a role key (the lower-cased name); no stack in the marker of earlier versions. */
interface RoleMarker {
  readonly stack: string;
  readonly key: string;
}

function markerOf(inputs: { readonly stack?: string; readonly name: string }): RoleMarker {
  return { stack: inputs.stack ?? "", key: inputs.stack ? inputs.name.toLowerCase() : "" };
}

/** The marker at the start of a role's description; undefined when the role was not made by this project. */
function parseRoleMarker(description: string | null | undefined): RoleMarker | undefined {
  const text = description ?? "";
  if (!text.startsWith(managedRoleMarker)) return undefined;
  const named = /^Managed by dataverse-s2s \(stack (\S+), role (.*?)\):/.exec(text);
  return named ? { stack: named[1], key: named[2] } : { stack: "", key: "" };
}

const sameMarker = (a: RoleMarker, b: RoleMarker) => a.stack === b.stack && a.key === b.key;
const isMarkedAs = (role: RoleRecord, marker: RoleMarker) => {
  const found = parseRoleMarker(role.description);
  return found !== undefined && sameMarker(found, marker);
};

/** "Managed by dataverse-s2s (stack <stack>, role <key>)": the start of the description of every role the project makes. */
export function markerText(inputs: { readonly stack?: string; readonly name: string }): string {
  const marker = markerOf(inputs);
  return `${managedRoleMarker}${marker.stack ? ` (stack ${marker.stack}, role ${marker.key})` : ""}`;
}

function roleDescription(inputs: Pick<ClonedSecurityRoleInputs, "stack" | "name" | "sourceRole">): string {
  return `${markerText(inputs)}: a copy of '${inputs.sourceRole}' for server-to-server application users. Changes made here are reverted by the next 'pulumi up'.`;
}

/** True when the role's description says it is this resource's (marker of this stack and role): a delete may remove it. */
function isOwnRole(description: string | null | undefined, inputs: { readonly stack?: string; readonly name: string }): boolean {
  const marker = parseRoleMarker(description);
  return !marker || sameMarker(marker, markerOf(inputs));
}

/**
 * The role a create takes over instead of making one, or undefined to make one; throws when a role of
 * that name is in the way. Taken over: a role made by hand that the config adopts (`adoptName`, unless
 * it belongs to another stack), else a same-named role whose marker names this stack and role (a
 * crashed run's, or one another resource of the stack is giving up) or the marker of earlier versions.
 * `sameName`: the roles named `name` in the business unit.
 */
export async function roleToTakeOver(
  client: DataverseClient,
  inputs: { readonly name: string; readonly stack?: string; readonly adoptName?: string },
  businessUnitId: string,
  sameName: readonly RoleRecord[],
): Promise<RoleRecord | undefined> {
  const wanted = markerOf(inputs);
  const ofOtherStack = (role: RoleRecord) => {
    const marker = parseRoleMarker(role.description);
    return marker !== undefined && marker.stack !== "" && marker.stack !== wanted.stack;
  };
  const otherStackError = (role: RoleRecord) =>
    new Error(
      `Dataverse: the security role '${role.name}' (role ${role.roleid}) belongs to the dataverse-s2s stack ` +
        `${parseRoleMarker(role.description)!.stack}, not to ${wanted.stack || "this one"}. Give the integration's role another name (role.name) ` +
        `in one of the stacks (or adopt another role): two stacks never share a role.`,
    );
  const adoptName = (inputs.adoptName ?? "").trim();
  const adoptsAnother = adoptName !== "" && adoptName.toLowerCase() !== inputs.name.toLowerCase();
  if (adoptName !== "") {
    const candidates = adoptsAnother ? await client.findRoleByName(adoptName, businessUnitId) : sameName;
    const own = candidates.find((role) => !ofOtherStack(role));
    if (!own && candidates.length > 0) throw otherStackError(candidates[0]);
    // Renamed to `name` by the create: nothing else may hold that name then.
    if (own && !adoptsAnother) return candidates.find((role) => isMarkedAs(role, wanted)) ?? own;
    if (own && sameName.length === 0) return own;
  }
  const foreign = sameName.find((role) => !parseRoleMarker(role.description));
  if (foreign) {
    throw new Error(
      `Dataverse: a security role named '${inputs.name}' already exists in this business unit and was not made by dataverse-s2s ` +
        `(role ${foreign.roleid}). Give the integration's role another name (role.name), use that role as it is (role.existing), ` +
        `or take it over (adopt with roleName '${foreign.name}', README "Adopting a manual setup").`,
    );
  }
  const otherStack = sameName.find(ofOtherStack);
  if (otherStack) throw otherStackError(otherStack);
  return sameName.find((role) => sameMarker(parseRoleMarker(role.description)!, wanted)) ?? sameName[0];
}

async function resolveBusinessUnit(client: DataverseClient, businessUnit: string): Promise<string> {
  return client.businessUnitId(businessUnit === "" ? undefined : businessUnit);
}

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
  const digest = privilegeDigest(copy.applied);
  return {
    ...inputs,
    ...ids,
    appliedPrivilegeSet: packPrivileges(copy.applied),
    appliedDigest: digest,
    privilegeCount: copy.applied.length,
    privilegeDigest: digest,
    privilegeDrift: [],
    copiedSourceDigest: copy.sourceDigest,
    sourceDigest: copy.sourceDigest,
  };
}

export const provider: pulumi.dynamic.ResourceProvider<ClonedSecurityRoleInputs, ClonedSecurityRoleOutputs> = {
  async check(_olds: ClonedSecurityRoleInputs, news: Partial<ClonedSecurityRoleInputs>) {
    const inputs: ClonedSecurityRoleInputs = {
      environmentUrl: String(news.environmentUrl ?? ""),
      name: String(news.name ?? "").trim(),
      sourceRole: String(news.sourceRole ?? roleDefaults.cloneFrom).trim(),
      businessUnit: String(news.businessUnit ?? "").trim(),
      followSource: news.followSource ?? roleDefaults.followSource,
      excludePrivileges: normalisedNames(news.excludePrivileges),
      stack: String(news.stack ?? "").trim(),
      adoptName: String(news.adoptName ?? "").trim(),
    };
    const failures = inputProblems(inputs.environmentUrl, [
      [
        inputs.name === "" || inputs.name.length > roleDefaults.maxNameLength,
        "name",
        `give the role a name of 1 to ${roleDefaults.maxNameLength} characters, e.g. "${roleDefaults.name}"`,
      ],
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
      const businessUnitId = await resolveBusinessUnit(client, inputs.businessUnit);
      const source = await findSource(client, inputs.sourceRole, businessUnitId);
      const description = roleDescription(inputs);
      const [sameNameAnswer, sourceAnswer] = await client.batch(`create security role '${inputs.name}'`, [
        findRoleByNameRequest(inputs.name, businessUnitId),
        rolePrivilegesRequest(source.roleid),
      ]);
      // The business unit's copy of a role made in a parent unit (this stack's role, when the stack moves
      // to a child unit) has the same name and marker, but cannot be changed: it is not a role to adopt.
      const sameName = rowsOf<RoleRecord>(sameNameAnswer.data).filter((role) => !isInheritedCopy(role));
      const adopted = await roleToTakeOver(client, inputs, businessUnitId, sameName);
      const roleId = adopted?.roleid ?? (await client.createRole(inputs.name, description, businessUnitId));
      if (adopted && (adopted.description !== description || adopted.name !== inputs.name))
        await client.updateRole(roleId, { name: inputs.name, description });
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
        privilegeCount: current.length,
        privilegeDigest: privilegeDigest(current),
        privilegeDrift: privilegeDifferences(appliedEntries(props), current),
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
        await client.updateRole(id, { name: news.name, description: roleDescription(news) });
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

/**
 * Deletes a role of the stack (cloned or spec), done when it is gone. A role another resource of the
 * stack adopted (a rename, a removed integration that held a shared role, an upgrade) is theirs now,
 * and deleting it would strip their users: it is left.
 */
export async function deleteOwnRole(
  id: string,
  props: { readonly environmentUrl: string; readonly stack?: string; readonly name: string },
) {
  const client = new DataverseClient(props.environmentUrl);
  try {
    const role = await client.getRole(id);
    if (!role) return;
    if (!isOwnRole(role.description, props)) return;
    await client.deleteRole(id);
  } catch (error) {
    throw describeFailure(error, `delete security role '${props.name}'`);
  }
}

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
