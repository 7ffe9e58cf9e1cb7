/**
 * Everything one integration needs in one environment: the app registration (Entra ID), a security
 * role (cloned, existing, or shared with another integration), and the application user that ties
 * the app to the role in Dataverse. Its outputs are the fields a connection dialog asks for.
 */
import * as pulumi from "@pulumi/pulumi";
import { AdoptedEntraObjects, AppCredential, AppMarker, AppRegistration, AppRegistrationArgs, graphCloud } from "./app-registration";
import { KeyVaultExport } from "./key-vault-export";
import { ApplicationUser } from "../dynamic-providers/application-user";
import { EnvironmentCheck } from "../dynamic-providers/environment-check";
import { roleDefaults, secretDefaults } from "../lib/defaults";
import { stackIdentity } from "../lib/stack-identity";
import { declareSecurityRole, IntegrationRole } from "./security-role";
import { integrationIdentity, IntegrationManagedIdentity } from "./managed-identity";
import { readAzureConfig } from "../config/stack-config";

export type { IntegrationRole, IntegrationManagedIdentity };

/**
 * How the integration signs in: an app registration's credential (a client secret, a certificate, a
 * federated identity credential), or a user-assigned managed identity instead of any app registration.
 */
export type IntegrationCredential = AppCredential | IntegrationManagedIdentity;

/** The vault the connection values are written to. */
export interface IntegrationKeyVault {
  /** ARM resource id of the vault. */
  readonly id: pulumi.Input<string>;
  /** Prefix of the secret names; default: the export's name, sanitized. */
  readonly secretNamePrefix?: pulumi.Input<string>;
}

export interface DataverseIntegrationArgs {
  /** Environment URL, e.g. https://contoso.crm.dynamics.com. */
  readonly environmentUrl: pulumi.Input<string>;
  /** Display name of the app registration. */
  readonly displayName: pulumi.Input<string>;
  /**
   * The role the application user holds. Default: a role named "API User" copied from System
   * Administrator, made for this integration. A role several integrations share is declared once
   * (e.g. a ClonedSecurityRole) and passed to each as `{ roleId: role.id }`.
   */
  readonly role?: IntegrationRole;
  /** Business unit name for the role and the user; absent for the root business unit. */
  readonly businessUnit?: pulumi.Input<string>;
  /** Days a client secret is valid (default 180, at most 730). */
  readonly secretLifetimeDays?: pulumi.Input<number>;
  /** Days before expiry from which `pulumi up` makes the next secret (default 30). */
  readonly secretRotateBeforeDays?: pulumi.Input<number>;
  /** Days the previous secret stays valid after a rotation (default 7). */
  readonly secretOverlapDays?: pulumi.Input<number>;
  /**
   * A client secret when absent; or a certificate or a federated identity credential (of the app
   * registration); or `{ kind: "managedIdentity", clientId }` / `{ kind: "managedIdentity", create:
   * { resourceGroupName, location } }`: a user-assigned managed identity, with no app registration
   * at all (the secret, admin consent, adopt and entraCloud settings then do not apply).
   */
  readonly credential?: IntegrationCredential;
  /** Write the connection values to this Key Vault (azure-native; off when absent). */
  readonly keyVault?: IntegrationKeyVault;
  /** The azuread provider's cloud (metadataHost, environment); default: the azuread provider's config. */
  readonly entraCloud?: AppRegistrationArgs["entraCloud"];
  readonly adminConsent?: boolean;
  /** Remove roles given to the application user outside the stack (default true). */
  readonly removeUnmanagedRoles?: pulumi.Input<boolean>;
  /** On destroy, leave the application user disabled instead of deleting it. */
  readonly keepUserOnDestroy?: pulumi.Input<boolean>;
  /** Marks the app registration as this stack's and this integration's (see AppRegistrationArgs.marker). */
  readonly marker?: AppMarker;
  /** The config keys of the secret's lifetime and credential type (see AppRegistrationArgs). */
  readonly secretSettings?: AppRegistrationArgs["secretSettings"];
  /** Entra objects made by hand that the first `pulumi up` imports instead of making new ones. */
  readonly adopt?: AdoptedEntraObjects;
  /**
   * A check of the environment (business unit, roles, the deployer's privileges) that already covers
   * this integration, e.g. a stack's one check of all its integrations. Absent: the integration checks
   * its own before it writes anything (an EnvironmentCheck named `<name>-environment-check`).
   */
  readonly checkedBy?: pulumi.Resource;
}

/** The role of an integration that names none. */
const defaultRole: IntegrationRole = { clone: { name: roleDefaults.name, cloneFrom: roleDefaults.cloneFrom } };

/** The component's type token (stack.ts builds aliases of earlier layouts with it). */
export const dataverseIntegrationType = "dataverse-s2s:index:DataverseIntegration";

