/**
 * The one HTTP client of the project: axios with a bearer token, the project's retry policy, and
 * errors that say which operation failed, on which path, with which status and service error code,
 * and never carry a header or a token.
 *
 * Built inside provider methods, which run in the dynamic-provider host (see dynamic-providers/provider-shell.ts).
 */
import axios, { type AxiosInstance, type AxiosResponse } from "axios";
import type { TokenCredential } from "@azure/identity";
import { credentialFromEnvironment, defaultScope } from "./credentials";
import { httpTimeoutMs } from "./defaults";
import { AttemptFailure, defaultRetryPolicy, RetryPolicy, withRetries } from "./retry";

export type HttpMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface RestRequest<T = unknown> {
  /** What the caller was doing, in words a user understands: "create security role". */
  readonly operation: string;
  readonly method: HttpMethod;
  /** Relative to the client's base URL, query string included where needed. */
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Statuses that are not errors for this call (404 on a delete, for instance). */
  readonly acceptStatus?: readonly number[];
  /** Overrides "every method but POST is idempotent". */
  readonly idempotent?: boolean;
  /** For creates: finds what a request lost in transit may have made, so it is not made twice. */
  readonly reconcile?: () => Promise<RestResponse<T> | undefined>;
  /**
   * Service error codes that mean "not yet" (Entra replication lag): the request was refused
   * without effect and is sent again under the retry policy, so at most maxAttempts times.
   */
  readonly retryOnCodes?: readonly string[];
}

export interface RestResponse<T = unknown> {
  readonly status: number;
  readonly data: T;
  readonly headers: Readonly<Record<string, string>>;
}

/** What is known about a failed call; never a header, a token or a request body. */
export interface RestFailure {
  /** "Dataverse", "Microsoft Graph". */
  readonly service: string;
  /** Host and port the request went to: contoso.crm.dynamics.com. */
  readonly host: string;
  /** What the caller was doing: "create security role 'API User'". */
  readonly operation: string;
  readonly method: HttpMethod;
  /** The path without its query string. */
  readonly path: string;
  /** Undefined when no answer came back (connection refused, dropped, timed out). */
  readonly status: number | undefined;
  /** The service's own error code (0x80040237, Request_ResourceNotFound, AADSTS7000215) or a network code (ECONNRESET). */
  readonly code: string | undefined;
  readonly serviceMessage: string;
  readonly retryAfterSeconds?: number;
  /** Attempts made in all, the first included. */
  readonly attempts: number;
  /** When no answer came back: how the connection failed. */
  readonly network?: NetworkFailure;
}

/**
 * How a request that got no answer failed:
 * - "closed": the server closed the connection without answering (Node's "socket hang up"; Go's EOF);
 * - "reset": the connection was reset or broke while the request was under way;
 * - "connect": no connection was made (refused, unreachable, name not found);
 * - "timeout": no answer within the client's timeout;
 * - "tls": the server's certificate was refused;
 * - "other": anything else.
 */
export type NetworkFailure = "closed" | "reset" | "connect" | "timeout" | "tls" | "other";

/**
 * A failed call, described for a user: service, host, operation, attempts, then the request line
 * and the last status or network code with the service's message.
 */
// The error carries every RestFailure field as its own (err.status, err.code...): declared once, in RestFailure.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface RestApiError extends RestFailure {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class RestApiError extends Error {
  constructor(failure: RestFailure) {
    const outcome =
      failure.status !== undefined
        ? `HTTP ${failure.status}${failure.code ? ` ${failure.code}` : ""}`
        : `no response (${failure.code ?? "network error"})`;
    super(
      `${failure.service} at ${failure.host}: ${failure.operation} failed after ${failure.attempts} attempt${failure.attempts === 1 ? "" : "s"}: ` +
        `${failure.method} ${failure.path} -> ${outcome}: ${failure.serviceMessage}`,
    );
    this.name = "RestApiError";
    Object.assign(this, failure);
  }

  /** The same failure after `attempts` attempts in all. */
  withAttempts(attempts: number): RestApiError {
    return new RestApiError({ ...this, attempts });
  }
}

export interface RestClientOptions {
  /** Name used in errors: "Dataverse", "Microsoft Graph". */
  readonly service: string;
  /** Base URL that request paths are relative to, ending in a slash. */
  readonly baseUrl: string;
  /** The resource whose `.default` scope the token is for; without it requests carry no token. */
  readonly tokenResource?: string;
  readonly credential?: TokenCredential;
  readonly retryPolicy?: RetryPolicy;
  /** Headers every request carries (OData versions, for instance). */
  readonly defaultHeaders?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** Where retries are reported; nothing secret is ever passed to it. */
  readonly log?: (message: string) => void;
  /** Injected in tests to avoid real waits. */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Replaces the project's rule for which failures are retried (`classifyFailure`), for a client
   * that must follow another client's rules (the offline azuread stand-in follows go-azure-sdk's).
   * `retryOnCodes` of a request still applies first. It may answer "resend" (the transport's own
   * resend, see `RetryContext`).
   */
  readonly classify?: (error: RestApiError, request: Pick<RestRequest, "method">, context: RetryContext) => AttemptFailure;
  /**
   * Reads a Retry-After header into seconds (undefined: none usable). Default: any number
   * (`Number(value)`), as the project's rule takes it.
   */
  readonly parseRetryAfter?: (value: string) => number | undefined;
}

