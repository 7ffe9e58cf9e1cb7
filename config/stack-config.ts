/**
 * The one place that reads stack configuration. Everything is validated before any resource is
 * declared, and every problem is reported at once, each saying which key to change and how.
 *
 * Keys (namespace `dataverse-s2s`):
 *   environmentUrl   https://<org>.crm.dynamics.com (no path)
 *   businessUnit     optional: name of the business unit for roles and users (default: the root one)
 *   integrations     list of { name, displayName, role?, secret?, credential?, keyVault?, adminConsent?, adopt?, ... }
 * The Entra side is configured with the azuread provider's own keys (azuread:tenantId, ...); the
 * cloud it selects (azuread:metadataHost, azuread:environment) is read here too, for the Graph calls
 * that retire rotated secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  audiencesProblem,
  aksWorkloadIdentityPreset,
  certificateEndDateProblem,
  certificatePemProblem,
  entraTokenExchangeAudience,
  githubActionsFederation,
  issuerProblem,
  readCertificatePem,
  subjectProblem,
} from "../lib/credential-rules";
import { applicationUserDefaults, integrationDefaults, roleDefaults, secretDefaults } from "../lib/defaults";
import { defaultOverlapDays, defaultRotateBeforeDays, isOverlapDays, isRotateBeforeDays, isSecretLifetime } from "../lib/secret-lifecycle";
import { keyVaultIdProblem, secretNamePrefixProblem } from "../lib/key-vault-names";
import {
  locationProblem,
  managedIdentityIdProblem,
  managedIdentityNameProblem,
  resourceGroupNameProblem,
} from "../lib/managed-identity-rules";
import { parsePrivilegeSpec, PrivilegeSpec, privilegeNameProblem } from "../lib/privilege-spec";
import { environmentUrlProblem, isGuid, isRecord } from "../lib/validators";
import { applyIntegrationOverrides } from "./overrides";

/** The stack config key of an integration's setting, as errors and guidance name it. */
export const integrationSetting = (index: number, path: string) => `dataverse-s2s:integrations[${index}].${path}`;

/** How an integration gets its security role. */
export type RoleConfig =
  /**
   * Clone `cloneFrom` (a role name or template id) into a role named `name`, kept in sync by this
   * stack, without the privileges named in `excludePrivileges`.
   */
  | {
      readonly kind: "clone";
      readonly name: string;
      readonly cloneFrom: string;
      readonly followSource: boolean;
      readonly excludePrivileges: readonly string[];
    }
  /** A role named `name` holding exactly the privileges declared (table -> right -> depth, and by name). */
  | {
      readonly kind: "spec";
      readonly name: string;
      readonly privileges: PrivilegeSpec["privileges"];
      readonly miscPrivileges: readonly string[];
    }
  /** Use a role that already exists in the environment, by name. */
  | { readonly kind: "existing"; readonly name: string };

interface SecretConfig {
  /** Days a client secret is valid (Entra allows at most secretDefaults.maxLifetimeDays). */
  readonly lifetimeDays: number;
  /** Days before expiry from which a run rotates the secret. */
  readonly rotateBeforeDays: number;
  /** Days the previous secret stays valid after a rotation, so consumers can move (at most rotateBeforeDays). */
  readonly overlapDays: number;
}

/** How the integration authenticates: a client secret (default) or something stronger. */
export type CredentialConfig =
  | { readonly kind: "secret" }
  /** An uploaded public certificate; the consumer signs client assertions with its private key. */
  | { readonly kind: "certificate"; readonly certificatePem: string; readonly endDate?: string }
  /** A federated identity credential: tokens of another issuer (GitHub Actions, AKS) are trusted. */
  | {
      readonly kind: "federated";
      readonly issuer: string;
      readonly subject: string;
      readonly audiences: string[];
      readonly displayName?: string;
    }
  /** A user-assigned managed identity: no app registration and no credential at all (README, "Managed identities"). */
  | ManagedIdentityConfig;

/** Which managed identity: an existing one (by client id or resource id) or one the stack makes. */
export type ManagedIdentityConfig =
  /** An existing identity, by its client id (the application id of its service principal). */
  | { readonly kind: "managedIdentity"; readonly clientId: string }
  /** An existing identity, by its ARM resource id: the program reads its client id before declaring anything. */
  | { readonly kind: "managedIdentity"; readonly resourceId: string }
  /** An identity the stack makes (azure-native), in the azure-native provider's subscription. */
  | { readonly kind: "managedIdentity"; readonly create: ManagedIdentityCreateConfig };

export interface ManagedIdentityCreateConfig {
  /** An existing resource group of the azure-native provider's subscription. */
  readonly resourceGroup: string;
  readonly location: string;
  /** The identity's name; absent: `<integration>-identity` and 8 random hex characters (Pulumi's auto-naming). */
  readonly name?: string;
}

export interface KeyVaultConfig {
  /** ARM id of the vault the connection values are written to. */
  readonly id: string;
  readonly secretNamePrefix: string;
}

