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
 */
import type * as pulumi from "@pulumi/pulumi";
import { currentTime, dayMs } from "../../lib/clock";
import { secretDefaults } from "../../lib/defaults";
import { computeDiff, stateOf } from "./provider-support";

export interface SecretScheduleInputs {
  lifetimeDays: number;
  rotateBeforeDays: number;
  startDate: string;
  endDate: string;
  rotateAfter: string;
  /** End date of the secret this run rotates out; empty when nothing rotates. */
  expiringEndDate: string;
}

/** RFC 3339 to the second: Entra answers dates without milliseconds, and a difference would replace the secret. */
const toSeconds = (date: Date): string => new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");

/** A window of `lifetimeDays` starting at `start` (to the second). */
export function scheduleFrom(start: Date, settings: { lifetimeDays: number; rotateBeforeDays: number }) {
  const startSeconds = new Date(Math.floor(start.getTime() / 1000) * 1000);
  const end = new Date(startSeconds.getTime() + settings.lifetimeDays * dayMs);
  return {
    startDate: toSeconds(startSeconds),
    endDate: toSeconds(end),
    rotateAfter: toSeconds(new Date(end.getTime() - settings.rotateBeforeDays * dayMs)),
  };
}

export const provider: pulumi.dynamic.ResourceProvider<SecretScheduleInputs, SecretScheduleInputs> = {
  async check(olds: Partial<SecretScheduleInputs>, news: Partial<SecretScheduleInputs>) {
    const settings = { lifetimeDays: Number(news.lifetimeDays), rotateBeforeDays: Number(news.rotateBeforeDays) };
    const failures = [];
    if (!Number.isInteger(settings.lifetimeDays) || settings.lifetimeDays < 1 || settings.lifetimeDays > secretDefaults.maxLifetimeDays) {
      failures.push({
        property: "lifetimeDays",
        reason: `a secret lives from 1 to ${secretDefaults.maxLifetimeDays} days (Entra's limit is 24 months)`,
      });
    }
    if (
      !Number.isInteger(settings.rotateBeforeDays) ||
      settings.rotateBeforeDays < 0 ||
      settings.rotateBeforeDays >= settings.lifetimeDays
    ) {
      failures.push({ property: "rotateBeforeDays", reason: "rotate from 0 days up to less than the lifetime before expiry" });
    }
    const now = currentTime();
    const keep =
      olds.startDate &&
      olds.endDate &&
      olds.rotateAfter &&
      olds.lifetimeDays === settings.lifetimeDays &&
      olds.rotateBeforeDays === settings.rotateBeforeDays &&
      now.getTime() < Date.parse(olds.rotateAfter);
    const inputs: SecretScheduleInputs = keep
      ? { ...settings, startDate: olds.startDate!, endDate: olds.endDate!, rotateAfter: olds.rotateAfter!, expiringEndDate: "" }
      : {
          ...settings,
          ...scheduleFrom(now, settings),
          expiringEndDate:
            olds.endDate && olds.lifetimeDays === settings.lifetimeDays && olds.rotateBeforeDays === settings.rotateBeforeDays
              ? olds.endDate
              : "",
        };
    return { inputs, failures };
  },

  async diff(_id: string, olds: SecretScheduleInputs, news: SecretScheduleInputs) {
    // `check` moves the dates when the schedule changes or the rotation window opens.
    return computeDiff(olds, news, { updateOn: ["startDate", "endDate", "lifetimeDays", "rotateBeforeDays"] });
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
