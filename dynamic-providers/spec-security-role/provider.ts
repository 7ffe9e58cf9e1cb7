/**
 * Implementation of the SpecSecurityRole provider (see index.ts): a role holding
 * exactly the privileges its spec declares (lib/privilege-spec.ts resolves them by name). The marker,
 * the take-over and the delete are those of every role the stack makes (shared/managed-role.ts).
 */
import type * as pulumi from "@pulumi/pulumi";
import { DataverseClient } from "../../lib/dataverse-client";
import { grantedEntries, parsePrivilegeSpec, PrivilegeSpec, resolvePrivilegeSpec } from "../../lib/privilege-spec";
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
import { privilegeEntries } from "../shared/privileges";
import { computeDiff, describeFailure, gone, inputProblems, isUnknown, stateOf } from "../shared/provider-support";

/** Inputs as the provider receives them, normalised by check. */
export interface SpecSecurityRoleInputs extends ManagedRoleInputs {
  /** Table logical name -> right -> depth, sorted. */
  privileges: Record<string, Record<string, string>>;
  miscPrivileges: string[];
}

export interface SpecSecurityRoleOutputs extends SpecSecurityRoleInputs {
  roleId: string;
  businessUnitId: string;
  /** What the spec resolved to at the last apply, as sorted "name:depth" entries. */
  grantedPrivileges: string[];
  /** Privileges read back right after the last apply (the granted ones and those Dataverse adds itself). */
  appliedPrivileges: string[];
  appliedDigest: string;
  /** The role's privileges now (refreshed by read). */
  privilegeCount: number;
  privilegeDigest: string;
  /** What differs between the last apply and now: "-prvX:Global" lost, "+prvY:Basic" added. */
  privilegeDrift: string[];
}

const describeRole = (inputs: Pick<SpecSecurityRoleInputs, "stack" | "name">): string =>
  roleDescription(inputs, "the privileges declared for server-to-server application users (role.privileges)");

/** Resolves the spec in the environment; fails naming each key at fault (the environment check found them first). */
async function resolve(client: DataverseClient, inputs: SpecSecurityRoleInputs) {
  const { privileges, problems } = await resolvePrivilegeSpec(client, inputs as unknown as PrivilegeSpec);
  if (problems.length > 0) {
    throw new Error(
      `Dataverse: the privileges of role '${inputs.name}' cannot be granted in ${client.environmentUrl}: ` +
        problems.map((problem) => `role.${problem.key}: ${problem.problem}`).join("; ") +
        ". Fix the integration's role settings.",
    );
  }
  return privileges;
}

async function grant(
  client: DataverseClient,
  inputs: SpecSecurityRoleInputs,
  roleId: string,
  businessUnitId: string,
): Promise<SpecSecurityRoleOutputs> {
  const privileges = await resolve(client, inputs);
  await client.replacePrivileges(roleId, businessUnitId, privileges);
  const applied = privilegeEntries(await client.rolePrivileges(roleId));
  return {
    ...inputs,
    roleId,
    businessUnitId,
    grantedPrivileges: grantedEntries(privileges),
    appliedPrivileges: applied,
    ...appliedPrivilegeState(applied),
  };
}

export const provider: pulumi.dynamic.ResourceProvider<SpecSecurityRoleInputs, SpecSecurityRoleOutputs> = {
  async check(_olds: SpecSecurityRoleInputs, news: Partial<SpecSecurityRoleInputs>) {
    const problems: string[] = [];
    const known = !isUnknown(news.privileges) && !isUnknown(news.miscPrivileges);
    const spec = known
      ? parsePrivilegeSpec({ privileges: news.privileges ?? {}, miscPrivileges: news.miscPrivileges ?? [] }, "role", problems)
      : undefined;
    const inputs: SpecSecurityRoleInputs = {
      ...managedRoleInputs(news),
      privileges: (spec?.privileges ?? news.privileges ?? {}) as Record<string, Record<string, string>>,
      miscPrivileges: [...(spec?.miscPrivileges ?? news.miscPrivileges ?? [])],
    };
    const failures = inputProblems(inputs.environmentUrl, [
      roleNameRule(inputs.name, "Contact Sync"),
      [
        known && Object.keys(inputs.privileges).length === 0 && inputs.miscPrivileges.length === 0,
        "privileges",
        "declare at least one privilege",
      ],
      ...problems.map((problem): [boolean, string, string] => [true, "privileges", problem]),
    ]);
    return { inputs, failures };
  },

  async diff(_id: string, olds: SpecSecurityRoleOutputs, news: SpecSecurityRoleInputs) {
    return computeDiff(olds, news, {
      replaceOn: ["environmentUrl", "businessUnit"],
      updateOn: ["name", "privileges", "miscPrivileges", "stack"],
      // A state of an earlier version has no stack: the marker is rewritten to name it.
      equal: { stack: (old, wanted) => (old ?? "") === wanted },
      // Someone edited the role since the last apply.
      otherChange: olds.privilegeDigest !== olds.appliedDigest,
      // An update keeps the role's ids, so that dependents (the application user) do not see them as unknown.
      stables: ["roleId", "businessUnitId"],
      deleteBeforeReplace: "whenReplacing",
    });
  },

  async create(inputs: SpecSecurityRoleInputs) {
    const client = new DataverseClient(inputs.environmentUrl);
    try {
      const businessUnitId = await businessUnitIdOf(client, inputs.businessUnit);
      // Resolved before the role is made: a spec that cannot be granted writes nothing.
      await resolve(client, inputs);
      // A leftover of this stack (a crash between create and the state write), or the role the config adopts.
      const sameName = await client.findRoleByName(inputs.name, businessUnitId);
      const roleId = await makeOrTakeOverRole(client, inputs, businessUnitId, sameName, describeRole(inputs));
      return { id: roleId, outs: await grant(client, inputs, roleId, businessUnitId) };
    } catch (error) {
      throw describeFailure(error, `create security role '${inputs.name}'`);
    }
  },

  async read(id: string, state?: SpecSecurityRoleOutputs) {
    const props = stateOf(state, id);
    const client = new DataverseClient(props.environmentUrl);
    try {
      const role = await client.getRole(id);
      if (!role) return gone<SpecSecurityRoleOutputs>();
      const current = privilegeEntries(await client.rolePrivileges(id));
      const outs: SpecSecurityRoleOutputs = {
        ...props,
        name: role.name,
        businessUnitId: role._businessunitid_value.toLowerCase(),
        ...currentPrivilegeState(props.appliedPrivileges, current),
      };
      return { id, props: outs };
    } catch (error) {
      throw describeFailure(error, `read security role '${props.name}'`);
    }
  },

  async update(id: string, olds: SpecSecurityRoleOutputs, news: SpecSecurityRoleInputs) {
    const client = new DataverseClient(news.environmentUrl);
    try {
      if (olds.name !== news.name || (olds.stack ?? "") !== news.stack)
        await client.updateRole(id, { name: news.name, description: describeRole(news) });
      return { outs: await grant(client, news, id, olds.businessUnitId) };
    } catch (error) {
      throw describeFailure(error, `update security role '${news.name}'`);
    }
  },

  async delete(id: string, props: SpecSecurityRoleOutputs) {
    await deleteOwnRole(id, props);
  },
};