/**
 * Objects made by hand before the stack (app registration, service principal, application user, role),
 * brought under management by the first `pulumi up` instead of new ones (README, "Adopting a manual setup").
 */
interface AdoptConfig {
  /** The existing app registration's application (client) id: it stays the integration's client id. */
  readonly clientId: string;
  /** The existing security role to take over; absent: the role named role.name, when there is one. */
  readonly roleName?: string;
}

export interface IntegrationConfig {
  /** Short name, used in resource names: lower case letters, digits and dashes. */
  readonly name: string;
  /**
   * Names this integration had before (a rename): its resources are found under them (Pulumi aliases),
   * so the app registration, client id, secret and user are kept instead of replaced.
   */
  readonly formerNames: readonly string[];
  /** Display name of the app registration (and so of the application user). */
  readonly displayName: string;
  readonly role: RoleConfig;
  readonly secret: SecretConfig;
  readonly credential: CredentialConfig;
  /** Export the connection values to this Key Vault (off when absent). */
  readonly keyVault?: KeyVaultConfig;
  /** Grant tenant-wide admin consent for user_impersonation (off by default). */
  readonly adminConsent: boolean;
  /** Remove roles given to the application user outside this stack (on by default). */
  readonly removeUnmanagedRoles: boolean;
  /** On destroy, leave the application user disabled instead of deleting it. */
  readonly keepUserOnDestroy: boolean;
  /** Adopt objects made by hand instead of making new ones (absent: the stack makes its own). */
  readonly adopt?: AdoptConfig;
}

export interface StackConfig {
  readonly environmentUrl: string;
  readonly businessUnit?: string;
  readonly integrations: readonly IntegrationConfig[];
  /** The cloud of the azuread provider (azuread:metadataHost / azuread:environment). */
  readonly entraCloud: EntraCloud;
  /**
   * Azure Resource Manager as the azure-native provider is configured (azure-native:subscriptionId,
   * metadataHost, environment, else ARM_SUBSCRIPTION_ID, ...): where managed identities are made and read.
   */
  readonly azure: AzureConfig;
}

/** The azure-native provider's subscription and cloud (absent values: unset). */
export interface AzureConfig {
  readonly subscriptionId?: string;
  readonly metadataHost?: string;
  readonly environment?: string;
}

/** A cloud of Entra ID as the azuread provider names it; both absent: the public cloud. */
export interface EntraCloud {
  readonly metadataHost?: string;
  readonly environment?: string;
}

export class StackConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `The stack configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}; ` +
        `fix ${problems.length === 1 ? "it" : "them"} with 'pulumi config set' or in Pulumi.<stack>.yaml:\n` +
        problems.map((problem) => `  - ${problem}`).join("\n"),
    );
    this.name = "StackConfigError";
  }
}

const integrationNamePattern = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;

/** Normalizes a valid environment URL to https://host (no trailing slash). */
function normalizeEnvironmentUrl(value: string): string {
  const url = new URL(value.trim());
  return `https://${url.host.toLowerCase()}`;
}

function optionalBoolean(value: unknown, key: string, fallback: boolean, problems: string[]): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  problems.push(`${key} must be true or false, not '${String(value)}'.`);
  return fallback;
}

function parseRole(raw: unknown, key: string, problems: string[]): RoleConfig {
  const fallback: RoleConfig = {
    kind: "clone",
    name: roleDefaults.name,
    cloneFrom: roleDefaults.cloneFrom,
    followSource: roleDefaults.followSource,
    excludePrivileges: [],
  };
  if (raw === undefined) return fallback;
  if (!isRecord(raw)) {
    problems.push(`${key} must be an object: { name, cloneFrom }, { name, privileges } or { existing }.`);
    return fallback;
  }
  const cloneFields = ["name", "cloneFrom", "followSource", "excludePrivileges"];
  const specFields = ["name", "depth", "privileges", "miscPrivileges"];
  const known = new Set([...cloneFields, ...specFields, "existing"]);
  for (const field of Object.keys(raw))
    if (!known.has(field))
      problems.push(
        `${key}.${field} is not a known setting (use name with cloneFrom, followSource, excludePrivileges; or name with privileges, miscPrivileges, depth; or existing).`,
      );
  if (raw.existing !== undefined) return parseExistingRole(raw, key, problems);
  const name = raw.name === undefined ? roleDefaults.name : raw.name;
  if (typeof name !== "string" || name.trim() === "" || name.length > roleDefaults.maxNameLength)
    problems.push(`${key}.name must be a role name of 1 to ${roleDefaults.maxNameLength} characters.`);
  if (raw.privileges !== undefined || raw.miscPrivileges !== undefined || raw.depth !== undefined) {
    const mixed = Object.keys(raw).filter((field) => !specFields.includes(field) && known.has(field));
    return parseSpecRole(raw, String(name).trim(), mixed, key, problems);
  }
  const cloneFrom = raw.cloneFrom === undefined ? roleDefaults.cloneFrom : raw.cloneFrom;
  if (typeof cloneFrom !== "string" || cloneFrom.trim() === "")
    problems.push(`${key}.cloneFrom must be a role name or a role template id (default "${roleDefaults.cloneFrom}").`);
  const excludePrivileges = parseExcludedPrivileges(raw.excludePrivileges, `${key}.excludePrivileges`, problems);
  return {
    kind: "clone",
    name: String(name).trim(),
    cloneFrom: String(cloneFrom).trim(),
    followSource: optionalBoolean(raw.followSource, `${key}.followSource`, roleDefaults.followSource, problems),
    excludePrivileges,
  };
}

