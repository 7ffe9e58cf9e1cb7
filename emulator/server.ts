// One HTTPS server for Entra ID, Microsoft Graph, Dataverse and the admin API, routed by path.
// Hosts only matter for audiences: Dataverse is https://localhost:<port>, Entra and Graph are
// https://127.0.0.1:<port>. It listens on 127.0.0.1 and, when the machine has it, on ::1 with the
// same port, so that "localhost" works whichever address a client resolves first.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { handleAdmin, RequestLog, dumpState, type RequestCounters } from "./admin";
import { FaultDice } from "./fault-dice";
import {
  applyConfigPatch,
  defaultConfig,
  environmentNames,
  type EmulatorConfig,
  type EmulatorConfigPatch,
  type EmulatorOptions,
} from "./config";
import { handleDataverse, resetProtection } from "./dataverse";
import { adminError, dataverseError, DataverseErrorCode, entraError, graphError, ServiceError, type Service } from "./errors";
import { handleEntra } from "./entra";
import { issueFederatedToken } from "./entra-assertions";
import { handleGraph } from "./graph";
import { patchDefaultPolicy } from "./app-management-policies";
import { RequestContext, type EmulatorCore, type EmulatorUrls } from "./http";
import { DEFAULT_ENVIRONMENT_NAME, SEEDED_IDS, seedState } from "./seed";
import { DirectoryStore } from "./directory-store";
import { environmentsOf, JsonFileStore } from "./store";
import { ensureCertificates } from "./tls";

export interface DeployerCredentials {
  /** The deployer app registration's client id (appId). */
  clientId: string;
  /** Its client secret (an emulator credential, fixed). */
  clientSecret: string;
  /** Its service principal's object id (the `oid` of its tokens). */
  objectId: string;
  /** Its application object id. */
  applicationObjectId: string;
  /** Its Dataverse application user id. */
  systemUserId: string;
}

export interface RunningEmulator extends EmulatorUrls {
  tenantId: string;
  deployer: DeployerCredentials;
  /** Absolute path of the CA certificate to trust (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** The environment variables a client needs (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, AZURE_*). */
  env: Record<string, string>;
  /** The last request log lines (up to 2000), whatever the log option. */
  readonly logLines: string[];
  /** Stops listening, closes open connections and saves the state file. */
  stop(): Promise<void>;
  /** The emulator clock. */
  now(): Date;
  /** Sets the clock: an ISO date string sets "now", a number sets the offset from real time in ms. */
  setClock(value: string | number): void;
  /** Moves the clock forward (or back) by ms. */
  advanceClock(ms: number): void;
  /** The current run-time configuration. */
  config(): EmulatorConfig;
  /** Applies a partial configuration (same validation as POST /_emulator/config). */
  configure(patch: EmulatorConfigPatch): EmulatorConfig;
  /** Request counters (same as GET /_emulator/requests). */
  requests(): RequestCounters;
  resetRequests(): void;
  /** State dump without secrets (same as GET /_emulator/state). */
  state(): Record<string, unknown>;
  /** Back to the seeded state. */
  reset(): void;
  /** A token from the emulator's own federated issuer (same as POST /_emulator/issuer/token). */
  federatedToken(subject: string, audience?: string): { token: string; issuer: string };
}

const MAX_LOG_LINES = 2000;
const SENSITIVE_QUERY = /secret|password|token|assertion|code|key|sig|credential/i;

/** Path plus query, with the values of sensitive-looking query parameters masked. */
function loggablePath(rawUrl: string | undefined): string {
  const url = new URL(rawUrl ?? "/", "https://emulator.invalid");
  const parts: string[] = [];
  for (const [k, v] of url.searchParams) parts.push(`${k}=${SENSITIVE_QUERY.test(k) ? "***" : v}`);
  return parts.length ? `${url.pathname}?${parts.join("&")}` : url.pathname;
}

function classify(path: string): Service | "unknown" {
  if (path === "/_emulator" || path.startsWith("/_emulator/")) return "admin";
  if (path.startsWith("/api/data/")) return "dataverse";
  if (/^\/(v1\.0|beta)(\/|$)/.test(path)) return "graph";
  if (path.startsWith("/metadata/") || /^\/[^/]+\/(oauth2|v2\.0|discovery|\.well-known)(\/|$)/.test(path)) return "entra";
  return "unknown";
}

