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
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ApplicationUserInputs, ApplicationUserOutputs } from "./provider";
import { providerShell } from "../provider-shell";

export type { ApplicationUserInputs, ApplicationUserOutputs };

export interface ApplicationUserArgs {
  /** Environment URL, e.g. https://contoso.crm.dynamics.com. */
  readonly environmentUrl: pulumi.Input<string>;
  /** The app registration's application (client) id. */
  readonly applicationId: pulumi.Input<string>;
  /** Business unit name; empty or absent for the root business unit. */
  readonly businessUnit?: pulumi.Input<string>;
  /** Security roles the user must hold (role ids, in the user's business unit). */
  readonly roleIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Remove roles given to the user outside this stack (default true). */
  readonly removeUnmanagedRoles?: pulumi.Input<boolean>;
  /** On delete, only disable the user instead of deleting it (default false). */
  readonly keepDisabledOnDelete?: pulumi.Input<boolean>;
}

export const applicationUserProvider = providerShell<ApplicationUserInputs, ApplicationUserOutputs>("application-user", [
  "check",
  "diff",
  "read",
  "update",
  "delete",
]);

/** The application user of an app registration in one environment, holding the given roles. */
export class ApplicationUser extends pulumi.dynamic.Resource {
  declare readonly userId: pulumi.Output<string>;
  declare readonly businessUnitId: pulumi.Output<string>;
  declare readonly fullName: pulumi.Output<string>;
  declare readonly isDisabled: pulumi.Output<boolean>;
  declare readonly assignedRoleIds: pulumi.Output<string[]>;

  constructor(name: string, args: ApplicationUserArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      applicationUserProvider,
      name,
      { ...args, userId: undefined, businessUnitId: undefined, fullName: undefined, isDisabled: undefined, assignedRoleIds: undefined },
      opts,
      "dataverse-s2s",
      "ApplicationUser",
    );
  }
}