/** { existing: "<role name>" }: a role used as it is, with nothing else beside it. */
function parseExistingRole(raw: Record<string, unknown>, key: string, problems: string[]): RoleConfig {
  const others = Object.keys(raw).filter((field) => field !== "existing");
  if (others.length > 0)
    problems.push(
      `${key}: give either existing (use a role as it is) or a role to make (name with cloneFrom or privileges), not both (drop ${others.join(", ")}).`,
    );
  if (typeof raw.existing !== "string" || raw.existing.trim() === "")
    problems.push(`${key}.existing must be the name of a security role in the environment.`);
  return { kind: "existing", name: String(raw.existing ?? "").trim() };
}

/** A role declared by its privileges; `mixed` are the clone settings given beside them. */
function parseSpecRole(raw: Record<string, unknown>, name: string, mixed: string[], key: string, problems: string[]): RoleConfig {
  if (mixed.length > 0)
    problems.push(
      `${key}: a role declared by its privileges is not a copy; drop ${mixed.join(", ")} (or drop privileges, miscPrivileges and depth to clone a role).`,
    );
  if (raw.name === undefined) problems.push(`${key}.name is required with privileges: name the role, e.g. "Contact Sync".`);
  const spec = parsePrivilegeSpec(raw, key, problems);
  if (Object.keys(spec.privileges).length === 0 && spec.miscPrivileges.length === 0 && raw.privileges === undefined)
    problems.push(`${key}.privileges must name at least one table and its rights, e.g. { contact: [create, read, write] }.`);
  return { kind: "spec", name, privileges: spec.privileges, miscPrivileges: spec.miscPrivileges };
}

function parseExcludedPrivileges(raw: unknown, key: string, problems: string[]): string[] {
  const excluded: string[] = [];
  if (raw === undefined) return excluded;
  if (!Array.isArray(raw)) {
    problems.push(`${key} must be a list of privilege names, e.g. [prvAssignRole, prvWriteRole].`);
    return excluded;
  }
  raw.forEach((entry, index) => {
    const problem = privilegeNameProblem(entry);
    if (problem) problems.push(`${key}[${index}]: ${problem}`);
    else excluded.push(String(entry).trim());
  });
  return excluded;
}

function parseFormerNames(raw: unknown, key: string, problems: string[]): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((name) => typeof name !== "string" || !integrationNamePattern.test(name))) {
    problems.push(
      `${key} must be a list of the integration's earlier names (each 2 to 40 lower-case letters, digits or dashes), e.g. [etl].`,
    );
    return [];
  }
  return [...new Set(raw as string[])];
}

function parseSecret(raw: unknown, key: string, problems: string[]): SecretConfig {
  const fallback = {
    lifetimeDays: secretDefaults.lifetimeDays,
    rotateBeforeDays: secretDefaults.rotateBeforeDays,
    overlapDays: secretDefaults.overlapDays,
  };
  if (raw === undefined) return fallback;
  if (!isRecord(raw)) {
    problems.push(`${key} must be an object: { lifetimeDays, rotateBeforeDays, overlapDays }.`);
    return fallback;
  }
  let lifetimeDays: number = secretDefaults.lifetimeDays;
  if (raw.lifetimeDays !== undefined) {
    const value = raw.lifetimeDays;
    if (!isSecretLifetime(value)) {
      problems.push(
        `${key}.lifetimeDays must be a whole number of days from 1 to ${secretDefaults.maxLifetimeDays} (Entra's limit is 24 months), not '${String(raw.lifetimeDays)}'.`,
      );
    } else lifetimeDays = value;
  }
  let rotateBeforeDays: number = defaultRotateBeforeDays(lifetimeDays);
  if (raw.rotateBeforeDays !== undefined) {
    const value = raw.rotateBeforeDays;
    if (!isRotateBeforeDays(value, lifetimeDays)) {
      problems.push(
        `${key}.rotateBeforeDays must be a whole number of days from 0 to less than lifetimeDays (${lifetimeDays}), not '${String(raw.rotateBeforeDays)}'.`,
      );
    } else rotateBeforeDays = value;
  }
  // The previous secret expires rotateBeforeDays after a rotation at the latest: the overlap cannot be longer.
  let overlapDays: number = defaultOverlapDays(rotateBeforeDays);
  if (raw.overlapDays !== undefined) {
    const value = raw.overlapDays;
    if (!isOverlapDays(value, rotateBeforeDays)) {
      problems.push(
        `${key}.overlapDays must be a whole number of days from 0 to rotateBeforeDays (${rotateBeforeDays}): the previous secret expires by then anyway; not '${String(raw.overlapDays)}'.`,
      );
    } else overlapDays = value;
  }
  for (const field of Object.keys(raw)) {
    if (!["lifetimeDays", "rotateBeforeDays", "overlapDays"].includes(field))
      problems.push(`${key}.${field} is not a known setting (use lifetimeDays, rotateBeforeDays or overlapDays).`);
  }
  return { lifetimeDays, rotateBeforeDays, overlapDays };
}

