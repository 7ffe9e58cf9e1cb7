/**
 * Tenant-wide admin consent to the Dynamics CRM `user_impersonation` permission for an
 * integration's service principal (only with `adminConsent: true`). Unlike the azuread provider's
 * grant resource, it adopts the grant an interrupted run made (see provider.ts).
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AdminConsentGrantInputs, AdminConsentGrantOutputs } from "./provider";
import { providerShell } from "../provider-shell";

export interface AdminConsentGrantArgs {
  /** Object id of the integration's service principal. */
  readonly servicePrincipalObjectId: pulumi.Input<string>;
  /** Object id of the resource's service principal (Dynamics CRM in the tenant). */
  readonly resourceServicePrincipalObjectId: pulumi.Input<string>;
  readonly claimValues: pulumi.Input<pulumi.Input<string>[]>;
  /** The azuread provider's cloud: its metadataHost and environment, empty for the global cloud. */
  readonly metadataHost?: pulumi.Input<string>;
  readonly cloudEnvironment?: pulumi.Input<string>;
}

const adminConsentGrantProvider = providerShell<AdminConsentGrantInputs, AdminConsentGrantOutputs>("admin-consent-grant", [
  "check",
  "diff",
  "read",
  "update",
  "delete",
]);

/** The type earlier versions declared the grant with (azuread's); an alias carries such a grant over. */
export const azureadDelegatedPermissionGrantType =
  "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant";

export class AdminConsentGrant extends pulumi.dynamic.Resource {
  declare readonly grantId: pulumi.Output<string>;
  declare readonly adopted: pulumi.Output<boolean>;

  constructor(name: string, args: AdminConsentGrantArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      adminConsentGrantProvider,
      name,
      { metadataHost: "", cloudEnvironment: "", ...args, grantId: undefined, grantedClaimValues: undefined, adopted: undefined },
      opts,
      "dataverse-s2s",
      "AdminConsentGrant",
    );
  }
}
