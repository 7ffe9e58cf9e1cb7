/**
 * A signed-in Microsoft Graph session, found the way the real provider finds it.
 *
 * - Endpoints: with `metadataHost`, GET https://<metadataHost>/metadata/endpoints?api-version=2022-09-01
 *   (no token) gives the login endpoint and the Graph resource id, which is also Graph's base URL;
 *   without it, the well-known endpoints of `environment` (default global) are used.
 * - Token: client credentials (clientId, clientSecret, tenantId) against the login endpoint, scope
 *   `<graph>/.default`. The caller's object id (`oid` claim) becomes the first owner of what it creates.
 * - Calls: through the project's one RestClient and retry policy, with go-azure-sdk's rules for what
 *   is retried (`goAzureSdkRetryRule`); v1.0 and beta under the same base.
 */
import { defaultScope, isMicrosoftAuthorityHost } from "../../lib/credentials";
import { RestApiError, RestClient, RestClientOptions, RestRequest, RetryContext } from "../../lib/rest-client";
import { AttemptFailure, RetryPolicy } from "../../lib/retry";
import { AzureadConfig } from "./config";
import { discoverEndpoints, GraphEndpoints } from "../../lib/cloud-endpoints";
import { Plain } from "./values";

export interface GraphSessionOptions {
  readonly log?: (message: string) => void;
  /** Injected in tests to avoid real waits between retries. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * go-azure-sdk's retryable client (sdk/client/client.go, `retryableClient`, vendored in
 * terraform-provider-azuread v3.8.0 at go-azure-sdk v0.20260212.1143955): RetryMax 16 (17 attempts),
 * waits of 1 s doubling up to 61 s with no jitter (its `Backoff`), or Retry-After when it is an
 * integer number of seconds, not capped (`goAzureSdkRetryAfter`). (With a context deadline,
 * go-azure-sdk lowers RetryMax to what fits before it; the stand-in keeps 16.)
 */
export const goAzureSdkRetryPolicy: RetryPolicy = {
  maxAttempts: 17,
  baseDelayMs: 1000,
  maxDelayMs: 61_000,
  jitter: false,
  capRetryAfter: false,
};

/**
 * Retry-After as go-azure-sdk's `Backoff` reads it: `strconv.ParseInt(value, 10, 64)` (an optional
 * sign and decimal digits, nothing else, within int64), in seconds; a negative number waits nothing
 * (Go's timer fires at once). Anything else is no Retry-After (the exponential back-off applies).
 */
export function goAzureSdkRetryAfter(value: string): number | undefined {
  if (!/^[+-]?\d+$/.test(value)) return undefined;
  const parsed = BigInt(value);
  if (parsed > 9223372036854775807n || parsed < -9223372036854775808n) return undefined;
  return parsed < 0n ? 0 : Number(parsed);
}

/**
 * What go-azure-sdk retries (sdk/client/client.go `Execute`'s CheckRetry, `extendedRetryPolicy`,
 * `isResourceManagerHost`; go-retryablehttp v0.7.7 `baseRetryPolicy`), for a Graph host:
 * - an answer of 408 or 424 (eventual consistency), 429, or any 5xx but 501 is sent again, whatever
 *   the method (POST included), after Retry-After when given;
 * - no answer: only GET (IsIdempotent: GET, HEAD, OPTIONS) is sent again, and not when the
 *   connection was closed with no answer (Go's "EOF"), never made ("dial tcp") or its certificate
 *   refused; a reset or a timeout of a GET is sent again. Any other method with no answer fails
 *   ("HTTP response was nil; connection may have been reset").
 * - below go-azure-sdk, Go's net/http (`persistConn.shouldRetryRequest`) sends a replayable GET
 *   again by itself, once, when a REUSED keep-alive connection was closed before any answer (here:
 *   the try before got an answer, so its connection was reused); that resend is no attempt of
 *   go-azure-sdk's. On a fresh connection the EOF reaches go-azure-sdk, which does not retry it.
 * Everything else fails at once. Retries an operation asks for (its RetryFunc) are the resources'.
 */
export function goAzureSdkRetryRule(
  error: RestApiError,
  request: Pick<RestRequest, "method">,
  context: RetryContext = { previousTryAnswered: false },
): AttemptFailure {
  const status = error.status;
  if (status !== undefined) {
    if (status === 408 || status === 424 || status === 429 || (status >= 500 && status !== 501))
      return { kind: "refused", retryAfterSeconds: error.retryAfterSeconds };
    return { kind: "final" };
  }
  // No answer and no transport failure: the token could not be had, which go-azure-sdk does not retry.
  if (error.network === undefined) return { kind: "final" };
  if (request.method !== "GET") return { kind: "final" };
  if (error.network === "closed" && context.previousTryAnswered) return { kind: "resend" };
  if (error.network === "closed" || error.network === "connect" || error.network === "tls") return { kind: "final" };
  // A GET may be sent again whatever happened to it, so "refused" (retried for any method) is exact here.
  return { kind: "refused" };
}

/** go-azure-sdk's rules as options of the project's RestClient: attempts and waits, what is retried, Retry-After. */
export const goAzureSdkClientOptions = {
  retryPolicy: goAzureSdkRetryPolicy,
  classify: goAzureSdkRetryRule,
  parseRetryAfter: goAzureSdkRetryAfter,
} satisfies Partial<RestClientOptions>;

export class GraphSession {
  private constructor(
    readonly endpoints: GraphEndpoints,
    readonly tenantId: string,
    private readonly client: RestClient,
    /** Object id of the signed-in principal. */
    readonly callerObjectId: string,
  ) {}