function parseCredential(raw: unknown, key: string, problems: string[]): CredentialConfig {
  if (raw === undefined) return { kind: "secret" };
  if (!isRecord(raw) || !["secret", "certificate", "federated", "managedIdentity"].includes(String(raw.type))) {
    problems.push(`${key}.type must be secret, certificate, federated or managedIdentity.`);
    return { kind: "secret" };
  }
  const allowed: Record<string, string[]> = {
    secret: ["type"],
    certificate: ["type", "certificatePem", "endDate"],
    federated: ["type", "federated", "github", "aks"],
    managedIdentity: ["type", "clientId", "resourceId", "create"],
  };
  for (const field of Object.keys(raw)) {
    if (!allowed[String(raw.type)].includes(field))
      problems.push(`${key}.${field} does not apply to type ${String(raw.type)} (use ${allowed[String(raw.type)].join(", ")}).`);
  }
  if (raw.type === "secret") return { kind: "secret" };
  if (raw.type === "certificate") return parseCertificateCredential(raw, key, problems);
  if (raw.type === "managedIdentity") return parseManagedIdentity(raw, key, problems);
  return parseFederatedCredential(raw, key, problems);
}

/** Exactly one of clientId, resourceId (an existing identity) or create { resourceGroup, location, name? }. */
function parseManagedIdentity(raw: Record<string, unknown>, key: string, problems: string[]): CredentialConfig {
  const given = (["clientId", "resourceId", "create"] as const).filter((field) => raw[field] !== undefined);
  if (given.length !== 1) {
    problems.push(
      `${key}: a managed identity needs exactly one of clientId (an existing identity's client id), resourceId (its ARM resource id) ` +
        `or create { resourceGroup, location, name? } (the stack makes one)${given.length > 1 ? `; drop all but one of ${given.join(", ")}` : ""}.`,
    );
    return { kind: "secret" };
  }
  if (given[0] === "clientId") {
    const clientId = typeof raw.clientId === "string" ? raw.clientId.trim().toLowerCase() : "";
    if (!isGuid(clientId))
      problems.push(
        `${key}.clientId must be the managed identity's client id, a GUID (Azure portal > Managed Identities > the identity > Overview > Client ID, ` +
          `or 'az identity show -g <group> -n <name> --query clientId -o tsv'), not '${String(raw.clientId)}'.`,
      );
    return { kind: "managedIdentity", clientId };
  }
  if (given[0] === "resourceId") {
    const problem = managedIdentityIdProblem(raw.resourceId);
    if (problem) problems.push(`${key}.resourceId: ${problem}`);
    return { kind: "managedIdentity", resourceId: String(raw.resourceId ?? "").trim() };
  }
  const create = raw.create;
  if (!isRecord(create)) {
    problems.push(`${key}.create must be an object: { resourceGroup, location, name? }.`);
    return { kind: "secret" };
  }
  for (const field of Object.keys(create))
    if (!["resourceGroup", "location", "name"].includes(field))
      problems.push(`${key}.create.${field} is not a known setting (use resourceGroup, location and name).`);
  const checks: [string, (value: unknown) => string | undefined][] = [
    ["resourceGroup", resourceGroupNameProblem],
    ["location", locationProblem],
    ...(create.name === undefined ? [] : ([["name", managedIdentityNameProblem]] as [string, (value: unknown) => string | undefined][])),
  ];
  for (const [field, rule] of checks) {
    const problem = rule(create[field]);
    if (problem) problems.push(`${key}.create.${field} ${problem}.`);
  }
  return {
    kind: "managedIdentity",
    create: {
      resourceGroup: String(create.resourceGroup ?? "").trim(),
      location: String(create.location ?? "").trim(),
      ...(typeof create.name === "string" ? { name: create.name.trim() } : {}),
    },
  };
}

