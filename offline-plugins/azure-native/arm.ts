/**
 * Azure Resource Manager as azure-native v3 calls it (provider/pkg/azure/client_azcore.go, on azcore's
 * ARM pipeline), through the project's one RestClient with azcore's rules:
 * - every request carries `api-version`; PUT carries `Content-Type: application/json; charset=utf-8`;
 *   every request `Accept: application/json`;
 * - retries (initPipelineOpts, azcore runtime/policy_retry.go): 4 attempts in all; 408, 429, 500,
 *   502, 503, 504 and 409 `AnotherOperationInProgress` are sent again whatever the method, and so is a
 *   request that got no answer; the wait is Retry-After when given (more than 120 s: no retry), else
 *   (2^n - 1) x 20 s x a jitter of [0.8, 1.3), at most 120 s;
 * - GET succeeds on 200 only; PUT on 200, 201, 202; DELETE on 200, 202, 204, and a 404 is "already
 *   gone"; a PUT answered 202 (or of a long-running operation) is polled until a terminal state
 *   (`Azure-AsyncOperation`, then `Location` (made absolute, api-version added), then the resource's
 *   own URL), as azcore's pollers do (internal/pollers/async, loc, body);
 * - `canCreate` (CanCreate): GET first; 404 (or an empty 200, or 204) means "not there".
 * Errors read like azure-native's (`Status=409 Code="Conflict" Message="..."`) after the method and path.
 */
import type { TokenCredential } from "@azure/identity";
import { RestApiError, RestClient, RestRequest, RestResponse } from "../../lib/rest-client";
import { AttemptFailure, RetryPolicy } from "../../lib/retry";
import { Plain } from "../shared/values";

/** azure-native's RetryDelay and MaxRetryDelay (client_azcore.go initPipelineOpts), azcore's default MaxRetries 3. */
const retryDelayMs = 20_000;
const maxRetryDelayMs = 120_000;

/** azcore's calcDelay: (2^try - 1) x RetryDelay x [0.8, 1.3), capped at MaxRetryDelay. */
export function azcoreBackoffMs(attempt: number, random: () => number = Math.random): number {
  const delay = (2 ** attempt - 1) * retryDelayMs * (random() / 2 + 0.8);
  return Math.min(delay, maxRetryDelayMs);
}

export const azcoreRetryPolicy: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: retryDelayMs,
  maxDelayMs: maxRetryDelayMs,
  capRetryAfter: false,
  backoffMs: (attempt) => azcoreBackoffMs(attempt),
};

const retriedStatuses = new Set([408, 429, 500, 502, 503, 504]);

/**
 * azure-native's ShouldRetry (client_azcore.go): any transport error; the six statuses; a 409 whose
 * error code is AnotherOperationInProgress. A Retry-After longer than MaxRetryDelay ends the retries
 * (policy_retry.go). A failed token request is not an HTTP answer and is not retried here.
 */
export function azcoreRetryRule(error: RestApiError): AttemptFailure {
  const retryAfterSeconds = error.retryAfterSeconds;
  if (retryAfterSeconds !== undefined && retryAfterSeconds * 1000 > maxRetryDelayMs) return { kind: "final" };
  if (error.status === undefined) return error.network === undefined ? { kind: "final" } : { kind: "refused" };
  if (retriedStatuses.has(error.status)) return { kind: "refused", retryAfterSeconds };
  if (error.status === 409 && error.code === "AnotherOperationInProgress") return { kind: "refused", retryAfterSeconds };
  return { kind: "final" };
}

/** Retry-After as azcore's shared.RetryAfter reads it: seconds, or an RFC 1123 date (0 or less: none). */
export function azcoreRetryAfter(value: string, now: () => number = Date.now): number | undefined {
  if (/^\d+$/.test(value.trim())) {
    const seconds = Number(value.trim());
    return seconds > 0 ? seconds : undefined;
  }
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  const seconds = (date - now()) / 1000;
  return seconds > 0 ? seconds : undefined;
}

/** Go's url.PathEscape for one path segment (PrepareAzureRESTIdAndQuery escapes each path parameter). */
export function goPathEscape(segment: string): string {
  let result = "";
  for (const byte of Buffer.from(segment, "utf8")) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~$&+,:;=@]/.test(char)) result += char;
    else result += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return result;
}

/** An ARM answer that is not a success, phrased as azure-native's PulumiAzcoreResponseError. */
export class ArmError extends Error {
  constructor(
    readonly operation: string,
    readonly method: string,
    readonly path: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly serviceMessage: string,
  ) {
    super(
      `azure-native (offline stand-in): ${operation}: ${method} ${path}: ` +
        (status === undefined
          ? serviceMessage
          : code
            ? `Status=${status} Code="${code}" Message="${serviceMessage}"`
            : `Status=${status} Message="${serviceMessage}"`),
    );
    this.name = "ArmError";
  }

