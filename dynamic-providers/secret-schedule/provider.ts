/**
 * When a client secret starts and ends, fixed in state when the secret is first made, so that runs
 * do not churn with the wall clock (an end date computed from Date.now() in the program would
 * replace the secret on every `pulumi up`).
 *
 *   check   -> keeps the dates of the last run unless the lifetime settings changed or now has
 *              reached rotateAfter; then starts a new window at now. The dates are inputs, so they are
 *              known while a preview plans the rotation, and so is `expiringEndDate`, the end of the
 *              secret being rotated out (empty when nothing rotates), which the program warns about.
 *   diff    -> an update when the window moved (an update, not a replacement: a replacement is
 *              checked again without its old inputs, which would lose expiringEndDate)
 *   create/update -> the window as checked; read returns state; delete has nothing to do
 *
 * "Now" is the wall clock unless DATAVERSE_S2S_NOW (an ISO date) sets it, so that tests and
 * rehearsals of a rotation can move time without waiting.
 *
 * Under a tenant credential policy (issue 17; read when the deployer has Policy.Read.All):
 * - a lifetime the config sets now (first secret, or a changed setting) above the policy's maximum,
 *   or a client secret where the policy blocks them, fails check with the guidance of the pre-check;
 * - a lifetime that passed before and that a policy tightened since now forbids does not fail the
 *   run: the current secret (Graph does not shorten it) is treated as if it had been made under the
 *   policy. Once it is older than the policy allows minus rotateBeforeDays it is rotated as an
 *   expiring secret (expiringEndDate), and every new window is at most the policy's maximum.
 *   `policyNote` says so; the program prints it as a warning.
 *
 * The rules themselves (ranges, window, rotation decision, tenant policy) are in lib/secret-lifecycle.ts
 * and lib/app-management-policies.ts; this provider keeps the state and the wording.
 */
import type * as pulumi from "@pulumi/pulumi";
import { graphClient } from "../../lib/graph-client";
import { currentTime } from "../../lib/clock";
import { secretDefaults } from "../../lib/defaults";
import {
  allowedDays,
  describePolicyProblem,
  passwordPolicyProblem,
  readPasswordPolicy,
  type PasswordPolicy,
} from "../../lib/app-management-policies";
import { isRotateBeforeDays, isSecretLifetime, nextWindow, type SecretTimes } from "../../lib/secret-lifecycle";
import { computeDiff, isUnknown, stateOf } from "../shared/provider-support";

export interface SecretScheduleInputs {
  lifetimeDays: number;
  rotateBeforeDays: number;
  startDate: string;
  endDate: string;
  rotateAfter: string;
  /** End date of the secret this run rotates out; empty when nothing rotates. */
  expiringEndDate: string;
  /** The application (its own app management policy counts); empty or unknown before it exists. */
  applicationObjectId?: string;
  /** The azuread provider's cloud, for reading the policy. */
  metadataHost?: string;
  cloudEnvironment?: string;
  /** Config keys named in guidance. */
  lifetimeSetting?: string;
  credentialSetting?: string;
  /** What a tightened credential policy does to this secret; empty when nothing. */
  policyNote?: string;
}

/** The policy for this secret, or unreadable: reading it never fails the schedule (the gate judges at apply time). */
async function policyFor(news: Partial<SecretScheduleInputs>, now: Date): Promise<PasswordPolicy> {
  const applicationObjectId = news.applicationObjectId && !isUnknown(news.applicationObjectId) ? news.applicationObjectId : undefined;
  try {
    const graph = await graphClient({ metadataHost: news.metadataHost, cloudEnvironment: news.cloudEnvironment });
    return await readPasswordPolicy(graph, applicationObjectId, now.getTime());
  } catch (error) {
    return { readable: false, reason: error instanceof Error ? error.message.split("\n")[0] : String(error) };
  }
}

const day = (iso: string) => iso.slice(0, 10);

/** A lifetime or rotation window the schedule cannot have. */
function settingFailures(settings: SecretTimes): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  if (!isSecretLifetime(settings.lifetimeDays)) {
    failures.push({
      property: "lifetimeDays",
      reason: `a secret lives from 1 to ${secretDefaults.maxLifetimeDays} days (Entra's limit is 24 months)`,
    });
  }
  if (!isRotateBeforeDays(settings.rotateBeforeDays, settings.lifetimeDays)) {
    failures.push({ property: "rotateBeforeDays", reason: "rotate from 0 days up to less than the lifetime before expiry" });
  }
  return failures;
}