function parseCertificateCredential(raw: Record<string, unknown>, key: string, problems: string[]): CredentialConfig {
  const problem = certificatePemProblem(raw.certificatePem);
  const endDateProblem =
    raw.endDate === undefined || problem ? undefined : certificateEndDateProblem(raw.endDate, readCertificatePem(raw.certificatePem));
  // The PEM is never repeated in a message.
  if (problem)
    problems.push(`${key}.certificatePem: ${problem} Set it with 'pulumi config set --secret --path "${key}.certificatePem" < cert.pem'.`);
  if (endDateProblem) problems.push(`${key}: ${endDateProblem}`);
  return {
    kind: "certificate",
    certificatePem: String(raw.certificatePem ?? ""),
    endDate: typeof raw.endDate === "string" ? raw.endDate : undefined,
  };
}

/** Exactly one of federated { issuer, subject }, github { ... } or aks { ... }; a secret (with the problem listed) otherwise. */
function parseFederatedCredential(raw: Record<string, unknown>, key: string, problems: string[]): CredentialConfig {
  const sources = (["federated", "github", "aks"] as const).filter((source) => raw[source] !== undefined);
  if (sources.length !== 1) {
    problems.push(
      `${key}: a federated credential needs exactly one of federated { issuer, subject }, github { owner, repo, environment } or aks { oidcIssuerUrl, namespace, serviceAccount }.`,
    );
    return { kind: "secret" };
  }
  const source = raw[sources[0]];
  if (!isRecord(source)) {
    problems.push(`${key}.${sources[0]} must be an object.`);
    return { kind: "secret" };
  }
  try {
    const preset =
      sources[0] === "github"
        ? githubActionsFederation(source as never)
        : sources[0] === "aks"
          ? aksWorkloadIdentityPreset(source as never)
          : {
              issuer: source.issuer,
              subject: source.subject,
              audiences: source.audiences ?? [entraTokenExchangeAudience],
              displayName: source.displayName,
            };
    for (const problem of [issuerProblem(preset.issuer), subjectProblem(preset.subject), audiencesProblem(preset.audiences)]) {
      if (problem) problems.push(`${key}.${sources[0]}: ${problem}`);
    }
    return {
      kind: "federated",
      issuer: String(preset.issuer),
      subject: String(preset.subject),
      audiences: (preset.audiences as string[]).map(String),
      displayName: typeof preset.displayName === "string" ? preset.displayName : undefined,
    };
  } catch (error) {
    problems.push(`${key}.${sources[0]}: ${(error as Error).message}`);
    return { kind: "secret" };
  }
}

function parseKeyVault(raw: unknown, key: string, integrationName: string, problems: string[]): KeyVaultConfig | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) {
    problems.push(`${key} must be an object: { id, secretNamePrefix }.`);
    return undefined;
  }
  for (const field of Object.keys(raw))
    if (!["id", "secretNamePrefix"].includes(field)) problems.push(`${key}.${field} is not a known setting (use id or secretNamePrefix).`);
  const idProblem = keyVaultIdProblem(raw.id);
  if (idProblem) problems.push(`${key}.id: ${idProblem}`);
  const prefix = raw.secretNamePrefix ?? integrationName;
  const prefixProblem = secretNamePrefixProblem(prefix);
  if (prefixProblem) problems.push(`${key}.secretNamePrefix: ${prefixProblem}`);
  return { id: String(raw.id), secretNamePrefix: String(prefix) };
}

function parseAdopt(raw: unknown, key: string, role: RoleConfig, problems: string[]): AdoptConfig | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) {
    problems.push(
      `${key} must be an object: { clientId, roleName? } (the existing app registration's client id, and the role to take over).`,
    );
    return undefined;
  }
  for (const field of Object.keys(raw))
    if (!["clientId", "roleName"].includes(field)) problems.push(`${key}.${field} is not a known setting (use clientId and roleName).`);
  const clientId = typeof raw.clientId === "string" ? raw.clientId.trim().toLowerCase() : "";
  if (!isGuid(clientId))
    problems.push(
      `${key}.clientId must be the application (client) id of the existing app registration, a GUID ` +
        `(Entra admin center > App registrations > Application (client) ID), not '${String(raw.clientId)}'.`,
    );
  let roleName: string | undefined;
  if (raw.roleName !== undefined) {
    if (typeof raw.roleName !== "string" || raw.roleName.trim() === "" || raw.roleName.length > roleDefaults.maxNameLength)
      problems.push(
        `${key}.roleName must be the name of the existing security role to take over, 1 to ${roleDefaults.maxNameLength} characters.`,
      );
    else if (role.kind === "existing")
      problems.push(
        `${key}.roleName does not apply with role.existing: an existing role is used as it is, never taken over; drop ${key}.roleName.`,
      );
    else roleName = raw.roleName.trim();
  }
  return { clientId, ...(roleName === undefined ? {} : { roleName }) };
}

/** The role a role resource takes over on create: the one adopted integrations name (adopt.roleName, else role.name). */
export function adoptedRoleName(integration: IntegrationConfig): string | undefined {
  if (!integration.adopt || integration.role.kind === "existing") return undefined;
  return integration.adopt.roleName ?? integration.role.name;
}

