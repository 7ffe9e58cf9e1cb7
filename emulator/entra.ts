// Entra ID: the ARM-style metadata endpoint the azuread provider reads, the OpenID configuration
// MSAL (@azure/identity) reads, and the OAuth2 v2 client-credentials token endpoint.
//
// Tokens are HS256 JWTs signed with the emulator's own key: clients never check the signature,
// but Graph and Dataverse here do, so a hand-made token is refused like a foreign one.
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { entraError, ServiceError } from "./errors";
import { RequestContext, sameId, type EmulatorCore } from "./http";
import { verifySecret } from "./model";
import { CLIENT_ASSERTION_TYPE, verifyClientAssertion } from "./entra-assertions";
import { SEEDED_IDS } from "./seed";
import type { ApplicationRecord, ServicePrincipalRecord } from "./store";

const TOKEN_LIFETIME_S = 3600;

export interface TokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  appid: string;
  azp: string;
  appidacr: string;
  idp: string;
  idtyp: "app";
  oid: string;
  sub: string;
  tid: string;
  roles: string[];
  uti: string;
  ver: string;
  /** A managed identity's resource id (tokens of user-assigned identities carry it). */
  xms_mirid?: string;
}

/**
 * Azure's resource ids, which are token audiences whatever the URL the service answers on (offline
 * the emulator's own): ARM accepts both of its ids with or without the trailing slash, Key Vault
 * its one id. A token's aud is the id as Entra registers it (V: tokens for
 * https://management.azure.com/ carry it with the slash, for https://vault.azure.net without).
 */
export const ARM_AUDIENCES = ["https://management.core.windows.net/", "https://management.azure.com/"] as const;
export const KEY_VAULT_AUDIENCE = "https://vault.azure.net";

