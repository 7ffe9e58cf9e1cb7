/**
 * Implementation of the EnvironmentCheck provider (see index.ts): the lookups run in
 * `check`, which Pulumi calls in every preview and every up before anything is created.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  ConfiguredName,
  describeEnvironmentProblems,
  type IdentityResourceGroupCheck,
  type ManagedIdentityCheck,
  lookUpEnvironment,
  type SecretCredentialSettings,
} from "../../lib/environment-checks";
import type { PrivilegeSpec } from "../../lib/privilege-spec";
import { computeDiff, isUnknown, stateOf } from "../shared/provider-support";

export interface EnvironmentCheckInputs {
  environmentUrl: string;
  businessUnit: string;
  rolesToClone: ConfiguredName[];
  existingRoles: ConfiguredName[];
  specRoles: (PrivilegeSpec & { setting: string })[];
  excludedPrivileges: ConfiguredName[];
  /** Roles made by hand that a role of the stack takes over (adopt.roleName); absent in states of earlier versions. */
  adoptedRoles?: (ConfiguredName & { roleName: string })[];
  metadataHost: string;
  cloudEnvironment: string;
  /** Set by the program in a preview without a Dataverse credential: the lookups are skipped. */
  previewWithoutCredential: string;
  /**
   * Integrations with a client secret (issue 17: checked against the tenant's app management policy).
   * State keeps only each one's name and lifetime (what the next run compares); the program sends the
   * config keys too, for the guidance.
   */
  secretCredentials: (Pick<SecretCredentialSettings, "integration" | "lifetimeDays"> & Partial<SecretCredentialSettings>)[];
  /** Existing managed identities (by client id) and resource groups identities are made in; absent in states of earlier versions. */
  managedIdentities?: ManagedIdentityCheck[];
  identityResourceGroups?: IdentityResourceGroupCheck[];
  /** The azure-native provider's cloud, for the resource groups; absent in states of earlier versions. */
  armMetadataHost?: string;
  armEnvironment?: string;
}

const secretCredentials = (value: unknown): SecretCredentialSettings[] =>
  Array.isArray(value)
    ? value.map((entry: Partial<Record<keyof SecretCredentialSettings, unknown>>) => ({
        integration: String(entry?.integration ?? ""),
        lifetimeSetting: String(entry?.lifetimeSetting ?? ""),
        credentialSetting: String(entry?.credentialSetting ?? ""),
        lifetimeDays: Number(entry?.lifetimeDays),
      }))
    : [];

const names = (value: unknown): ConfiguredName[] =>
  Array.isArray(value)
    ? value.map((entry: { setting?: unknown; name?: unknown }) => ({
        setting: String(entry?.setting ?? ""),
        name: String(entry?.name ?? ""),
      }))
    : [];

/** The managed identity checks, only when there are any (a stack without them keeps the state it had). */
function managedIdentityInputs(news: Partial<EnvironmentCheckInputs>): Partial<EnvironmentCheckInputs> {
  const identities = Array.isArray(news.managedIdentities)
    ? news.managedIdentities
        .map((entry) => ({ setting: String(entry?.setting ?? ""), clientId: String(entry?.clientId ?? "").toLowerCase() }))
        // A client id a preview without credential could not read: nothing to look up.
        .filter((entry) => !isUnknown(entry.clientId))
    : [];
  const groups = Array.isArray(news.identityResourceGroups)
    ? news.identityResourceGroups.map((entry) => ({
        setting: String(entry?.setting ?? ""),
        subscriptionId: String(entry?.subscriptionId ?? ""),
        resourceGroup: String(entry?.resourceGroup ?? ""),
      }))
    : [];
  return {
    ...(identities.length > 0 ? { managedIdentities: identities } : {}),
    ...(groups.length > 0 ? { identityResourceGroups: groups } : {}),
    ...(news.armMetadataHost ? { armMetadataHost: String(news.armMetadataHost) } : {}),
    ...(news.armEnvironment ? { armEnvironment: String(news.armEnvironment) } : {}),
  };
}

const recorded = (inputs: EnvironmentCheckInputs) => ({ ...inputs, previewWithoutCredential: "" });

export const provider: pulumi.dynamic.ResourceProvider<EnvironmentCheckInputs, EnvironmentCheckInputs> = {
  async check(olds: Partial<EnvironmentCheckInputs>, news: Partial<EnvironmentCheckInputs>) {
    const inputs: EnvironmentCheckInputs = {
      environmentUrl: String(news.environmentUrl ?? ""),
      businessUnit: String(news.businessUnit ?? "").trim(),
      rolesToClone: names(news.rolesToClone),
      existingRoles: names(news.existingRoles),
      specRoles: Array.isArray(news.specRoles) ? news.specRoles : [],
      excludedPrivileges: names(news.excludedPrivileges),
      ...(Array.isArray(news.adoptedRoles)
        ? {
            adoptedRoles: names(news.adoptedRoles).map((role, index) => ({
              ...role,
              roleName: String((news.adoptedRoles![index] as { roleName?: unknown })?.roleName ?? ""),
            })),
          }
        : {}),
      metadataHost: String(news.metadataHost ?? ""),
      cloudEnvironment: String(news.cloudEnvironment ?? ""),
      previewWithoutCredential: String(news.previewWithoutCredential ?? ""),
      secretCredentials: secretCredentials(news.secretCredentials),
      ...managedIdentityInputs(news),
    };
    const unknown = [
      inputs.environmentUrl,
      inputs.businessUnit,
      inputs.metadataHost,
      inputs.cloudEnvironment,
      inputs.previewWithoutCredential,
    ].some(isUnknown);
    if (unknown || inputs.previewWithoutCredential !== "") return { inputs };
    // A secret whose lifetime passed an earlier run's check (the previous inputs) is not failed by a
    // policy tightened since: its schedule makes the next secret within the policy (SecretSchedule).
    const previous = secretCredentials(olds?.secretCredentials);
    const report = await lookUpEnvironment({
      ...inputs,
      secretCredentials: secretCredentials(news.secretCredentials).map((secret) => ({
        ...secret,
        accepted: previous.some((earlier) => earlier.integration === secret.integration && earlier.lifetimeDays === secret.lifetimeDays),
      })),
    });
    if (report.problems.length > 0) throw new Error(describeEnvironmentProblems(inputs.environmentUrl, report.problems));
    // Twenty integrations' config keys would double the state of this one resource.
    const lifetimes = inputs.secretCredentials.map(({ integration, lifetimeDays }) => ({ integration, lifetimeDays }));
    return { inputs: { ...inputs, secretCredentials: lifetimes } };
  },

  async diff(_id: string, olds: EnvironmentCheckInputs, news: EnvironmentCheckInputs) {
    // No field is compared: nothing is made anywhere, the check itself ran in `check`.
    return computeDiff(olds, news, {});
  },

  async create(inputs: EnvironmentCheckInputs) {
    return { id: "environment-check", outs: recorded(inputs) };
  },

  async read(id: string, props?: EnvironmentCheckInputs) {
    return { id, props: stateOf(props, id) };
  },

  async delete() {
    // Nothing was made.
  },
};