function faultError(service: Service | "unknown", status: 429 | 503, retryAfter: number): ServiceError {
  const h = { "Retry-After": String(retryAfter) };
  if (service === "dataverse") {
    return status === 429
      ? dataverseError(
          429,
          DataverseErrorCode.tooManyRequests,
          "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
          h,
        )
      : dataverseError(
          503,
          DataverseErrorCode.serviceUnavailable,
          "The service is temporarily unavailable (emulated fault). Retry after the Retry-After interval.",
          h,
        );
  }
  if (service === "graph") {
    return status === 429
      ? graphError(429, "TooManyRequests", "Too many requests are being made. Retry after the Retry-After interval (emulated fault).", h)
      : graphError(503, "serviceNotAvailable", "The service is temporarily unavailable (emulated fault).", h);
  }
  return status === 429
    ? entraError(
        429,
        "temporarily_unavailable",
        90055,
        "The request was throttled (emulated fault). Retry after the Retry-After interval.",
        h,
      )
    : entraError(503, "temporarily_unavailable", 90033, "A transient error has occurred (emulated fault). Please try again.", h);
}

function unsupportedError(service: Service | "unknown", method: string, path: string): ServiceError {
  const msg = `The emulator does not support ${method} ${path}. It was logged as UNSUPPORTED; see emulator/README.md.`;
  switch (service) {
    case "dataverse":
      return dataverseError(501, DataverseErrorCode.notImplemented, msg);
    case "graph":
      return graphError(501, "NotImplemented", msg);
    case "admin":
      return adminError(404, msg);
    default:
      return entraError(501, "invalid_request", 900561, msg);
  }
}

