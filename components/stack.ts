/**
 * Declares the whole stack from validated configuration: one role per distinct role name that the
 * stack makes (cloned or declared by its privileges; owned by the stack, whatever integrations use it)
 * and one DataverseIntegration per integration.
 *
 * Lifecycle rules this layout gives (README, "Renames, removals and crashes"):
 * - A role belongs to the stack, keyed by its name: removing or renaming an integration never deletes a
 *   role another integration still uses; a role is deleted only when no integration names it any more.
 * - Stacks made before roles were stack-level held each cloned role as a child of the first
 *   integration naming it (`<integration>-role`): an alias carries that state over, so an upgrade
 *   neither replaces nor re-creates the role.
 * - `formerNames` become aliases of the integration component (its children follow, their names having
 *   the component's as prefix), so a rename keeps the app registration, client id, secret and user.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CredentialConfig, IntegrationConfig, KeyVaultConfig, StackConfig } from "../config/stack-config";
import type { AppCredential } from "./app-registration";
import { DataverseIntegration, dataverseIntegrationType, IntegrationKeyVault, IntegrationRole } from "./integration";
import { environmentCheck, secretSettings } from "./environment-check";
import { declareSecurityRole, integrationRole } from "./security-role";

export function declareStack(config: StackConfig) {
  const integrations: Record<string, ReturnType<typeof connectionValues>> = {};
  // Every Entra and Dataverse resource waits for the environment's lookups: a failed one writes nothing.
  const checked = environmentCheck(config);
  const stackRoles = declareStackRoles(config, checked);

  for (const [index, integration] of config.integrations.entries()) {
    const role: IntegrationRole =
      integration.role.kind === "existing" ? { existing: integration.role.name } : { roleId: stackRoles.get(roleKey(integration))! };

    const component = new DataverseIntegration(
      integration.name,
      {
        environmentUrl: config.environmentUrl,
        displayName: integration.displayName,
        role,
        businessUnit: config.businessUnit,
        secretLifetimeDays: integration.secret.lifetimeDays,
        secretRotateBeforeDays: integration.secret.rotateBeforeDays,
        secretOverlapDays: integration.secret.overlapDays,
        credential: appCredential(integration.credential),
        keyVault: integration.keyVault && integrationKeyVault(integration.keyVault),
        entraCloud: config.entraCloud,
        adminConsent: integration.adminConsent,
        secretSettings: secretSettings(index),
        removeUnmanagedRoles: integration.removeUnmanagedRoles,
        keepUserOnDestroy: integration.keepUserOnDestroy,
        marker: { stack: stackIdentity(), integration: integration.name, formerNames: integration.formerNames },
      },
      // A rename: the integration's resources are found under its former names.
      { dependsOn: [checked], aliases: integration.formerNames.map((former) => ({ name: former })) },
    );
    integrations[integration.name] = connectionValues(component);
  }
  return integrations;
}

/** "<organization>/<project>/<stack>": names this stack in the markers of the objects it makes. */
export function stackIdentity(): string {
  return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/** Dataverse compares role names without case: so does the stack's key of a role. */
function roleKey(integration: IntegrationConfig): string {
  return integration.role.name.toLowerCase();
}

/** The resource name of the stack's role with this key: "role-api-user" for "API User". */
export function roleResourceName(key: string): string {
  return `role-${key.replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "unnamed"}`;
}

/**
 * One role resource per distinct role name the stack makes (a copy or a declared role), keyed by the
 * lower-cased name; the config reader made sure integrations naming the same role declare it alike.
 * Returns each role's id by key.
 */
function declareStackRoles(config: StackConfig, checked: pulumi.Resource): Map<string, pulumi.Input<string>> {
  const users = new Map<string, IntegrationConfig[]>();
  for (const integration of config.integrations) {
    if (integration.role.kind === "existing") continue;
    users.set(roleKey(integration), [...(users.get(roleKey(integration)) ?? []), integration]);
  }
  const byResourceName = new Map<string, string>();
  const roles = new Map<string, pulumi.Input<string>>();
  for (const [key, integrations] of users) {
    const resourceName = roleResourceName(key);
    const clash = byResourceName.get(resourceName);
    if (clash !== undefined) {
      throw new pulumi.RunError(
        `The role names '${clash}' and '${key}' differ only in punctuation, so they would name the same stack resource ` +
          `(${resourceName}); rename one of them (role.name in dataverse-s2s:integrations).`,
      );
    }
    byResourceName.set(resourceName, key);
    const first = integrations[0];
    roles.set(
      key,
      declareSecurityRole(
        resourceName,
        integrationRole(first.role),
        { environmentUrl: config.environmentUrl, businessUnit: config.businessUnit, stack: stackIdentity() },
        {
          dependsOn: [checked],
          // Earlier versions made the role as a child of the first integration naming it.
          aliases: [first.name, ...first.formerNames].map((name) => ({
            name: `${name}-role`,
            parent: pulumi.createUrn(name, dataverseIntegrationType),
          })),
        },
      ),
    );
  }
  return roles;
}

/** The fields a connection dialog (Stack Moxie, KingswaySoft) asks for, plus the ids made. */
function connectionValues(component: DataverseIntegration) {
  return {
    environmentUrl: component.environmentUrl,
    tenantId: component.tenantId,
    clientId: component.clientId,
    clientSecret: component.clientSecret,
    secretExpiresAt: component.secretExpiresAt,
    applicationUserId: component.applicationUserId,
    securityRoleId: component.securityRoleId,
    keyVaultSecretUris: component.keyVaultSecretUris,
  };
}

/** The configured credential as the app registration takes it (already validated by the config reader). */
function appCredential(credential: CredentialConfig): AppCredential {
  switch (credential.kind) {
    case "secret":
      return { kind: "secret" };
    case "certificate":
      return { kind: "certificate", certificatePem: credential.certificatePem, endDate: credential.endDate };
    case "federated":
      return {
        kind: "federated",
        issuer: credential.issuer,
        subject: credential.subject,
        audiences: credential.audiences,
        displayName: credential.displayName,
      };
  }
}

function integrationKeyVault(keyVault: KeyVaultConfig): IntegrationKeyVault {
  return { id: keyVault.id, secretNamePrefix: keyVault.secretNamePrefix };
}