  static async open(config: AzureadConfig, options: GraphSessionOptions = {}): Promise<GraphSession> {
    const missing = (["clientId", "clientSecret", "tenantId"] as const).filter((key) => !config[key]);
    if (missing.length > 0) {
      throw new Error(
        `azuread (offline stand-in): set ${missing.map((key) => `azuread:${key}`).join(", ")} ` +
          `(or ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID); this stand-in signs in with a client secret only`,
      );
    }
    const endpoints = await discoverEndpoints(config, options.log);
    const identity: typeof import("@azure/identity") = require("@azure/identity");
    const credential = new identity.ClientSecretCredential(config.tenantId!, config.clientId!, config.clientSecret!, {
      authorityHost: endpoints.loginEndpoint,
      // Instance discovery asks login.microsoftonline.com about the authority: not for other hosts.
      disableInstanceDiscovery: !isMicrosoftAuthorityHost(endpoints.loginEndpoint),
    });
    const scope = defaultScope(endpoints.graphResource);
    let token: string;
    try {
      const accessToken = await credential.getToken(scope);
      if (!accessToken) throw new Error("no token was returned");
      token = accessToken.token;
    } catch (error) {
      // MSAL messages name the client and the authority, never the secret; keep the first line only.
      const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
      throw new Error(
        `azuread: could not sign in as client ${config.clientId} in tenant ${config.tenantId} at ${endpoints.loginEndpoint}: ${reason}. ` +
          `Check azuread:clientId, azuread:clientSecret and azuread:tenantId.`,
      );
    }
    const callerObjectId = tokenClaim(token, "oid");
    if (!callerObjectId) throw new Error("azuread: the access token has no oid claim, so the caller's object id is unknown");
    const client = new RestClient({
      service: "Microsoft Graph",
      baseUrl: endpoints.graphResource,
      tokenResource: endpoints.graphResource,
      credential,
      log: options.log,
      ...goAzureSdkClientOptions,
      sleep: options.sleep,
    });
    return new GraphSession(endpoints, config.tenantId!, client, callerObjectId);
  }

  /** A request against Graph; `path` starts with "v1.0/" or "beta/". */
  request<T = Plain>(request: RestRequest<T>) {
    return this.client.request<T>(request);
  }

  /** GET that answers undefined for 404. */
  async getOrUndefined<T = Plain>(operation: string, path: string): Promise<T | undefined> {
    const response = await this.client.request<T>({ operation, method: "GET", path, acceptStatus: [404] });
    return response.status === 404 ? undefined : response.data;
  }

  /** GET of a collection, following @odata.nextLink. */
  async list<T = Plain>(operation: string, path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    while (next) {
      const response: { data: { value?: T[]; "@odata.nextLink"?: string } } = await this.client.request({
        operation,
        method: "GET",
        path: next,
      });
      items.push(...(response.data.value ?? []));
      const link = response.data["@odata.nextLink"];
      next = link ? (link.startsWith(this.endpoints.graphResource) ? link.slice(this.endpoints.graphResource.length) : link) : undefined;
    }
    return items;
  }

  /** The reference used in `owners@odata.bind` and `owners/$ref` bodies. */
  directoryObjectReference(objectId: string): string {
    return `${this.endpoints.graphResource}v1.0/directoryObjects/${objectId}`;
  }

  /** Object ids of the owners of an application or service principal. */
  async ownerIds(collection: "applications" | "servicePrincipals", objectId: string): Promise<string[]> {
    const owners = await this.list<Plain>(`list the owners of ${collection} ${objectId}`, `v1.0/${collection}/${objectId}/owners`);
    return owners.map((owner) => String(owner.id));
  }

  /**
   * Adds the owners in `desired` that are not in `current` (listed when not given), then removes the
   * others, as v3.8.0's updates do (tf.Difference: exact strings). Every failure is the real
   * provider's failure: adding an owner already there is Graph's 400 "already exist", removing one
   * already gone is Graph's 404.
   */
  async setOwners(
    collection: "applications" | "servicePrincipals",
    objectId: string,
    desired: readonly string[],
    current?: readonly string[],
  ) {
    const have = current ?? (await this.ownerIds(collection, objectId));
    for (const id of desired.filter((owner) => !have.includes(owner))) {
      await this.request({
        operation: `add owner ${id} to ${collection} ${objectId}`,
        method: "POST",
        path: `v1.0/${collection}/${objectId}/owners/$ref`,
        body: { "@odata.id": this.directoryObjectReference(id) },
      });
    }
    for (const id of have.filter((owner) => !desired.includes(owner))) {
      await this.request({
        operation: `remove owner ${id} from ${collection} ${objectId}`,
        method: "DELETE",
        path: `v1.0/${collection}/${objectId}/owners/${id}/$ref`,
      });
    }
  }
}

/**
 * The owners a new object ends with: the caller (matched case-insensitively, as v3.8.0's create
 * does) when the program lists it, and the other wanted owners.
 */
export function ownersAfterCreate(caller: string, wanted: readonly string[], others: readonly string[]): string[] {
  return wanted.length !== others.length ? [caller, ...others] : [...others];
}

/** Reads one claim of a JWT without checking its signature (the token came straight from the authority). */
export function tokenClaim(token: string, claim: string): string | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as Plain;
    const value = payload[claim];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
