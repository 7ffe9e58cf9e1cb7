// Azure Resource Manager on the emulator's one HTTPS server, in the order a request meets it:
// authentication (a bearer token for ARM's audience), the api-version (required, and one the
// resource type's provider has), the subscription, then the handler of the resource type, which
// authorizes the caller's action at the resource's scope (RBAC, roles.ts) and answers in ARM's shapes.
// Sources (V): learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors
// (the codes), .../error-register-resource-provider (NoRegisteredProviderFound and its message;
// AuthorizationFailed "The client '<id>' with object id '<id>' does not have authorization to perform
// action ... over scope ..."), .../error-parent-resource (ParentResourceNotFound "Can not perform
// requested operation on nested resource. Parent resource '<name>' not found."), .../error-not-found
// (ResourceNotFound, ResourceGroupNotFound); InvalidApiVersionParameter's text as ARM answers it
// (Azure/azure-cli#27109); azure-rest-api-specs specification/common-types ErrorResponse
// ({"error":{"code","message"}}). Anything else marked G in emulator/README.md ("Azure").
import { armError } from "../errors";
import { ARM_AUDIENCES, bearer, verifyToken, type TokenClaims } from "../entra";
import { RequestContext, sameId } from "../http";
import type { AzureStore } from "./azure-store";
import type { SubscriptionRecord } from "./model";
import { grantingAssignment } from "./roles";

/** Who calls: the token's application and service principal. */
export interface ArmCaller {
  appId: string;
  objectId: string;
  claims: TokenClaims;
}

/** A parsed ARM path: the subscription, the resource group, then a provider's type/name pairs. */
export interface ArmTarget {
  subscriptionId: string;
  resourceGroup?: string;
  /** The provider namespace as sent, e.g. Microsoft.KeyVault. */
  namespace?: string;
  /** Resource types below the namespace, e.g. ["vaults", "secrets"]. */
  types: string[];
  /** Their names: as many as types, or one fewer for a collection (a list). */
  names: string[];
  /** For role assignments and definitions: the scope before /providers/Microsoft.Authorization. */
  scope?: string;
}

export interface ArmCall {
  ctx: RequestContext;
  azure: AzureStore;
  caller: ArmCaller;
  target: ArmTarget;
  apiVersion: string;
  subscription: SubscriptionRecord | undefined;
}

/** The locations the emulated providers are available in (named in NoRegisteredProviderFound). */
export const LOCATIONS = ["westeurope", "northeurope", "eastus", "westus2", "uksouth"];

