/**
 * The Entra ID side of an integration: a single-tenant app registration with the Dynamics CRM
 * `user_impersonation` delegated permission, its service principal, and its credential:
 * - a client secret (default), whose validity window is fixed in state (dynamic-providers/
 *   secret-schedule/) and which rotates without downtime: inside the rotation window a run makes
 *   a new secret and publishes it, while the previous one stays valid for `overlapDays`
 *   (dynamic-providers/retired-secrets/); or
 * - an uploaded certificate, or a federated identity credential (components/alternative-credentials.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import { AdminConsentGrant, azureadDelegatedPermissionGrantType } from "../dynamic-providers/admin-consent-grant";
import { AppLeftovers } from "../dynamic-providers/app-leftovers";
import { RetiredSecrets } from "../dynamic-providers/retired-secrets";
import { currentTime } from "../lib/clock";
import { dynamicsCrmAppId, managedSecretDisplayName, secretDefaults } from "../lib/defaults";
import { SecretSchedule } from "../dynamic-providers/secret-schedule";
import { CredentialPolicyGate } from "../dynamic-providers/credential-policy-gate";
import { certificateCredential, federatedCredential } from "./alternative-credentials";
import { AdoptedSecret, keptSecretNote } from "../lib/adoption";
import { hasPassed } from "../lib/secret-lifecycle";
import { EntraCloud, readEntraCloud } from "../config/stack-config";
import { dynamicsCrmServicePrincipal, DynamicsCrmServicePrincipal, getServicePrincipalToken } from "../lib/provider-plugins";

const userImpersonationScope = "user_impersonation";

/**
 * The cloud inputs of a dynamic provider that calls Graph: `entraCloud`, else the azuread provider's
 * configuration (a component used in a program of its own has no stack config to take it from).
 */
export function graphCloud(entraCloud: EntraCloud | undefined): { metadataHost: string; cloudEnvironment: string } {
  const cloud = entraCloud ?? readEntraCloud();
  return { metadataHost: cloud.metadataHost ?? "", cloudEnvironment: cloud.environment ?? "" };
}

/** How the app authenticates: a client secret, an uploaded public certificate, or a federated identity credential. */
export type AppCredential =
  | { readonly kind: "secret" }
  /** The consumer signs client assertions with the certificate's private key, which never leaves it. */
  | { readonly kind: "certificate"; readonly certificatePem: pulumi.Input<string>; readonly endDate?: pulumi.Input<string> }
  /** Entra trusts tokens that another identity provider issues to one workload (see alternative-credentials.ts). */
  | {
      readonly kind: "federated";
      readonly issuer: pulumi.Input<string>;
      readonly subject: pulumi.Input<string>;
      readonly audiences?: pulumi.Input<string>[];
      readonly displayName?: pulumi.Input<string>;
    };

/** Whose app registration it is: the stack ("<organization>/<project>/<stack>") and the integration. */
export interface AppMarker {
  readonly stack: string;
  readonly integration: string;
  /** The integration's former names: apps tagged with them are its too. */
  readonly formerNames?: readonly string[];
}

/** The tag that marks an app registration as this stack's and this integration's (Graph filters apps by tag). */
export function appMarkerTag(stack: string, integration: string): string {
  return `dataverse-s2s:${stack}:${integration}`;
}

/**
 * An app registration made by hand that the first `pulumi up` imports (Pulumi's `import` option; the
 * option is ignored once the objects are in state). Found by the program (components/stack.ts).
 */
export interface AdoptedEntraObjects {
  readonly applicationObjectId: string;
  /** Absent when the app has no service principal: one is made. */
  readonly servicePrincipalObjectId?: string;
  /**
   * The client secret made before adoption, while it is outside its rotation window and the stack
   * has made no secret of its own: no secret is made yet, and none is published (its text cannot be read back).
   */
  readonly keptSecret?: AdoptedSecret;
  readonly rotateBeforeDays?: number;
}