/** What a made role is, in a comparable form: two integrations naming one role must agree on it. */
function roleDefinition(role: Exclude<RoleConfig, { kind: "existing" }>): string {
  if (role.kind === "clone") {
    const excluded = role.excludePrivileges.map((name) => name.toLowerCase()).sort();
    return `a copy of '${role.cloneFrom}'${excluded.length > 0 ? ` without ${excluded.join(", ")}` : ""}`.toLowerCase();
  }
  return `privileges ${JSON.stringify(role.privileges)} and ${JSON.stringify([...role.miscPrivileges].sort())}`;
}

const optionalAdopt = (adopt: AdoptConfig | undefined): { adopt?: AdoptConfig } => (adopt ? { adopt } : {});

/** Validates raw configuration values; throws StackConfigError listing every problem. */
export function parseStackConfig(raw: {
  environmentUrl?: unknown;
  businessUnit?: unknown;
  integrations?: unknown;
  entraMetadataHost?: unknown;
  entraEnvironment?: unknown;
  /** The azure-native provider's settings (azure-native:subscriptionId, metadataHost, environment, or their ARM_* variables). */
  azure?: { subscriptionId?: unknown; metadataHost?: unknown; environment?: unknown };
}): StackConfig {
  const problems: string[] = [];
  const urlProblem = environmentUrlProblem(raw.environmentUrl);
  if (urlProblem) problems.push(urlProblem);

  if (raw.businessUnit !== undefined && (typeof raw.businessUnit !== "string" || raw.businessUnit.trim() === "")) {
    problems.push("dataverse-s2s:businessUnit, when set, must be the name of a business unit (leave it out for the root business unit).");
  }

  const integrations = parseIntegrations(raw.integrations, problems);
  const azure = parseAzure(raw.azure);
  const making = integrations.findIndex(
    (integration) => integration.credential.kind === "managedIdentity" && "create" in integration.credential,
  );
  if (making >= 0 && azure.subscriptionId === undefined)
    problems.push(
      `dataverse-s2s:integrations[${making}].credential.create makes a managed identity, in the azure-native provider's subscription: ` +
        `set azure-native:subscriptionId (or ARM_SUBSCRIPTION_ID) to the subscription of the resource group.`,
    );
  else if (azure.subscriptionId !== undefined && !isGuid(azure.subscriptionId) && making >= 0)
    problems.push(`azure-native:subscriptionId must be a subscription id (a GUID), not '${azure.subscriptionId}'.`);

  if (problems.length > 0) throw new StackConfigError(problems);
  return {
    environmentUrl: normalizeEnvironmentUrl(String(raw.environmentUrl)),
    businessUnit: typeof raw.businessUnit === "string" ? raw.businessUnit.trim() : undefined,
    integrations,
    entraCloud: {
      metadataHost: typeof raw.entraMetadataHost === "string" && raw.entraMetadataHost !== "" ? raw.entraMetadataHost : undefined,
      environment: typeof raw.entraEnvironment === "string" && raw.entraEnvironment !== "" ? raw.entraEnvironment : undefined,
    },
    azure,
  };
}

function parseAzure(raw: { subscriptionId?: unknown; metadataHost?: unknown; environment?: unknown } | undefined): AzureConfig {
  const text = (value: unknown) => (typeof value === "string" && value.trim() !== "" ? value.trim() : undefined);
  const subscriptionId = text(raw?.subscriptionId)?.toLowerCase();
  const metadataHost = text(raw?.metadataHost);
  const environment = text(raw?.environment);
  return {
    ...(subscriptionId ? { subscriptionId } : {}),
    ...(metadataHost ? { metadataHost } : {}),
    ...(environment ? { environment } : {}),
  };
}

/** The integrations list: each entry, then what they must agree on (former names, shared roles). */
function parseIntegrations(raw: unknown, problems: string[]): IntegrationConfig[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(
      "dataverse-s2s:integrations must list at least one integration, e.g. " +
        `'pulumi config set --path "dataverse-s2s:integrations[0].name" etl' and '... integrations[0].displayName "ETL connector"'.`,
    );
    return [];
  }
  const integrations: IntegrationConfig[] = [];
  const seenNames = new Set<string>();
  raw.forEach((entry: unknown, index) => {
    const integration = parseIntegration(entry, `dataverse-s2s:integrations[${index}]`, seenNames, problems);
    if (integration) integrations.push(integration);
  });
  checkAdoptions(integrations, problems);
  checkManagedIdentities(integrations, problems);
  checkFormerNames(integrations, problems);
  checkSharedRoles(integrations, problems);
  return integrations;
}

const INTEGRATION_SETTINGS: readonly string[] = [
  "name",
  "formerNames",
  "displayName",
  "role",
  "secret",
  "credential",
  "keyVault",
  "adminConsent",
  "removeUnmanagedRoles",
  "keepUserOnDestroy",
  "adopt",
];

