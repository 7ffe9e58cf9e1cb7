// Options and defaults of the emulator, in one place. Everything a test or the CLI can change at
// start is an EmulatorOptions field; everything that can also change at run time lives in
// EmulatorConfig and is read and written through the admin API (/_emulator/config).

/** Faults injected before a request reaches its handler. Probabilities are 0..1. */
export interface FaultConfig {
  /** Probability of answering 429 with Retry-After. */
  rate429: number;
  /** Probability of answering 503 with Retry-After. */
  rate503: number;
  /** Probability of destroying the socket without an answer. */
  rateDrop: number;
  /** Retry-After value (seconds) of injected 429 and 503 answers. */
  retryAfterSeconds: number;
  /** Only requests whose path starts with this prefix are eligible (e.g. "/api/data"); null = all. */
  pathPrefix: string | null;
  /** Only this many faults are injected, then faults stop (e.g. 2 = "the next 2 requests"); null = no limit. */
  maxCount: number | null;
  /** Seed of the fault dice: the same seed gives the same sequence of faults; null = Math.random. */
  seed: number | null;
}

/** Dataverse service protection limits, per user (token appid) or per server. */
export interface ServiceProtectionConfig {
  /** Off by default: the real limits are far above what tests send. */
  enabled: boolean;
  /** Requests allowed per user per window (real: 6000 per 300 s), code 0x80072322. */
  maxRequestsPerWindow: number;
  /** Window length in milliseconds (real: 300000). */
  windowMs: number;
  /** Concurrent requests allowed per user (real: 52), code 0x80072326. */
  maxConcurrent: number;
  /** Retry-After (seconds) of service protection answers. */
  retryAfterSeconds: number;
}

/** Behaviours reported by third parties (G in reference/dataverse-web-api.md), switchable. */
export interface QuirksConfig {
  /** A newly created role receives a few privileges of its own that ReplacePrivilegesRole keeps. */
  newRoleSelfPrivileges: boolean;
  /** AddPrivilegesRole keeps an already granted privilege at its existing depth. */
  addPrivilegesKeepsExistingDepth: boolean;
}

/** Checks the services make and the emulator can switch off (each on by default, as in Azure). */
interface StrictnessConfig {
  /** Graph bodies: unknown property, wrong type, bad enum, read-only or passwordCredentials in PATCH -> 400;
   *  unknown $select names -> 400; $count without ConsistencyLevel: eventual -> 400. */
  graphRequests: boolean;
  /** Dataverse actions: unknown parameters -> 400; a depth the privilege does not allow -> 400. */
  dataverseActions: boolean;
  /** Graph routes require the application permissions Graph documents (token `roles`), else 403. */
  graphPermissions: boolean;
}

/** A federated identity issuer whose tokens the token endpoint accepts as client assertions. */
interface FederatedIssuerConfig {
  /** The `iss` of its tokens. */
  issuer: string;
  /** Its RS256 public key (PEM, SPKI). */
  publicKeyPem: string;
}

/** The run-time configuration (readable and writable through /_emulator/config). */
export interface EmulatorConfig {
  /** Delay added to every non-admin request, in milliseconds. */
  latencyMs: number;
  faults: FaultConfig;
  serviceProtection: ServiceProtectionConfig;
  quirks: QuirksConfig;
  /** How long a new object, secret or removal takes to reach every replica (real time, ms). 0 = at once. */
  replicationLagMs: number;
  /** Items per Graph list page before @odata.nextLink (Graph's default for directory objects is 100). */
  graphPageSize: number;
  /** Items per ARM list page before `nextLink` (the lists of user-assigned identities; ARM's page is larger). */
  armPageSize: number;
  strict: StrictnessConfig;
  /** Microsoft Graph application permissions granted to the seeded deployer (its token `roles`). */
  deployerGraphPermissions: string[];
  /** Issuers trusted for federated credentials, besides the emulator's own (/_emulator/issuer). */
  federatedIssuers: FederatedIssuerConfig[];
}

/** A partial configuration, as accepted by startEmulator and POST /_emulator/config. */
export interface EmulatorConfigPatch {
  latencyMs?: number;
  faults?: Partial<FaultConfig>;
  serviceProtection?: Partial<ServiceProtectionConfig>;
  quirks?: Partial<QuirksConfig>;
  replicationLagMs?: number;
  graphPageSize?: number;
  armPageSize?: number;
  strict?: Partial<StrictnessConfig>;
  deployerGraphPermissions?: string[];
  federatedIssuers?: FederatedIssuerConfig[];
}