export interface AppRegistrationArgs {
  /** Display name of the app registration in Entra ID. */
  readonly displayName: pulumi.Input<string>;
  /** Days the client secret is valid (at most secretDefaults.maxLifetimeDays, Entra's limit). */
  readonly secretLifetimeDays: pulumi.Input<number>;
  /** Days before expiry from which `pulumi up` rotates the secret. */
  readonly secretRotateBeforeDays: pulumi.Input<number>;
  /** Days the previous secret stays valid after a rotation (default secretDefaults.overlapDays). */
  readonly secretOverlapDays?: pulumi.Input<number>;
  /** The credential; a client secret when absent. */
  readonly credential?: AppCredential;
  /**
   * The azuread provider's cloud (metadataHost, environment), for the Graph calls of the dynamic
   * providers (rotated-out secrets, leftovers, policies); default: the azuread provider's config.
   */
  readonly entraCloud?: EntraCloud;
  /** Grant tenant-wide admin consent to user_impersonation (not needed for server-to-server calls). */
  readonly adminConsent?: boolean;
  /**
   * The config keys that set the secret's lifetime and the credential type, named by the guidance
   * when a tenant credential policy refuses the secret; by default described from the integration's name.
   */
  readonly secretSettings?: { readonly lifetimeSetting: string; readonly credentialSetting: string };
  /**
   * Tags the app with its stack and integration, so that an app a crashed run left (made by Graph,
   * never recorded) is recognised and removed by the next `pulumi up` (AppLeftovers).
   */
  readonly marker?: AppMarker;
  /** Import an app registration (and service principal) made by hand instead of making new ones. */
  readonly adopt?: AdoptedEntraObjects;
}

export class AppRegistration extends pulumi.ComponentResource {
  /** The application (client) id. */
  public readonly clientId: pulumi.Output<string>;
  public readonly applicationObjectId: pulumi.Output<string>;
  public readonly servicePrincipalObjectId: pulumi.Output<string>;
  /** The tenant the app registration lives in. */
  public readonly tenantId: pulumi.Output<string>;
  /** The application's resource id, "/applications/<object id>". */
  public readonly applicationId: pulumi.Output<string>;
  /** The client secret, a Pulumi secret; undefined with a certificate or federated credential. */
  public readonly clientSecret: pulumi.Output<string | undefined>;
  public readonly secretExpiresAt: pulumi.Output<string | undefined>;
  public readonly servicePrincipal: azuread.ServicePrincipal;
  /** Set while the client secret made before adoption is kept instead of a secret of the stack's own. */
  public readonly secretNote: pulumi.Output<string | undefined>;

  constructor(name: string, args: AppRegistrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dataverse-s2s:entra:AppRegistration", name, {}, opts);

    // One lookup per program through the default provider (lib/provider-plugins.ts); a component given
    // its own azuread provider asks that one.
    const dynamicsCrm: pulumi.Output<DynamicsCrmServicePrincipal> = this.getProvider(getServicePrincipalToken)
      ? azuread.getServicePrincipalOutput({ clientId: dynamicsCrmAppId }, { parent: this })
      : pulumi.output(dynamicsCrmServicePrincipal());
    const application = this.registerApplication(name, args, this.userImpersonationId(dynamicsCrm));

    this.servicePrincipal = new azuread.ServicePrincipal(
      `${name}-sp`,
      // owners: [] (none): a hand-added owner shows as drift and is removed. A principal a killed run
      // made still lists the deployer as owner; the provider's adoption keeps it (no change against no
      // prior state), so AppLeftovers, which runs right after, removes it in the same run.
      { clientId: application.clientId, useExisting: true, owners: [] },
      {
        parent: this,
        ...(args.adopt?.servicePrincipalObjectId ? { import: `/servicePrincipals/${args.adopt.servicePrincipalObjectId}` } : {}),
      },
    );
    if (args.marker) this.leftoverCleanup(name, args, args.marker, application, this.servicePrincipal);

    const credential: AppCredential = args.credential ?? { kind: "secret" };
    let clientSecret: pulumi.Output<string | undefined> = pulumi.output(undefined);
    let secretExpiresAt: pulumi.Output<string | undefined> = pulumi.output(undefined);
    let secretNote: pulumi.Output<string | undefined> = pulumi.output(undefined);
    const kept = args.adopt?.keptSecret;
    if (credential.kind === "secret" && kept) {
      // The secret made by hand keeps working and cannot be read back: nothing is published, and the
      // stack makes its own secret once that one enters its rotation window (lib/adoption.ts keptSecret).
      secretExpiresAt = pulumi.output(kept.endDateTime);
      secretNote = pulumi.output(keptSecretNote(kept, args.adopt?.rotateBeforeDays ?? secretDefaults.rotateBeforeDays));
    } else if (credential.kind === "secret") {
      const password = this.rotatingSecret(name, args, application);
      clientSecret = pulumi.secret(password.value);
      secretExpiresAt = password.endDate;
    } else {
      this.alternativeCredential(name, credential, application);
    }

    if (args.adminConsent) {
      new AdminConsentGrant(
        `${name}-consent`,
        {
          servicePrincipalObjectId: this.servicePrincipal.objectId,
          resourceServicePrincipalObjectId: dynamicsCrm.objectId,
          claimValues: [userImpersonationScope],
          ...graphCloud(args.entraCloud),
        },
        // Earlier versions declared the grant with azuread's resource, which never adopts a grant a
        // killed run made (Graph then answers 409 to every later run). The alias carries such a grant's
        // state over and AdminConsentGrant takes it over in place (an update: the same grant). A real
        // replacement deletes the old grant first: Graph keeps one per client and resource.
        { parent: this, aliases: [{ type: azureadDelegatedPermissionGrantType }], deleteBeforeReplace: true },
      );
    }

    this.clientId = application.clientId;
    this.applicationObjectId = application.objectId;
    this.servicePrincipalObjectId = this.servicePrincipal.objectId;
    this.tenantId = this.servicePrincipal.applicationTenantId;
    this.applicationId = application.id;
    this.clientSecret = clientSecret;
    this.secretExpiresAt = secretExpiresAt;
    this.secretNote = secretNote;
    this.registerOutputs({
      secretNote: this.secretNote,
      clientId: this.clientId,
      applicationObjectId: this.applicationObjectId,
      servicePrincipalObjectId: this.servicePrincipalObjectId,
      tenantId: this.tenantId,
      clientSecret: this.clientSecret,
      secretExpiresAt: this.secretExpiresAt,
    });
  }

