/**
 * What the two kinds of role this stack makes share, cloned (cloned-security-role) and declared
 * (spec-security-role): the marker that says whose role it is, the checks of the fields they have in
 * common, the create that takes over a role instead of duplicating it, the state of the privileges
 * read back, and the delete that leaves a role another resource of the stack has taken over.
 *
 * What differs stays in each provider: where the privileges come from (a source role, followed or
 * not, vs a spec resolved by name), how they are kept in state (packed vs a plain list), the diff (a
 * cloned role is replaced on a new name, a declared one renamed in place) and the read.
 */
import { DataverseClient, isInheritedCopy, RoleRecord } from "../../lib/dataverse-client";
import { roleDefaults } from "../../lib/defaults";
import { privilegeDifferences, privilegeDigest } from "./privileges";
import { describeFailure } from "./provider-support";

/** The inputs both kinds of role have, as check normalises them. */
export interface ManagedRoleInputs {
  environmentUrl: string;
  name: string;
  businessUnit: string;
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

/** The common inputs, normalised; each provider adds its own. */
export function managedRoleInputs(news: Partial<ManagedRoleInputs>): ManagedRoleInputs {
  return {
    environmentUrl: String(news.environmentUrl ?? ""),
    name: String(news.name ?? "").trim(),
    businessUnit: String(news.businessUnit ?? "").trim(),
    stack: String(news.stack ?? "").trim(),
    adoptName: String(news.adoptName ?? "").trim(),
  };
}

/** The check rule for a role's name, with an example name to suggest. */
export function roleNameRule(name: string, example: string): [boolean, string, string] {
  return [
    name === "" || name.length > roleDefaults.maxNameLength,
    "name",
    `give the role a name of 1 to ${roleDefaults.maxNameLength} characters, e.g. "${example}"`,
  ];
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

/**
 * The description of a role the project makes: "Managed by dataverse-s2s (stack <stack>, role <key>): "
 * and what the role is for.
 */
export function roleDescription(inputs: { readonly stack?: string; readonly name: string }, purpose: string): string {
  const marker = markerOf(inputs);
  const markerText = `${managedRoleMarker}${marker.stack ? ` (stack ${marker.stack}, role ${marker.key})` : ""}`;
  return `${markerText}: ${purpose}. Changes made here are reverted by the next 'pulumi up'.`;
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
async function roleToTakeOver(
  client: DataverseClient,
  inputs: ManagedRoleInputs,
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

/** The business unit's id; an empty name is the root business unit. */
export function businessUnitIdOf(client: DataverseClient, businessUnit: string): Promise<string> {
  return client.businessUnitId(businessUnit === "" ? undefined : businessUnit);
}

/**
 * The create's role: the one to take over (renamed and marked), else a new one. `sameName`: the roles
 * named `name` in the business unit, as Dataverse listed them.
 */
export async function makeOrTakeOverRole(
  client: DataverseClient,
  inputs: ManagedRoleInputs,
  businessUnitId: string,
  sameName: readonly RoleRecord[],
  description: string,
): Promise<string> {
  // The business unit's copy of a role made in a parent unit (this stack's role, when the stack moves
  // to a child unit) has the same name and marker, but cannot be changed: it is not a role to adopt.
  const candidates = sameName.filter((role) => !isInheritedCopy(role));
  const adopted = await roleToTakeOver(client, inputs, businessUnitId, candidates);
  if (!adopted) return client.createRole(inputs.name, description, businessUnitId);
  if (adopted.description !== description || adopted.name !== inputs.name)
    await client.updateRole(adopted.roleid, { name: inputs.name, description });
  return adopted.roleid;
}

/** The privilege outputs right after an apply: what was read back is the reference for drift. */
export function appliedPrivilegeState(applied: readonly string[]) {
  const digest = privilegeDigest(applied);
  return { appliedDigest: digest, privilegeCount: applied.length, privilegeDigest: digest, privilegeDrift: [] as string[] };
}

/** The privilege outputs a read refreshes: what the role holds now, and how it differs from the last apply. */
export function currentPrivilegeState(applied: readonly string[], current: readonly string[]) {
  return {
    privilegeCount: current.length,
    privilegeDigest: privilegeDigest(current),
    privilegeDrift: privilegeDifferences(applied, current),
  };
}

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
