/**
 * What an interrupted run of this stack left for one integration, removed by the next `pulumi up`
 * (see provider.ts): app registrations no state knows, and the deployer left as
 * an owner of the adopted service principal. Every app the stack makes is tagged with the stack and
 * the integration (components/app-registration.ts), so only this stack's apps are ever touched, and
 * never the one in state.
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AppLeftoversInputs, AppLeftoversOutputs } from "./provider";
import { providerShell } from "../provider-shell";

export interface AppLeftoversArgs {
  /** Object id of the application in state. */
  readonly applicationObjectId: pulumi.Input<string>;
  /** The tags marking this integration's apps: its current name's and its former names'. */
  readonly markerTags: pulumi.Input<string>[];
  /** Object id of the service principal in state: its owners (it is declared with none) are removed. */
  readonly servicePrincipalObjectId: pulumi.Input<string>;
  /** The azuread provider's cloud: its metadataHost and environment, empty for the global cloud. */
  readonly metadataHost?: pulumi.Input<string>;
  readonly cloudEnvironment?: pulumi.Input<string>;
}

const appLeftoversProvider = providerShell<AppLeftoversInputs, AppLeftoversOutputs>("app-leftovers", [
  "check",
  "diff",
  "read",
  "update",
  "delete",
]);

/** Removes this integration's app registrations that no state knows and the owners of its service principal (left by a crashed run). */
export class AppLeftovers extends pulumi.dynamic.Resource {
  declare readonly leftovers: pulumi.Output<string[]>;

  constructor(name: string, args: AppLeftoversArgs, opts?: pulumi.CustomResourceOptions) {
    super(appLeftoversProvider, name, { ...args, leftovers: undefined }, opts, "dataverse-s2s", "AppLeftovers");
  }
}
