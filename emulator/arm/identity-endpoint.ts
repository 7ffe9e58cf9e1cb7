// The managed identity endpoint of App Service (the protocol @azure/identity's
// ManagedIdentityCredential speaks when IDENTITY_ENDPOINT and IDENTITY_HEADER are set): GET
// <IDENTITY_ENDPOINT>?api-version=2019-08-01&resource=<resource>[&client_id=|&object_id=|
// &principal_id=|&mi_res_id=] with header X-IDENTITY-HEADER: <IDENTITY_HEADER>; the answer is
// {access_token, expires_on (seconds, a string), resource, token_type, client_id}.
// V: learn.microsoft.com/azure/app-service/overview-managed-identity ("REST endpoint reference");
// the request as @azure/msal-node 7.2.1 sends it (client/ManagedIdentitySources/AppService.mjs).
// Offline the endpoint serves every user-assigned identity of the tenant (there is no App Service
// to assign them to) and no system-assigned identity; the header value is fixed per tenant
// (RunningEmulator.managedIdentity.header). Error bodies {statusCode, message, correlationId} as
// App Service answers; statuses and messages G.
import { createHash } from "node:crypto";
import { identityEndpointError } from "../errors";
import { issueAccessToken, resourceAudience } from "../entra";
import type { EmulatorCore, RequestContext } from "../http";
import type { IdentityRecord } from "./model";

const API_VERSION = "2019-08-01";
const SELECTORS = ["client_id", "object_id", "principal_id", "mi_res_id"] as const;

/** The IDENTITY_HEADER value clients must send (derived from the tenant: the same at every start). */
export function identityHeader(core: EmulatorCore): string {
  return createHash("sha256")
    .update(`dataverse-s2s emulator identity header:${core.store.state.tenant.tenantId}`)
    .digest("hex")
    .slice(0, 32);
}

export function handleIdentityEndpoint(ctx: RequestContext): boolean {
  if (ctx.path.replace(/\/+$/, "").toLowerCase() !== "/msi/token") return false;
  ctx.op("GET /msi/token");
  if (ctx.method !== "GET") throw identityEndpointError(405, "Only GET is supported.");
  if (ctx.header("x-identity-header") !== identityHeader(ctx.core)) {
    throw identityEndpointError(401, "The X-IDENTITY-HEADER header is missing or wrong: send the value of IDENTITY_HEADER.");
  }
  const apiVersion = ctx.query.get("api-version");
  if (apiVersion !== API_VERSION) {
    throw identityEndpointError(400, `The api-version '${apiVersion ?? ""}' is not supported: use ${API_VERSION}.`);
  }
  const resource = ctx.query.get("resource");
  if (!resource) throw identityEndpointError(400, "The resource query parameter is required.");
  const identity = selectIdentity(ctx);
  const audience = resourceAudience(ctx.core, resource);
  if (!audience) {
    throw identityEndpointError(
      400,
      `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${ctx.core.store.state.tenant.displayName}.`,
    );
  }
  const properties = identity.doc.properties as Record<string, string>;
  const { token, expiresOn } = issueAccessToken(
    ctx.core,
    { appId: properties.clientId, objectId: properties.principalId, appidacr: "2", managedIdentityResourceId: identity.doc.id },
    audience,
  );
  ctx.send(200, { access_token: token, expires_on: String(expiresOn), resource, token_type: "Bearer", client_id: properties.clientId });
  return true;
}

/** The user-assigned identity the query names (exactly one selector; no system-assigned identity offline). */
function selectIdentity(ctx: RequestContext): IdentityRecord {
  const azure = ctx.core.azure;
  const given = SELECTORS.filter((name) => ctx.query.get(name));
  const unable = () => identityEndpointError(400, "Unable to load the proper Managed Identity.");
  if (given.length !== 1) throw unable();
  const value = ctx.query.get(given[0]) ?? "";
  const identity =
    given[0] === "client_id"
      ? azure.identityBy("clientId", value)
      : given[0] === "mi_res_id"
        ? azure.identity(value)
        : azure.identityBy("principalId", value);
  if (!identity) throw unable();
  return identity;
}
