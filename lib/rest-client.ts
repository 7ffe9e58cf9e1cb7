/**
 * The one HTTP client of the project: axios with a bearer token, the project's retry policy, and
 * errors that say which operation failed, on which path, with which status and service error code,
 * and never carry a header or a token.
 *
 * Built inside provider methods (never captured by a serialized dynamic provider).
 */
import type { AxiosInstance, AxiosResponse } from "axios";
import type { TokenCredential } from "@azure/identity";
import { credentialFromEnvironment, defaultScope } from "./credentials";
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
}

export interface RestResponse<T = unknown> {
  readonly status: number;
  readonly data: T;
  readonly headers: Readonly<Record<string, string>>;
}

/** A failed call, described without any header, token or request body. */
export class RestApiError extends Error {
  constructor(
    readonly service: string,
    readonly operation: string,
    readonly method: HttpMethod,
    readonly path: string,
    /** Undefined when no answer came back (connection refused, dropped, timed out). */
    readonly status: number | undefined,
    /** The service's own error code (0x80040237, Request_ResourceNotFound, AADSTS7000215) or a network code. */
    readonly code: string | undefined,
    readonly serviceMessage: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(
      `${service}: ${operation} failed: ${method} ${path} -> ` +
        `${status ?? "no response"}${code ? ` ${code}` : ""}: ${serviceMessage}`,
    );
    this.name = "RestApiError";
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
}

const networkErrorCodes = ["ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "ECONNREFUSED", "ERR_SOCKET_CONNECTION_TIMEOUT"];

export class RestClient {
  private readonly http: AxiosInstance;
  private readonly credential?: TokenCredential;
  private readonly scope?: string;
  private readonly retryPolicy: RetryPolicy;

  constructor(private readonly options: RestClientOptions) {
    const axios: typeof import("axios").default = require("axios");
    this.http = axios.create({
      baseURL: options.baseUrl,
      timeout: options.timeoutMs ?? 120_000,
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
    return withRetries<RestResponse<T>>(
      this.retryPolicy,
      {
        idempotent,
        classify: classifyFailure,
        reconcile: request.reconcile,
        sleep: this.options.sleep,
        onRetry: (attempt, delayMs, error) =>
          this.options.log?.(
            `${this.options.service}: ${request.operation}: attempt ${attempt} failed ` +
              `(${error instanceof RestApiError ? (error.status ?? error.code) : "error"}), retrying in ${Math.round(delayMs)} ms`,
          ),
      },
      () => this.attempt<T>(request),
    );
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
      const code = (error as { code?: string }).code ?? "NETWORK_ERROR";
      throw new RestApiError(this.options.service, request.operation, request.method, pathOnly(request.path), undefined, code, "the connection failed or was dropped");
    }
    const headers = plainHeaders(response.headers);
    if ((response.status >= 200 && response.status < 300) || request.acceptStatus?.includes(response.status)) {
      return { status: response.status, data: response.data as T, headers };
    }
    const { code, message } = serviceError(response.data);
    const retryAfter = headers["retry-after"] !== undefined ? Number(headers["retry-after"]) : undefined;
    throw new RestApiError(
      this.options.service,
      request.operation,
      request.method,
      pathOnly(request.path),
      response.status,
      code,
      message ?? `HTTP ${response.status}`,
      Number.isFinite(retryAfter) ? retryAfter : undefined,
    );
  }

  private async accessToken(request: RestRequest<unknown>): Promise<string | undefined> {
    if (!this.credential || !this.scope) return undefined;
    try {
      const token = await this.credential.getToken(this.scope);
      if (!token) throw new Error("the credential returned no token");
      return token.token;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
      throw new RestApiError(
        this.options.service,
        request.operation,
        request.method,
        pathOnly(request.path),
        undefined,
        "TOKEN",
        `could not get a token for ${this.scope}: ${reason}. Set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and ` +
          `AZURE_TENANT_ID (or sign in with 'az login'), and check the identity is a System Administrator there.`,
      );
    }
  }
}

function classifyFailure(error: unknown): AttemptFailure {
  if (!(error instanceof RestApiError)) return { kind: "final" };
  if (error.status === 429 || error.status === 503) return { kind: "refused", retryAfterSeconds: error.retryAfterSeconds };
  if (error.status === 408 || error.status === 502 || error.status === 504) return { kind: "ambiguous", retryAfterSeconds: error.retryAfterSeconds };
  if (error.status === undefined && error.code && networkErrorCodes.includes(error.code)) return { kind: "ambiguous" };
  if (error.status === undefined && error.code === "ERR_BAD_RESPONSE") return { kind: "ambiguous" };
  return { kind: "final" };
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

function pathOnly(path: string): string {
  return path.split("?")[0];
}

function plainHeaders(headers: AxiosResponse["headers"]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined && value !== null) result[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return result;
}
