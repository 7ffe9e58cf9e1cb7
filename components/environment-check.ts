/**
 * The one EnvironmentCheck of a stack, from its configuration: which settings name the environment,
 * the business unit and the roles, so that a problem found is reported against the setting to fix.
 */
import { integrationSetting, StackConfig } from "../config/stack-config";
import { EnvironmentCheck } from "../dynamic-providers/environment-check";
import type { ResolvedIdentity } from "../lib/managed-identities";

/** `identities`: the managed identities named by resource id, as the program read them (by integration name). */
export function environmentCheck(config: StackConfig, identities: ReadonlyMap<string, ResolvedIdentity> = new Map()): EnvironmentCheck {
  const setting = (index: number, field: string) => integrationSetting(index, `role.${field}`);
  const rolesToClone = config.integrations.flatMap((integration, index) =>
    integration.role.kind === "clone" ? [{ setting: setting(index, "cloneFrom"), name: integration.role.cloneFrom }] : [],
  );
  const existingRoles = config.integrations.flatMap((integration, index) =>
    integration.role.kind === "existing" ? [{ setting: setting(index, "existing"), name: integration.role.name }] : [],
  );
  // A role named in adopt.roleName must be there to be taken over, or taken over already (a defaulted one is made when it is not).
  const adoptedRoles = config.integrations.flatMap((integration, index) =>
    integration.adopt?.roleName
      ? [
          {
            setting: `dataverse-s2s:integrations[${index}].adopt.roleName`,
            name: integration.adopt.roleName,
            roleName: integration.role.name,
          },
        ]
      : [],
  );
  const specRoles = config.integrations.flatMap((integration, index) =>
    integration.role.kind === "spec"
      ? [
          {
            setting: `dataverse-s2s:integrations[${index}].role`,
            privileges: integration.role.privileges,
            miscPrivileges: integration.role.miscPrivileges,
          },
        ]
      : [],
  );
  const excludedPrivileges = config.integrations.flatMap((integration, index) =>
    integration.role.kind === "clone"
      ? integration.role.excludePrivileges.map((name, position) => ({ setting: setting(index, `excludePrivileges[${position}]`), name }))
      : [],
  );
  // Existing managed identities: the service principal of each client id (given, or read from the resource id).
  const managedIdentities = config.integrations.flatMap((integration, index) => {
    const credential = integration.credential;
    if (credential.kind !== "managedIdentity" || "create" in credential) return [];
    if ("clientId" in credential) return [{ setting: integrationSetting(index, "credential.clientId"), clientId: credential.clientId }];
    const resolved = identities.get(integration.name);
    return resolved ? [{ setting: integrationSetting(index, "credential.resourceId"), clientId: resolved.clientId }] : [];
  });
  // Identities the stack makes: their resource groups, in the azure-native provider's subscription.
  const identityResourceGroups = config.integrations.flatMap((integration, index) => {
    const credential = integration.credential;
    if (credential.kind !== "managedIdentity" || !("create" in credential)) return [];
    return [
      {
        setting: integrationSetting(index, "credential.create.resourceGroup"),
        subscriptionId: config.azure.subscriptionId ?? "",
        resourceGroup: credential.create.resourceGroup,
      },
    ];
  });
  return new EnvironmentCheck("environment-check", {
    environmentUrl: config.environmentUrl,
    businessUnit: config.businessUnit ?? "",
    rolesToClone: distinct(rolesToClone),
    existingRoles: distinct(existingRoles),
    ...(adoptedRoles.length > 0 ? { adoptedRoles: distinct(adoptedRoles) } : {}),
    // Namesakes share one role (the config reader made sure they agree): each spec is checked once.
    specRoles: specRoles.filter(
      (spec, index) =>
        specRoles.findIndex((other) => JSON.stringify({ ...other, setting: "" }) === JSON.stringify({ ...spec, setting: "" })) === index,
    ),
    excludedPrivileges: distinct(excludedPrivileges),
    metadataHost: config.entraCloud.metadataHost ?? "",
    cloudEnvironment: config.entraCloud.environment ?? "",
    secretCredentials: config.integrations.flatMap((integration, index) =>
      integration.credential.kind === "secret"
        ? [
            {
              integration: integration.name,
              ...secretSettings(index),
              lifetimeDays: integration.secret.lifetimeDays,
            },
          ]
        : [],
    ),
    // Only when used: the state of a stack without managed identities stays as it was.
    ...(managedIdentities.length > 0 ? { managedIdentities } : {}),
    ...(identityResourceGroups.length > 0
      ? { identityResourceGroups, armMetadataHost: config.azure.metadataHost ?? "", armEnvironment: config.azure.environment ?? "" }
      : {}),
  });
}

/** The keys a credential policy's guidance names for an integration's secret. */
export const secretSettings = (index: number) => ({
  lifetimeSetting: integrationSetting(index, "secret.lifetimeDays"),
  credentialSetting: integrationSetting(index, "credential.type"),
});

/** Each role once (the first setting that names it), compared as Dataverse compares names. */
function distinct<T extends { name: string }>(entries: T[]): T[] {
  return entries.filter((entry, index) => entries.findIndex((other) => other.name.toLowerCase() === entry.name.toLowerCase()) === index);
}