/** What a `classify` rule knows of the request's earlier tries. */
export interface RetryContext {
  /**
   * Whether the try just before this one, of the same request, got an answer (any status): the
   * keep-alive connection it left open was then reused by this try.
   */
  readonly previousTryAnswered: boolean;
}

const networkErrorCodes = new Set(["ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "ECONNREFUSED", "ERR_SOCKET_CONNECTION_TIMEOUT"]);

export class RestClient {
  private readonly http: AxiosInstance;
  private readonly credential?: TokenCredential;
  private readonly scope?: string;
  private readonly retryPolicy: RetryPolicy;
  private readonly host: string;
  /** Where requests go (paths are relative to it). */
  readonly baseUrl: string;

  constructor(private readonly options: RestClientOptions) {
    this.baseUrl = options.baseUrl;
    this.host = hostOf(options.baseUrl);
    this.http = axios.create({
      baseURL: options.baseUrl,
      timeout: options.timeoutMs ?? httpTimeoutMs(),
      // Every status comes back as a response; errors are made here, without the request config.
      validateStatus: () => true,
      maxRedirects: 0,
    });
    if (options.tokenResource !== undefined) {
      this.credential = options.credential ?? credentialFromEnvironment();
      this.scope = defaultScope(options.tokenResource);
    }
    this.retryPolicy = options.retryPolicy ?? defaultRetryPolicy;
  }

  async request<T = unknown>(request: RestRequest<T>): Promise<RestResponse<T>> {
    const idempotent = request.idempotent ?? request.method !== "POST";
    let attempts = 0;
    // Whether the try before the one being classified got an answer, and whether the last one did.
    let previousTryAnswered = false;
    let lastTryAnswered = false;
    try {
      return await withRetries<RestResponse<T>>(
        this.retryPolicy,
        {
          idempotent,
          classify: (error) =>
            error instanceof RestApiError && error.code !== undefined && request.retryOnCodes?.includes(error.code)
              ? { kind: "refused", retryAfterSeconds: error.retryAfterSeconds }
              : this.options.classify && error instanceof RestApiError
                ? this.options.classify(error, request, { previousTryAnswered })
                : classifyFailure(error),
          reconcile: request.reconcile,
          sleep: this.options.sleep,
          onRetry: (attempt, delayMs, error) =>
            this.options.log?.(
              `${this.options.service}: ${request.operation}: attempt ${attempt} failed ` +
                `(${error instanceof RestApiError ? (error.status ?? error.code) : "error"}), retrying in ${Math.round(delayMs)} ms`,
            ),
        },
        async (resend) => {
          // A transport resend is part of the attempt it repeats.
          if (!resend) attempts++;
          previousTryAnswered = lastTryAnswered;
          try {
            const response = await this.attempt<T>(request);
            lastTryAnswered = true;
            return response;
          } catch (error) {
            lastTryAnswered = error instanceof RestApiError && error.status !== undefined;
            throw error;
          }
        },
      );
    } catch (error) {
      // The last failure, with the number of attempts; anything else (a bug, a failed reconcile
      // that is not an HTTP error) is described the same way instead of leaking a JavaScript internal.
      if (error instanceof RestApiError) throw error.withAttempts(attempts);
      this.options.log?.(`${this.options.service}: ${request.operation}: unexpected client error: ${firstLine(error)}`);
      throw this.failure(request, {
        status: undefined,
        code: "CLIENT_ERROR",
        serviceMessage:
          "the request could not be completed because of a defect in dataverse-s2s, not in the service; run again, and report it if it persists",
        attempts,
      });
    }
  }

  private failure(
    request: RestRequest<unknown>,
    outcome: Pick<RestFailure, "status" | "code" | "serviceMessage" | "attempts" | "retryAfterSeconds" | "network">,
  ): RestApiError {
    return new RestApiError({
      service: this.options.service,
      host: this.host,
      operation: request.operation,
      method: request.method,
      path: pathOnly(this.options.baseUrl, request.path),
      ...outcome,
    });
  }

  private async attempt<T>(request: RestRequest<T>): Promise<RestResponse<T>> {
    const token = await this.accessToken(request);
    let response: AxiosResponse;
    try {
      response = await this.http.request({
        method: request.method,
        url: request.path,
        data: request.body,
        headers: {
          ...this.options.defaultHeaders,
          ...(request.body !== undefined ? { "Content-Type": "application/json" } : {}),
          ...request.headers,
          ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}),
        },
      });
    } catch (error) {
      // An axios error holds the request config, Authorization header included: keep only its code.
      const code = (error as { code?: unknown }).code;
      const network = networkFailure(typeof code === "string" ? code : undefined, (error as { message?: unknown }).message);
      throw this.failure(request, {
        status: undefined,
        code: typeof code === "string" ? code : "NETWORK_ERROR",
        serviceMessage:
          network === "timeout"
            ? "no answer within the timeout"
            : network === "closed"
              ? "the connection was closed with no answer"
              : "the connection failed or was dropped",
        attempts: 1,
        network,
      });
    }
    const headers = plainHeaders(response.headers);
    if ((response.status >= 200 && response.status < 300) || request.acceptStatus?.includes(response.status)) {
      return { status: response.status, data: response.data as T, headers };
    }
    const { code, message } = serviceError(response.data);
    const retryAfterHeader = headers["retry-after"];
    const retryAfter =
      retryAfterHeader === undefined
        ? undefined
        : this.options.parseRetryAfter
          ? this.options.parseRetryAfter(retryAfterHeader)
          : Number(retryAfterHeader);
    throw this.failure(request, {
      status: response.status,
      code,
      serviceMessage: message ?? `HTTP ${response.status}`,
      retryAfterSeconds: retryAfter !== undefined && Number.isFinite(retryAfter) ? retryAfter : undefined,
      attempts: 1,
    });
  }

  private async accessToken(request: RestRequest<unknown>): Promise<string | undefined> {
    if (!this.credential || !this.scope) return undefined;
    try {
      const token = await this.credential.getToken(this.scope);
      if (!token) throw new Error("the credential returned no token");
      return token.token;
    } catch (error) {
      throw this.failure(request, {
        status: undefined,
        code: "TOKEN",
        serviceMessage:
          `could not get a token for ${this.scope}: ${firstLine(error)}. Set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and ` +
          `AZURE_TENANT_ID (or sign in with 'az login'), and check the identity is a System Administrator there.`,
        attempts: 1,
      });
    }
  }
}