function internalError(service: Service | "unknown", message: string): ServiceError {
  switch (service) {
    case "dataverse":
      return dataverseError(500, "0x80040216", `An unexpected error occurred: ${message}`);
    case "graph":
      return graphError(500, "generalException", `An unexpected error occurred: ${message}`);
    case "admin":
      return adminError(500, message);
    default:
      return entraError(500, "server_error", 90000, `An unexpected error occurred: ${message}`);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** The run-time configuration fields of the start options. */
function configPatchOf(options: EmulatorOptions): EmulatorConfigPatch {
  const {
    latencyMs,
    faults,
    serviceProtection,
    quirks,
    replicationLagMs,
    graphPageSize,
    strict,
    deployerGraphPermissions,
    federatedIssuers,
  } = options;
  const patch: Record<string, unknown> = {
    latencyMs,
    faults,
    serviceProtection,
    quirks,
    replicationLagMs,
    graphPageSize,
    strict,
    deployerGraphPermissions,
    federatedIssuers,
  };
  for (const key of Object.keys(patch)) if (patch[key] === undefined) delete patch[key];
  return patch as EmulatorConfigPatch;
}

/** Starts the emulator. Port 0 (the default) picks a free port; the real one is in the result. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const tls = await ensureCertificates(options.tlsDir);
  const key = readFileSync(tls.keyFile);
  const cert = readFileSync(tls.certFile);
  const names = environmentNames(options.environments, DEFAULT_ENVIRONMENT_NAME);
  const store = new JsonFileStore(() => seedState(names), options.stateFile);
  const stored = environmentsOf(store.state).length;
  if (stored !== names.length) {
    throw new Error(
      `the state file ${options.stateFile ?? ""} holds ${stored} environment(s) but ${names.length} were asked for: start with the same 'environments' or another state file.`,
    );
  }
  if (options.clockOffsetMs !== undefined) store.state.clockOffsetMs = options.clockOffsetMs;
  if (options.defaultAppManagementPolicy) patchDefaultPolicy(store.state, options.defaultAppManagementPolicy);
  const initial = applyConfigPatch(defaultConfig(), configPatchOf(options));

  const logLines: string[] = [];
  const log = (line: string) => {
    logLines.push(line);
    if (logLines.length > MAX_LOG_LINES) logLines.splice(0, logLines.length - MAX_LOG_LINES);
    if (options.log) options.log(line);
  };
  const requests = new RequestLog();
  const sockets = new Set<Socket>();
  const faultDice = new FaultDice();

  // The URLs depend on the port, known only after listen: the core is completed then.
  const urls: EmulatorUrls = {
    environments: [],
    port: 0,
    url: "",
    environmentUrl: "",
    authorityHost: "",
    metadataHost: "",
    graphUrl: "",
    graphAudience: "",
  };
  const core: EmulatorCore = {
    store,
    directory: new DirectoryStore(store),
    config: initial,
    urls,
    now: () => new Date(Date.now() + store.state.clockOffsetMs),
    tokenKey: createHash("sha256").update(`dataverse-s2s emulator token key:${store.state.tenant.tenantId}`).digest(),
    log,
  };

  const info = () => ({
    port: urls.port,
    url: urls.url,
    environmentUrl: urls.environmentUrl,
    environments: urls.environments,
    authorityHost: urls.authorityHost,
    metadataHost: urls.metadataHost,
    graphUrl: urls.graphUrl,
    tenantId: store.state.tenant.tenantId,
    deployerClientId: SEEDED_IDS.deployer.clientId,
    caFile: tls.caFile,
  });
  const resetAll = () => {
    faultDice.reseed(core.config.faults.seed);
    store.reset();
    requests.reset();
    resetProtection(core);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const path = new URL(req.url ?? "/", "https://emulator.invalid").pathname;
    const service = classify(path);
    const delay = () => (core.config.latencyMs > 0 ? new Promise<void>((r) => setTimeout(r, core.config.latencyMs)) : Promise.resolve());
    const ctx = new RequestContext(req, res, core, service, delay);
    let note = "";
    let finished = false;
    const done = (status: string) => {
      if (finished) return;
      finished = true;
      const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
      // The reset itself is not counted: after DELETE /_emulator/requests the counters are zero.
      if (ctx.operation !== "admin DELETE /_emulator/requests") requests.record(service, ctx.operation, status, ctx.environmentName);
      log(`${new Date().toISOString()} ${service} ${ctx.method} ${loggablePath(req.url)} ${status} ${ms}ms${note}`);
    };
    res.on("finish", () => done(String(res.statusCode)));
    res.on("close", () => done(res.writableFinished ? String(res.statusCode) : "dropped"));

    try {
      if (service !== "admin") {
        const f = core.config.faults;
        const eligible = (f.pathPrefix === null || path.startsWith(f.pathPrefix)) && (f.maxCount === null || f.maxCount > 0);
        if (eligible && f.rateDrop + f.rate429 + f.rate503 > 0) {
          const r = faultDice.roll(f.seed);
          const kind =
            r < f.rateDrop ? "drop" : r < f.rateDrop + f.rate429 ? "429" : r < f.rateDrop + f.rate429 + f.rate503 ? "503" : undefined;
          if (kind) {
            if (f.maxCount !== null) f.maxCount--;
            requests.fault(kind);
            ctx.operation = `fault ${kind}`;
            note = ` FAULT ${kind}`;
            if (kind === "drop") {
              req.socket.destroy();
              return;
            }
            throw faultError(service, kind === "429" ? 429 : 503, f.retryAfterSeconds);
          }
        }
      }
      let handled: boolean;
      switch (service) {
        case "admin":
          handled = await handleAdmin(ctx, { requests, reset: resetAll, info });
          break;
        case "dataverse":
          handled = await handleDataverse(ctx);
          break;
        case "graph":
          await delay();
          handled = await handleGraph(ctx);
          break;
        case "entra":
          await delay();
          handled = await handleEntra(ctx);
          break;
        default:
          handled = false;
      }
      if (!handled) {
        requests.unsupported(service, ctx.method, path);
        note = " UNSUPPORTED";
        ctx.operation = ctx.operation ?? `${service} unsupported`;
        throw unsupportedError(service, ctx.method, path);
      }
    } catch (err) {
      const e = err instanceof ServiceError ? err : internalError(service, (err as Error).message);
      if (!(err instanceof ServiceError)) note = ` ERROR ${(err as Error).message}`;
      ctx.send(e.status, e.body(core.now()), e.headers);
    }
  };

  const servers: Server[] = [];
  const makeServer = () => {
    const s = createServer({ key, cert }, (req, res) => void onRequest(req, res));
    s.on("connection", (sock: Socket) => {
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
    });
    s.on("tlsClientError", () => {
      /* a client that refuses the certificate: nothing to answer */
    });
    return s;
  };
  // Each environment has a port of its own on 127.0.0.1 and (when the machine has it) ::1, so that
  // "localhost" works whichever address a client resolves first. The first environment's port is
  // also Entra's and Graph's (127.0.0.1): the host names differ, so the audiences do.
  const listenOnLoopback = async (wanted: number): Promise<number> => {
    const primary = makeServer();
    await listen(primary, wanted, "127.0.0.1");
    servers.push(primary);
    const bound = (primary.address() as AddressInfo).port;
    const secondary = makeServer();
    try {
      await listen(secondary, bound, "::1");
      servers.push(secondary);
    } catch {
      // No IPv6 loopback here: "localhost" resolves to 127.0.0.1 only.
    }
    return bound;
  };
  const closeAll = () => Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  const port = await listenOnLoopback(options.port ?? 0);
  urls.environments.push({ name: names[0], url: `https://localhost:${port}`, port });
  for (let i = 1; i < names.length; i++) {
    try {
      const envPort = await listenOnLoopback(options.port ? port + i : 0);
      urls.environments.push({ name: names[i], url: `https://localhost:${envPort}`, port: envPort });
    } catch (err) {
      await closeAll();
      throw new Error(`could not listen for environment '${names[i]}': ${(err as Error).message}`);
    }
  }

  urls.port = port;
  urls.url = `https://127.0.0.1:${port}`;
  urls.environmentUrl = `https://localhost:${port}`;
  urls.authorityHost = `https://127.0.0.1:${port}`;
  urls.metadataHost = `127.0.0.1:${port}`;
  urls.graphUrl = `https://127.0.0.1:${port}/v1.0`;
  urls.graphAudience = `https://127.0.0.1:${port}`;

  let stopped = false;
  const running: RunningEmulator = {
    ...urls,
    tenantId: store.state.tenant.tenantId,
    deployer: {
      clientId: SEEDED_IDS.deployer.clientId,
      clientSecret: SEEDED_IDS.deployer.clientSecret,
      objectId: SEEDED_IDS.deployer.objectId,
      applicationObjectId: SEEDED_IDS.deployer.applicationObjectId,
      systemUserId: SEEDED_IDS.deployer.systemUserId,
    },
    caFile: tls.caFile,
    env: {
      SSL_CERT_FILE: tls.caFile,
      NODE_EXTRA_CA_CERTS: tls.caFile,
      AZURE_AUTHORITY_HOST: urls.authorityHost,
      AZURE_TENANT_ID: store.state.tenant.tenantId,
      AZURE_CLIENT_ID: SEEDED_IDS.deployer.clientId,
      AZURE_CLIENT_SECRET: SEEDED_IDS.deployer.clientSecret,
    },
    logLines,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      for (const sock of sockets) sock.destroy();
      store.save();
    },
    now: () => core.now(),
    setClock(value) {
      store.state.clockOffsetMs = typeof value === "number" ? value : Date.parse(value) - Date.now();
      if (typeof value === "string" && Number.isNaN(Date.parse(value))) throw new Error(`setClock: not a date: ${value}`);
      store.save();
    },
    advanceClock(ms) {
      store.state.clockOffsetMs += ms;
      store.save();
    },
    config: () => structuredClone(core.config),
    configure(patch) {
      core.config = applyConfigPatch(core.config, patch);
      return structuredClone(core.config);
    },
    requests: () => requests.snapshot(),
    resetRequests() {
      requests.reset();
      resetProtection(core);
    },
    state: () => dumpState(store.state, core.now()),
    reset: resetAll,
    federatedToken: (subject, audience) => issueFederatedToken(core, subject, audience),
  };
  return running;
}