/** Options of startEmulator. */
export interface EmulatorOptions extends EmulatorConfigPatch {
  /** TCP port; 0 (the library default) picks a free one. The CLI defaults to 8443. */
  port?: number;
  /** Folder of the CA and server certificate; default defaultTlsDir(). */
  tlsDir?: string;
  /** JSON file the state is loaded from at start (if it exists) and saved to after each change and on stop. */
  stateFile?: string;
  /** Receives one line per request (and notices). Default: lines are kept in memory only (see RunningEmulator.logLines). */
  log?: (line: string) => void;
  /**
   * Called synchronously just before an answer leaves, with the line the log will carry for it (its
   * status known, its write done): a test that kills the client here knows the client never got it.
   */
  onAnswer?: (line: string) => void;
  /** Initial clock offset in milliseconds (the emulator clock is real time plus this offset). */
  clockOffsetMs?: number;
  /**
   * The Dataverse environments of the tenant: a count (named env1, env2, ...) or names (e.g.
   * ["dev", "test", "prod"]). Default: one environment named "default". Each listens on its own
   * port of localhost (the first on `port`; with a fixed `port`, the others on port+1, port+2, ...).
   */
  environments?: number | readonly string[];
  /**
   * A PATCH of the tenant's default app management policy applied at start (Graph's
   * tenantAppManagementPolicy body, e.g. {isEnabled: true, applicationRestrictions: {passwordCredentials:
   * [{restrictionType: "passwordLifetime", maxLifetime: "P90D"}]}}); see emulator/app-management-policies.ts.
   */
  defaultAppManagementPolicy?: Record<string, unknown>;
}

/** The environment names of the `environments` start option (checked: 1 to 20 distinct names of letters, digits and dashes). */
export function environmentNames(option: number | readonly string[] | undefined, defaultName: string): string[] {
  if (option === undefined) return [defaultName];
  const names =
    typeof option === "number"
      ? Number.isInteger(option) && option >= 1 && option <= 20
        ? option === 1
          ? [defaultName]
          : Array.from({ length: option }, (_, index) => `env${index + 1}`)
        : []
      : [...option];
  if (names.length < 1 || names.length > 20) throw new Error("environments: give a count from 1 to 20 or 1 to 20 names.");
  for (const name of names) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/.test(name))
      throw new Error(`environments: '${name}' is not a name of letters, digits and dashes.`);
  }
  if (new Set(names.map((name) => name.toLowerCase())).size !== names.length) throw new Error("environments: the names must differ.");
  return names;
}

export const DEFAULT_CLI_PORT = 8443;

/** Real Dataverse limits (reference/dataverse-web-api.md). */
const DATAVERSE_REQUEST_LIMIT = 6000;
const DATAVERSE_WINDOW_MS = 300_000;
const DATAVERSE_CONCURRENCY_LIMIT = 52;

/** The least Graph application permissions the stack needs (README "Graph permissions"). */
export const DEFAULT_DEPLOYER_GRAPH_PERMISSIONS = ["Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"];

/** Graph's default page size for directory object lists. */
const DEFAULT_GRAPH_PAGE_SIZE = 100;

export function defaultConfig(): EmulatorConfig {
  return {
    latencyMs: 0,
    faults: { rate429: 0, rate503: 0, rateDrop: 0, retryAfterSeconds: 1, pathPrefix: null, maxCount: null, seed: null },
    serviceProtection: {
      enabled: false,
      maxRequestsPerWindow: DATAVERSE_REQUEST_LIMIT,
      windowMs: DATAVERSE_WINDOW_MS,
      maxConcurrent: DATAVERSE_CONCURRENCY_LIMIT,
      retryAfterSeconds: 5,
    },
    quirks: { newRoleSelfPrivileges: true, addPrivilegesKeepsExistingDepth: true },
    replicationLagMs: 0,
    graphPageSize: DEFAULT_GRAPH_PAGE_SIZE,
    armPageSize: 100,
    strict: { graphRequests: true, dataverseActions: true, graphPermissions: true },
    deployerGraphPermissions: [...DEFAULT_DEPLOYER_GRAPH_PERMISSIONS],
    federatedIssuers: [],
  };
}

function num(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`config field ${name} must be a number between ${min} and ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function bool(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw new Error(`config field ${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Applies a partial configuration to a configuration, validating every field. Throws an Error
 * naming the field on bad input (the admin API answers it as 400); unknown fields are rejected too,
 * so that a typo in a test does not silently leave a fault off.
 */
export function applyConfigPatch(base: EmulatorConfig, patch: unknown): EmulatorConfig {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) throw new Error("config must be a JSON object");
  const next: EmulatorConfig = JSON.parse(JSON.stringify(base));
  const fields = patch as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!CONFIG_FIELDS.includes(key)) throw new Error(`unknown config field ${key}`);
  }
  patchTopLevel(next, fields);
  patchSection(fields, "faults", (key, value) => patchFault(next.faults, key, value));
  patchSection(fields, "serviceProtection", (key, value) => patchServiceProtection(next.serviceProtection, key, value));
  patchSection(fields, "quirks", (key, value) => patchSwitch(next.quirks, QUIRK_FIELDS, "quirks", key, value));
  patchSection(fields, "strict", (key, value) => patchSwitch(next.strict, STRICTNESS_FIELDS, "strict", key, value));
  return next;
}