/** One entry of the integrations list; undefined when it is not even an object. */
function parseIntegration(entry: unknown, key: string, seenNames: Set<string>, problems: string[]): IntegrationConfig | undefined {
  if (!isRecord(entry)) {
    problems.push(`${key} must be an object with at least name and displayName.`);
    return undefined;
  }
  for (const field of Object.keys(entry))
    if (!INTEGRATION_SETTINGS.includes(field))
      problems.push(`${key}.${field} is not a known setting (known: ${INTEGRATION_SETTINGS.join(", ")}).`);
  const name = entry.name;
  if (typeof name !== "string" || !integrationNamePattern.test(name)) {
    problems.push(
      `${key}.name must be 2 to 40 lower-case letters, digits or dashes, starting with a letter (it names resources), not '${String(name)}'.`,
    );
  } else if (seenNames.has(name)) {
    problems.push(`${key}.name '${name}' is used twice; each integration needs its own name.`);
  } else seenNames.add(name);
  const displayName = entry.displayName ?? name;
  if (typeof displayName !== "string" || displayName.trim() === "" || displayName.length > integrationDefaults.maxDisplayNameLength) {
    problems.push(
      `${key}.displayName must be 1 to ${integrationDefaults.maxDisplayNameLength} characters: the app registration's name in Entra ID.`,
    );
  }
  const role = parseRole(entry.role, `${key}.role`, problems);
  const credential = parseCredential(entry.credential, `${key}.credential`, problems);
  if (credential.kind === "managedIdentity") {
    // No app registration: nothing to adopt, and no permission to consent to.
    if (entry.adopt !== undefined)
      problems.push(
        `${key}.adopt does not apply with credential.type managedIdentity (there is no app registration to take over): ` +
          `drop adopt, or give the hand-made app's credential type.`,
      );
    if (entry.adminConsent === true)
      problems.push(
        `${key}.adminConsent does not apply with credential.type managedIdentity (a managed identity has no app registration to consent for).`,
      );
  }
  return {
    name: String(name),
    formerNames: parseFormerNames(entry.formerNames, `${key}.formerNames`, problems),
    displayName: String(displayName).trim(),
    role,
    secret: parseSecret(entry.secret, `${key}.secret`, problems),
    credential,
    keyVault: parseKeyVault(entry.keyVault, `${key}.keyVault`, String(name), problems),
    adminConsent: optionalBoolean(entry.adminConsent, `${key}.adminConsent`, integrationDefaults.adminConsent, problems),
    removeUnmanagedRoles: optionalBoolean(
      entry.removeUnmanagedRoles,
      `${key}.removeUnmanagedRoles`,
      applicationUserDefaults.removeUnmanagedRoles,
      problems,
    ),
    keepUserOnDestroy: optionalBoolean(
      entry.keepUserOnDestroy,
      `${key}.keepUserOnDestroy`,
      applicationUserDefaults.keepUserOnDestroy,
      problems,
    ),
    ...optionalAdopt(parseAdopt(entry.adopt, `${key}.adopt`, role, problems)),
  };
}

/** One app registration is one integration's identity; integrations sharing a role take over at most one hand-made role for it. */
function checkAdoptions(integrations: IntegrationConfig[], problems: string[]): void {
  const adopters = new Map<string, number>();
  integrations.forEach((integration, index) => {
    if (!integration.adopt || !isGuid(integration.adopt.clientId)) return;
    const earlier = adopters.get(integration.adopt.clientId);
    if (earlier !== undefined)
      problems.push(
        `dataverse-s2s:integrations[${index}].adopt.clientId '${integration.adopt.clientId}' is adopted by integrations[${earlier}] too; ` +
          `an app registration belongs to one integration: remove one of them.`,
      );
    else adopters.set(integration.adopt.clientId, index);
  });
  const adoptedRoles = new Map<string, { roleName: string; index: number }>();
  integrations.forEach((integration, index) => {
    const roleName = adoptedRoleName(integration);
    if (roleName === undefined) return;
    const earlier = adoptedRoles.get(integration.role.name.toLowerCase());
    if (earlier && earlier.roleName.toLowerCase() !== roleName.toLowerCase())
      problems.push(
        `dataverse-s2s:integrations[${index}].adopt.roleName: the role '${integration.role.name}' would take over '${roleName}', ` +
          `but integrations[${earlier.index}] adopts '${earlier.roleName}' for it; a role takes over one existing role: make them agree.`,
      );
    else if (!earlier) adoptedRoles.set(integration.role.name.toLowerCase(), { roleName, index });
  });
}

/** Dataverse keeps one application user per application id: an existing identity is one integration's. */
function checkManagedIdentities(integrations: IntegrationConfig[], problems: string[]): void {
  const owners = new Map<string, number>();
  integrations.forEach((integration, index) => {
    const credential = integration.credential;
    if (credential.kind !== "managedIdentity" || "create" in credential) return;
    const [field, value] = "clientId" in credential ? ["clientId", credential.clientId] : ["resourceId", credential.resourceId];
    if (value === "") return;
    const earlier = owners.get(value.toLowerCase());
    if (earlier !== undefined)
      problems.push(
        `dataverse-s2s:integrations[${index}].credential.${field} '${value}' is the identity of integrations[${earlier}] too; ` +
          `Dataverse has one application user per identity: give each integration its own identity, or merge them.`,
      );
    else owners.set(value.toLowerCase(), index);
  });
}

