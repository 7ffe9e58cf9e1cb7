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
import {
  adoptedRoleName,
  integrationSetting,
  IntegrationConfig,
  KeyVaultConfig,
  readStackConfig,
  StackConfig,
} from "../config/stack-config";
import { AdoptedApp, AdoptionError, keptSecret, lookUpAdoptedApp } from "../lib/adoption";
import { graphClient } from "../lib/graph-client";
import { currentTime } from "../lib/clock";
import { isMissingCredential } from "../lib/environment-checks";
import type { AdoptedEntraObjects } from "./app-registration";
import { DataverseIntegration, dataverseIntegrationType, IntegrationCredential, IntegrationKeyVault, IntegrationRole } from "./integration";
import { armClient, lookUpIdentityByResourceId, ManagedIdentityLookupError, ResolvedIdentity } from "../lib/managed-identities";
import { stackIdentity } from "../lib/stack-identity";
import { environmentCheck, secretSettings } from "./environment-check";
import { declareSecurityRole, integrationRole } from "./security-role";

/**
 * The stack program of this repository (`index.ts`): the integrations of the stack's configuration
 * (`dataverse-s2s:*`), read and validated before anything is declared, so that a mistake stops the run
 * before any write. Async: integrations that adopt objects made by hand need them looked up first.
 */
export async function stackFromConfig() {
  const config = readStackConfig();
  const declared = declareStack(config, await lookUpAdoptions(config), await lookUpManagedIdentities(config));
  const declaredIntegrations = Object.values(declared);
  // With one integration its values are top-level outputs too; with several only `integrations` is,
  // so that no top-level output silently means "the first one".
  const only = declaredIntegrations.length === 1 ? declaredIntegrations[0] : undefined;
  return {
    integrations: declared,
    environmentUrl: only?.environmentUrl,
    tenantId: only?.tenantId,
    clientId: only?.clientId,
    clientSecret: only?.clientSecret,
    secretExpiresAt: only?.secretExpiresAt,
    applicationUserId: only?.applicationUserId,
    securityRoleId: only?.securityRoleId,
    keyVaultSecretUris: only?.keyVaultSecretUris,
    // Present only while a client secret made before adoption is kept (README, "Adopting a manual setup").
    secretNote: only?.secretNote,
  };
}

/** The Entra objects each adopting integration takes over, by integration name (see lookUpAdoptions). */
export type Adoptions = ReadonlyMap<string, AdoptedApp>;

/**
 * Finds the app registration (and its service principal and secrets) of every integration with
 * `adopt`, before anything is declared: Pulumi's `import` option needs their ids as plain strings.
 * Without any credential (a pull-request preview without secrets) a preview warns and declares no
 * import (the engine then plans creates); an up fails, naming what is missing.
 */
export async function lookUpAdoptions(config: StackConfig): Promise<Adoptions> {
  const adopting = config.integrations
    .map((integration, index) => ({ integration, index }))
    .filter(({ integration }) => integration.adopt !== undefined);
  const found = new Map<string, AdoptedApp>();
  if (adopting.length === 0) return found;
  const graph = await graphClient({ metadataHost: config.entraCloud.metadataHost, cloudEnvironment: config.entraCloud.environment });
  for (const { integration, index } of adopting) {
    const setting = `dataverse-s2s:integrations[${index}].adopt.clientId`;
    try {
      found.set(integration.name, await lookUpAdoptedApp(graph, integration.adopt!.clientId, setting));
    } catch (error) {
      if (isMissingCredential(error) && pulumi.runtime.isDryRun()) {
        void pulumi.log.warn(
          `${setting}: no credential to look up the app registration to adopt; this preview shows it as made anew. ` +
            `With AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID (or 'az login') the preview shows the import.`,
        );
        continue;
      }
      if (error instanceof AdoptionError) throw new pulumi.RunError(error.message);
      throw new pulumi.RunError(`${setting}: could not look up the app registration to adopt: ${(error as Error).message}`);
    }
  }
  return found;
}

/** The existing managed identities named by resource id, as read from ARM, by integration name (see lookUpManagedIdentities). */
export type ManagedIdentities = ReadonlyMap<string, ResolvedIdentity>;

/**
 * Reads every existing managed identity named by its resource id (`credential.resourceId`) from ARM,
 * before anything is declared: the application user is declared with the identity's client id, a
 * plain value a preview shows (and a change of identity shows as the user's replacement). Every
 * identity that is not there, or that the deployer may not read, is reported at once, naming its
 * setting; nothing is written. Identities named by client id need no lookup here: the environment
 * check finds their service principals. Without any credential, a preview warns and plans with the
 * client id unknown; an up fails.
 */
