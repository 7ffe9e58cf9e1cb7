/**
 * A Dataverse application user: the identity an app registration has inside one environment, with
 * its security roles.
 *
 *   create  -> adopt the live user of that app id (re-enabling it) or purge a soft-deleted one, else
 *              POST systemusers; then POST .../systemuserroles_association/$ref per missing role and
 *              DELETE .../$ref per role given outside the stack
 *   read    -> GET systemusers(<id>)?$expand=systemuserroles_association
 *   update  -> PATCH isdisabled=false, then the role assignments as in create
 *   delete  -> PATCH isdisabled=true, DELETE (soft delete), DELETE (purge); 404 is done
 */
import type * as pulumi from "@pulumi/pulumi";
import { DataverseClient, SystemUserRecord } from "../../lib/dataverse-client";
import { applicationUserDefaults } from "../../lib/defaults";
import { isGuid } from "../../lib/validators";
import { computeDiff, describeFailure, gone, inputProblems, isUnknown, stateOf } from "./provider-support";

export interface ApplicationUserInputs {
  environmentUrl: string;
  applicationId: string;
  businessUnit: string;
  roleIds: string[];
  removeUnmanagedRoles: boolean;
  keepDisabledOnDelete: boolean;
}

export interface ApplicationUserOutputs extends ApplicationUserInputs {
  userId: string;
  businessUnitId: string;
  fullName: string;
  isDisabled: boolean;
  /** Roles the user holds now, sorted (refreshed by read). */
  assignedRoleIds: string[];
}

const normalizeIds = (ids: readonly string[]): string[] => [...new Set(ids.map((id) => id.toLowerCase()))].sort();

function assignedRoles(user: SystemUserRecord): string[] {
  return normalizeIds((user.systemuserroles_association ?? []).map((role) => role.roleid));
}

function isLive(user: SystemUserRecord): boolean {
  return !user.deletedstate;
}

/** Gives the user exactly the wanted roles (plus, if allowed to stay, the ones given outside the stack). */
async function reconcileRoles(
  client: DataverseClient,
  userId: string,
  inputs: ApplicationUserInputs,
  current: readonly string[],
): Promise<void> {
  const wanted = normalizeIds(inputs.roleIds);
  for (const roleId of wanted) if (!current.includes(roleId)) await client.assignRole(userId, roleId);
  if (inputs.removeUnmanagedRoles) {
    for (const roleId of current) if (!wanted.includes(roleId)) await client.unassignRole(userId, roleId);
  }
}

async function readOutputs(
  client: DataverseClient,
  userId: string,
  inputs: ApplicationUserInputs,
): Promise<ApplicationUserOutputs | undefined> {
  const user = await client.getUser(userId);
  if (!user || !isLive(user)) return undefined;
  return {
    ...inputs,
    userId,
    businessUnitId: user._businessunitid_value.toLowerCase(),
    fullName: user.fullname ?? "",
    isDisabled: user.isdisabled,
    assignedRoleIds: assignedRoles(user),
  };
}

