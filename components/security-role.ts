/**
 * The security role of an integration, whichever way it is declared: a copy of another role (minus
 * excluded privileges), a role declared by its privileges, a role that exists, or one made elsewhere
 * in the stack. One function, so that whoever declares the roles (the stack for the roles it makes,
 * an integration for an existing one) picks the resource the same way.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RoleConfig } from "../config/stack-config";
import { ClonedSecurityRole } from "../dynamic-providers/cloned-security-role";
import { ExistingSecurityRole } from "../dynamic-providers/existing-security-role";
import { SpecSecurityRole } from "../dynamic-providers/spec-security-role";
import { roleDefaults, systemAdministratorTemplateId } from "../lib/defaults";

/** Where an integration's security role comes from. */
export type IntegrationRole =
  /** A copy of `cloneFrom` named `name` without `excludePrivileges`, made and kept in sync by this stack. */
  | {
      readonly clone: {
        readonly name: string;
        readonly cloneFrom: string;
        readonly followSource?: boolean;
        readonly excludePrivileges?: readonly string[];
      };
    }
  /** A role named `name` holding the privileges declared: table -> right -> depth, and privileges by name. */
  | {
      readonly spec: {
        readonly name: string;
        readonly privileges: Readonly<Record<string, Readonly<Record<string, string>>>>;
        readonly miscPrivileges?: readonly string[];
      };
    }
  /** A role that exists in the environment, by name. */
  | { readonly existing: string }
  /** A role made elsewhere in the stack (shared by several integrations). */
  | { readonly roleId: pulumi.Input<string> };

export interface SecurityRoleArgs {
  readonly environmentUrl: pulumi.Input<string>;
  /** Business unit name; absent for the root business unit. */
  readonly businessUnit?: pulumi.Input<string>;
  /** The owning stack, "<organization>/<project>/<stack>", for the marker of a role the stack makes. */
  readonly stack?: pulumi.Input<string>;
  /** A role made by hand that the create takes over (config adopt); absent: only this stack's leftovers. */
  readonly adoptName?: pulumi.Input<string>;
}

/** True when `cloneFrom` names System Administrator (by name or by its template id). */
function clonesSystemAdministrator(cloneFrom: string): boolean {
  const source = cloneFrom.trim().toLowerCase();
  return source === roleDefaults.cloneFrom.toLowerCase() || source === systemAdministratorTemplateId;
}

/** The warning every preview and up prints for a copy of System Administrator. */
function systemAdministratorCopyWarning(roleName: string): string {
  return (
    `The security role '${roleName}' is a copy of System Administrator. Its holder can raise other users (and itself) to ` +
    `administrator (elevation of privilege), and a copy misses the privileges later updates add to System Administrator ` +
    `(Power Platform admin docs: prevent elevation of security role privileges). Declare only what the integration needs ` +
    `with role.privileges (README, "Least-privilege roles"), or at least drop the dangerous privileges with role.excludePrivileges.`
  );
}

/** The configured role as an integration takes it (already validated by the config reader). */
export function integrationRole(role: RoleConfig): IntegrationRole {
  switch (role.kind) {
    case "existing":
      return { existing: role.name };
    case "clone":
      return {
        clone: { name: role.name, cloneFrom: role.cloneFrom, followSource: role.followSource, excludePrivileges: role.excludePrivileges },
      };
    case "spec":
      return { spec: { name: role.name, privileges: role.privileges, miscPrivileges: role.miscPrivileges } };
  }
}

/** Declares the role's resource (named `name`) and returns the role id the application user gets. */
export function declareSecurityRole(
  name: string,
  role: IntegrationRole,
  args: SecurityRoleArgs,
  opts: pulumi.CustomResourceOptions,
): pulumi.Input<string> {
  // Ids are taken from resource ids, not from outputs: an id stays known while a preview plans an
  // update, so a drift repair of the role does not ripple into an update of the user.
  if ("clone" in role) {
    const cloned = new ClonedSecurityRole(
      name,
      {
        environmentUrl: args.environmentUrl,
        name: role.clone.name,
        sourceRole: role.clone.cloneFrom,
        businessUnit: args.businessUnit,
        followSource: role.clone.followSource ?? roleDefaults.followSource,
        excludePrivileges: [...(role.clone.excludePrivileges ?? [])],
        stack: args.stack,
        ...(args.adoptName === undefined ? {} : { adoptName: args.adoptName }),
      },
      opts,
    );
    // Not attached to the role: the SDK writes log lines in order, and one waiting for the role's URN
    // (which waits for the environment check) would hold back the environment check's own warning: a deadlock.
    if (clonesSystemAdministrator(role.clone.cloneFrom)) void pulumi.log.warn(systemAdministratorCopyWarning(role.clone.name));
    return cloned.id;
  }
  if ("spec" in role) {
    return new SpecSecurityRole(
      name,
      {
        environmentUrl: args.environmentUrl,
        name: role.spec.name,
        businessUnit: args.businessUnit,
        privileges: Object.fromEntries(Object.entries(role.spec.privileges).map(([table, rights]) => [table, { ...rights }])),
        miscPrivileges: [...(role.spec.miscPrivileges ?? [])],
        stack: args.stack,
        ...(args.adoptName === undefined ? {} : { adoptName: args.adoptName }),
      },
      opts,
    ).id;
  }
  if ("existing" in role) {
    return new ExistingSecurityRole(
      name,
      { environmentUrl: args.environmentUrl, name: role.existing, businessUnit: args.businessUnit },
      opts,
    ).id;
  }
  return role.roleId;
}
