/**
 * Everything one integration needs in one environment: the app registration (Entra ID), a security
 * role (cloned, existing, or shared with another integration), and the application user that ties
 * the app to the role in Dataverse. Its outputs are the fields a connection dialog asks for.
 */
import * as pulumi from "@pulumi/pulumi";
import { AppRegistration } from "./app-registration";
import { ApplicationUser } from "../dynamic-providers/application-user";
import { ClonedSecurityRole } from "../dynamic-providers/cloned-security-role";
import { ExistingSecurityRole } from "../dynamic-providers/existing-security-role";

/** Where the integration's security role comes from. */
export type IntegrationRole =
  /** A copy of `cloneFrom` named `name`, made and kept in sync by this component. */
  | { readonly clone: { readonly name: string; readonly cloneFrom: string; readonly followSource?: boolean } }
  /** A role that exists in the environment, by name. */
  | { readonly existing: string }
  /** A role made elsewhere in the stack (shared by several integrations). */
  | { readonly roleId: pulumi.Input<string> };

export interface DataverseIntegrationArgs {
  /** Environment URL, e.g. https://contoso.crm.dynamics.com. */
  readonly environmentUrl: pulumi.Input<string>;
  /** Display name of the app registration. */
  readonly displayName: pulumi.Input<string>;
  readonly role: IntegrationRole;
  /** Business unit name for the role and the user; absent for the root business unit. */
  readonly businessUnit?: pulumi.Input<string>;
  readonly secretLifetimeDays: pulumi.Input<number>;
  readonly secretRotateBeforeDays: pulumi.Input<number>;
  readonly adminConsent?: boolean;
  /** Remove roles given to the application user outside the stack (default true). */
  readonly removeUnmanagedRoles?: pulumi.Input<boolean>;
  /** On destroy, leave the application user disabled instead of deleting it. */
  readonly keepUserOnDestroy?: pulumi.Input<boolean>;
}

export class DataverseIntegration extends pulumi.ComponentResource {
  public readonly environmentUrl: pulumi.Output<string>;
  public readonly tenantId: pulumi.Output<string>;
  public readonly clientId: pulumi.Output<string>;
  /** A Pulumi secret. */
  public readonly clientSecret: pulumi.Output<string>;
  public readonly secretExpiresAt: pulumi.Output<string>;
  public readonly applicationUserId: pulumi.Output<string>;
  public readonly securityRoleId: pulumi.Output<string>;

  constructor(name: string, args: DataverseIntegrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dataverse-s2s:index:DataverseIntegration", name, {}, opts);

    const app = new AppRegistration(
      `${name}-entra`,
      {
        displayName: args.displayName,
        secretLifetimeDays: args.secretLifetimeDays,
        secretRotateBeforeDays: args.secretRotateBeforeDays,
        adminConsent: args.adminConsent,
      },
      { parent: this },
    );

    // Ids are taken from resource ids, not from outputs: an id stays known while a preview plans an
    // update, so a drift repair of the role does not ripple into an update of the user.
    const role = args.role;
    let roleId: pulumi.Input<string>;
    if ("clone" in role) {
      roleId = new ClonedSecurityRole(
        `${name}-role`,
        {
          environmentUrl: args.environmentUrl,
          name: role.clone.name,
          sourceRole: role.clone.cloneFrom,
          businessUnit: args.businessUnit,
          followSource: role.clone.followSource ?? true,
        },
        { parent: this },
      ).id;
    } else if ("existing" in role) {
      roleId = new ExistingSecurityRole(
        `${name}-role`,
        { environmentUrl: args.environmentUrl, name: role.existing, businessUnit: args.businessUnit },
        { parent: this },
      ).id;
    } else {
      roleId = role.roleId;
    }

    const user = new ApplicationUser(
      `${name}-user`,
      {
        environmentUrl: args.environmentUrl,
        applicationId: app.clientId,
        businessUnit: args.businessUnit,
        roleIds: [roleId],
        removeUnmanagedRoles: args.removeUnmanagedRoles,
        keepDisabledOnDelete: args.keepUserOnDestroy,
      },
      // Dataverse makes an application user only for an app whose service principal exists.
      { parent: this, dependsOn: [app.servicePrincipal] },
    );

    this.environmentUrl = pulumi.output(args.environmentUrl);
    this.tenantId = app.tenantId;
    this.clientId = app.clientId;
    this.clientSecret = app.clientSecret;
    this.secretExpiresAt = app.secretExpiresAt;
    this.applicationUserId = user.id;
    this.securityRoleId = pulumi.output(roleId);
    this.registerOutputs({
      environmentUrl: this.environmentUrl,
      tenantId: this.tenantId,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      secretExpiresAt: this.secretExpiresAt,
      applicationUserId: this.applicationUserId,
      securityRoleId: this.securityRoleId,
    });
  }
}