export class DataverseIntegration extends pulumi.ComponentResource {
  public readonly environmentUrl: pulumi.Output<string>;
  public readonly tenantId: pulumi.Output<string>;
  /** The app registration's client id, or the managed identity's. */
  public readonly clientId: pulumi.Output<string>;
  /** A Pulumi secret; undefined with a certificate, federated credential or managed identity. */
  public readonly clientSecret: pulumi.Output<string | undefined>;
  public readonly secretExpiresAt: pulumi.Output<string | undefined>;
  /** Versionless Key Vault secret URIs of the exported values, when exported. */
  public readonly keyVaultSecretUris: pulumi.Output<Record<string, string> | undefined>;
  public readonly applicationUserId: pulumi.Output<string>;
  public readonly securityRoleId: pulumi.Output<string>;
  /** Set while the client secret made before adoption is kept (and so not published): what to do. */
  public readonly secretNote: pulumi.Output<string | undefined>;

  constructor(name: string, args: DataverseIntegrationArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.credential?.kind === "managedIdentity") {
      // Checked before anything is declared: there is no app registration to consent for or to adopt.
      const notApplicable = [args.adminConsent ? "adminConsent" : undefined, args.adopt ? "adopt" : undefined].filter(
        (setting): setting is string => setting !== undefined,
      );
      if (notApplicable.length > 0)
        throw new pulumi.ResourceError(
          `DataverseIntegration '${name}': ${notApplicable.join(" and ")} do not apply to a managed identity (there is no app registration).`,
          opts?.parent,
        );
    }
    super(dataverseIntegrationType, name, {}, opts);
    const role = args.role ?? defaultRole;
    // Every write waits for the environment's lookups: a failed one writes nothing.
    const checked = args.checkedBy ? [] : [this.environmentCheck(name, args, role)];

    const marker = args.marker ?? { stack: stackIdentity(), integration: name };
    const credential = args.credential;
    const identity =
      credential?.kind === "managedIdentity"
        ? this.managedIdentity(name, args, credential, marker, checked)
        : this.appRegistration(name, args, credential, marker, checked);

    const roleId = declareSecurityRole(
      `${name}-role`,
      role,
      { environmentUrl: args.environmentUrl, businessUnit: args.businessUnit },
      { parent: this, dependsOn: checked },
    );

    const user = new ApplicationUser(
      `${name}-user`,
      {
        environmentUrl: args.environmentUrl,
        applicationId: identity.clientId,
        businessUnit: args.businessUnit,
        roleIds: [roleId],
        removeUnmanagedRoles: args.removeUnmanagedRoles,
        keepDisabledOnDelete: args.keepUserOnDestroy,
      },
      // Dataverse makes an application user only for an app whose service principal exists.
      { parent: this, dependsOn: [...identity.principal, ...checked] },
    );

    const keyVaultSecretUris = args.keyVault ? this.keyVaultExport(name, args, args.keyVault, identity) : pulumi.output(undefined);