/** The principal a token is issued to: an app registration's or a managed identity's service principal. */
export interface TokenSubject {
  appId: string;
  /** The service principal's object id (the token's oid and sub). */
  objectId: string;
  /** "1": a client secret or certificate; "2": a managed identity (V: access token claims reference, appidacr). */
  appidacr: "1" | "2";
  managedIdentityResourceId?: string;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

function signToken(core: EmulatorCore, claims: TokenClaims): string {
  const head = b64url(JSON.stringify({ typ: "JWT", alg: "HS256", kid: "emulator" }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac("sha256", core.tokenKey).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** Verifies an emulator token. Returns its claims, or a reason it is refused. */
export function verifyToken(core: EmulatorCore, token: string): { claims: TokenClaims } | { reason: string } {
  const parts = token.split(".");
  if (parts.length !== 3) return { reason: "the token is not a JWT (three dot-separated parts expected)" };
  const expected = createHmac("sha256", core.tokenKey).update(`${parts[0]}.${parts[1]}`).digest();
  const actual = Buffer.from(parts[2], "base64url");
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    return { reason: "the token signature is invalid (not issued by this emulator)" };
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as TokenClaims;
  } catch {
    return { reason: "the token payload is not JSON" };
  }
  const now = Math.floor(core.now().getTime() / 1000);
  if (typeof claims.exp !== "number" || claims.exp <= now) return { reason: "the token is expired" };
  if (typeof claims.nbf === "number" && claims.nbf > now + 300) return { reason: "the token is not yet valid" };
  return { claims };
}

/** The Bearer token of a request, if any. */
export function bearer(ctx: RequestContext): string | undefined {
  const authorization = ctx.header("authorization");
  if (!authorization) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  return match ? match[1] : undefined;
}

function tenantMatches(core: EmulatorCore, tenant: string): boolean {
  const known = core.store.state.tenant;
  return sameId(tenant, known.tenantId) || tenant.toLowerCase() === known.domain.toLowerCase();
}

function openIdConfiguration(core: EmulatorCore, tenantSegment: string): Record<string, unknown> {
  const host = core.urls.authorityHost;
  const tid = tenantMatches(core, tenantSegment) ? core.store.state.tenant.tenantId : "{tenantid}";
  return {
    token_endpoint: `${host}/${tenantSegment}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${host}/${tenantSegment}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${host}/${tid}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${host}/oidc/userinfo`,
    authorization_endpoint: `${host}/${tenantSegment}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${host}/${tenantSegment}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${host}/${tenantSegment}/oauth2/v2.0/logout`,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid", "appid", "idtyp"],
    kerberos_endpoint: `${host}/${tenantSegment}/kerberos`,
    tenant_region_scope: "EU",
    cloud_instance_name: "emulator.local",
    cloud_graph_host_name: core.urls.metadataHost,
    msgraph_host: core.urls.metadataHost,
    rbac_url: core.urls.authorityHost,
  };
}

/** Routes Entra requests. Returns false when no route matches (the server answers 501). */
export async function handleEntra(ctx: RequestContext): Promise<boolean> {
  const segments = ctx.path
    .split("/")
    .filter((segment) => segment.length > 0)
    .map(decodeURIComponent);
  if (ctx.method === "GET" && serveDiscovery(ctx, segments)) return true;
  if (segments.length === 4 && segments[1] === "oauth2" && segments[2] === "v2.0" && segments[3] === "token") {
    if (ctx.method !== "POST") return false;
    ctx.op("POST /{tenant}/oauth2/v2.0/token");
    await token(ctx, segments[0]);
    return true;
  }
  return false;
}

/** The GET documents clients read before asking for a token: cloud metadata, instance discovery, OpenID configuration, keys. */
function serveDiscovery(ctx: RequestContext, segments: string[]): boolean {
  const core = ctx.core;
  if (segments.length === 2 && segments[0] === "metadata" && segments[1] === "endpoints") {
    ctx.op("GET /metadata/endpoints");
    // Exactly the shape the azuread provider parses: loginEndpoint without a trailing slash,
    // microsoftGraphResourceId with one (it is both the Graph base URL and the token scope).
    // resourceManager is where ARM answers (the emulator); its token audiences are Azure's own ids,
    // as in the real document (arm/README: ARM and Key Vault). No suffixes.keyVaultDns: vault host
    // names (<vault>.vault.azure.net) cannot resolve offline, a vault's URI is its properties.vaultUri.
    const base = core.urls.authorityHost;
    ctx.send(200, {
      name: "LocalEntra",
      resourceManager: `${core.urls.resourceManagerUrl}/`,
      microsoftGraphResourceId: `${base}/`,
      authentication: { loginEndpoint: base, audiences: [...ARM_AUDIENCES], tenant: "common", identityProvider: "AAD" },
    });
    return true;
  }
  if (segments.length === 3 && segments[1] === "discovery" && segments[2] === "instance") {
    ctx.op("GET /{tenant}/discovery/instance");
    const host = core.urls.metadataHost;
    ctx.send(200, {
      tenant_discovery_endpoint: `${core.urls.authorityHost}/${segments[0]}/v2.0/.well-known/openid-configuration`,
      "api-version": "1.1",
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
    return true;
  }
  // /{tenant}/v2.0/.well-known/openid-configuration and /{tenant}/.well-known/openid-configuration
  if (segments.length >= 3 && segments[segments.length - 2] === ".well-known" && segments[segments.length - 1] === "openid-configuration") {
    ctx.op("GET /{tenant}/v2.0/.well-known/openid-configuration");
    const tenant = segments[0];
    if (!["common", "organizations", "consumers"].includes(tenant.toLowerCase()) && !tenantMatches(core, tenant)) {
      throw unknownTenant(core, tenant);
    }
    ctx.send(200, openIdConfiguration(core, tenant));
    return true;
  }
  if (segments.length === 4 && segments[1] === "discovery" && segments[3] === "keys") {
    ctx.op("GET /{tenant}/discovery/v2.0/keys");
    ctx.send(200, { keys: [] });
    return true;
  }
  return false;
}

function unknownTenant(core: EmulatorCore, tenant: string): ServiceError {
  void core;
  return entraError(
    400,
    "invalid_request",
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);

const missingParameter = (name: string) =>
  entraError(400, "invalid_request", 900144, `The request body must contain the following parameter: '${name}'.`);

/** The client credentials request as sent: form fields, or client_secret_basic (an Authorization: Basic header). */
async function readTokenRequest(ctx: RequestContext) {
  const contentType = ctx.header("content-type") ?? "";
  if (!contentType.toLowerCase().startsWith("application/x-www-form-urlencoded")) throw missingParameter("grant_type");
  const form = await ctx.form();
  const grantType = form.get("grant_type");
  if (!grantType) throw missingParameter("grant_type");
  if (grantType !== "client_credentials") {
    throw entraError(
      400,
      "unsupported_grant_type",
      70003,
      `The app requested an unsupported grant type '${grantType}'. The emulator supports client_credentials only.`,
    );
  }
  let clientId = form.get("client_id") ?? undefined;
  let clientSecret = form.get("client_secret") ?? undefined;
  const basic = /^Basic\s+(\S+)$/i.exec(ctx.header("authorization") ?? "");
  if (basic) {
    const [basicId, ...secretParts] = Buffer.from(basic[1], "base64").toString("utf8").split(":");
    clientId = clientId ?? decodeURIComponent(basicId);
    clientSecret = clientSecret ?? decodeURIComponent(secretParts.join(":"));
  }
  if (!clientId) throw missingParameter("client_id");
  const scope = form.get("scope");
  if (!scope) throw missingParameter("scope");
  return { form, clientId, clientSecret, scope };
}

/** Proves the client: a signed client assertion (certificate or federated) or a client secret. */
function authenticateClient(
  core: EmulatorCore,
  app: ApplicationRecord,
  request: Awaited<ReturnType<typeof readTokenRequest>>,
  tenant: string,
) {
  const assertion = request.form.get("client_assertion");
  if (assertion) {
    if (request.form.get("client_assertion_type") !== CLIENT_ASSERTION_TYPE) {
      throw entraError(400, "invalid_request", 90025, `The client_assertion_type must be '${CLIENT_ASSERTION_TYPE}'.`);
    }
    const state = core.store.state;
    const tokenEndpoints = [tenant, state.tenant.tenantId, state.tenant.domain].map(
      (name) => `${core.urls.authorityHost}/${name}/oauth2/v2.0/token`,
    );
    verifyClientAssertion(core, app, assertion, tokenEndpoints);
  } else if (!request.clientSecret) {
    throw entraError(
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  } else {
    checkSecret(core, app, request.clientSecret);
  }
}

/** The audience of a client credentials scope ("<resource>/.default"): Graph or one of the environments. */
function tokenAudience(core: EmulatorCore, scope: string): string {
  const scopes = scope.split(/\s+/).filter((name) => name.length > 0 && !OIDC_SCOPES.has(name.toLowerCase()));
  if (scopes.length !== 1 || !/\/\.default$/i.test(scopes[0])) {
    throw entraError(
      400,
      "invalid_scope",
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const requested = scopes[0].replace(/\/\.default$/i, "");
  const audience = resourceAudience(core, requested);
  if (!audience) {
    throw entraError(
      400,
      "invalid_resource",
      500011,
      `The resource principal named ${requested} was not found in the tenant named ${core.store.state.tenant.displayName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
  }
  return audience;
}

/**
 * The audience of a token for a resource (a scope without "/.default", or a managed identity
 * endpoint's `resource`): Graph, one of the environments, ARM or Key Vault; undefined when unknown.
 */
export function resourceAudience(core: EmulatorCore, resource: string): string | undefined {
  const requested = resource.replace(/\/+$/, "").toLowerCase();
  const known = [
    core.urls.graphAudience,
    ...core.urls.environments.map((environment) => environment.url),
    ...ARM_AUDIENCES,
    KEY_VAULT_AUDIENCE,
  ];
  return known.find((candidate) => candidate.replace(/\/+$/, "").toLowerCase() === requested);
}

/** A v1 app-only access token, as Entra issues for client credentials and managed identities. */
export function issueAccessToken(core: EmulatorCore, subject: TokenSubject, audience: string): { token: string; expiresOn: number } {
  const now = Math.floor(core.now().getTime() / 1000);
  const tenantId = core.store.state.tenant.tenantId;
  const issuer = `${core.urls.authorityHost}/${tenantId}/`;
  const expiresOn = now + TOKEN_LIFETIME_S;
  const token = signToken(core, {
    aud: audience,
    iss: issuer,
    iat: now,
    nbf: now,
    exp: expiresOn,
    appid: subject.appId,
    azp: subject.appId,
    appidacr: subject.appidacr,
    idp: issuer,
    idtyp: "app",
    oid: subject.objectId,
    sub: subject.objectId,
    tid: tenantId,
    roles: tokenRoles(core, subject.appId, audience),
    uti: randomUUID().replace(/-/g, ""),
    ver: "1.0",
    ...(subject.managedIdentityResourceId ? { xms_mirid: subject.managedIdentityResourceId } : {}),
  });
  return { token, expiresOn };
}

async function token(ctx: RequestContext, tenant: string): Promise<void> {
  const core = ctx.core;
  if (!tenantMatches(core, tenant)) throw unknownTenant(core, tenant);
  const request = await readTokenRequest(ctx);
  const { app, sp, managedIdentityResourceId } = tokenClient(core, request.clientId);
  authenticateClient(core, app, request, tenant);
  const subject: TokenSubject = managedIdentityResourceId
    ? { appId: String(app.doc.appId), objectId: sp.doc.id, appidacr: "2", managedIdentityResourceId }
    : { appId: String(app.doc.appId), objectId: sp.doc.id, appidacr: "1" };
  const accessToken = issueAccessToken(core, subject, tokenAudience(core, request.scope)).token;
  ctx.send(
    200,
    {
      token_type: "Bearer",
      expires_in: TOKEN_LIFETIME_S - 1,
      ext_expires_in: TOKEN_LIFETIME_S - 1,
      access_token: accessToken,
    },
    { "Cache-Control": "no-store, no-cache", Pragma: "no-cache" },
  );
}

/**
 * A user-assigned managed identity as a token endpoint client: it has no app registration, only its
 * federated identity credentials (workload identity federation to a managed identity: V,
 * learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity),
 * so it authenticates with a federated assertion alone (a secret or certificate finds nothing).
 */
function managedIdentityClient(
  core: EmulatorCore,
  clientId: string,
): { app: ApplicationRecord; managedIdentityResourceId: string } | undefined {
  const identity = core.azure.identityBy("clientId", clientId);
  if (!identity) return undefined;
  const principalId = String((identity.doc.properties as Record<string, unknown>).principalId);
  const app: ApplicationRecord = {
    doc: { id: principalId, appId: clientId, displayName: identity.doc.name },
    owners: [],
    secretHashes: {},
    federatedIdentityCredentials: Object.values(identity.federatedCredentials).map((credential) => ({
      id: credential.name,
      name: credential.name,
      ...(credential.properties as Record<string, unknown>),
    })),
  };
  return { app, managedIdentityResourceId: identity.doc.id };
}

/**
 * The application (or managed identity) and service principal a token is asked for. Neither:
 * AADSTS700016; an application without a service principal in the tenant: AADSTS7000229 (V: Entra's
 * error code list).
 */
function tokenClient(
  core: EmulatorCore,
  clientId: string,
): { app: ApplicationRecord; sp: ServicePrincipalRecord; managedIdentityResourceId?: string } {
  const tenant = core.store.state.tenant;
  const identity = core.directory.application(clientId) ? undefined : managedIdentityClient(core, clientId);
  const app = core.directory.application(clientId) ?? identity?.app;
  if (!app) {
    throw entraError(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  const sp = core.directory.servicePrincipal(clientId);
  if (!sp) {
    throw entraError(
      401,
      "invalid_client",
      7000229,
      `The client application ${clientId} is missing service principal in the tenant ${tenant.tenantId}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`,
    );
  }
  if (sp.doc.accountEnabled === false) {
    throw entraError(
      400,
      "unauthorized_client",
      7000112,
      `Application '${String(app.doc.appId)}'(${String(app.doc.displayName)}) is disabled.`,
    );
  }
  return { app, sp, managedIdentityResourceId: identity?.managedIdentityResourceId };
}

/** Graph application permissions in an app-only Graph token: the deployer's configured set (G: no other app has app roles granted). */
function tokenRoles(core: EmulatorCore, appId: string, audience: string): string[] {
  if (audience !== core.urls.graphAudience) return [];
  return sameId(appId, SEEDED_IDS.deployer.clientId) ? [...core.config.deployerGraphPermissions] : [];
}

/**
 * A secret is valid when it matches a password credential whose start/end dates contain the
 * emulator clock. Matching but outside its dates: expired (AADSTS7000222). No match: AADSTS7000215.
 */
function checkSecret(core: EmulatorCore, app: ApplicationRecord, secret: string): void {
  const now = core.now().getTime();
  const credentials = (app.doc.passwordCredentials as Array<Record<string, unknown>> | undefined) ?? [];
  // A removed secret keeps working on the replicas that have not seen the removal yet.
  const lingering = Object.values(app.removedSecrets ?? {}).filter((removed) => removed.validUntilMs > Date.now());
  const candidates = [
    ...credentials.map((credential) => ({
      hash: app.secretHashes[String(credential.keyId)],
      start: credential.startDateTime as string | null | undefined,
      end: credential.endDateTime as string | null | undefined,
      // A new secret is unknown to the replicas the lag has not reached yet.
      replicated: (app.secretsReplicatedAtMs?.[String(credential.keyId)] ?? 0) <= Date.now(),
    })),
    ...lingering.map((removed) => ({ hash: removed.hash, start: removed.startDateTime, end: removed.endDateTime, replicated: true })),
  ];
  let expired = false;
  for (const candidate of candidates) {
    if (!candidate.hash || !candidate.replicated || !verifySecret(secret, candidate.hash)) continue;
    const start = candidate.start ? Date.parse(candidate.start) : -Infinity;
    const end = candidate.end ? Date.parse(candidate.end) : Infinity;
    if (now >= start && now < end) return;
    if (now >= end) expired = true;
  }
  const appId = String(app.doc.appId);
  if (expired) {
    throw entraError(
      401,
      "invalid_client",
      7000222,
      `The provided client secret keys for app '${appId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
    );
  }
  throw entraError(
    401,
    "invalid_client",
    7000215,
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appId}'.`,
  );
}
