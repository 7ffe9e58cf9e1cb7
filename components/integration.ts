/**
 * Everything one integration needs in one environment: the app registration (Entra ID), a security
 * role (cloned, existing, or shared with another integration), and the application user that ties
 * the app to the role in Dataverse. Its outputs are the fields a connection dialog asks for.
 */
import * as pulumi from "@pulumi/pulumi";
import { AdoptedEntraObjects, AppCredential, AppMarker, AppRegistration, AppRegistrationArgs } from "./app-registration";
import { KeyVaultExport } from "./key-vault-export";
import { ApplicationUser } from "../dynamic-providers/application-user";
import { declareSecurityRole, IntegrationRole } from "./security-role";

export type { IntegrationRole };

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
  readonly role: IntegrationRole;
  /** Business unit name for the role and the user; absent for the root business unit. */
  readonly businessUnit?: pulumi.Input<string>;
  readonly secretLifetimeDays: pulumi.Input<number>;
  readonly secretRotateBeforeDays: pulumi.Input<number>;
  /** Days the previous secret stays valid after a rotation. */
  readonly secretOverlapDays?: pulumi.Input<number>;
  /** A client secret when absent; or a certificate or a federated identity credential. */
  readonly credential?: AppCredential;
  /** Write the connection values to this Key Vault (azure-native; off when absent). */
  readonly keyVault?: IntegrationKeyVault;
  /** The azuread provider's cloud (metadataHost, environment). */
  readonly entraCloud?: { readonly metadataHost?: string; readonly environment?: string };
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
}

/** The component's type token (stack.ts builds aliases of earlier layouts with it). */
export const dataverseIntegrationType = "dataverse-s2s:index:DataverseIntegration";

export class DataverseIntegration extends pulumi.ComponentResource {
  public readonly environmentUrl: pulumi.Output<string>;
  public readonly tenantId: pulumi.Output<string>;
  public readonly clientId: pulumi.Output<string>;
  /** A Pulumi secret; undefined with a certificate or federated credential. */
  public readonly clientSecret: pulumi.Output<string | undefined>;
  public readonly secretExpiresAt: pulumi.Output<string | undefined>;
  /** Versionless Key Vault secret URIs of the exported values, when exported. */
  public readonly keyVaultSecretUris: pulumi.Output<Record<string, string> | undefined>;
  public readonly applicationUserId: pulumi.Output<string>;
  public readonly securityRoleId: pulumi.Output<string>;
  /** Set while the client secret made before adoption is kept (and so not published): what to do. */
  public readonly secretNote: pulumi.Output<string | undefined>;

  constructor(name: string, args: DataverseIntegrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(dataverseIntegrationType, name, {}, opts);

    const app = new AppRegistration(
      `${name}-entra`,
      {
        displayName: args.displayName,
        secretLifetimeDays: args.secretLifetimeDays,
        secretRotateBeforeDays: args.secretRotateBeforeDays,
        secretOverlapDays: args.secretOverlapDays,
        credential: args.credential,
        entraCloud: args.entraCloud,
        adminConsent: args.adminConsent,
        marker: args.marker,
        secretSettings: args.secretSettings,
        adopt: args.adopt,
      },
      { parent: this },
    );

    const roleId = declareSecurityRole(
      `${name}-role`,
      args.role,
      { environmentUrl: args.environmentUrl, businessUnit: args.businessUnit },
      { parent: this },
    );

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

    const keyVaultSecretUris = args.keyVault ? this.keyVaultExport(name, args, args.keyVault, app) : pulumi.output(undefined);

    this.environmentUrl = pulumi.output(args.environmentUrl);
    this.tenantId = app.tenantId;
    this.clientId = app.clientId;
    this.clientSecret = app.clientSecret;
    this.secretExpiresAt = app.secretExpiresAt;
    this.applicationUserId = user.id;
    this.securityRoleId = pulumi.output(roleId);
    this.keyVaultSecretUris = keyVaultSecretUris;
    this.secretNote = app.secretNote;
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

  /** Publishes the connection values to Key Vault; the secret URIs of what it wrote. */
  private keyVaultExport(
    name: string,
    args: DataverseIntegrationArgs,
    keyVault: NonNullable<DataverseIntegrationArgs["keyVault"]>,
    app: AppRegistration,
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