/** ARM's error answers, one function per code the emulator uses. */
export const armErrors = {
  missingApiVersion: () =>
    armError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."),
  invalidApiVersion: (version: string, supported: readonly string[]) =>
    armError(
      400,
      "InvalidApiVersionParameter",
      `The api-version '${version}' is invalid. The supported versions are '${[...supported].reverse().join(",")}'.`,
    ),
  noRegisteredProvider: (version: string, type: string, supported: readonly string[]) =>
    armError(
      400,
      "NoRegisteredProviderFound",
      `No registered resource provider found for location '${LOCATIONS[0]}' and API version '${version}' for type '${type}'. The supported api-versions are '${supported.join(", ")}'. The supported locations are '${LOCATIONS.join(", ")}'.`,
    ),
  invalidNamespace: (namespace: string) => armError(400, "InvalidResourceNamespace", `The resource namespace '${namespace}' is invalid.`),
  invalidType: (type: string, namespace: string, version: string) =>
    armError(
      400,
      "InvalidResourceType",
      `The resource type '${type}' could not be found in the namespace '${namespace}' for api version '${version}'.`,
    ),
  subscriptionNotFound: (id: string) => armError(404, "SubscriptionNotFound", `The subscription '${id}' could not be found.`),
  resourceGroupNotFound: (name: string) => armError(404, "ResourceGroupNotFound", `Resource group '${name}' could not be found.`),
  resourceNotFound: (type: string, name: string, group: string) =>
    armError(
      404,
      "ResourceNotFound",
      `The Resource '${type}/${name}' under resource group '${group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    ),
  parentNotFound: (parentName: string) =>
    armError(
      404,
      "ParentResourceNotFound",
      `Can not perform requested operation on nested resource. Parent resource '${parentName}' not found.`,
    ),
  disallowedOperation: (operation: string, type: string) =>
    armError(400, "DisallowedResourceOperation", `The operation '${operation}' on resource type '${type}' is disallowed.`),
  invalidContent: (detail: string) =>
    armError(400, "InvalidRequestContent", `The request content was invalid and could not be deserialized: '${detail}'.`),
  locationRequired: () => armError(400, "LocationRequired", "The location property is required for this definition."),
  badRequest: (code: string, message: string) => armError(400, code, message),
  conflict: (code: string, message: string) => armError(409, code, message),
};

function challenge(ctx: RequestContext, description: string): Record<string, string> {
  return {
    "WWW-Authenticate": `Bearer authorization_uri="${ctx.core.urls.authorityHost}/${ctx.core.store.state.tenant.tenantId}", error="invalid_token", error_description="${description}"`,
  };
}

/** Authenticates an ARM request (V: ARM's 401 codes as it answers them). */
export function authenticateArm(ctx: RequestContext): ArmCaller {
  const token = bearer(ctx);
  if (!token) {
    throw armError(
      401,
      "AuthenticationFailed",
      "Authentication failed. The 'Authorization' header is missing.",
      challenge(ctx, "The authentication failed because of missing 'Authorization' header."),
    );
  }
  const verified = verifyToken(ctx.core, token);
  if ("reason" in verified) {
    if (verified.reason === "the token is expired") {
      const exp = expiryOf(token);
      throw armError(
        401,
        "ExpiredAuthenticationToken",
        `The access token expiry UTC time '${exp}' is earlier than current UTC time '${ctx.core.now().toISOString()}'.`,
        challenge(ctx, "The access token has expired."),
      );
    }
    throw armError(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge(ctx, "The access token is invalid."));
  }
  const claims = verified.claims;
  const allowed = ARM_AUDIENCES.flatMap((audience) => [audience, audience.replace(/\/$/, "")]);
  if (!allowed.includes(claims.aud)) {
    throw armError(
      401,
      "InvalidAuthenticationTokenAudience",
      `The access token has been obtained for wrong audience or resource '${claims.aud}'. It should exactly match with one of the allowed audiences ${allowed.map((audience) => `'${audience}'`).join(",")}.`,
      challenge(ctx, "The access token has been obtained for wrong audience or resource."),
    );
  }
  if (!sameId(claims.tid, ctx.core.store.state.tenant.tenantId)) {
    throw armError(
      401,
      "InvalidAuthenticationTokenTenant",
      `The access token is from the wrong issuer '${claims.iss}'. It must match the tenant '${ctx.core.urls.authorityHost}/${ctx.core.store.state.tenant.tenantId}/' associated with this subscription. Please use the authority (URL) '${ctx.core.urls.authorityHost}/${ctx.core.store.state.tenant.tenantId}' to get the token.`,
      challenge(ctx, "The access token is from the wrong issuer."),
    );
  }
  return { appId: claims.appid, objectId: claims.oid, claims };
}

function expiryOf(token: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8")) as { exp?: number };
    return new Date((payload.exp ?? 0) * 1000).toISOString();
  } catch {
    return "unknown";
  }
}

/** 403 AuthorizationFailed unless a role assignment of the caller grants `action` at `scope` (V: ARM's message). */
export function authorize(call: ArmCall, action: string, scope: string): void {
  const { caller } = call;
  if (grantingAssignment(call.azure.roleAssignments(), caller.objectId, action, scope, "action")) return;
  throw armError(
    403,
    "AuthorizationFailed",
    `The client '${caller.appId}' with object id '${caller.objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

/** The JSON body as an object (V: InvalidRequestContent for a body that is not JSON). */
export async function armBody(ctx: RequestContext): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await ctx.json();
  } catch (err) {
    throw armErrors.invalidContent((err as Error).message);
  }
  if (body === undefined) return {};
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw armErrors.invalidContent("the body must be a JSON object");
  return body as Record<string, unknown>;
}

/** Splits an ARM path; undefined when it is not one the emulator knows how to read. */
export function parseArmPath(path: string): ArmTarget | undefined {
  const parts = path
    .split("/")
    .filter((segment) => segment.length > 0)
    .map(decodeURIComponent);
  const providersAt = (index: number, namespace: string) =>
    parts[index]?.toLowerCase() === "providers" && parts[index + 1]?.toLowerCase() === namespace.toLowerCase();
  // {scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}]: the scope may itself hold /providers/.
  for (let index = parts.length - 2; index >= 0; index--) {
    if (providersAt(index, "Microsoft.Authorization")) {
      const scopeParts = parts.slice(0, index);
      return {
        subscriptionId: scopeParts[0]?.toLowerCase() === "subscriptions" ? (scopeParts[1] ?? "") : "",
        resourceGroup: scopeParts[2]?.toLowerCase() === "resourcegroups" ? scopeParts[3] : undefined,
        namespace: parts[index + 1],
        types: parts.slice(index + 2, index + 3),
        names: parts.slice(index + 3, index + 4),
        scope: scopeParts.length ? `/${scopeParts.join("/")}` : "",
      };
    }
  }
  if (parts[0]?.toLowerCase() !== "subscriptions") return undefined;
  const subscriptionId = parts[1] ?? "";
  if (parts.length <= 2) return { subscriptionId, types: [], names: [] };
  if (parts[2].toLowerCase() !== "resourcegroups") return undefined;
  const resourceGroup = parts[3];
  if (parts.length <= 4) return { subscriptionId, resourceGroup, types: [], names: [] };
  if (parts[4].toLowerCase() !== "providers" || parts.length < 7) return undefined;
  const rest = parts.slice(6);
  return {
    subscriptionId,
    resourceGroup,
    namespace: parts[5],
    types: rest.filter((_, index) => index % 2 === 0),
    names: rest.filter((_, index) => index % 2 === 1),
  };
}

/** The resource id of a target's named resource (or of its parent for a list). */
export function resourceIdOf(target: ArmTarget, depth = target.names.length): string {
  let id = `/subscriptions/${target.subscriptionId}`;
  if (target.resourceGroup !== undefined) id += `/resourceGroups/${target.resourceGroup}`;
  if (!target.namespace || depth === 0) return id;
  id += `/providers/${target.namespace}`;
  for (let index = 0; index < depth; index++) id += `/${target.types[index]}/${target.names[index]}`;
  return id;
}