/** A former name names the resources of exactly one integration: never a current name, never twice. */
function checkFormerNames(integrations: IntegrationConfig[], problems: string[]): void {
  const currentNames = new Set(integrations.map((integration) => integration.name));
  const formerOwners = new Map<string, number>();
  integrations.forEach((integration, index) => {
    for (const former of integration.formerNames) {
      if (former === integration.name) problems.push(`dataverse-s2s:integrations[${index}].formerNames lists its own name '${former}'.`);
      else if (currentNames.has(former))
        problems.push(
          `dataverse-s2s:integrations[${index}].formerNames lists '${former}', the name of another integration; remove it from formerNames.`,
        );
      else if (formerOwners.has(former))
        problems.push(
          `dataverse-s2s:integrations[${index}].formerNames lists '${former}', which integrations[${formerOwners.get(former)}] lists too; a former name belongs to one integration.`,
        );
      else formerOwners.set(former, index);
    }
  });
}

/** Integrations may share a role they make only if they declare it the same way. */
function checkSharedRoles(integrations: IntegrationConfig[], problems: string[]): void {
  const rolesByName = new Map<string, { definition: string; index: number }>();
  integrations.forEach((integration, index) => {
    if (integration.role.kind === "existing") return;
    const definition = roleDefinition(integration.role);
    const earlier = rolesByName.get(integration.role.name.toLowerCase());
    const earlierRole = earlier && integrations[earlier.index].role;
    if (
      earlier &&
      earlierRole?.kind === "clone" &&
      integration.role.kind === "clone" &&
      earlierRole.cloneFrom.toLowerCase() !== integration.role.cloneFrom.toLowerCase()
    ) {
      problems.push(
        `dataverse-s2s:integrations[${index}].role clones '${integration.role.cloneFrom}' into '${integration.role.name}', ` +
          `but integrations[${earlier.index}] clones '${earlierRole.cloneFrom}' into the same role name; give one of them another role name.`,
      );
    } else if (earlier && earlier.definition !== definition) {
      problems.push(
        `dataverse-s2s:integrations[${index}].role declares '${integration.role.name}' differently from integrations[${earlier.index}].role ` +
          `(${definition} vs ${earlier.definition}); integrations share a role only when they declare it alike: give one of them another role name.`,
      );
    } else if (!earlier) rolesByName.set(integration.role.name.toLowerCase(), { definition, index });
  });
}

/**
 * The cloud the azuread provider is configured for (azuread:metadataHost, azuread:environment): the
 * stack's, and that of a component given no `entraCloud`, so that the Graph calls of the dynamic
 * providers go where the azuread resources go.
 */
export function readEntraCloud(): EntraCloud {
  const azuread = new pulumi.Config("azuread");
  const setting = (key: string) => azuread.get(key) || undefined;
  return { metadataHost: setting("metadataHost"), environment: setting("environment") };
}

/**
 * The azure-native provider's subscription and cloud as that provider reads them: its config first,
 * then its variable (ARM_SUBSCRIPTION_ID, ARM_METADATA_HOSTNAME, ARM_ENVIRONMENT), as
 * pulumi-azure-native's getConfig does. The cloud falls back to the azuread provider's.
 */
export function readAzureConfig(entraCloud: EntraCloud = readEntraCloud()): AzureConfig {
  const azureNative = new pulumi.Config("azure-native");
  const setting = (key: string, variable: string) => azureNative.get(key) || process.env[variable] || undefined;
  return parseAzure({
    subscriptionId: setting("subscriptionId", "ARM_SUBSCRIPTION_ID"),
    metadataHost: setting("metadataHost", "ARM_METADATA_HOSTNAME") ?? entraCloud.metadataHost,
    environment: setting("environment", "ARM_ENVIRONMENT") ?? entraCloud.environment,
  });
}

/** Reads and validates the current stack's configuration. */
export function readStackConfig(config: pulumi.Config = new pulumi.Config("dataverse-s2s")): StackConfig {
  const entraCloud = readEntraCloud();
  return parseStackConfig({
    environmentUrl: config.get("environmentUrl"),
    businessUnit: config.get("businessUnit"),
    // Declared once in Pulumi.yaml; a stack may override fields per integration (config/overrides.ts).
    integrations: applyIntegrationOverrides(config.getObject<unknown>("integrations"), config.getObject<unknown>("integrationOverrides")),
    entraMetadataHost: entraCloud.metadataHost,
    entraEnvironment: entraCloud.environment,
    azure: readAzureConfig(entraCloud),
  });
}
