/**
 * A Dataverse security role declared by the privileges it grants (role.privileges in the config):
 * least privilege instead of a copy of System Administrator.
 *
 *   create  -> resolve the spec (EntityDefinitions per table, privileges by name), POST roles (or
 *              take over a role of the same name whose marker names this stack and role, or the
 *              role made by hand that the config adopts), ReplacePrivilegesRole with
 *              exactly the declared privileges, then read them back
 *   read    -> GET roles(<id>) and RetrieveRolePrivilegesRole
 *   update  -> PATCH roles(<id>) for a new name; privileges resolved and written again
 *   delete  -> DELETE roles(<id>) (404 is done), unless another resource of the stack has taken the
 *              role over since (its marker is no longer this resource's)
 *
 * As for a cloned role, drift is measured against what was read back right after the last apply:
 * Dataverse adds a few privileges to a new role by itself, which must not look like drift forever.
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { stackIdentity } from "../../lib/stack-identity";
import type { SpecSecurityRoleInputs, SpecSecurityRoleOutputs } from "./provider";
import { providerShell } from "../provider-shell";

export type { SpecSecurityRoleInputs, SpecSecurityRoleOutputs };

export interface SpecSecurityRoleArgs {
  /** Environment URL, e.g. https://contoso.crm.dynamics.com. */
  readonly environmentUrl: pulumi.Input<string>;
  /** Name of the role, e.g. "Contact Sync". */
  readonly name: pulumi.Input<string>;
  /** Business unit name; empty or absent for the root business unit. */
  readonly businessUnit?: pulumi.Input<string>;
  /** Table logical name -> access right (create, read, ...) -> depth (Basic, Local, Deep, Global). */
  readonly privileges: pulumi.Input<Record<string, Record<string, string>>>;
  /** Privileges by name that belong to no table, granted at Global. */
  readonly miscPrivileges?: pulumi.Input<string[]>;
  /**
   * The owning stack, "<organization>/<project>/<stack>" (default: the running stack), written into the role's marker (as for a
   * cloned role): a create takes over only a role this stack made under this name.
   */
  readonly stack?: pulumi.Input<string>;
  /** A role made by hand that the create takes over instead of making a new one (config `adopt`). Only read on create. */
  readonly adoptName?: pulumi.Input<string>;
}

export const specSecurityRoleProvider = providerShell<SpecSecurityRoleInputs, SpecSecurityRoleOutputs>("spec-security-role", [
  "check",
  "diff",
  "read",
  "update",
  "delete",
]);

/** A security role holding exactly the declared privileges, kept so by every `pulumi up`. */
export class SpecSecurityRole extends pulumi.dynamic.Resource {
  declare readonly roleId: pulumi.Output<string>;
  declare readonly businessUnitId: pulumi.Output<string>;
  declare readonly privilegeCount: pulumi.Output<number>;
  declare readonly privilegeDigest: pulumi.Output<string>;
  declare readonly privilegeDrift: pulumi.Output<string[]>;

  constructor(name: string, args: SpecSecurityRoleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      specSecurityRoleProvider,
      name,
      {
        ...args,
        stack: args.stack ?? stackIdentity(),
        roleId: undefined,
        businessUnitId: undefined,
        grantedPrivileges: undefined,
        appliedPrivileges: undefined,
        appliedDigest: undefined,
        privilegeCount: undefined,
        privilegeDigest: undefined,
        privilegeDrift: undefined,
      },
      opts,
      "dataverse-s2s",
      "SpecSecurityRole",
    );
  }
}