function patchTopLevel(next: EmulatorConfig, fields: Record<string, unknown>): void {
  if (fields.latencyMs !== undefined) next.latencyMs = num(fields.latencyMs, "latencyMs", 0, 600_000);
  if (fields.replicationLagMs !== undefined) next.replicationLagMs = num(fields.replicationLagMs, "replicationLagMs", 0, 600_000);
  if (fields.graphPageSize !== undefined) next.graphPageSize = num(fields.graphPageSize, "graphPageSize", 1, 999);
  if (fields.armPageSize !== undefined) next.armPageSize = num(fields.armPageSize, "armPageSize", 1, 1000);
  if (fields.deployerGraphPermissions !== undefined)
    next.deployerGraphPermissions = stringList(fields.deployerGraphPermissions, "deployerGraphPermissions");
  if (fields.federatedIssuers !== undefined) next.federatedIssuers = federatedIssuers(fields.federatedIssuers);
}

/** Hands each field of an object-valued section (faults, quirks, ...) to `patchField`, when the section is there. */
function patchSection(fields: Record<string, unknown>, name: string, patchField: (key: string, value: unknown) => void): void {
  const section = fields[name];
  if (section === undefined) return;
  if (section === null || typeof section !== "object" || Array.isArray(section)) throw new Error(`config field ${name} must be an object`);
  for (const [key, value] of Object.entries(section)) patchField(key, value);
}

function patchFault(faults: FaultConfig, key: string, value: unknown): void {
  switch (key) {
    case "rate429":
    case "rate503":
    case "rateDrop":
      faults[key] = num(value, `faults.${key}`, 0, 1);
      break;
    case "retryAfterSeconds":
      faults.retryAfterSeconds = num(value, "faults.retryAfterSeconds", 0, 3600);
      break;
    case "pathPrefix":
      if (value !== null && typeof value !== "string") throw new Error("config field faults.pathPrefix must be a string or null");
      faults.pathPrefix = value;
      break;
    case "maxCount":
      faults.maxCount = value === null ? null : num(value, "faults.maxCount", 0);
      break;
    case "seed":
      faults.seed = value === null ? null : Math.trunc(num(value, "faults.seed", 0, 0xffffffff));
      break;
    default:
      throw new Error(`unknown config field faults.${key}`);
  }
}

function patchServiceProtection(limits: ServiceProtectionConfig, key: string, value: unknown): void {
  switch (key) {
    case "enabled":
      limits.enabled = bool(value, "serviceProtection.enabled");
      break;
    case "maxRequestsPerWindow":
    case "maxConcurrent":
      limits[key] = num(value, `serviceProtection.${key}`, 1);
      break;
    case "windowMs":
      limits.windowMs = num(value, "serviceProtection.windowMs", 1);
      break;
    case "retryAfterSeconds":
      limits.retryAfterSeconds = num(value, "serviceProtection.retryAfterSeconds", 0, 3600);
      break;
    default:
      throw new Error(`unknown config field serviceProtection.${key}`);
  }
}

const QUIRK_FIELDS: readonly (keyof QuirksConfig)[] = ["newRoleSelfPrivileges", "addPrivilegesKeepsExistingDepth"];
const STRICTNESS_FIELDS: readonly (keyof StrictnessConfig)[] = ["graphRequests", "dataverseActions", "graphPermissions"];

/** A section of on/off fields (quirks, strict). */
function patchSwitch<Section extends object>(
  section: Section,
  known: readonly (keyof Section & string)[],
  sectionName: string,
  key: string,
  value: unknown,
): void {
  const field = known.find((name) => name === key);
  if (!field) throw new Error(`unknown config field ${sectionName}.${key}`);
  (section as Record<string, boolean>)[field] = bool(value, `${sectionName}.${key}`);
}

const CONFIG_FIELDS = [
  "latencyMs",
  "faults",
  "serviceProtection",
  "quirks",
  "replicationLagMs",
  "graphPageSize",
  "armPageSize",
  "strict",
  "deployerGraphPermissions",
  "federatedIssuers",
];

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string"))
    throw new Error(`config field ${name} must be an array of strings`);
  return [...(value as string[])];
}

function federatedIssuers(value: unknown): FederatedIssuerConfig[] {
  if (!Array.isArray(value)) throw new Error("config field federatedIssuers must be an array of {issuer, publicKeyPem}");
  return value.map((item, index) => {
    const entry = item as Record<string, unknown> | null;
    if (
      !entry ||
      typeof entry.issuer !== "string" ||
      typeof entry.publicKeyPem !== "string" ||
      !entry.publicKeyPem.includes("PUBLIC KEY")
    ) {
      throw new Error(`config field federatedIssuers[${index}] must be {issuer: string, publicKeyPem: PEM public key}`);
    }
    return { issuer: entry.issuer, publicKeyPem: entry.publicKeyPem };
  });
}