export async function lookUpManagedIdentities(config: StackConfig): Promise<ManagedIdentities> {
  const named = config.integrations
    .map((integration, index) => ({ integration, index, credential: integration.credential }))
    .filter(
      (entry): entry is typeof entry & { credential: { kind: "managedIdentity"; resourceId: string } } =>
        entry.credential.kind === "managedIdentity" && "resourceId" in entry.credential,
    );
  const found = new Map<string, ResolvedIdentity>();
  if (named.length === 0) return found;
  const problems: string[] = [];
  const arm = await armClient(config.azure);
  for (const { integration, index, credential } of named) {
    const setting = integrationSetting(index, "credential.resourceId");
    try {
      found.set(integration.name, await lookUpIdentityByResourceId(arm, credential.resourceId, setting));
    } catch (error) {
      if (isMissingCredential(error) && pulumi.runtime.isDryRun()) {
        void pulumi.log.warn(
          `${setting}: no credential to read the managed identity; this preview shows its client id as unknown. ` +
            `With AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID (or 'az login') the preview reads it.`,
        );
        continue;
      }
      problems.push(
        error instanceof ManagedIdentityLookupError
          ? error.message
          : `${setting}: could not read the managed identity: ${(error as Error).message}`,
      );
    }
  }
  if (problems.length > 0)
    throw new pulumi.RunError(
      `Nothing was written; ${problems.length === 1 ? "a managed identity" : "managed identities"} could not be read:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
  return found;
}

export function declareStack(config: StackConfig, adoptions: Adoptions = new Map(), identities: ManagedIdentities = new Map()) {
  const integrations: Record<string, ReturnType<typeof connectionValues>> = {};
  // Every Entra, Azure and Dataverse resource waits for the environment's lookups: a failed one writes nothing.
  const checked = environmentCheck(config, identities);
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
        credential: integrationCredential(integration, identities.get(integration.name)),
        keyVault: integration.keyVault && integrationKeyVault(integration.keyVault),
        entraCloud: config.entraCloud,
        adminConsent: integration.adminConsent,
        secretSettings: secretSettings(index),
        removeUnmanagedRoles: integration.removeUnmanagedRoles,
        keepUserOnDestroy: integration.keepUserOnDestroy,
        marker: { stack: stackIdentity(), integration: integration.name, formerNames: integration.formerNames },
        adopt: adoptedEntraObjects(integration, adoptions.get(integration.name)),
        checkedBy: checked,
      },
      // A rename: the integration's resources are found under its former names.
      { dependsOn: [checked], aliases: integration.formerNames.map((former) => ({ name: former })) },
    );
    integrations[integration.name] = connectionValues(component);
  }
  return integrations;
}

/** What the integration's app registration imports, and the secret it keeps for now (see lib/adoption.ts). */
function adoptedEntraObjects(integration: IntegrationConfig, app: AdoptedApp | undefined): AdoptedEntraObjects | undefined {
  if (!app) return undefined;
  const secret =
    integration.credential.kind === "secret" ? keptSecret(app, integration.secret.rotateBeforeDays, currentTime().getTime()) : undefined;
  return {
    applicationObjectId: app.applicationObjectId,
    servicePrincipalObjectId: app.servicePrincipalObjectId,
    ...(secret ? { keptSecret: secret, rotateBeforeDays: integration.secret.rotateBeforeDays } : {}),
  };
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
    // A role made by hand that an adopting integration names (adopt.roleName, else role.name) is taken over on create.
    const adoptName = integrations.map(adoptedRoleName).find((name) => name !== undefined);
    roles.set(
      key,
      declareSecurityRole(
        resourceName,
        integrationRole(first.role),
        { environmentUrl: config.environmentUrl, businessUnit: config.businessUnit, stack: stackIdentity(), adoptName },
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
    secretNote: component.secretNote,
  };
}

/**
 * The configured credential as the integration takes it (already validated by the config reader): a
 * managed identity named by resource id has been read by lookUpManagedIdentities (absent: a preview
 * without credential, which plans with its client id unknown).
 */
function integrationCredential(integration: IntegrationConfig, resolved: ResolvedIdentity | undefined): IntegrationCredential {
  const credential = integration.credential;
  switch (credential.kind) {
    case "managedIdentity":
      if ("create" in credential)
        return {
          kind: "managedIdentity",
          create: {
            resourceGroupName: credential.create.resourceGroup,
            location: credential.create.location,
            ...(credential.create.name === undefined ? {} : { name: credential.create.name }),
          },
        };
      if ("clientId" in credential) return { kind: "managedIdentity", clientId: credential.clientId };
      return resolved
        ? { kind: "managedIdentity", clientId: resolved.clientId, tenantId: resolved.tenantId }
        : { kind: "managedIdentity", clientId: pulumi.unknown as unknown as string };
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