  /** The id of Dynamics CRM's user_impersonation scope: looked up in the tenant rather than hard-coded. */
  private userImpersonationId(dynamicsCrm: pulumi.Output<DynamicsCrmServicePrincipal>): pulumi.Output<string> {
    return dynamicsCrm.oauth2PermissionScopeIds.apply((ids) => {
      const id = ids[userImpersonationScope];
      if (!id) {
        throw new pulumi.ResourceError(
          `The Dynamics CRM service principal (${dynamicsCrmAppId}) in this tenant has no '${userImpersonationScope}' scope. ` +
            "Is Dynamics 365 / Dataverse provisioned in this tenant?",
          this,
        );
      }
      return id;
    });
  }

  private registerApplication(name: string, args: AppRegistrationArgs, userImpersonationId: pulumi.Output<string>): azuread.Application {
    return new azuread.Application(
      `${name}-app`,
      {
        displayName: args.displayName,
        signInAudience: "AzureADMyOrg",
        requiredResourceAccesses: [{ resourceAppId: dynamicsCrmAppId, resourceAccesses: [{ id: userImpersonationId, type: "Scope" }] }],
        notes: args.marker
          ? `Managed by dataverse-s2s (stack ${args.marker.stack}, integration ${args.marker.integration}): a server-to-server identity for Dataverse.`
          : "Managed by dataverse-s2s: a server-to-server identity for Dataverse.",
        tags: args.marker ? [appMarkerTag(args.marker.stack, args.marker.integration)] : undefined,
      },
      // Adopted: the first up reads the app made by hand and then updates only what differs (name,
      // notes, tags, permission); its client id stays. Once in state the option is ignored.
      { parent: this, ...(args.adopt ? { import: `/applications/${args.adopt.applicationObjectId}` } : {}) },
    );
  }

  /** Removes what a crashed run left behind for this integration: app registrations, service principal owners (AppLeftovers). */
  private leftoverCleanup(
    name: string,
    args: AppRegistrationArgs,
    marker: AppMarker,
    application: azuread.Application,
    servicePrincipal: azuread.ServicePrincipal,
  ): void {
    new AppLeftovers(
      `${name}-leftovers`,
      {
        applicationObjectId: application.objectId,
        servicePrincipalObjectId: servicePrincipal.objectId,
        markerTags: [marker.integration, ...(marker.formerNames ?? [])].map((integration) => appMarkerTag(marker.stack, integration)),
        ...graphCloud(args.entraCloud),
      },
      { parent: this },
    );
  }

