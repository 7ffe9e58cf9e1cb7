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
import {
  adminError,
  armError,
  dataverseError,
  DataverseErrorCode,
  entraError,
  graphError,
  identityEndpointError,
  keyVaultError,
  ServiceError,
  type Service,
} from "./errors";
import { AzureStore, handleArm, handleIdentityEndpoint, handleKeyVault, identityHeader } from "./arm";
import { handleEntra } from "./entra";
import { issueFederatedToken } from "./entra-assertions";
import { handleGraph } from "./graph";
import { AppManagementStore } from "./app-management-policies";
import { RequestContext, type EmulatorCore, type EmulatorUrls, type VaultAddresses } from "./http";
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

/** The seeded Azure side (arm/) and where its endpoints are. */
export interface AzureAddresses {
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  /** The seeded RBAC vault: its name, resource id and URI (https://127.0.0.1:<its own port>/). */
  vaultName: string;
  vaultId: string;
  vaultUri: string;
}

/** The managed identity endpoint (App Service protocol) as a process running "in Azure" sees it. */
export interface ManagedIdentityEndpoint {
  /** IDENTITY_ENDPOINT: https://127.0.0.1:<port>/msi/token */
  endpoint: string;
  /** IDENTITY_HEADER (fixed per tenant). */
  header: string;
  /** { IDENTITY_ENDPOINT, IDENTITY_HEADER }: set them (with the CA) and ManagedIdentityCredential({ clientId }) gets tokens. */
  env: Record<string, string>;
}

export interface RunningEmulator extends EmulatorUrls {
  tenantId: string;
  deployer: DeployerCredentials;
  azure: AzureAddresses;
  /** A vault's URI (https://127.0.0.1:<its port>/), as its properties.vaultUri says. */
  vaultUri(vaultName: string): string;
  managedIdentity: ManagedIdentityEndpoint;
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
  for (const [name, value] of url.searchParams) parts.push(`${name}=${SENSITIVE_QUERY.test(name) ? "***" : value}`);
  return parts.length ? `${url.pathname}?${parts.join("&")}` : url.pathname;
}

/** The service of a request: every request on a vault's port is Key Vault's; on the others, by path. */
function classify(path: string, vaultPort: boolean): Service | "unknown" {
  if (vaultPort) return "keyvault";
  if (path === "/_emulator" || path.startsWith("/_emulator/")) return "admin";
  if (path.startsWith("/api/data/")) return "dataverse";
  if (/^\/(subscriptions|providers)(\/|$)/i.test(path)) return "arm";
  if (/^\/msi\/token\/?$/i.test(path)) return "identity";
  if (/^\/(v1\.0|beta)(\/|$)/.test(path)) return "graph";
  if (path.startsWith("/metadata/") || /^\/[^/]+\/(oauth2|v2\.0|discovery|\.well-known)(\/|$)/.test(path)) return "entra";
  return "unknown";
}

