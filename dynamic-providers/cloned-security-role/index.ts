/**
 * A Dataverse security role cloned from another one: what "Copy Role" does in the UI.
 *
 *   create  -> find the business unit and the source role (once per process: the environment check
 *              has usually done it), one $batch GET of roles of that name and of the source's
 *              privileges, POST roles (or adopt a role of the same name that this stack made), then
 *              one $batch: a change set of ReplacePrivilegesRole + AddPrivilegesRole (all or nothing)
 *              and RetrieveRolePrivilegesRole to read back what the role holds; a role of the same name is
 *              adopted only when its marker names this stack and this role
 *   read    -> one $batch: GET roles(<id>), RetrieveRolePrivilegesRole for the role and its source
 *   update  -> PATCH roles(<id>) for a new name; privileges written again from the source
 *   delete  -> DELETE roles(<id>) (404 is done), unless another resource of the stack now holds it
 *
 * Drift is measured against what was read back right after the last apply, not against what was
 * sent: Dataverse adds and keeps a few privileges by itself, which must not look like drift forever.
 * What was read back is kept packed (shared/privileges.ts), so a copy of System Administrator stays small in state.
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { stackIdentity } from "../../lib/stack-identity";
import type { ClonedSecurityRoleInputs, ClonedSecurityRoleOutputs } from "./provider";
import { providerShell } from "../provider-shell";

export type { ClonedSecurityRoleInputs, ClonedSecurityRoleOutputs };

export interface ClonedSecurityRoleArgs {
  /** Environment URL, e.g. https://contoso.crm.dynamics.com. */
  readonly environmentUrl: pulumi.Input<string>;
  /** Name of the new role, e.g. "API User". */
  readonly name: pulumi.Input<string>;
  /** Role to copy: a name or a role template id; default roleDefaults.cloneFrom (lib/defaults.ts). */
  readonly sourceRole: pulumi.Input<string>;
  /** Business unit name; empty or absent for the root business unit. */
  readonly businessUnit?: pulumi.Input<string>;
  /** Follow the source role when it gains or loses privileges (default true). */
  readonly followSource?: pulumi.Input<boolean>;
  /** Privileges of the source not to copy, by name (e.g. prvAssignRole); default none. */
  readonly excludePrivileges?: pulumi.Input<string[]>;
  /**
   * The owning stack, "<organization>/<project>/<stack>" (default: the running stack), written into the role's marker: a create
   * adopts only a role this stack made under this name, and a delete leaves a role that another
   * resource of the stack has taken over.
   */
  readonly stack?: pulumi.Input<string>;
  /**
   * A role made by hand that the create takes over (renamed to `name`, marked, its privileges
   * copied), instead of making a new one: config `adopt`. Only read on create.
   */
  readonly adoptName?: pulumi.Input<string>;
}

export const clonedSecurityRoleProvider = providerShell<ClonedSecurityRoleInputs, ClonedSecurityRoleOutputs>("cloned-security-role", [
  "check",
  "diff",
  "read",
  "update",
  "delete",
]);

/** A security role copied from another one, kept equal to it by every `pulumi up`. */
export class ClonedSecurityRole extends pulumi.dynamic.Resource {
  declare readonly roleId: pulumi.Output<string>;
  declare readonly businessUnitId: pulumi.Output<string>;
  declare readonly sourceRoleId: pulumi.Output<string>;
  declare readonly privilegeCount: pulumi.Output<number>;
  declare readonly privilegeDigest: pulumi.Output<string>;
  declare readonly privilegeDrift: pulumi.Output<string[]>;

  constructor(name: string, args: ClonedSecurityRoleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      clonedSecurityRoleProvider,
      name,
      {
        ...args,
        stack: args.stack ?? stackIdentity(),
        roleId: undefined,
        businessUnitId: undefined,
        sourceRoleId: undefined,
        appliedPrivilegeSet: undefined,
        appliedDigest: undefined,
        privilegeCount: undefined,
        privilegeDigest: undefined,
        privilegeDrift: undefined,
        copiedSourceDigest: undefined,
        sourceDigest: undefined,
      },
      opts,
      "dataverse-s2s",
      "ClonedSecurityRole",
    );
  }
}
