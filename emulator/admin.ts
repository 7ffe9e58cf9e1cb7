// The admin API under /_emulator/ (loopback only, no token): configuration of quirks and faults,
// the clock, request counters, a state dump without secrets, and a reset to the seed.
import { issueFederatedToken } from "./entra-assertions";
import { applyConfigPatch } from "./config";
import { resetProtection } from "./dataverse";
import { rootRoleOf } from "./dataverse-store";
import { adminError } from "./errors";
import { RequestContext, type EmulatorCore } from "./http";
import { DEPTH_NAMES, privilegeById } from "./privileges";
import { DEFAULT_ENVIRONMENT_NAME } from "./seed";
import { environmentsOf, type ApplicationRecord, type EnvironmentState, type StateData } from "./store";
import { AppManagementStore, handlePolicyAdmin } from "./app-management-policies";
import { ServiceError } from "./errors";

export interface UnsupportedRequest {
  service: string;
  method: string;
  /** Path without the query string. */
  path: string;
  count: number;
}

export interface RequestCounters {
  total: number;
  /** Requests per service: entra, graph, dataverse, admin, unknown. */
  services: Record<string, number>;
  /** Requests per operation, e.g. "graph POST /applications", "dataverse GET roles". */
  operations: Record<string, number>;
  /**
   * Requests carried inside Dataverse $batch requests, per operation ("dataverse GET roles(<id>)").
   * Each $batch is one HTTP request in `total`, `services` and `operations` ("dataverse POST $batch").
   */
  batchOperations: Record<string, number>;
  /** Answers per HTTP status ("dropped" for destroyed connections). */
  statuses: Record<string, number>;
  /** Dataverse requests per environment name. */
  environments: Record<string, number>;
  /** Injected faults by kind ("429", "503", "drop"). */
  faults: Record<string, number>;
  unsupported: UnsupportedRequest[];
}

export class RequestLog {
  private counters: RequestCounters = RequestLog.empty();

  private static empty(): RequestCounters {
    return { total: 0, services: {}, operations: {}, batchOperations: {}, environments: {}, statuses: {}, faults: {}, unsupported: [] };
  }

  record(service: string, operation: string | undefined, status: string, environment?: string): void {
    const counters = this.counters;
    counters.total++;
    counters.services[service] = (counters.services[service] ?? 0) + 1;
    if (environment !== undefined) counters.environments[environment] = (counters.environments[environment] ?? 0) + 1;
    if (operation) counters.operations[operation] = (counters.operations[operation] ?? 0) + 1;
    counters.statuses[status] = (counters.statuses[status] ?? 0) + 1;
  }

  batchParts(operations: readonly string[]): void {
    const counters = this.counters;
    for (const operation of operations) counters.batchOperations[operation] = (counters.batchOperations[operation] ?? 0) + 1;
  }

  fault(kind: string): void {
    this.counters.faults[kind] = (this.counters.faults[kind] ?? 0) + 1;
  }

  unsupported(service: string, method: string, path: string): void {
    const hit = this.counters.unsupported.find((entry) => entry.service === service && entry.method === method && entry.path === path);
    if (hit) hit.count++;
    else this.counters.unsupported.push({ service, method, path, count: 1 });
  }

  snapshot(): RequestCounters {
    return structuredClone(this.counters);
  }

  reset(): void {
    this.counters = RequestLog.empty();
  }
}

/** The state without secret hashes, for tests and debugging. */
export function dumpState(state: StateData, now: Date): Record<string, unknown> {
  return {
    clock: { now: now.toISOString(), offsetMs: state.clockOffsetMs },
    tenant: state.tenant,
    applications: Object.values(state.applications).map((application) => ({ ...application.doc, owners: [...application.owners] })),
    servicePrincipals: Object.values(state.servicePrincipals).map((servicePrincipal) => ({
      ...servicePrincipal.doc,
      owners: [...servicePrincipal.owners],
    })),
    oauth2PermissionGrants: Object.values(state.oauth2PermissionGrants),
    deletedItems: Object.entries(state.deletedItems).map(([id, deleted]) => ({
      id,
      kind: deleted.kind,
      deletedDateTime: deleted.deletedDateTime,
      displayName: deleted.record.doc.displayName ?? null,
    })),
    azure: dumpAzure(state),
    /** The first environment (the only one by default). */
    environment: dumpEnvironment(state.environment),
    /** Every environment, the first one first. */
    environments: environmentsOf(state).map(dumpEnvironment),
  };
}

/** Subscriptions, vaults (secrets without values), identities and role assignments. */
function dumpAzure(state: StateData): Record<string, unknown> | null {
  const azure = state.azure;
  if (!azure) return null;
  return {
    subscriptions: Object.values(azure.subscriptions).map((subscription) => ({
      subscriptionId: subscription.subscriptionId,
      displayName: subscription.displayName,
      resourceGroups: Object.values(subscription.resourceGroups),
    })),
    vaults: Object.values(azure.vaults).map((vault) => ({
      ...vault.doc,
      secrets: Object.values(vault.secrets).map((secret) => ({
        name: secret.name,
        versions: secret.versions.map(({ sealedValue: _sealed, ...version }) => version),
      })),
      deletedSecrets: Object.values(vault.deletedSecrets).map((deleted) => ({
        name: deleted.secret.name,
        deletedDate: deleted.deletedDate,
        scheduledPurgeDate: deleted.scheduledPurgeDate,
      })),
    })),
    identities: Object.values(azure.identities).map((identity) => ({
      ...identity.doc,
      federatedIdentityCredentials: Object.values(identity.federatedCredentials),
    })),
    roleAssignments: Object.values(azure.roleAssignments),
  };
}

