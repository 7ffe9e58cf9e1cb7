/**
 * When a client secret starts and ends, fixed in state when the secret is first made, so that runs
 * do not churn with the wall clock (an end date computed from Date.now() in the program would
 * replace the secret on every `pulumi up`).
 *
 *   create  -> startDate = now, endDate = now + lifetimeDays, rotateAfter = endDate - rotateBeforeDays
 *   diff    -> replace when the lifetime settings change or when now has passed rotateAfter
 *   read    -> returns what is in state (the schedule is not a cloud object)
 *   delete  -> nothing to do
 *
 * "Now" is the wall clock unless DATAVERSE_S2S_NOW (an ISO date) sets it, so that tests and
 * rehearsals of a rotation can move time without waiting.
 */
import * as pulumi from "@pulumi/pulumi";

export interface SecretScheduleArgs {
  /** Days the secret is valid, at most 730. */
  readonly lifetimeDays: pulumi.Input<number>;
  /** Days before the end date from which a run replaces the schedule (and so the secret). */
  readonly rotateBeforeDays: pulumi.Input<number>;
}

interface SecretScheduleInputs {
  lifetimeDays: number;
  rotateBeforeDays: number;
}

interface SecretScheduleOutputs extends SecretScheduleInputs {
  startDate: string;
  endDate: string;
  rotateAfter: string;
}

const dayMs = 24 * 60 * 60 * 1000;

/** The current time: DATAVERSE_S2S_NOW when set (tests, rehearsals), else the wall clock. */
export function currentTime(): Date {
  const configured = process.env.DATAVERSE_S2S_NOW;
  if (configured) {
    const parsed = new Date(configured);
    if (Number.isNaN(parsed.getTime())) throw new Error(`DATAVERSE_S2S_NOW='${configured}' is not a date; use an ISO date such as 2027-01-31T00:00:00Z, or unset it.`);
    return parsed;
  }
  return new Date();
}

/** RFC 3339 to the second: Entra answers dates without milliseconds, and a difference would replace the secret. */
const toSeconds = (date: Date): string => new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");

export function scheduleFrom(start: Date, inputs: SecretScheduleInputs): SecretScheduleOutputs {
  const startSeconds = new Date(Math.floor(start.getTime() / 1000) * 1000);
  const end = new Date(startSeconds.getTime() + inputs.lifetimeDays * dayMs);
  return {
    ...inputs,
    startDate: toSeconds(startSeconds),
    endDate: toSeconds(end),
    rotateAfter: toSeconds(new Date(end.getTime() - inputs.rotateBeforeDays * dayMs)),
  };
}

export const secretScheduleProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: SecretScheduleInputs, news: Partial<SecretScheduleInputs>) {
    const inputs = { lifetimeDays: Number(news.lifetimeDays), rotateBeforeDays: Number(news.rotateBeforeDays) };
    const failures = [];
    if (!Number.isInteger(inputs.lifetimeDays) || inputs.lifetimeDays < 1 || inputs.lifetimeDays > 730) {
      failures.push({ property: "lifetimeDays", reason: "a secret lives from 1 to 730 days (Entra's limit is 24 months)" });
    }
    if (!Number.isInteger(inputs.rotateBeforeDays) || inputs.rotateBeforeDays < 0 || inputs.rotateBeforeDays >= inputs.lifetimeDays) {
      failures.push({ property: "rotateBeforeDays", reason: "rotate from 0 days up to less than the lifetime before expiry" });
    }
    return { inputs, failures };
  },

  async diff(_id: string, olds: SecretScheduleOutputs, news: SecretScheduleInputs) {
    const settingsChanged = olds.lifetimeDays !== news.lifetimeDays || olds.rotateBeforeDays !== news.rotateBeforeDays;
    const due = currentTime().getTime() >= new Date(olds.rotateAfter).getTime();
    return settingsChanged || due ? { changes: true, replaces: settingsChanged ? ["lifetimeDays"] : ["rotateAfter"] } : { changes: false };
  },

  async create(inputs: SecretScheduleInputs) {
    const outs = scheduleFrom(currentTime(), inputs);
    return { id: `${outs.startDate}/${outs.endDate}`, outs };
  },

  async read(id: string, props: SecretScheduleOutputs) {
    return { id, props };
  },

  async delete() {
    // Nothing outside the state.
  },
};

/** A secret's validity window, fixed when the secret is made and renewed inside the rotation window. */
export class SecretSchedule extends pulumi.dynamic.Resource {
  declare readonly startDate: pulumi.Output<string>;
  declare readonly endDate: pulumi.Output<string>;
  declare readonly rotateAfter: pulumi.Output<string>;

  constructor(name: string, args: SecretScheduleArgs, opts?: pulumi.CustomResourceOptions) {
    super(secretScheduleProvider, name, { ...args, startDate: undefined, endDate: undefined, rotateAfter: undefined }, opts, "dataverse-s2s", "SecretSchedule");
  }
}