export const provider: pulumi.dynamic.ResourceProvider<ApplicationUserInputs, ApplicationUserOutputs> = {
  async check(_olds: ApplicationUserInputs, news: Partial<ApplicationUserInputs>) {
    const inputs: ApplicationUserInputs = {
      environmentUrl: String(news.environmentUrl ?? ""),
      applicationId: String(news.applicationId ?? "").toLowerCase(),
      businessUnit: String(news.businessUnit ?? "").trim(),
      roleIds: Array.isArray(news.roleIds) ? news.roleIds.map((id) => String(id).toLowerCase()) : [],
      removeUnmanagedRoles: news.removeUnmanagedRoles ?? applicationUserDefaults.removeUnmanagedRoles,
      keepDisabledOnDelete: news.keepDisabledOnDelete ?? applicationUserDefaults.keepUserOnDestroy,
    };
    const failures = inputProblems(inputs.environmentUrl, [
      [
        !isUnknown(inputs.applicationId) && !isGuid(inputs.applicationId),
        "applicationId",
        "give the app registration's application (client) id, a GUID",
      ],
      [inputs.roleIds.some((id) => !isUnknown(id) && !isGuid(id)), "roleIds", "give security role ids (GUIDs)"],
    ]);
    return { inputs, failures };
  },

  async diff(_id: string, olds: ApplicationUserOutputs, news: ApplicationUserInputs) {
    const wanted = isUnknown(news.roleIds) ? undefined : normalizeIds(news.roleIds);
    const assigned = olds.assignedRoleIds ?? [];
    const rolesChanged =
      wanted === undefined ||
      wanted.some((roleId) => !assigned.includes(roleId)) ||
      (news.removeUnmanagedRoles && assigned.some((roleId) => !wanted.includes(roleId))) ||
      JSON.stringify(normalizeIds(olds.roleIds)) !== JSON.stringify(wanted);
    // Another business unit moves the user in place (it keeps its id and is given its roles again at
    // once), instead of a replacement that would leave the app without a user in between.
    const moved = isUnknown(news.businessUnit) || (olds.businessUnit ?? "") !== news.businessUnit;
    return computeDiff(olds, news, {
      replaceOn: ["environmentUrl", "applicationId"],
      updateOn: ["removeUnmanagedRoles", "keepDisabledOnDelete", "businessUnit"],
      // The roles are compared with what the user holds now; a disabled user is enabled again.
      otherChange: rolesChanged || olds.isDisabled,
      stables: moved ? ["userId"] : ["userId", "businessUnitId"],
      // One application user per app id: the old one must go before a new one can be made.
      deleteBeforeReplace: "always",
    });
  },

  async create(inputs: ApplicationUserInputs) {
    const client = new DataverseClient(inputs.environmentUrl);
    try {
      const businessUnitId = await client.businessUnitId(inputs.businessUnit === "" ? undefined : inputs.businessUnit);
      const existing = await client.findApplicationUsers(inputs.applicationId);
      let user = existing.find(isLive);
      if (user) {
        // Adopt: a user made by hand, by an earlier run that crashed, or left disabled by a destroy.
        if (user._businessunitid_value.toLowerCase() !== businessUnitId) {
          await client.updateUser(
            user.systemuserid,
            { "businessunitid@odata.bind": `/businessunits(${businessUnitId})` },
            "move application user to its business unit",
          );
        }
        if (user.isdisabled) await client.updateUser(user.systemuserid, { isdisabled: false }, "re-enable application user");
      } else {
        // A soft-deleted user of the same app id blocks a new one (412): purge it first.
        for (const deleted of existing) await client.deleteUser(deleted.systemuserid, "purge soft-deleted application user");
        const userId = await client.createApplicationUser(inputs.applicationId, businessUnitId);
        user = await client.getUser(userId);
        if (!user) throw new Error(`Dataverse: the application user ${userId} was created but cannot be read back.`);
      }
      const userId = user.systemuserid.toLowerCase();
      const before = await client.getUser(userId);
      await reconcileRoles(client, userId, inputs, before ? assignedRoles(before) : []);
      const outs = await readOutputs(client, userId, inputs);
      if (!outs) throw new Error(`Dataverse: the application user ${userId} disappeared while it was being set up.`);
      return { id: userId, outs };
    } catch (error) {
      throw describeFailure(error, `create application user for app ${inputs.applicationId}`);
    }
  },

  async read(id: string, state?: ApplicationUserOutputs) {
    const props = stateOf(state, id);
    const client = new DataverseClient(props.environmentUrl);
    try {
      const outs = await readOutputs(client, id, props);
      return outs ? { id, props: outs } : gone<ApplicationUserOutputs>();
    } catch (error) {
      throw describeFailure(error, `read application user ${id}`);
    }
  },

  async update(id: string, olds: ApplicationUserOutputs, news: ApplicationUserInputs) {
    const client = new DataverseClient(news.environmentUrl);
    try {
      const user = await client.getUser(id);
      if (!user || !isLive(user)) {
        throw new Error(`Dataverse: application user ${id} no longer exists; run 'pulumi up --refresh' so that it is created again.`);
      }
      if (user.isdisabled) await client.updateUser(id, { isdisabled: false }, "re-enable application user");
      let current = assignedRoles(user);
      const businessUnitId = await client.businessUnitId(news.businessUnit === "" ? undefined : news.businessUnit);
      if (user._businessunitid_value.toLowerCase() !== businessUnitId) {
        // Dataverse removes a user's roles when it moves; the wanted ones are given back right after.
        await client.updateUser(
          id,
          { "businessunitid@odata.bind": `/businessunits(${businessUnitId})` },
          "move application user to its business unit",
        );
        current = assignedRoles((await client.getUser(id)) ?? user);
      }
      await reconcileRoles(client, id, news, current);
      const outs = await readOutputs(client, id, news);
      if (!outs) throw new Error(`Dataverse: application user ${id} disappeared during the update.`);
      return { outs };
    } catch (error) {
      throw describeFailure(error, `update application user ${olds.userId}`);
    }
  },

  async delete(id: string, props: ApplicationUserOutputs) {
    const client = new DataverseClient(props.environmentUrl);
    try {
      const user = await client.getUser(id);
      if (!user) return;
      // Only a disabled application user can be deleted.
      if (!user.isdisabled) await client.updateUser(id, { isdisabled: true }, "disable application user");
      if (props.keepDisabledOnDelete) return;
      if (isLive(user)) await client.deleteUser(id, "delete application user");
      await client.deleteUser(id, "purge application user");
    } catch (error) {
      throw describeFailure(error, `delete application user ${id}`);
    }
  },
};