    this.environmentUrl = pulumi.output(args.environmentUrl);
    this.tenantId = identity.tenantId;
    this.clientId = identity.clientId;
    this.clientSecret = identity.clientSecret;
    this.secretExpiresAt = identity.secretExpiresAt;
    this.applicationUserId = user.id;
    this.securityRoleId = pulumi.output(roleId);
    this.keyVaultSecretUris = keyVaultSecretUris;
    this.secretNote = identity.secretNote;
    this.registerOutputs({
      secretNote: this.secretNote,
      environmentUrl: this.environmentUrl,
      tenantId: this.tenantId,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      secretExpiresAt: this.secretExpiresAt,
      applicationUserId: this.applicationUserId,
      securityRoleId: this.securityRoleId,
      keyVaultSecretUris: this.keyVaultSecretUris,
    });
  }

  /** The app registration, its service principal and its credential (components/app-registration.ts). */
  private appRegistration(
    name: string,
    args: DataverseIntegrationArgs,
    credential: AppCredential | undefined,
    marker: AppMarker,
    checked: pulumi.Resource[],
  ): IntegrationIdentity {
    const app = new AppRegistration(
      `${name}-entra`,
      {
        displayName: args.displayName,
        secretLifetimeDays: args.secretLifetimeDays ?? secretDefaults.lifetimeDays,
        secretRotateBeforeDays: args.secretRotateBeforeDays ?? secretDefaults.rotateBeforeDays,
        secretOverlapDays: args.secretOverlapDays,
        credential,
        entraCloud: args.entraCloud,
        adminConsent: args.adminConsent,
        marker,
        secretSettings: args.secretSettings,
        adopt: args.adopt,
      },
      { parent: this, dependsOn: checked },
    );
    return {
      clientId: app.clientId,
      tenantId: app.tenantId,
      principal: [app.servicePrincipal],
      clientSecret: app.clientSecret,
      secretExpiresAt: app.secretExpiresAt,
      secretNote: app.secretNote,
    };
  }

  /** A user-assigned managed identity instead of an app registration: nothing to store or rotate. */
  private managedIdentity(
    name: string,
    args: DataverseIntegrationArgs,
    credential: IntegrationManagedIdentity,
    marker: AppMarker,
    checked: pulumi.Resource[],
  ): IntegrationIdentity {
    const identity = integrationIdentity(name, credential, marker, this, checked);
    const none = pulumi.output<string | undefined>(undefined);
    return {
      clientId: identity.clientId,
      tenantId: identity.tenantId,
      // A made identity's service principal exists once ARM has answered its create.
      principal: identity.resource ? [identity.resource] : [],
      clientSecret: none,
      secretExpiresAt: none,
      secretNote: none,
    };
  }

  /** The integration's own check of its environment, its settings named as this component's arguments. */
  private environmentCheck(name: string, args: DataverseIntegrationArgs, role: IntegrationRole): EnvironmentCheck {
    const setting = (field: string) => `DataverseIntegration '${name}': ${field}`;
    return new EnvironmentCheck(
      `${name}-environment-check`,
      {
        environmentUrl: args.environmentUrl,
        businessUnit: args.businessUnit ?? "",
        rolesToClone: "clone" in role ? [{ setting: setting("role.clone.cloneFrom"), name: role.clone.cloneFrom }] : [],
        existingRoles: "existing" in role ? [{ setting: setting("role.existing"), name: role.existing }] : [],
        specRoles:
          "spec" in role
            ? [{ setting: setting("role.spec"), privileges: role.spec.privileges, miscPrivileges: [...(role.spec.miscPrivileges ?? [])] }]
            : [],
        excludedPrivileges:
          "clone" in role
            ? (role.clone.excludePrivileges ?? []).map((privilege, index) => ({
                setting: setting(`role.clone.excludePrivileges[${index}]`),
                name: privilege,
              }))
            : [],
        ...graphCloud(args.entraCloud),
        ...identityChecks(args.credential, setting),
      },
      { parent: this },
    );
  }

  /** Publishes the connection values to Key Vault; the secret URIs of what it wrote. */
  private keyVaultExport(
    name: string,
    args: DataverseIntegrationArgs,
    keyVault: NonNullable<DataverseIntegrationArgs["keyVault"]>,
    app: IntegrationIdentity,
  ): pulumi.Output<Record<string, string> | undefined> {
    const hasSecret = (args.credential ?? { kind: "secret" }).kind === "secret";
    const exported = new KeyVaultExport(
      `${name}-key-vault`,
      {
        keyVaultId: keyVault.id,
        secretNamePrefix: keyVault.secretNamePrefix,
        // Integrations without a client secret export only the ids.
        clientSecret: hasSecret ? (app.clientSecret as pulumi.Output<string>) : undefined,
        secretExpiresAt: hasSecret ? (app.secretExpiresAt as pulumi.Output<string>) : undefined,
        clientId: app.clientId,
        environmentUrl: args.environmentUrl,
        tenantId: app.tenantId,
      },
      { parent: this },
    );
    return exported.secretUris.apply((uris) => ({ ...uris }) as Record<string, string>);
  }
}

/** What the integration's user and outputs need of its identity, an app registration or a managed identity. */
interface IntegrationIdentity {
  readonly clientId: pulumi.Output<string>;
  readonly tenantId: pulumi.Output<string>;
  /** What must exist before Dataverse can make the application user: the service principal (or the identity that has one). */
  readonly principal: pulumi.Resource[];
  readonly clientSecret: pulumi.Output<string | undefined>;
  readonly secretExpiresAt: pulumi.Output<string | undefined>;
  readonly secretNote: pulumi.Output<string | undefined>;
}

/** The environment check's managed identity lookups for a component's own check, its settings named as the component's arguments. */
function identityChecks(credential: IntegrationCredential | undefined, setting: (field: string) => string) {
  if (credential?.kind !== "managedIdentity") return {};
  if ("clientId" in credential) return { managedIdentities: [{ setting: setting("credential.clientId"), clientId: credential.clientId }] };
  const azure = readAzureConfig();
  return {
    identityResourceGroups: [
      {
        setting: setting("credential.create.resourceGroupName"),
        subscriptionId: azure.subscriptionId ?? "",
        resourceGroup: credential.create.resourceGroupName,
      },
    ],
    armMetadataHost: azure.metadataHost ?? "",
    armEnvironment: azure.environment ?? "",
  };
}