  static from(error: RestApiError): ArmError {
    return new ArmError(error.operation, error.method, error.path, error.status, error.code, error.serviceMessage);
  }
}

export function isNotFound(error: unknown): boolean {
  return (error instanceof ArmError || error instanceof RestApiError) && error.status === 404;
}

/** Polling: every 10 s for a PUT (updatePollingIntervalSeconds) unless a Retry-After says otherwise. */
export interface ArmTiming {
  readonly putPollMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}
export const defaultArmTiming: ArmTiming = { putPollMs: 10_000 };

const terminalSucceeded = ["succeeded", "completed"];
const terminalFailed = ["failed", "canceled", "cancelled"];
const isTerminal = (state: string) => terminalSucceeded.includes(state.toLowerCase()) || terminalFailed.includes(state.toLowerCase());
const isFailed = (state: string) => terminalFailed.includes(state.toLowerCase());
const validPollStatus = (status: number) => [200, 201, 202, 204].includes(status);

function provisioningState(body: unknown): string {
  const properties = (body as Plain | undefined)?.properties;
  const state = properties && typeof properties === "object" ? (properties as Plain).provisioningState : undefined;
  return typeof state === "string" ? state : "";
}

export interface ArmClientOptions {
  /** ARM's base URL. */
  readonly endpoint: string;
  /** Exactly the token scope azcore asks for (audience + "/.default"). */
  readonly scope: string;
  readonly credential: TokenCredential;
  readonly userAgent: string;
  readonly timing?: ArmTiming;
  readonly log?: (message: string) => void;
  /** Injected in tests to avoid real waits between retries. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly retryPolicy?: RetryPolicy;
}

export class ArmClient {
  private readonly rest: RestClient;
  private readonly timing: ArmTiming;
  readonly endpoint: string;

  constructor(private readonly options: ArmClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, "");
    const credential = options.credential;
    const scope = options.scope;
    this.rest = new RestClient({
      service: "Azure Resource Manager",
      baseUrl: `${this.endpoint}/`,
      tokenResource: this.endpoint,
      // azcore asks for audience + "/.default" verbatim ("https://management.core.windows.net//.default").
      credential: { getToken: (_scopes, tokenOptions) => credential.getToken(scope, tokenOptions) },
      retryPolicy: options.retryPolicy ?? azcoreRetryPolicy,
      classify: (error) => azcoreRetryRule(error),
      parseRetryAfter: (value) => azcoreRetryAfter(value),
      defaultHeaders: { Accept: "application/json", "User-Agent": options.userAgent },
      log: options.log,
      sleep: options.sleep,
    });
    this.timing = options.timing ?? defaultArmTiming;
  }

  private async send<T = Plain>(request: RestRequest<T>): Promise<RestResponse<T>> {
    try {
      return await this.rest.request<T>(request);
    } catch (error) {
      throw error instanceof RestApiError ? ArmError.from(error) : error;
    }
  }

  private url(id: string, apiVersion: string): string {
    return `${id.replace(/^\/+/, "")}?api-version=${encodeURIComponent(apiVersion)}`;
  }

  private unexpected(operation: string, method: string, id: string, response: RestResponse<unknown>): ArmError {
    const body = (response.data ?? {}) as Plain;
    const inner = (body.error ?? {}) as Plain;
    return new ArmError(
      operation,
      method,
      id.split("?")[0],
      response.status,
      typeof inner.code === "string" ? inner.code : undefined,
      typeof inner.message === "string" ? inner.message : JSON.stringify(response.data ?? ""),
    );
  }

  /** GET of a resource: 200 only (azCoreClient.Get). */
  async get(id: string, apiVersion: string, operation = `read ${id}`): Promise<Plain> {
    const response = await this.send<Plain>({ operation, method: "GET", path: this.url(id, apiVersion) });
    if (response.status !== 200) throw this.unexpected(operation, "GET", id, response);
    return asObject(response.data);
  }

  /** CanCreate (client_azcore.go) for a plain resource: fails when the resource already exists. */
  async canCreate(id: string, apiVersion: string): Promise<void> {
    const operation = `check that ${id} does not exist yet`;
    const response = await this.send<unknown>({ operation, method: "GET", path: this.url(id, apiVersion), acceptStatus: [404] });
    if (response.status === 404 || response.status === 204) return;
    if (response.status === 200) {
      const body = response.data;
      if (body && typeof body === "object" && Object.keys(body).length > 0) {
        throw new Error(`azure-native (offline stand-in): cannot create already existing resource '${id}'`);
      }
      return;
    }
    throw new Error(
      `azure-native (offline stand-in): cannot check existence of resource '${id}': status code ${response.status}, ${JSON.stringify(response.data ?? "")}`,
    );
  }

