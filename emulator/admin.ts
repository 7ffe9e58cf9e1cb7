// The admin API under /_emulator/ (loopback only, no token): configuration of quirks and faults,
// the clock, request counters, a state dump without secrets, and a reset to the seed.
import { issueFederatedToken } from "./entra-assertions";
import { applyConfigPatch } from "./config";
import { resetProtection } from "./dataverse";
import { adminError } from "./errors";
import { RequestContext, type EmulatorCore } from "./http";
import { DEPTH_NAMES, privilegeById } from "./privileges";
import { DEFAULT_ENVIRONMENT_NAME } from "./seed";
import { environmentsOf, type ApplicationRecord, type EnvironmentState, type StateData } from "./store";
import { handlePolicyAdmin } from "./app-management-policies";
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
    const c = this.counters;
    c.total++;
    c.services[service] = (c.services[service] ?? 0) + 1;
    if (environment !== undefined) c.environments[environment] = (c.environments[environment] ?? 0) + 1;
    if (operation) c.operations[operation] = (c.operations[operation] ?? 0) + 1;
    c.statuses[status] = (c.statuses[status] ?? 0) + 1;
  }

  batchParts(operations: readonly string[]): void {
    const c = this.counters;
    for (const operation of operations) c.batchOperations[operation] = (c.batchOperations[operation] ?? 0) + 1;
  }

  fault(kind: string): void {
    this.counters.faults[kind] = (this.counters.faults[kind] ?? 0) + 1;
  }

  unsupported(service: string, method: string, path: string): void {
    const hit = this.counters.unsupported.find((u) => u.service === service && u.method === method && u.path === path);
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
    applications: Object.values(state.applications).map((a) => ({ ...a.doc, owners: [...a.owners] })),
    servicePrincipals: Object.values(state.servicePrincipals).map((s) => ({ ...s.doc, owners: [...s.owners] })),
    oauth2PermissionGrants: Object.values(state.oauth2PermissionGrants),
    deletedItems: Object.entries(state.deletedItems).map(([id, d]) => ({
      id,
      kind: d.kind,
      deletedDateTime: d.deletedDateTime,
      displayName: d.record.doc.displayName ?? null,
    })),
    /** The first environment (the only one by default). */
    environment: dumpEnvironment(state.environment),
    /** Every environment, the first one first. */
    environments: environmentsOf(state).map(dumpEnvironment),
  };
}

function dumpEnvironment(env: EnvironmentState): Record<string, unknown> {
  return {
    name: env.name ?? DEFAULT_ENVIRONMENT_NAME,
    organizationId: env.organizationId,
    businessUnits: Object.values(env.businessUnits),
    roles: Object.values(env.roles).map((r) => {
      const source = r.parentroleid ? (env.roles[r.parentrootroleid] ?? r) : r;
      const privileges: Record<string, string> = {};
      for (const [pid, depth] of Object.entries(source.privileges)) privileges[privilegeById(pid)?.name ?? pid] = DEPTH_NAMES[depth];
      return {
        roleid: r.roleid,
        name: r.name,
        description: r.description,
        businessunitid: r.businessunitid,
        roletemplateid: r.roletemplateid,
        parentroleid: r.parentroleid,
        parentrootroleid: r.parentrootroleid,
        privilegeCount: Object.keys(privileges).length,
        privileges,
        selfPrivileges: r.selfPrivileges.map((p) => privilegeById(p)?.name ?? p),
      };
    }),
    systemUsers: Object.values(env.systemUsers),
  };
}

export interface AdminHooks {
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
  const m = ctx.method;
  ctx.op(`${m} /_emulator/${name}`);
  const body = async (): Promise<Record<string, unknown>> => {
    let b: unknown;
    try {
      b = await ctx.json();
    } catch {
      throw adminError(400, "The body is not valid JSON.");
    }
    if (b === undefined) return {};
    if (b === null || typeof b !== "object" || Array.isArray(b)) throw adminError(400, "The body must be a JSON object.");
    return b as Record<string, unknown>;
  };

  switch (`${m} ${name}`) {
    case "GET health":
    case "GET info":
      ctx.send(200, { ok: true, ...hooks.info() });
      return true;
    case "POST issuer/token": {
      // A federated token from the emulator's own issuer, for a federatedIdentityCredential to trust.
      const request = await body();
      if (typeof request.subject !== "string" || request.subject === "") throw adminError(400, 'Send {"subject":"...","audience"?:"..."}.');
      if (request.audience !== undefined && typeof request.audience !== "string") throw adminError(400, "audience must be a string.");
      ctx.send(200, issueFederatedToken(core, request.subject, request.audience as string | undefined));
      return true;
    }
    case "GET config":
      ctx.send(200, core.config);
      return true;
    case "POST config":
    case "PATCH config": {
      const patch = await body();
      try {
        core.config = applyConfigPatch(core.config, patch);
      } catch (err) {
        throw adminError(400, (err as Error).message);
      }
      ctx.send(200, core.config);
      return true;
    }
    case "GET clock":
      ctx.send(200, { now: core.now().toISOString(), offsetMs: core.store.state.clockOffsetMs });
      return true;
    case "POST clock": {
      const b = await body();
      if (typeof b.offsetMs === "number" && Number.isFinite(b.offsetMs)) core.store.state.clockOffsetMs = b.offsetMs;
      else if (typeof b.advanceMs === "number" && Number.isFinite(b.advanceMs)) core.store.state.clockOffsetMs += b.advanceMs;
      else if (typeof b.now === "string" && !Number.isNaN(Date.parse(b.now)))
        core.store.state.clockOffsetMs = Date.parse(b.now) - Date.now();
      else throw adminError(400, 'Send {"offsetMs":n}, {"advanceMs":n} or {"now":"<ISO 8601>"}.');
      ctx.core.store.save();
      ctx.send(200, { now: core.now().toISOString(), offsetMs: core.store.state.clockOffsetMs });
      return true;
    }
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
    default: {
      const findApplication = (key: string) =>
        (core.directory.byId("applications", key) as ApplicationRecord | undefined) ?? core.directory.application(key);
      const answer = await handlePolicyAdmin(core.store.state, m, name, body, findApplication).catch((err: unknown) => {
        // Graph's own validation messages, answered as admin errors.
        throw err instanceof ServiceError && err.service === "graph" ? adminError(err.status, err.message) : err;
      });
      if (!answer) return false;
      core.store.save();
      ctx.send(answer.status, answer.body);
      return true;
    }
  }
}