function faultError(service: Service | "unknown", status: 429 | 503, retryAfter: number): ServiceError {
  const retryAfterHeader = { "Retry-After": String(retryAfter) };
  if (service === "dataverse") {
    return status === 429
      ? dataverseError(
          429,
          DataverseErrorCode.tooManyRequests,
          "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
          retryAfterHeader,
        )
      : dataverseError(
          503,
          DataverseErrorCode.serviceUnavailable,
          "The service is temporarily unavailable (emulated fault). Retry after the Retry-After interval.",
          retryAfterHeader,
        );
  }
  if (service === "graph") {
    return status === 429
      ? graphError(
          429,
          "TooManyRequests",
          "Too many requests are being made. Retry after the Retry-After interval (emulated fault).",
          retryAfterHeader,
        )
      : graphError(503, "serviceNotAvailable", "The service is temporarily unavailable (emulated fault).", retryAfterHeader);
  }
  if (service === "arm") {
    // V: ARM throttling answers 429 with Retry-After (azure-resource-manager/management/request-limits-and-throttling).
    return status === 429
      ? armError(429, "TooManyRequests", "The request is being throttled (emulated fault).", retryAfterHeader)
      : armError(503, "ServiceUnavailable", "The service is temporarily unavailable (emulated fault).", retryAfterHeader);
  }
  if (service === "keyvault") {
    // V: Key Vault throttling answers 429 "Throttled" (key-vault/general/overview-throttling).
    return status === 429
      ? keyVaultError(
          429,
          "Throttled",
          "Request was not processed because too many requests were received (emulated fault).",
          undefined,
          retryAfterHeader,
        )
      : keyVaultError(503, "ServiceUnavailable", "The service is temporarily unavailable (emulated fault).", undefined, retryAfterHeader);
  }
  if (service === "identity")
    return identityEndpointError(status, "The managed identity endpoint is temporarily unavailable (emulated fault).");
  return status === 429
    ? entraError(
        429,
        "temporarily_unavailable",
        90055,
        "The request was throttled (emulated fault). Retry after the Retry-After interval.",
        retryAfterHeader,
      )
    : entraError(
        503,
        "temporarily_unavailable",
        90033,
        "A transient error has occurred (emulated fault). Please try again.",
        retryAfterHeader,
      );
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
    case "arm":
      return armError(501, "NotImplemented", msg);
    case "keyvault":
      return keyVaultError(501, "NotImplemented", msg);
    case "identity":
      return identityEndpointError(501, msg);
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
    case "arm":
      return armError(500, "InternalServerError", `An unexpected error occurred: ${message}`);
    case "keyvault":
      return keyVaultError(500, "InternalError", `An unexpected error occurred: ${message}`);
    case "identity":
      return identityEndpointError(500, `An unexpected error occurred: ${message}`);
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

/** The run-time configuration fields of the start options: every EmulatorConfig key, named once (in config.ts). */
function configPatchOf(options: EmulatorOptions): EmulatorConfigPatch {
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(defaultConfig()) as (keyof EmulatorConfig)[]) {
    if (options[key] !== undefined) patch[key] = options[key];
  }
  return patch as EmulatorConfigPatch;
}

/** The state file (or memory) with the seeded tenant; refuses a file seeded for other environments. */
function openStore(options: EmulatorOptions, names: string[]): JsonFileStore {
  const store = new JsonFileStore(() => seedState(names), options.stateFile);
  const stored = environmentsOf(store.state).length;
  if (stored !== names.length) {
    throw new Error(
      `the state file ${options.stateFile ?? ""} holds ${stored} environment(s) but ${names.length} were asked for: start with the same 'environments' or another state file.`,
    );
  }
  if (options.clockOffsetMs !== undefined) store.state.clockOffsetMs = options.clockOffsetMs;
  if (options.defaultAppManagementPolicy) new AppManagementStore(store).patchDefault(options.defaultAppManagementPolicy);
  return store;
}

/** Keeps the last MAX_LOG_LINES request lines and passes each to the caller's log, if any. */
function requestLogger(sink: ((line: string) => void) | undefined) {
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    if (lines.length > MAX_LOG_LINES) lines.splice(0, lines.length - MAX_LOG_LINES);
    if (sink) sink(line);
  };
  return { lines, log };
}

/** What the request handler shares with the running emulator. */
interface RequestHandlerParts {
  core: EmulatorCore;
  requests: RequestLog;
  faultDice: FaultDice;
  resetAll: () => void;
  info: () => Record<string, unknown>;
}

/**
 * Rolls the fault dice for a service request: "drop" (close the socket unanswered), a 429/503
 * ServiceError to answer, or undefined (serve normally). Admin requests never fail.
 */
function injectedFault(path: string, service: Service | "unknown", parts: RequestHandlerParts): "drop" | ServiceError | undefined {
  const faults = parts.core.config.faults;
  if (service === "admin") return undefined;
  const eligible = (faults.pathPrefix === null || path.startsWith(faults.pathPrefix)) && (faults.maxCount === null || faults.maxCount > 0);
  if (!eligible || faults.rateDrop + faults.rate429 + faults.rate503 <= 0) return undefined;
  const roll = parts.faultDice.roll(faults.seed);
  let kind: "drop" | "429" | "503" | undefined;
  if (roll < faults.rateDrop) kind = "drop";
  else if (roll < faults.rateDrop + faults.rate429) kind = "429";
  else if (roll < faults.rateDrop + faults.rate429 + faults.rate503) kind = "503";
  if (!kind) return undefined;
  if (faults.maxCount !== null) faults.maxCount--;
  parts.requests.fault(kind);
  return kind === "drop" ? "drop" : faultError(service, kind === "429" ? 429 : 503, faults.retryAfterSeconds);
}

