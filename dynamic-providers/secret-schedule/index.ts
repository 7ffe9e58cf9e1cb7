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
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SecretScheduleInputs } from "./provider";
import { providerShell } from "../provider-shell";

export interface SecretScheduleArgs {
  /** Days the secret is valid, at most secretDefaults.maxLifetimeDays (lib/defaults.ts). */
  readonly lifetimeDays: pulumi.Input<number>;
  /** Days before the end date from which a run starts a new window (and so a new secret). */
  readonly rotateBeforeDays: pulumi.Input<number>;
  /**
   * The application, and the azuread provider's cloud: with them the schedule follows the tenant's
   * app management policy (a maximum lifetime tightened after the secret was made; see the implementation).
   */
  readonly applicationObjectId?: pulumi.Input<string>;
  readonly metadataHost?: string;
  readonly cloudEnvironment?: string;
  /** The config keys a policy problem names. */
  readonly lifetimeSetting?: string;
  readonly credentialSetting?: string;
}

export const secretScheduleProvider = providerShell<SecretScheduleInputs, SecretScheduleInputs>("secret-schedule", [
  "check",
  "diff",
  "read",
  "update",
  "delete",
]);

/** A secret's validity window, fixed when the secret is made and renewed inside the rotation window. */
export class SecretSchedule extends pulumi.dynamic.Resource {
  declare readonly startDate: pulumi.Output<string>;
  declare readonly endDate: pulumi.Output<string>;
  declare readonly rotateAfter: pulumi.Output<string>;
  declare readonly expiringEndDate: pulumi.Output<string>;
  /** What a tightened credential policy does to this secret (a warning to print); empty when nothing. */
  declare readonly policyNote: pulumi.Output<string>;

  constructor(name: string, args: SecretScheduleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      secretScheduleProvider,
      name,
      { ...args, startDate: undefined, endDate: undefined, rotateAfter: undefined, expiringEndDate: undefined, policyNote: undefined },
      opts,
      "dataverse-s2s",
      "SecretSchedule",
    );
  }
}
