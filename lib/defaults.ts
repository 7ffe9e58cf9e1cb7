/**
 * The one table of defaults and limits: the config reader, the components and the dynamic providers
 * all take them from here, so that no number or name is written twice.
 */

/** Client secrets. */
export const secretDefaults = {
  /** Days a new client secret is valid when the config says nothing. */
  lifetimeDays: 180,
  /** Entra's limit: a client secret lives at most 24 months. */
  maxLifetimeDays: 730,
  /** Days before expiry from which a run rotates the secret (at most half the lifetime by default). */
  rotateBeforeDays: 30,
  /** Days the previous secret stays valid after a rotation. */
  overlapDays: 7,
} as const;

/** Template id of System Administrator, the same in every Dataverse environment. */
export const systemAdministratorTemplateId = "627090ff-40a3-4053-8790-584edc5be201";

/** Client id (appId) of Dynamics CRM, the API whose user_impersonation every integration gets; the same in every tenant. */
export const dynamicsCrmAppId = "00000007-0000-0000-c000-000000000000";

/** Security roles. */
export const roleDefaults = {
  /** Name of the cloned role when the config says nothing. */
  name: "API User",
  /** Role cloned when the config says nothing. */
  cloneFrom: "System Administrator",
  /** A cloned role follows later changes of its source by default. */
  followSource: true,
  /** Depth of the rights a spec role lists without one (role.depth). */
  specDepth: "Global",
  /** Dataverse's limit on a role name. */
  maxNameLength: 100,
} as const;

/** Application users. */
export const applicationUserDefaults = {
  /** Roles given to the application user outside the stack are removed by default. */
  removeUnmanagedRoles: true,
  /** On destroy the application user is deleted by default, not left disabled. */
  keepUserOnDestroy: false,
} as const;

/** Integrations. */
export const integrationDefaults = {
  /** Tenant-wide admin consent is not needed for server-to-server calls. */
  adminConsent: false,
  /** Entra's limit on an app registration's display name as this stack checks it. */
  maxDisplayNameLength: 120,
} as const;

// HTTP: what an operator may need to change without a code change.

/** Seconds one HTTP request may take before it counts as timed out (and is retried if safe). */
const defaultHttpTimeoutSeconds = 120;

/** DATAVERSE_S2S_HTTP_TIMEOUT_SECONDS when set (slow networks, tests), else the default. */
export function httpTimeoutMs(): number {
  const configured = process.env.DATAVERSE_S2S_HTTP_TIMEOUT_SECONDS;
  if (configured === undefined || configured === "") return defaultHttpTimeoutSeconds * 1000;
  const seconds = Number(configured);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(`DATAVERSE_S2S_HTTP_TIMEOUT_SECONDS='${configured}' is not a positive number of seconds; unset it or give e.g. 120.`);
  }
  return seconds * 1000;
}

/** The display name of every client secret the stack makes: secrets by that name that no state knows are a crashed run's. */
export const managedSecretDisplayName = "dataverse-s2s";