  /**
   * PUT of the body (azCoreClient.putOrPatch): 200, 201 or 202; polled when the operation is
   * long-running (`longRunning`) or the answer is 202. Returns the final resource body.
   */
  async put(id: string, body: Plain, apiVersion: string, longRunning = false, operation = `create or update ${id}`): Promise<Plain> {
    const response = await this.send<Plain>({
      operation,
      method: "PUT",
      path: this.url(id, apiVersion),
      body,
      headers: { "Content-Type": "application/json; charset=utf-8" },
    });
    if (![200, 201, 202].includes(response.status)) throw this.unexpected(operation, "PUT", id, response);
    if (!longRunning && response.status !== 202) return asObject(response.data);
    return this.pollPut(id, apiVersion, response, operation);
  }

  /** DELETE (azCoreClient.Delete without polling: none of the served types is a long-running delete); 404 is done. */
  async delete(id: string, apiVersion: string, operation = `delete ${id}`): Promise<void> {
    const response = await this.send<Plain>({ operation, method: "DELETE", path: this.url(id, apiVersion), acceptStatus: [404] });
    if ([200, 202, 204, 404].includes(response.status)) return;
    throw this.unexpected(operation, "DELETE", id, response);
  }

  /** normalizeLocationHeader (client_azcore.go): a relative Location is made absolute; api-version added when missing. */
  normalizeLocation(location: string, apiVersion: string): string {
    let url: URL;
    try {
      url = new URL(location, `${this.endpoint}/`);
    } catch {
      return location;
    }
    if (!url.searchParams.get("api-version")) url.searchParams.set("api-version", apiVersion);
    return url.toString();
  }

  /** azcore's runtime.NewPoller + PollUntilDone for a PUT answer. */
  private async pollPut(id: string, apiVersion: string, first: RestResponse<Plain>, operation: string): Promise<Plain> {
    const sleep = this.timing.sleep ?? this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const originalUrl = this.url(id, apiVersion);
    const asyncUrl = first.headers["azure-asyncoperation"];
    const locationHeader = first.headers["location"];
    const absolute = (url: string) => /^https?:\/\//i.test(url);
    let mode: "async" | "location" | "body";
    let pollUrl: string;
    if (asyncUrl) {
      if (!absolute(asyncUrl)) throw new Error(`azure-native (offline stand-in): ${operation}: invalid polling URL ${asyncUrl}`);
      mode = "async";
      pollUrl = asyncUrl;
    } else if (locationHeader) {
      mode = "location";
      pollUrl = this.normalizeLocation(locationHeader, apiVersion);
    } else {
      mode = "body";
      pollUrl = originalUrl;
    }
    let state = provisioningState(first.data) || "InProgress";
    if (mode === "body" && first.status === 201 && !provisioningState(first.data)) state = "InProgress";
    let last: RestResponse<Plain> = first;
    const wait = async (response: RestResponse<Plain>) => {
      const retryAfter = response.headers["retry-after"] ? azcoreRetryAfter(response.headers["retry-after"]) : undefined;
      await sleep(retryAfter !== undefined ? retryAfter * 1000 : this.timing.putPollMs);
    };
    const initialRetryAfter = first.headers["retry-after"] ? azcoreRetryAfter(first.headers["retry-after"]) : undefined;
    if (initialRetryAfter !== undefined) await sleep(initialRetryAfter * 1000);
    while (!isTerminal(state)) {
      const response = await this.send<Plain>({ operation: `${operation} (poll)`, method: "GET", path: pollUrl, acceptStatus: [] });
      if (mode === "async") {
        if (!validPollStatus(response.status)) throw this.unexpected(operation, "GET", pollUrl, response);
        const status = (response.data as Plain | undefined)?.status;
        if (typeof status !== "string" || status === "") {
          throw new Error(`azure-native (offline stand-in): ${operation}: the response did not contain a status`);
        }
        state = status;
      } else if (mode === "location") {
        if (response.headers["location"]) pollUrl = response.headers["location"];
        const provState = provisioningState(response.data);
        if (provState) state = provState;
        else if (response.status === 202) state = "InProgress";
        else if (response.status >= 200 && response.status < 300) state = "Succeeded";
        else state = "Failed";
      } else {
        if (!validPollStatus(response.status)) throw this.unexpected(operation, "GET", pollUrl, response);
        state = response.status === 204 ? "Succeeded" : provisioningState(response.data) || "Succeeded";
      }
      last = response;
      if (!isTerminal(state)) await wait(response);
    }
    if (isFailed(state)) throw this.unexpected(operation, "GET", pollUrl, last);
    if (mode === "async") {
      // The result of a PUT is the resource itself, read at its own URL.
      const response = await this.send<Plain>({ operation: `${operation} (result)`, method: "GET", path: originalUrl });
      if (!validPollStatus(response.status)) throw this.unexpected(operation, "GET", id, response);
      return asObject(response.data);
    }
    return asObject(last.data);
  }
}

function asObject(value: unknown): Plain {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Plain) : {};
}
