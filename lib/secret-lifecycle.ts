/**
 * The client secret's lifecycle, each rule written once: the config reader, the components and the
 * dynamic providers (SecretSchedule, RetiredSecrets) call these functions and keep only their own
 * wording. The tenant credential policy's rule (a secret's lifetime against passwordLifetime, a secret
 * where passwordAddition blocks them) is `passwordPolicyProblem` in app-management-policies.ts.
 *
 * - Lifetime: whole days from 1 to secretDefaults.maxLifetimeDays (Entra's limit).
 * - Rotation window: whole days from 0 to less than the lifetime before the end date; the secret is
 *   due for rotation from `rotateAfter` (end - rotateBeforeDays).
 * - Overlap: whole days from 0 to rotateBeforeDays; a rotated-out secret is removed once `now` has
 *   passed its `removeAfter` (the rotation + overlapDays).
 *
 * Plain functions only (the providers that call them are serialized by Pulumi).
 */
import { dayMs } from "./clock";
import { secretDefaults } from "./defaults";

/** A secret's lifetime and rotation window, in days. */
export interface SecretTimes {
  readonly lifetimeDays: number;
  readonly rotateBeforeDays: number;
}

/** A secret's validity window, RFC 3339 to the second. */
interface SecretWindow {
  readonly startDate: string;
  readonly endDate: string;
  /** From here on a run makes the next secret. */
  readonly rotateAfter: string;
}

const wholeDays = (value: unknown, min: number): value is number => typeof value === "number" && Number.isInteger(value) && value >= min;

/** A lifetime a client secret can have: whole days from 1 to secretDefaults.maxLifetimeDays. */
export const isSecretLifetime = (value: unknown): value is number => wholeDays(value, 1) && value <= secretDefaults.maxLifetimeDays;

/** A rotation window: whole days from 0 to less than the lifetime (an invalid lifetime is reported on its own). */
export const isRotateBeforeDays = (value: unknown, lifetimeDays: number): value is number =>
  wholeDays(value, 0) && !(value >= lifetimeDays);

/** An overlap: whole days from 0 to rotateBeforeDays, when known (the previous secret expires by then anyway). */
export const isOverlapDays = (value: unknown, rotateBeforeDays = Infinity): value is number =>
  wholeDays(value, 0) && value <= rotateBeforeDays;

/** The rotation window when the config sets none: the default, at most half the lifetime. */
export const defaultRotateBeforeDays = (lifetimeDays: number) => Math.min(secretDefaults.rotateBeforeDays, Math.floor(lifetimeDays / 2));

/** The overlap when the config sets none: the default, at most the rotation window. */
export const defaultOverlapDays = (rotateBeforeDays: number) => Math.min(secretDefaults.overlapDays, rotateBeforeDays);

/** RFC 3339 to the second: Entra answers dates without milliseconds, and a difference would replace the secret. */
const toSeconds = (date: Date): string => new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");

/** When a secret ending at `endMs` enters its rotation window. */
export const rotationStartMs = (endMs: number, rotateBeforeDays: number) => endMs - rotateBeforeDays * dayMs;

/** Whether a secret whose rotation window opens at `rotateAfterMs` is due (an unreadable date counts as due). */
export const rotationDue = (rotateAfterMs: number, nowMs: number) => !(nowMs < rotateAfterMs);

/** Whether `date` (a secret's end date, a retired secret's removeAfter) has passed. */
export const hasPassed = (date: string, nowMs: number) => nowMs >= Date.parse(date);

/** When a secret rotated out at `now` is removed: after the overlap. */
export const overlapEnd = (now: Date, overlapDays: number) => new Date(now.getTime() + overlapDays * dayMs).toISOString();

/** A window of `times.lifetimeDays` starting at `start` (to the second). */
function windowFrom(start: Date, times: SecretTimes): SecretWindow {
  const startSeconds = new Date(Math.floor(start.getTime() / 1000) * 1000);
  const end = new Date(startSeconds.getTime() + times.lifetimeDays * dayMs);
  return {
    startDate: toSeconds(startSeconds),
    endDate: toSeconds(end),
    rotateAfter: toSeconds(new Date(rotationStartMs(end.getTime(), times.rotateBeforeDays))),
  };
}

/** Whole days between a window's start and end (what Graph judges), or undefined when the dates do not make one. */
export function windowDays(startDate: string, endDate: string): number | undefined {
  const days = Math.round((Date.parse(endDate) - Date.parse(startDate)) / dayMs);
  return Number.isFinite(days) && days > 0 ? days : undefined;
}

/** The times of secrets made under a policy that allows at most `maxDays`: its maximum, the rotation window kept when it fits. */
const cappedTimes = (times: SecretTimes, maxDays: number): SecretTimes => ({
  lifetimeDays: maxDays,
  rotateBeforeDays: times.rotateBeforeDays < maxDays ? times.rotateBeforeDays : Math.floor(maxDays / 2),
});

/** The window a run gives the secret, and whether it keeps the current one. */
interface WindowDecision extends SecretWindow {
  /** End date of the secret this run rotates out; empty when nothing rotates. */
  readonly expiringEndDate: string;
  /** The current window is kept. */
  readonly keep: boolean;
  /** A tightened policy brought the rotation forward. */
  readonly rotatesEarly: boolean;
}

/**
 * The expiry and rotation decision. `current` is the last run's window when the lifetime settings are
 * unchanged (else undefined: a new window starts now, with no secret rotated out). `maxDays` is set
 * when the tenant's policy allows less than `times.lifetimeDays`: every new window is at most that, and
 * the current secret is due once it is older than the policy allows minus rotateBeforeDays.
 */
export function nextWindow(current: SecretWindow | undefined, times: SecretTimes, now: Date, maxDays?: number): WindowDecision {
  const capped = maxDays === undefined ? times : cappedTimes(times, maxDays);
  if (!current) return { ...windowFrom(now, capped), expiringEndDate: "", keep: false, rotatesEarly: false };
  const startMs = Date.parse(current.startDate);
  // With a policy tightened since the secret was made, the secret is due once it is older than the policy allows (minus rotateBeforeDays).
  const policyRotateAfter =
    maxDays !== undefined && Date.parse(current.endDate) - startMs > maxDays * dayMs + 1000
      ? windowFrom(new Date(startMs), capped).rotateAfter
      : undefined;
  const rotateAfter =
    policyRotateAfter && Date.parse(policyRotateAfter) < Date.parse(current.rotateAfter) ? policyRotateAfter : current.rotateAfter;
  const rotatesEarly = policyRotateAfter !== undefined;
  if (!rotationDue(Date.parse(rotateAfter), now.getTime())) {
    return { startDate: current.startDate, endDate: current.endDate, rotateAfter, expiringEndDate: "", keep: true, rotatesEarly };
  }
  return { ...windowFrom(now, capped), expiringEndDate: current.endDate, keep: false, rotatesEarly };
}