function dumpEnvironment(environment: EnvironmentState): Record<string, unknown> {
  return {
    name: environment.name ?? DEFAULT_ENVIRONMENT_NAME,
    organizationId: environment.organizationId,
    businessUnits: Object.values(environment.businessUnits),
    roles: Object.values(environment.roles).map((role) => {
      const privileges: Record<string, string> = {};
      for (const [privilegeId, depth] of Object.entries(rootRoleOf(environment, role).privileges))
        privileges[privilegeById(privilegeId)?.name ?? privilegeId] = DEPTH_NAMES[depth];
      return {
        roleid: role.roleid,
        name: role.name,
        description: role.description,
        businessunitid: role.businessunitid,
        roletemplateid: role.roletemplateid,
        parentroleid: role.parentroleid,
        parentrootroleid: role.parentrootroleid,
        privilegeCount: Object.keys(privileges).length,
        privileges,
        selfPrivileges: role.selfPrivileges.map((privilegeId) => privilegeById(privilegeId)?.name ?? privilegeId),
      };
    }),
    systemUsers: Object.values(environment.systemUsers),
  };
}

interface AdminHooks {
  requests: RequestLog;
  reset(): void;
  info(): Record<string, unknown>;
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

export async function handleAdmin(ctx: RequestContext, hooks: AdminHooks): Promise<boolean> {
  const core: EmulatorCore = ctx.core;
  if (!isLoopback(ctx.req.socket.remoteAddress)) throw adminError(403, "The admin API answers loopback clients only.");
  const name = ctx.path.replace(/^\/_emulator\/?/, "").replace(/\/$/, "");
  const method = ctx.method;
  ctx.op(`${method} /_emulator/${name}`);
  switch (`${method} ${name}`) {
    case "GET health":
    case "GET info":
      ctx.send(200, { ok: true, ...hooks.info() });
      return true;
    case "POST issuer/token":
      await issueToken(ctx);
      return true;
    case "GET config":
      ctx.send(200, core.config);
      return true;
    case "POST config":
    case "PATCH config":
      await patchConfig(ctx);
      return true;
    case "GET clock":
      ctx.send(200, clockAnswer(core));
      return true;
    case "POST clock":
      await setClock(ctx);
      return true;
    case "GET requests":
      ctx.send(200, hooks.requests.snapshot());
      return true;
    case "DELETE requests":
      hooks.requests.reset();
      resetProtection(core);
      ctx.send(204, undefined);
      return true;
    case "GET state":
      ctx.send(200, dumpState(core.store.state, core.now()));
      return true;
    case "POST reset":
      hooks.reset();
      ctx.send(204, undefined);
      return true;
    default:
      return policyRequest(ctx, method, name);
  }
}

/** The body as a JSON object ({} when empty). */
async function adminBody(ctx: RequestContext): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = await ctx.json();
  } catch {
    throw adminError(400, "The body is not valid JSON.");
  }
  if (parsed === undefined) return {};
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw adminError(400, "The body must be a JSON object.");
  return parsed as Record<string, unknown>;
}

/** POST issuer/token: a federated token from the emulator's own issuer, for a federatedIdentityCredential to trust. */
async function issueToken(ctx: RequestContext): Promise<void> {
  const request = await adminBody(ctx);
  if (typeof request.subject !== "string" || request.subject === "") throw adminError(400, 'Send {"subject":"...","audience"?:"..."}.');
  if (request.audience !== undefined && typeof request.audience !== "string") throw adminError(400, "audience must be a string.");
  ctx.send(200, issueFederatedToken(ctx.core, request.subject, request.audience as string | undefined));
}

async function patchConfig(ctx: RequestContext): Promise<void> {
  const patch = await adminBody(ctx);
  try {
    ctx.core.config = applyConfigPatch(ctx.core.config, patch);
  } catch (err) {
    throw adminError(400, (err as Error).message);
  }
  ctx.send(200, ctx.core.config);
}

function clockAnswer(core: EmulatorCore): Record<string, unknown> {
  return { now: core.now().toISOString(), offsetMs: core.store.state.clockOffsetMs };
}

/** POST clock: {"offsetMs":n}, {"advanceMs":n} or {"now":"<ISO 8601>"}. */
async function setClock(ctx: RequestContext): Promise<void> {
  const { store } = ctx.core;
  const request = await adminBody(ctx);
  if (typeof request.offsetMs === "number" && Number.isFinite(request.offsetMs)) store.state.clockOffsetMs = request.offsetMs;
  else if (typeof request.advanceMs === "number" && Number.isFinite(request.advanceMs)) store.state.clockOffsetMs += request.advanceMs;
  else if (typeof request.now === "string" && !Number.isNaN(Date.parse(request.now)))
    store.state.clockOffsetMs = Date.parse(request.now) - Date.now();
  else throw adminError(400, 'Send {"offsetMs":n}, {"advanceMs":n} or {"now":"<ISO 8601>"}.');
  store.save();
  ctx.send(200, clockAnswer(ctx.core));
}

/** The app management policy routes (app-management-policies.ts); false for any other path. */
async function policyRequest(ctx: RequestContext, method: string, name: string): Promise<boolean> {
  const core = ctx.core;
  const findApplication = (key: string) =>
    (core.directory.byId("applications", key) as ApplicationRecord | undefined) ?? core.directory.application(key);
  const policies = new AppManagementStore(core.store);
  const answer = await handlePolicyAdmin(policies, method, name, () => adminBody(ctx), findApplication).catch((err: unknown) => {
    // Graph's own validation messages, answered as admin errors.
    throw err instanceof ServiceError && err.service === "graph" ? adminError(err.status, err.message) : err;
  });
  if (!answer) return false;
  ctx.send(answer.status, answer.body);
  return true;
}
