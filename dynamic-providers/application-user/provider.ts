/**
 * A Dataverse application user: the identity an app registration has inside one environment, with
 * its security roles.
 *
 *   create  -> POST systemusers; when Dataverse answers 412 (the app id has a user), GET it and adopt
 *              the live one (re-enabling it) or purge a soft-deleted one and POST again; then one
 *              $batch: a change set of POST .../systemuserroles_association/$ref per missing role and
 *              DELETE .../$ref per role given outside the stack, and GET the user back
 *   read    -> GET systemusers(<id>)?$expand=systemuserroles_association
 *   update  -> one $batch: a change set of PATCH isdisabled=false and the role assignments, then GET
 *   delete  -> GET, then one $batch: PATCH isdisabled=true, DELETE (soft delete), DELETE (purge); 404 is done
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  BatchOperation,
  DataverseClient,
  deleteUserRequest,
  forgetEnvironmentLookups,
  SystemUserRecord,
  updateUserRequest,
  userRequest,
} from "../../lib/dataverse-client";
import { RestApiError } from "../../lib/rest-client";
import { applicationUserDefaults } from "../../lib/defaults";
import { isGuid } from "../../lib/validators";
import { computeDiff, describeFailure, gone, inputProblems, isUnknown, stateOf } from "../shared/provider-support";

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

/** The role writes that give the user exactly the wanted roles (plus, if allowed to stay, the ones given outside the stack). */
function roleWrites(client: DataverseClient, userId: string, inputs: ApplicationUserInputs, current: readonly string[]): BatchOperation[] {
  const wanted = normalizeIds(inputs.roleIds);
  return [
    ...wanted.filter((roleId) => !current.includes(roleId)).map((roleId) => client.assignRoleRequest(userId, roleId)),
    ...(inputs.removeUnmanagedRoles
      ? current.filter((roleId) => !wanted.includes(roleId)).map((roleId) => client.unassignRoleRequest(userId, roleId))
      : []),
  ];
}

/**
 * Applies `writes` (a change set: all or nothing) and reads the user back, in one round trip. What
 * the writes were based on may be stale (state from the last run, a user just adopted), so the read
 * is checked: roles still not as wanted get one more round.
 */
async function applyAndRead(
  client: DataverseClient,
  userId: string,
  inputs: ApplicationUserInputs,
  writes: readonly BatchOperation[],
): Promise<SystemUserRecord | undefined> {
  let pending = writes;
  let user: SystemUserRecord | undefined;
  for (let round = 0; round < 2; round++) {
    const answers = await client.batch(`set up application user ${userId}`, [
      ...(pending.length > 0 ? [{ changeset: pending }] : []),
      userRequest(userId),
    ]);
    const read = answers[answers.length - 1];
    user = read.status === 404 ? undefined : (read.data as SystemUserRecord);
    if (!user || !isLive(user)) return undefined;
    pending = roleWrites(client, userId, inputs, assignedRoles(user));
    if (pending.length === 0) return user;
  }
  return user;
}

/** Creates the application user; undefined when Dataverse says the app id has one already (412). */
async function createUnlessTaken(client: DataverseClient, applicationId: string, businessUnitId: string): Promise<string | undefined> {
  try {
    return await client.createApplicationUser(applicationId, businessUnitId);
  } catch (error) {
    if (error instanceof RestApiError && error.status === 412) return undefined;
    throw error;
  }
}