/** The warning for a secret whose lifetime a tightened policy no longer allows: kept until rotation, or replaced now. */
function tightenedPolicyNote(
  policyName: string,
  maxDays: number,
  settings: SecretTimes,
  olds: Partial<SecretScheduleInputs>,
  inputs: SecretScheduleInputs,
  outcome: { keep: boolean; rotatesEarly: boolean; lifetimeSetting: string },
): string {
  const match = `Set ${outcome.lifetimeSetting} to ${maxDays} or less to match.`;
  if (!outcome.keep)
    return (
      `The tenant's app management policy '${policyName}' now allows client secrets of at most ${maxDays} days: this run replaces the ` +
      `current secret (${settings.lifetimeDays} days, from ${day(olds.startDate!)}) by a secret of ${maxDays} days, until ${day(inputs.endDate)}. ` +
      match
    );
  if (outcome.rotatesEarly)
    return (
      `The tenant's app management policy '${policyName}' now allows client secrets of at most ${maxDays} days; the current secret ` +
      `(${settings.lifetimeDays} days, from ${day(olds.startDate!)}) stays valid, and is rotated from ${day(inputs.rotateAfter)} by a ` +
      `secret of ${maxDays} days. ` +
      match
    );
  return (
    `The tenant's app management policy '${policyName}' allows client secrets of at most ${maxDays} days: new secrets are made for ` +
    `${maxDays} days, not ${settings.lifetimeDays}. ` +
    match
  );
}

export const provider: pulumi.dynamic.ResourceProvider<SecretScheduleInputs, SecretScheduleInputs> = {
  async check(olds: Partial<SecretScheduleInputs>, news: Partial<SecretScheduleInputs>) {
    const settings = { lifetimeDays: Number(news.lifetimeDays), rotateBeforeDays: Number(news.rotateBeforeDays) };
    const failures = settingFailures(settings);
    const now = currentTime();
    const context = {
      applicationObjectId: news.applicationObjectId ?? "",
      metadataHost: String(news.metadataHost ?? ""),
      cloudEnvironment: String(news.cloudEnvironment ?? ""),
      lifetimeSetting: String(news.lifetimeSetting ?? "secret.lifetimeDays"),
      credentialSetting: String(news.credentialSetting ?? "credential.type"),
    };
    const sameSettings =
      Boolean(olds.startDate && olds.endDate && olds.rotateAfter) &&
      olds.lifetimeDays === settings.lifetimeDays &&
      olds.rotateBeforeDays === settings.rotateBeforeDays;
    const policy = failures.length === 0 && news.lifetimeSetting !== undefined ? await policyFor(news, now) : undefined;
    const secretSettings = { ...context, lifetimeDays: settings.lifetimeDays };
    // One rule for the pre-check, this schedule and the gate (lib/app-management-policies.ts); it judges a blocked secret first.
    const problem = policy && passwordPolicyProblem(secretSettings, policy);
    // A setting made now that the policy refuses is the config's mistake; one that passed before is the policy's change.
    if (problem && !sameSettings) failures.push({ property: "lifetimeDays", reason: describePolicyProblem(problem) });
    let policyNote = "";
    let maxDays: number | undefined;
    if (problem && policy?.readable && policy.blockedBy) {
      if (sameSettings)
        policyNote =
          `The tenant's app management policy '${policy.blockedBy.displayName || policy.blockedBy.id}' now blocks new client secrets: ` +
          `the current secret works until ${olds.endDate}, but it cannot be rotated. Before then, switch ${context.credentialSetting} ` +
          "to certificate or federated (README 'Credentials').";
    } else if (problem && policy?.readable && policy.maxLifetime) {
      maxDays = allowedDays(policy.maxLifetime);
    }
    const current = sameSettings ? { startDate: olds.startDate!, endDate: olds.endDate!, rotateAfter: olds.rotateAfter! } : undefined;
    const { keep, rotatesEarly, ...window } = nextWindow(current, settings, now, maxDays);
    const inputs: SecretScheduleInputs = { ...settings, ...window, ...context };
    if (maxDays !== undefined && sameSettings && policy?.readable && policy.maxLifetime) {
      policyNote = tightenedPolicyNote(policy.maxLifetime.displayName || policy.maxLifetime.id, maxDays, settings, olds, inputs, {
        keep,
        rotatesEarly,
        lifetimeSetting: context.lifetimeSetting,
      });
    }
    inputs.policyNote = policyNote;
    return { inputs, failures };
  },

  async diff(_id: string, olds: SecretScheduleInputs, news: SecretScheduleInputs) {
    // `check` moves the dates when the schedule changes or the rotation window opens.
    return computeDiff(olds, news, {
      updateOn: ["startDate", "endDate", "lifetimeDays", "rotateBeforeDays", "rotateAfter", "policyNote"],
      // A state written before policies were read has no note: the same as an empty one.
      equal: { policyNote: (old, wanted) => (old ?? "") === (wanted ?? "") },
    });
  },

  async create(inputs: SecretScheduleInputs) {
    return { id: `schedule-from-${inputs.startDate}`, outs: inputs };
  },

  async update(_id: string, _olds: SecretScheduleInputs, news: SecretScheduleInputs) {
    return { outs: news };
  },

  async read(id: string, state?: SecretScheduleInputs) {
    const props = stateOf(state, id);
    return { id, props };
  },

  async delete() {
    // Nothing outside the state.
  },
};