/** Hands the request to its service; false when no route matched. Graph and Entra get the latency here, Dataverse per route. */
async function routeToService(ctx: RequestContext, service: Service | "unknown", parts: RequestHandlerParts): Promise<boolean> {
  switch (service) {
    case "admin":
      return handleAdmin(ctx, { requests: parts.requests, reset: parts.resetAll, info: parts.info });
    case "dataverse":
      return handleDataverse(ctx);
    case "graph":
      await ctx.delay();
      return handleGraph(ctx);
    case "entra":
      await ctx.delay();
      return handleEntra(ctx);
    case "arm":
      await ctx.delay();
      return handleArm(ctx);
    case "keyvault":
      await ctx.delay();
      return handleKeyVault(ctx);
    case "identity":
      await ctx.delay();
      return handleIdentityEndpoint(ctx);
    default:
      return false;
  }
}

/** The HTTPS request listener: counts and logs every request, injects faults, routes, turns throws into service errors. */
function requestHandler(parts: RequestHandlerParts) {
  const { core, requests } = parts;
  return async (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const path = new URL(req.url ?? "/", "https://emulator.invalid").pathname;
    const service = classify(path, core.vaultAddresses.vaultAt(req.socket.localPort) !== undefined);
    const delay = () =>
      core.config.latencyMs > 0 ? new Promise<void>((resolve) => setTimeout(resolve, core.config.latencyMs)) : Promise.resolve();
    const ctx = new RequestContext(req, res, core, service, delay);
    let note = "";
    let finished = false;
    const logLine = (status: string) => {
      const elapsedMs = Number((process.hrtime.bigint() - started) / 1_000_000n);
      // A $batch names the requests it carried, so that a reader of the log sees the writes inside.
      const parts = ctx.batchOperations.length > 0 ? ` parts=[${ctx.batchOperations.join("; ")}]` : "";
      return `${new Date().toISOString()} ${service} ${ctx.method} ${loggablePath(req.url)} ${status} ${elapsedMs}ms${note}${parts}`;
    };
    const done = (status: string) => {
      if (finished) return;
      finished = true;
      // The reset itself is not counted: after DELETE /_emulator/requests the counters are zero.
      if (ctx.operation !== "admin DELETE /_emulator/requests") requests.record(service, ctx.operation, status, ctx.environmentName);
      requests.batchParts(ctx.batchOperations);
      core.log(logLine(status));
    };
    const onAnswer = core.onAnswer;
    if (onAnswer) {
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        onAnswer(logLine(String(res.statusCode)));
        return end(...args);
      }) as typeof res.end;
    }
    res.on("finish", () => done(String(res.statusCode)));
    res.on("close", () => done(res.writableFinished ? String(res.statusCode) : "dropped"));

    try {
      const fault = injectedFault(path, service, parts);
      if (fault) {
        const kind = fault === "drop" ? "drop" : String(fault.status);
        ctx.operation = `fault ${kind}`;
        note = ` FAULT ${kind}`;
        if (fault === "drop") {
          req.socket.destroy();
          return;
        }
        throw fault;
      }
      if (!(await routeToService(ctx, service, parts))) {
        requests.unsupported(service, ctx.method, path);
        note = " UNSUPPORTED";
        ctx.operation = ctx.operation ?? `${service} unsupported`;
        throw unsupportedError(service, ctx.method, path);
      }
    } catch (err) {
      const serviceError = err instanceof ServiceError ? err : internalError(service, (err as Error).message);
      if (!(err instanceof ServiceError)) note = ` ERROR ${(err as Error).message}`;
      ctx.send(serviceError.status, serviceError.body(core.now()), serviceError.headers);
    }
  };
}

/**
 * Each Key Vault's own port (a vault is a host name in Azure: see VaultAddresses in http.ts), opened
 * at start for the vaults in the state and when a vault is created; kept by name until stop.
 */
class VaultPorts implements VaultAddresses {
  private readonly ports = new Map<string, Promise<number>>();
  private readonly names = new Map<number, string>();
  private listeners: Listeners | undefined;

  attach(listeners: Listeners): void {
    this.listeners = listeners;
  }

  async openAll(vaultNames: string[]): Promise<void> {
    await Promise.all(vaultNames.map((name) => this.open(name)));
  }

  open(vaultName: string): Promise<void> {
    const key = vaultName.toLowerCase();
    let port = this.ports.get(key);
    if (!port) {
      const listeners = this.listeners;
      if (!listeners) throw new Error("the vault ports are opened after the server listens");
      port = listeners.listenOnLoopback(0).then((bound) => {
        this.names.set(bound, vaultName);
        return bound;
      });
      this.ports.set(key, port);
    }
    return port.then(() => undefined);
  }