function classifyFailure(error: unknown): AttemptFailure {
  if (!(error instanceof RestApiError)) return { kind: "final" };
  if (error.status === 429 || error.status === 503) return { kind: "refused", retryAfterSeconds: error.retryAfterSeconds };
  if (error.status === 408 || error.status === 502 || error.status === 504)
    return { kind: "ambiguous", retryAfterSeconds: error.retryAfterSeconds };
  if (error.status === undefined && error.code && networkErrorCodes.has(error.code)) return { kind: "ambiguous" };
  if (error.status === undefined && error.code === "ERR_BAD_RESPONSE") return { kind: "ambiguous" };
  return { kind: "final" };
}

const connectErrorCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);
const tlsErrorCodes = new Set([
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/** How a request with no answer failed, from Node's error code (and message: a hang-up is an ECONNRESET too). */
export function networkFailure(code: string | undefined, message: unknown): NetworkFailure {
  if (code === "ECONNRESET" && message === "socket hang up") return "closed";
  if (code === "ECONNRESET" || code === "EPIPE") return "reset";
  if (code === "ECONNABORTED" || code === "ETIMEDOUT" || code === "ERR_SOCKET_CONNECTION_TIMEOUT") return "timeout";
  if (code !== undefined && connectErrorCodes.has(code)) return "connect";
  if (code !== undefined && tlsErrorCodes.has(code)) return "tls";
  return "other";
}

/** Reads the error code and message of Dataverse, Graph and Entra error bodies alike. */
function serviceError(body: unknown): { code?: string; message?: string } {
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    const inner = record.error;
    if (inner && typeof inner === "object") {
      const { code, message } = inner as { code?: unknown; message?: unknown };
      return { code: typeof code === "string" ? code : undefined, message: typeof message === "string" ? message : undefined };
    }
    if (typeof inner === "string") {
      return { code: inner, message: typeof record.error_description === "string" ? record.error_description.split("\r\n")[0] : undefined };
    }
  }
  if (typeof body === "string" && body.length > 0) return { message: body.slice(0, 300) };
  return {};
}

/** The request's path from the host's root, without its query string (which may carry names or filters). */
function pathOnly(baseUrl: string, path: string): string {
  const withoutQuery = path.split("?")[0];
  try {
    return new URL(withoutQuery, baseUrl).pathname;
  } catch {
    return withoutQuery;
  }
}

function hostOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).host;
  } catch {
    return baseUrl;
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

function plainHeaders(headers: AxiosResponse["headers"]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined && value !== null) result[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return result;
}
