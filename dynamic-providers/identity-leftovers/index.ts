/**
 * What an interrupted run of this stack left for one integration with a managed identity the stack
 * makes, removed by the next `pulumi up` (see provider.ts): user-assigned identities ARM made that no
 * state knows. Every identity the stack makes is tagged with the stack and the integration
 * (components/managed-identity.ts), so only this stack's identities are ever touched, and never the
 * one in state.
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { IdentityLeftoversInputs, IdentityLeftoversOutputs } from "./provider";
import { providerShell } from "../provider-shell";

export interface IdentityLeftoversArgs {
  /** ARM resource id of the identity in state; its resource group is searched. */
  readonly identityId: pulumi.Input<string>;
  /** The stack's marker, "<organization>/<project>/<stack>" (the identity's `dataverse-s2s-stack` tag). */
  readonly stack: pulumi.Input<string>;
  /** The integration's name and former names (the identity's `dataverse-s2s-integration` tag). */
  readonly integrations: pulumi.Input<string>[];
  /** The azure-native provider's cloud: its metadataHost and environment, empty for the public cloud. */
  readonly metadataHost?: pulumi.Input<string>;
  readonly environment?: pulumi.Input<string>;
}

const identityLeftoversProvider = providerShell<IdentityLeftoversInputs, IdentityLeftoversOutputs>("identity-leftovers", [
  "check",
  "diff",
  "read",
  "update",
  "delete",
]);

/** Removes this integration's user-assigned managed identities that no state knows (left by a crashed run). */
export class IdentityLeftovers extends pulumi.dynamic.Resource {
  declare readonly leftovers: pulumi.Output<string[]>;

  constructor(name: string, args: IdentityLeftoversArgs, opts?: pulumi.CustomResourceOptions) {
    super(identityLeftoversProvider, name, { ...args, leftovers: undefined }, opts, "dataverse-s2s", "IdentityLeftovers");
  }
}
