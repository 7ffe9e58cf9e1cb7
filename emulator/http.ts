// The request context shared by the handlers: parsed URL, body readers, answer helpers, and the
// emulator core (store, clock, configuration, URLs). Nothing here logs bodies or headers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EmulatorConfig } from "./config";
import type { Service } from "./errors";
import type { DirectoryStore } from "./directory-store";
import type { AzureStore } from "./arm/azure-store";
import type { EmulatorStore } from "./store";

/** One Dataverse environment's address: its own port on localhost, so its own URL and token audience. */
interface EnvironmentAddress {
  name: string;
  /** https://localhost:<port>: the environment URL and the audience of its tokens. */
  url: string;
  port: number;
}

/** The addresses of the one server, as clients must use them. */
export interface EmulatorUrls {
  /** Every Dataverse environment, the first one (environmentUrl, on `port`) first. */
  environments: EnvironmentAddress[];
  port: number;
  /** https://127.0.0.1:<port> */
  url: string;
  /** https://localhost:<port>: the first Dataverse environment's URL and audience. */
  environmentUrl: string;
  /** https://127.0.0.1:<port>: the Entra authority host. */
  authorityHost: string;
  /** 127.0.0.1:<port>: the azuread provider's metadataHost. */
  metadataHost: string;
  /** https://127.0.0.1:<port>/v1.0 */
  graphUrl: string;
  /** https://127.0.0.1:<port>: the audience of Graph tokens (scope without /.default). */
  graphAudience: string;
  /** https://127.0.0.1:<port>: Azure Resource Manager's endpoint (ARM paths /subscriptions/... on the one server). */
  resourceManagerUrl: string;
  /** https://127.0.0.1:<port>/msi/token: the managed identity endpoint (IDENTITY_ENDPOINT, App Service protocol). */
  identityEndpoint: string;
}

/**
 * Where each Key Vault answers: a port of its own on 127.0.0.1 (in Azure a vault is a host name,
 * https://<vault>.vault.azure.net/, and clients such as @azure/keyvault-secrets take the URI's origin
 * as the vault: a path prefix would not do). Ports are not stored: they are new at each start.
 */
export interface VaultAddresses {
  /** https://127.0.0.1:<vault port>/ (the vault's vaultUri); throws for a vault without a port. */
  uri(vaultName: string): string;
  /** Listens on a port for the vault unless it has one. */
  open(vaultName: string): Promise<void>;
  /** The vault whose port this is, if any. */
  vaultAt(port: number | undefined): string | undefined;
}

/** What every handler may use. */
export interface EmulatorCore {
  readonly store: EmulatorStore;
  /** The Entra objects, through the interface the Graph and Entra handlers use. */
  readonly directory: DirectoryStore;
  /** Subscriptions, vaults, managed identities and role assignments (arm/). */
  readonly azure: AzureStore;
  readonly vaultAddresses: VaultAddresses;
  config: EmulatorConfig;
  readonly urls: EmulatorUrls;
  /** The emulator clock: real time plus the stored offset. */
  now(): Date;
  /** HMAC key of the emulator's tokens (derived from the tenant: tokens survive a restart with a state file). */
  readonly tokenKey: Buffer;
  log(line: string): void;
  /** EmulatorOptions.onAnswer: called just before each answer leaves. */
  onAnswer?: (line: string) => void;
}

const MAX_BODY = 16 * 1024 * 1024;

export class RequestContext {
  readonly method: string;
  readonly url: URL;
  readonly path: string;
  readonly query: URLSearchParams;
  /** Operation name for the counters, e.g. "graph POST /applications". Set by the handler. */
  operation: string | undefined;
  /** The Dataverse environment a Dataverse request was for (set by the Dataverse handler). */
  environmentName: string | undefined;
  /** Operations of the requests a $batch carried, in order (counted apart from HTTP requests). */
  readonly batchOperations: string[] = [];
  private bodyPromise: Promise<Buffer> | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly core: EmulatorCore,
    readonly service: Service | "unknown",
    readonly delay: () => Promise<void>,
  ) {
    this.method = (req.method ?? "GET").toUpperCase();
    this.url = new URL(req.url ?? "/", core.urls.url);
    this.path = this.url.pathname;
    this.query = this.url.searchParams;
  }

  op(name: string): void {
    this.operation = `${this.service} ${name}`;
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }

  body(): Promise<Buffer> {
    if (!this.bodyPromise) {
      this.bodyPromise = new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        this.req.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            reject(new Error("request body too large"));
            this.req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        this.req.on("end", () => resolve(Buffer.concat(chunks)));
        this.req.on("error", reject);
      });
    }
    return this.bodyPromise;
  }

  /** The body as JSON; undefined when empty; throws SyntaxError when malformed. */
  async json(): Promise<unknown> {
    const raw = (await this.body()).toString("utf8").replace(/^\uFEFF/, "");
    if (raw.trim() === "") return undefined;
    return JSON.parse(raw);
  }

  async form(): Promise<URLSearchParams> {
    return new URLSearchParams((await this.body()).toString("utf8"));
  }

  /** Answers a body that is not JSON (a multipart $batch answer). */
  sendText(status: number, text: string, headers: Record<string, string>): void {
    if (this.res.headersSent || this.res.destroyed) return;
    for (const [name, value] of Object.entries(headers)) this.res.setHeader(name, value);
    this.res.setHeader("Content-Length", Buffer.byteLength(text));
    this.res.statusCode = status;
    this.res.end(text);
  }

  send(status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (this.res.headersSent || this.res.destroyed) return;
    for (const [name, value] of Object.entries(headers)) this.res.setHeader(name, value);
    if (body === undefined) {
      this.res.statusCode = status;
      this.res.end();
      return;
    }
    const text = JSON.stringify(body);
    if (!this.res.hasHeader("content-type")) this.res.setHeader("Content-Type", "application/json; charset=utf-8");
    this.res.setHeader("Content-Length", Buffer.byteLength(text));
    this.res.statusCode = status;
    this.res.end(text);
  }
}

export function isGuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
}

export function sameId(left: unknown, right: unknown): boolean {
  return typeof left === "string" && typeof right === "string" && left.toLowerCase() === right.toLowerCase();
}

/** Path segments after a prefix, URL-decoded. */
export function segments(path: string, prefix: string): string[] {
  return path
    .slice(prefix.length)
    .split("/")
    .filter((segment) => segment.length > 0)
    .map((segment) => decodeURIComponent(segment));
}
