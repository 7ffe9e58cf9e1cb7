/**
 * Declares the whole stack from validated configuration: one DataverseIntegration per integration,
 * roles the stack makes shared between integrations that name the same role.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CredentialConfig, KeyVaultConfig, StackConfig } from "../config/stack-config";
import type { AppCredential } from "./app-registration";
import { DataverseIntegration, IntegrationKeyVault, IntegrationRole } from "./integration";
import { environmentCheck } from "./environment-check";
import { integrationRole } from "./security-role";

export function declareStack(config: StackConfig) {
  // A role named by several integrations is made once, by the first, and shared.
  const sharedRoles = new Map<string, pulumi.Output<string>>();
  const integrations: Record<string, ReturnType<typeof connectionValues>> = {};
  // Every Entra and Dataverse resource waits for the environment's lookups: a failed one writes nothing.
  const checked = environmentCheck(config);

  for (const integration of config.integrations) {
    // A role the stack makes (cloned or declared) is keyed by its name; the config reader made sure namesakes agree.
    const sharedKey = integration.role.kind !== "existing" ? integration.role.name.toLowerCase() : undefined;
    const role: IntegrationRole =
      sharedKey && sharedRoles.has(sharedKey) ? { roleId: sharedRoles.get(sharedKey)! } : integrationRole(integration.role);

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
        removeUnmanagedRoles: integration.removeUnmanagedRoles,
        keepUserOnDestroy: integration.keepUserOnDestroy,
      },
      { dependsOn: [checked] },
    );
    if (sharedKey && !sharedRoles.has(sharedKey)) sharedRoles.set(sharedKey, component.securityRoleId);
    integrations[integration.name] = connectionValues(component);
  }
  return integrations;
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
