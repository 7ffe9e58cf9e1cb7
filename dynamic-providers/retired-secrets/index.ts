/**
 * Keeps a rotated client secret valid for an overlap, then removes it: the half of rotation that
 * the azuread provider cannot do (replacing an ApplicationPassword deletes the old one in the same
 * run, breaking every consumer that has not moved yet). The ApplicationPassword is declared with
 * `retainOnDelete`, so a replacement leaves the old secret in Entra; this resource notices the
 * change of key and removes the old one once the overlap has passed.
 *
 *   create  -> remember the current key; nothing retired yet
 *   diff    -> changes when the current key changed, or when a retired key's overlap has ended
 *   update  -> retire the previous key (removeAfter = now + overlapDays); POST removePassword for
 *              every retired key whose overlap has ended (404 is done)
 *   read    -> GET the application; forget retired keys that are no longer there
 *   delete  -> removePassword for every retired key
 *
 * "Now" is DATAVERSE_S2S_NOW when set (see secret-schedule.ts), else the wall clock.
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RetiredSecretsInputs, RetiredSecretsOutputs, RetiredKey } from "./provider";
import { providerShell } from "../provider-shell";

export interface RetiredSecretsArgs {
  /** Object id of the application whose secrets rotate. */
  readonly applicationObjectId: pulumi.Input<string>;
  /** Key id of the secret in use now (the ApplicationPassword's keyId). */
  readonly currentKeyId: pulumi.Input<string>;
  /** Days a replaced secret stays valid. */
  readonly overlapDays: pulumi.Input<number>;
  /** The azuread provider's cloud: its metadataHost and environment, empty for the global cloud. */
  readonly metadataHost?: pulumi.Input<string>;
  readonly cloudEnvironment?: pulumi.Input<string>;
}

export const retiredSecretsProvider = providerShell<RetiredSecretsInputs, RetiredSecretsOutputs>("retired-secrets", [
  "check",
  "diff",
  "read",
  "update",
  "delete",
]);

/** The rotated-out secrets of an application, kept for an overlap and then removed. */
export class RetiredSecrets extends pulumi.dynamic.Resource {
  declare readonly retired: pulumi.Output<RetiredKey[]>;

  constructor(name: string, args: RetiredSecretsArgs, opts?: pulumi.CustomResourceOptions) {
    super(retiredSecretsProvider, name, { ...args, retired: undefined, strays: undefined }, opts, "dataverse-s2s", "RetiredSecrets");
  }
}
