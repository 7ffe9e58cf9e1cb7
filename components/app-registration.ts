/**
 * The Entra ID side of an integration: a single-tenant app registration with the Dynamics CRM
 * `user_impersonation` delegated permission, its service principal, and a client secret whose
 * validity window is fixed in state (see dynamic-providers/secret-schedule.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import { SecretSchedule } from "../dynamic-providers/secret-schedule";

/** The Dynamics CRM first-party application, the same in every tenant. */
export const dynamicsCrmAppId = "00000007-0000-0000-c000-000000000000";
export const userImpersonationScope = "user_impersonation";

export interface AppRegistrationArgs {
  /** Display name of the app registration in Entra ID. */
  readonly displayName: pulumi.Input<string>;
  /** Days the client secret is valid (at most 730). */
  readonly secretLifetimeDays: pulumi.Input<number>;
  /** Days before expiry from which `pulumi up` rotates the secret. */
  readonly secretRotateBeforeDays: pulumi.Input<number>;
  /** Grant tenant-wide admin consent to user_impersonation (not needed for server-to-server calls). */
  readonly adminConsent?: boolean;
}

export class AppRegistration extends pulumi.ComponentResource {
  /** The application (client) id. */
  public readonly clientId: pulumi.Output<string>;
  public readonly applicationObjectId: pulumi.Output<string>;
  public readonly servicePrincipalObjectId: pulumi.Output<string>;
  /** The tenant the app registration lives in. */
  public readonly tenantId: pulumi.Output<string>;
  /** The client secret, a Pulumi secret. */
  public readonly clientSecret: pulumi.Output<string>;
  public readonly secretExpiresAt: pulumi.Output<string>;
  public readonly servicePrincipal: azuread.ServicePrincipal;

  constructor(name: string, args: AppRegistrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dataverse-s2s:entra:AppRegistration", name, {}, opts);

    // The scope id is looked up in the tenant rather than hard-coded.
    const dynamicsCrm = azuread.getServicePrincipalOutput({ clientId: dynamicsCrmAppId }, { parent: this });
    const userImpersonationId = dynamicsCrm.oauth2PermissionScopeIds.apply((ids) => {
      const id = ids[userImpersonationScope];
      if (!id) {
        throw new Error(
          `The Dynamics CRM service principal (${dynamicsCrmAppId}) in this tenant has no '${userImpersonationScope}' scope. ` +
            "Is Dynamics 365 / Dataverse provisioned in this tenant?",
        );
      }
      return id;
    });

    const application = new azuread.Application(
      `${name}-app`,
      {
        displayName: args.displayName,
        signInAudience: "AzureADMyOrg",
        requiredResourceAccesses: [{ resourceAppId: dynamicsCrmAppId, resourceAccesses: [{ id: userImpersonationId, type: "Scope" }] }],
        notes: "Managed by dataverse-s2s: a server-to-server identity for Dataverse.",
      },
      { parent: this },
    );

    this.servicePrincipal = new azuread.ServicePrincipal(`${name}-sp`, { clientId: application.clientId }, { parent: this });

    const schedule = new SecretSchedule(
      `${name}-secret-schedule`,
      { lifetimeDays: args.secretLifetimeDays, rotateBeforeDays: args.secretRotateBeforeDays },
      { parent: this },
    );
    const password = new azuread.ApplicationPassword(
      `${name}-secret`,
      { applicationId: application.id, displayName: "dataverse-s2s", startDate: schedule.startDate, endDate: schedule.endDate },
      // A new secret is made before the old one is removed, so consumers are never left with none.
      { parent: this, deleteBeforeReplace: false },
    );

    if (args.adminConsent) {
      new azuread.ServicePrincipalDelegatedPermissionGrant(
        `${name}-consent`,
        {
          servicePrincipalObjectId: this.servicePrincipal.objectId,
          resourceServicePrincipalObjectId: dynamicsCrm.objectId,
          claimValues: [userImpersonationScope],
        },
        { parent: this },
      );
    }

    this.clientId = application.clientId;
    this.applicationObjectId = application.objectId;
    this.servicePrincipalObjectId = this.servicePrincipal.objectId;
    this.tenantId = this.servicePrincipal.applicationTenantId;
    this.clientSecret = pulumi.secret(password.value);
    this.secretExpiresAt = password.endDate;
    this.registerOutputs({
      clientId: this.clientId,
      applicationObjectId: this.applicationObjectId,
      servicePrincipalObjectId: this.servicePrincipalObjectId,
      tenantId: this.tenantId,
      clientSecret: this.clientSecret,
      secretExpiresAt: this.secretExpiresAt,
    });
  }
}