  uri(vaultName: string): string {
    const key = vaultName.toLowerCase();
    const port = [...this.names.entries()].find(([, name]) => name.toLowerCase() === key)?.[0];
    if (port === undefined) throw new Error(`the vault '${vaultName}' has no port yet`);
    return `https://127.0.0.1:${port}/`;
  }

  vaultAt(port: number | undefined): string | undefined {
    return port === undefined ? undefined : this.names.get(port);
  }
}

/** The HTTPS servers of all environments and their open sockets (to close them at stop). */
class Listeners {
  readonly servers: Server[] = [];
  readonly sockets = new Set<Socket>();

  constructor(
    private readonly tls: { key: Buffer; cert: Buffer },
    private readonly onRequest: ReturnType<typeof requestHandler>,
  ) {}

  /**
   * Listens on 127.0.0.1 and (when the machine has it) ::1 with the same port, so that "localhost"
   * works whichever address a client resolves first. Returns the port.
   */
  async listenOnLoopback(wanted: number): Promise<number> {
    const primary = this.makeServer();
    await listen(primary, wanted, "127.0.0.1");
    this.servers.push(primary);
    const bound = (primary.address() as AddressInfo).port;
    const secondary = this.makeServer();
    try {
      await listen(secondary, bound, "::1");
      this.servers.push(secondary);
    } catch {
      // No IPv6 loopback here: "localhost" resolves to 127.0.0.1 only.
    }
    return bound;
  }

  /** Each environment has a port of its own; the first environment's port is also Entra's and Graph's. */
  async listenForEnvironments(names: string[], wantedPort: number): Promise<EmulatorUrls["environments"]> {
    const port = await this.listenOnLoopback(wantedPort);
    const environments = [{ name: names[0], url: `https://localhost:${port}`, port }];
    for (let index = 1; index < names.length; index++) {
      try {
        const environmentPort = await this.listenOnLoopback(wantedPort ? port + index : 0);
        environments.push({ name: names[index], url: `https://localhost:${environmentPort}`, port: environmentPort });
      } catch (err) {
        await this.close();
        throw new Error(`could not listen for environment '${names[index]}': ${(err as Error).message}`);
      }
    }
    return environments;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
    for (const socket of this.sockets) socket.destroy();
  }

  private makeServer(): Server {
    const server = createServer(this.tls, (req, res) => void this.onRequest(req, res));
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    server.on("tlsClientError", () => {
      /* a client that refuses the certificate: nothing to answer */
    });
    return server;
  }
}

/**
 * Host names differ by service so that audiences do: Dataverse is https://localhost:<port>, Entra and
 * Graph are https://127.0.0.1:<port> of the first environment.
 */
function fillUrls(urls: EmulatorUrls, environments: EmulatorUrls["environments"]): void {
  const port = environments[0].port;
  urls.environments.push(...environments);
  urls.port = port;
  urls.url = `https://127.0.0.1:${port}`;
  urls.environmentUrl = `https://localhost:${port}`;
  urls.authorityHost = `https://127.0.0.1:${port}`;
  urls.metadataHost = `127.0.0.1:${port}`;
  urls.graphUrl = `https://127.0.0.1:${port}/v1.0`;
  urls.graphAudience = `https://127.0.0.1:${port}`;
  urls.resourceManagerUrl = `https://127.0.0.1:${port}`;
  urls.identityEndpoint = `https://127.0.0.1:${port}/msi/token`;
}