  /** The client secret: its schedule, the tenant policy gate, the password and the retirement of rotated-out ones. */
  private rotatingSecret(name: string, args: AppRegistrationArgs, application: azuread.Application): azuread.ApplicationPassword {
    // The integration component is named after the integration, and this one `<integration>-entra`.
    const integration = name.replace(/-entra$/, "");
    const settings = args.secretSettings ?? {
      lifetimeSetting: `secret.lifetimeDays of integration '${integration}'`,
      credentialSetting: `credential.type of integration '${integration}'`,
    };
    const cloud = graphCloud(args.entraCloud);
    const schedule = new SecretSchedule(
      `${name}-secret-schedule`,
      {
        lifetimeDays: args.secretLifetimeDays,
        rotateBeforeDays: args.secretRotateBeforeDays,
        applicationObjectId: application.objectId,
        ...cloud,
        ...settings,
      },
      { parent: this },
    );
    // Judges the secret against the tenant's credential policy once the application exists, so that
    // a refusal comes with guidance rather than as Graph's code (see dynamic-providers/credential-policy-gate/).
    const policyGate = new CredentialPolicyGate(
      `${name}-secret-policy`,
      {
        applicationObjectId: application.objectId,
        startDate: schedule.startDate,
        endDate: schedule.endDate,
        lifetimeDays: args.secretLifetimeDays,
        ...cloud,
        ...settings,
      },
      { parent: this },
    );
    const password = new azuread.ApplicationPassword(
      `${name}-secret`,
      { applicationId: application.id, displayName: managedSecretDisplayName, startDate: schedule.startDate, endDate: schedule.endDate },
      // A rotation makes the new secret first; the old one is left in Entra (retainOnDelete) and
      // removed by RetiredSecrets once the overlap has passed, so consumers are never left without one.
      { parent: this, deleteBeforeReplace: false, retainOnDelete: true, dependsOn: [policyGate] },
    );
    new RetiredSecrets(
      `${name}-retired-secrets`,
      {
        applicationObjectId: application.objectId,
        currentKeyId: password.keyId,
        overlapDays: args.secretOverlapDays ?? secretDefaults.overlapDays,
        ...cloud,
      },
      { parent: this },
    );
    warnNearExpiry(args.displayName, schedule.expiringEndDate, this);
    schedule.policyNote.apply((note) => {
      if (note) pulumi.log.warn(note, this);
    });
    return password;
  }

  /** An uploaded certificate or a federated identity credential (alternative-credentials.ts). */
  private alternativeCredential(
    name: string,
    credential: Exclude<AppCredential, { kind: "secret" }>,
    application: azuread.Application,
  ): void {
    if (credential.kind === "certificate") {
      certificateCredential(
        `${name}-certificate`,
        { applicationId: application.id, certificatePem: pulumi.secret(credential.certificatePem), endDate: credential.endDate },
        { parent: this },
      );
      return;
    }
    federatedCredential(
      `${name}-federated`,
      {
        applicationId: application.id,
        issuer: credential.issuer,
        subject: credential.subject,
        audiences: credential.audiences,
        displayName: credential.displayName,
      },
      { parent: this },
    );
  }
}

/**
 * A Pulumi warning (shown by preview and up, visible in CI logs) when the run rotates a secret that
 * is inside its rotation window or already expired. The schedule's dates are inputs (see
 * dynamic-providers/secret-schedule/), so they are known while a preview plans the rotation.
 */
function warnNearExpiry(displayName: pulumi.Input<string>, expiringEndDate: pulumi.Output<string>, resource: pulumi.Resource) {
  pulumi.all([displayName, expiringEndDate]).apply(([appName, expiring]) => {
    if (!expiring) return;
    if (hasPassed(expiring, currentTime().getTime())) {
      pulumi.log.warn(
        `The client secret of '${appName}' expired on ${expiring}: its integration cannot sign in (AADSTS7000222). 'pulumi up' makes a new one.`,
        resource,
      );
    } else {
      pulumi.log.warn(
        `The client secret of '${appName}' expires on ${expiring} and is inside its rotation window: ` +
          "'pulumi up' makes a new secret, publishes it, and keeps this one valid for the overlap.",
        resource,
      );
    }
  });
}