function outputsOf(user: SystemUserRecord, inputs: ApplicationUserInputs): ApplicationUserOutputs {
  return {
    ...inputs,
    userId: user.systemuserid.toLowerCase(),
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
      // Usually known already: the environment check and the role looked it up in this process.
      const businessUnitId = await client.businessUnitId(inputs.businessUnit === "" ? undefined : inputs.businessUnit);
      // Made at once in the usual case; Dataverse refuses a second user of an app id (412, soft-deleted
      // ones included), and only then is the existing one looked up.
      let userId = await createUnlessTaken(client, inputs.applicationId, businessUnitId);
      const writes: BatchOperation[] = [];
      if (userId) {
        // A new application user holds no role; the read back in applyAndRead checks it.
        writes.push(...roleWrites(client, userId, inputs, []));
      } else {
        const existing = await client.findApplicationUsers(inputs.applicationId);
        const live = existing.find(isLive);
        if (live) {
          // Adopt: a user made by hand, by an earlier run that crashed, or left disabled by a destroy.
          userId = live.systemuserid.toLowerCase();
          if (live._businessunitid_value.toLowerCase() !== businessUnitId) {
            writes.push(
              updateUserRequest(
                userId,
                { "businessunitid@odata.bind": `/businessunits(${businessUnitId})` },
                "move application user to its business unit",
              ),
            );
          }
          if (live.isdisabled) writes.push(updateUserRequest(userId, { isdisabled: false }, "re-enable application user"));
          writes.push(...roleWrites(client, userId, inputs, assignedRoles(live)));
        } else {
          // A soft-deleted user of the same app id blocks a new one: purge it first.
          for (const deleted of existing) await client.deleteUser(deleted.systemuserid, "purge soft-deleted application user");
          userId = await client.createApplicationUser(inputs.applicationId, businessUnitId);
          writes.push(...roleWrites(client, userId, inputs, []));
        }
      }
      const user = await applyAndRead(client, userId, inputs, writes);
      if (!user) throw new Error(`Dataverse: the application user ${userId} disappeared while it was being set up.`);
      return { id: userId, outs: outputsOf(user, inputs) };
    } catch (error) {
      forgetEnvironmentLookups(inputs.environmentUrl);
      throw describeFailure(error, `create application user for app ${inputs.applicationId}`);
    }
  },

  async read(id: string, state?: ApplicationUserOutputs) {
    const props = stateOf(state, id);
    const client = new DataverseClient(props.environmentUrl);
    try {
      const user = await client.getUser(id);
      return user && isLive(user) ? { id, props: outputsOf(user, props) } : gone<ApplicationUserOutputs>();
    } catch (error) {
      throw describeFailure(error, `read application user ${id}`);
    }
  },

  async update(id: string, olds: ApplicationUserOutputs, news: ApplicationUserInputs) {
    const client = new DataverseClient(news.environmentUrl);
    try {
      // Based on the state (refreshed by every run, see Pulumi.yaml); applyAndRead checks the result.
      const businessUnitId = await client.businessUnitId(news.businessUnit === "" ? undefined : news.businessUnit);
      const moved = olds.businessUnitId.toLowerCase() !== businessUnitId;
      const writes = [
        // Another business unit moves the user in place. Dataverse removes a moved user's roles, so the
        // wanted ones are given again in the same change set: the user is never without them.
        ...(moved
          ? [
              updateUserRequest(
                id,
                { "businessunitid@odata.bind": `/businessunits(${businessUnitId})` },
                "move application user to its business unit",
              ),
            ]
          : []),
        ...(olds.isDisabled ? [updateUserRequest(id, { isdisabled: false }, "re-enable application user")] : []),
        ...roleWrites(client, id, news, moved ? [] : (olds.assignedRoleIds ?? [])),
      ];
      const user = await applyAndRead(client, id, news, writes);
      if (!user) throw userGone(id);
      // A user disabled since the state was written is enabled in a second round trip.
      if (user.isdisabled) {
        const enabled = await applyAndRead(client, id, news, [updateUserRequest(id, { isdisabled: false }, "re-enable application user")]);
        if (!enabled) throw userGone(id);
        return { outs: outputsOf(enabled, news) };
      }
      return { outs: outputsOf(user, news) };
    } catch (error) {
      if (error instanceof RestApiError && error.status === 404) throw userGone(id);
      throw describeFailure(error, `update application user ${olds.userId}`);
    }
  },

  async delete(id: string, props: ApplicationUserOutputs) {
    const client = new DataverseClient(props.environmentUrl);
    try {
      const user = await client.getUser(id);
      if (!user) return;
      // Only a disabled application user can be deleted; the first DELETE soft-deletes, the second purges.
      const steps: BatchOperation[] = [
        ...(user.isdisabled ? [] : [{ ...updateUserRequest(id, { isdisabled: true }, "disable application user"), acceptStatus: [404] }]),
        ...(props.keepDisabledOnDelete
          ? []
          : [...(isLive(user) ? [deleteUserRequest(id, "delete application user")] : []), deleteUserRequest(id, "purge application user")]),
      ];
      // In order; every step runs (a 404 means another run got there first), and the first real failure is thrown.
      if (steps.length > 0) await client.batch(`delete application user ${id}`, steps, { continueOnError: true });
    } catch (error) {
      throw describeFailure(error, `delete application user ${id}`);
    }
  },
};

function userGone(id: string): Error {
  return new Error(`Dataverse: application user ${id} no longer exists; run 'pulumi up --refresh' so that it is created again.`);
}