/** Starts the emulator. Port 0 (the default) picks a free port; the real one is in the result. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const tls = await ensureCertificates(options.tlsDir);
  const names = environmentNames(options.environments, DEFAULT_ENVIRONMENT_NAME);
  const store = openStore(options, names);
  const logger = requestLogger(options.log);
  // The URLs depend on the port, known only after listen: they are filled in then.
  const urls: EmulatorUrls = {
    environments: [],
    port: 0,
    url: "",
    environmentUrl: "",
    authorityHost: "",
    metadataHost: "",
    graphUrl: "",
    graphAudience: "",
    resourceManagerUrl: "",
    identityEndpoint: "",
  };
  const directory = new DirectoryStore(store);
  const vaultPorts = new VaultPorts();
  const tokenKey = createHash("sha256").update(`dataverse-s2s emulator token key:${store.state.tenant.tenantId}`).digest();
  const core: EmulatorCore = {
    store,
    directory,
    azure: new AzureStore(store, directory, tokenKey),
    vaultAddresses: vaultPorts,
    config: applyConfigPatch(defaultConfig(), configPatchOf(options)),
    urls,
    now: () => new Date(Date.now() + store.state.clockOffsetMs),
    tokenKey,
    log: logger.log,
    onAnswer: options.onAnswer,
  };
  const requests = new RequestLog();
  const faultDice = new FaultDice();
  const resetAll = () => {
    faultDice.reseed(core.config.faults.seed);
    store.reset();
    // The seeded vault keeps the port it had; a port for a vault that is gone keeps listening (VaultNotFound).
    void vaultPorts.openAll(core.azure.vaults().map((vault) => vault.doc.name));
    requests.reset();
    resetProtection(core);
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
    resourceManagerUrl: urls.resourceManagerUrl,
    identityEndpoint: urls.identityEndpoint,
    subscriptionId: SEEDED_IDS.azure.subscriptionId,
    resourceGroup: SEEDED_IDS.azure.resourceGroup,
    vaultName: SEEDED_IDS.azure.vaultName,
  });
  const listeners = new Listeners(
    { key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile) },
    requestHandler({ core, requests, faultDice, resetAll, info }),
  );
  fillUrls(urls, await listeners.listenForEnvironments(names, options.port ?? 0));
  vaultPorts.attach(listeners);
  await vaultPorts.openAll(core.azure.vaults().map((vault) => vault.doc.name));
  return runningEmulator({ core, requests, resetAll, listeners, caFile: tls.caFile, logLines: logger.lines });
}

/** The handle a test or the CLI holds on a started emulator. */
function runningEmulator(parts: {
  core: EmulatorCore;
  requests: RequestLog;
  resetAll: () => void;
  listeners: Listeners;
  caFile: string;
  logLines: string[];
}): RunningEmulator {
  const { core, requests, listeners, caFile } = parts;
  const store = core.store;
  let stopped = false;
  const seeded = SEEDED_IDS.azure;
  const vaultId = `/subscriptions/${seeded.subscriptionId}/resourceGroups/${seeded.resourceGroup}/providers/Microsoft.KeyVault/vaults/${seeded.vaultName}`;
  const header = identityHeader(core);
  return {
    ...core.urls,
    tenantId: store.state.tenant.tenantId,
    azure: {
      subscriptionId: seeded.subscriptionId,
      resourceGroup: seeded.resourceGroup,
      location: seeded.location,
      vaultName: seeded.vaultName,
      vaultId,
      vaultUri: core.vaultAddresses.uri(seeded.vaultName),
    },
    vaultUri: (vaultName) => core.vaultAddresses.uri(vaultName),
    managedIdentity: {
      endpoint: core.urls.identityEndpoint,
      header,
      env: { IDENTITY_ENDPOINT: core.urls.identityEndpoint, IDENTITY_HEADER: header },
    },
    deployer: {
      clientId: SEEDED_IDS.deployer.clientId,
      clientSecret: SEEDED_IDS.deployer.clientSecret,
      objectId: SEEDED_IDS.deployer.objectId,
      applicationObjectId: SEEDED_IDS.deployer.applicationObjectId,
      systemUserId: SEEDED_IDS.deployer.systemUserId,
    },
    caFile,
    env: {
      SSL_CERT_FILE: caFile,
      NODE_EXTRA_CA_CERTS: caFile,
      AZURE_AUTHORITY_HOST: core.urls.authorityHost,
      AZURE_TENANT_ID: store.state.tenant.tenantId,
      AZURE_CLIENT_ID: SEEDED_IDS.deployer.clientId,
      AZURE_CLIENT_SECRET: SEEDED_IDS.deployer.clientSecret,
    },
    logLines: parts.logLines,
    async stop() {
      if (stopped) return;
      stopped = true;
      await listeners.close();
      store.save();
    },
    now: () => core.now(),
    setClock(value) {
      const offsetMs = typeof value === "number" ? value : Date.parse(value) - Date.now();
      if (Number.isNaN(offsetMs)) throw new Error(`setClock: not a date: ${value}`);
      store.state.clockOffsetMs = offsetMs;
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
    reset: parts.resetAll,
    federatedToken: (subject, audience) => issueFederatedToken(core, subject, audience),
  };
}
