/**
 * A reference to a security role that exists in the environment and is not managed by this stack
 * (an integration configured with `role.existing`). It never writes anything.
 *
 *   create/read -> GET roles?$filter=name eq '<name>' and _businessunitid_value eq <bu>
 *   delete      -> nothing: the role is not ours
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ExistingSecurityRoleInputs, ExistingSecurityRoleOutputs } from "./provider";
import { providerShell } from "../provider-shell";

export interface ExistingSecurityRoleArgs {
  readonly environmentUrl: pulumi.Input<string>;
  /** The role's name as shown in Settings > Security > Security roles. */
  readonly name: pulumi.Input<string>;
  /** Business unit name; empty or absent for the root business unit. */
  readonly businessUnit?: pulumi.Input<string>;
}

export const existingSecurityRoleProvider = providerShell<ExistingSecurityRoleInputs, ExistingSecurityRoleOutputs>(
  "existing-security-role",
  ["check", "diff", "read", "delete"],
);

/** Looks up a security role by name; deleting this resource leaves the role alone. */
export class ExistingSecurityRole extends pulumi.dynamic.Resource {
  declare readonly roleId: pulumi.Output<string>;
  declare readonly businessUnitId: pulumi.Output<string>;

  constructor(name: string, args: ExistingSecurityRoleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      existingSecurityRoleProvider,
      name,
      { ...args, roleId: undefined, businessUnitId: undefined },
      opts,
      "dataverse-s2s",
      "ExistingSecurityRole",
    );
  }
}
