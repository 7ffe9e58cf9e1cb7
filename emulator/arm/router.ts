// Which ARM resource type a path is, with its api-versions and handler; the request pipeline of
// pipeline.ts around them. ARM's own resources (subscriptions, resource groups) answer an unknown
// api-version with InvalidApiVersionParameter, a resource provider's types with
// NoRegisteredProviderFound; a malformed one is InvalidApiVersionParameter everywhere.
import type { RequestContext } from "../http";
import { authorizationRequest, ROLE_ASSIGNMENT_API_VERSIONS, ROLE_DEFINITION_API_VERSIONS } from "./authorization";
import { keyVaultRequest, KEY_VAULT_API_VERSIONS } from "./keyvault";
import { managedIdentityRequest, MANAGED_IDENTITY_API_VERSIONS } from "./managed-identity";
import { armErrors, authenticateArm, parseArmPath, type ArmCall, type ArmTarget } from "./pipeline";
import { getSubscription, listSubscriptions, resourceGroup, RESOURCE_GROUP_API_VERSIONS, SUBSCRIPTION_API_VERSIONS } from "./resources";

interface ProviderType {
  /** Canonical spelling of the namespace and of each type segment. */
  namespace: string;
  types: string[];
  apiVersions: readonly string[];
  handle(call: ArmCall): Promise<boolean>;
}

const PROVIDER_TYPES: ProviderType[] = [
  { namespace: "Microsoft.KeyVault", types: ["vaults"], apiVersions: KEY_VAULT_API_VERSIONS, handle: keyVaultRequest },
  { namespace: "Microsoft.KeyVault", types: ["vaults", "secrets"], apiVersions: KEY_VAULT_API_VERSIONS, handle: keyVaultRequest },
  {
    namespace: "Microsoft.ManagedIdentity",
    types: ["userAssignedIdentities"],
    apiVersions: MANAGED_IDENTITY_API_VERSIONS,
    handle: managedIdentityRequest,
  },
  {
    namespace: "Microsoft.ManagedIdentity",
    types: ["userAssignedIdentities", "federatedIdentityCredentials"],
    apiVersions: MANAGED_IDENTITY_API_VERSIONS,
    handle: managedIdentityRequest,
  },
  {
    namespace: "Microsoft.Authorization",
    types: ["roleAssignments"],
    apiVersions: ROLE_ASSIGNMENT_API_VERSIONS,
    handle: authorizationRequest,
  },
  {
    namespace: "Microsoft.Authorization",
    types: ["roleDefinitions"],
    apiVersions: ROLE_DEFINITION_API_VERSIONS,
    handle: authorizationRequest,
  },
];

const API_VERSION_FORMAT = /^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$/;

/** Routes an ARM request; false when the path is not one ARM answers here (the server answers 501). */
export async function handleArm(ctx: RequestContext): Promise<boolean> {
  const target = parseArmPath(ctx.path);
  if (!target) return false;
  const caller = authenticateArm(ctx);
  const apiVersion = ctx.query.get("api-version");
  if (!apiVersion) throw armErrors.missingApiVersion();
  const call: ArmCall = { ctx, azure: ctx.core.azure, caller, target, apiVersion, subscription: undefined };
  if (!target.namespace) return armOwnResource(call, apiVersion);
  const provider = providerType(target, apiVersion);
  ctx.op(`${ctx.method} ${operationName(provider, target)}`);
  if (!API_VERSION_FORMAT.test(apiVersion)) throw armErrors.invalidApiVersion(apiVersion, provider.apiVersions);
  if (!provider.apiVersions.includes(apiVersion)) {
    throw armErrors.noRegisteredProvider(apiVersion, `${provider.namespace}/${provider.types.join("/")}`, provider.apiVersions);
  }
  if (target.subscriptionId) {
    call.subscription = ctx.core.azure.subscription(target.subscriptionId);
    if (!call.subscription) throw armErrors.subscriptionNotFound(target.subscriptionId);
    target.subscriptionId = call.subscription.subscriptionId;
  }
  target.namespace = provider.namespace;
  target.types = provider.types;
  return provider.handle(call);
}

/** The provider type of a path: InvalidResourceNamespace or InvalidResourceType when there is none. */
function providerType(target: ArmTarget, apiVersion: string): ProviderType {
  const namespace = target.namespace ?? "";
  const inNamespace = PROVIDER_TYPES.filter((entry) => entry.namespace.toLowerCase() === namespace.toLowerCase());
  if (inNamespace.length === 0) throw armErrors.invalidNamespace(namespace);
  const wanted = target.types.map((type) => type.toLowerCase()).join("/");
  const found = inNamespace.find((entry) => entry.types.map((type) => type.toLowerCase()).join("/") === wanted);
  if (!found) throw armErrors.invalidType(target.types.join("/"), inNamespace[0].namespace, apiVersion);
  return found;
}

function operationName(provider: ProviderType, target: ArmTarget): string {
  const pairs = provider.types.map((type, index) => (index < target.names.length ? `${type}/{name}` : type)).join("/");
  return target.scope !== undefined ? `{scope}/providers/${provider.namespace}/${pairs}` : `${provider.namespace}/${pairs}`;
}

/** GET /subscriptions, GET /subscriptions/{id}, GET|PUT /subscriptions/{id}/resourceGroups/{name}. */
async function armOwnResource(call: ArmCall, apiVersion: string): Promise<boolean> {
  const { ctx, target } = call;
  const isGroup = target.resourceGroup !== undefined;
  const versions = isGroup ? RESOURCE_GROUP_API_VERSIONS : SUBSCRIPTION_API_VERSIONS;
  ctx.op(
    `${ctx.method} ${isGroup ? "subscriptions/{id}/resourceGroups/{name}" : target.subscriptionId ? "subscriptions/{id}" : "subscriptions"}`,
  );
  if (!(versions as readonly string[]).includes(apiVersion)) throw armErrors.invalidApiVersion(apiVersion, versions);
  if (!target.subscriptionId) {
    if (ctx.method !== "GET") return false;
    listSubscriptions(call);
    return true;
  }
  const subscription = ctx.core.azure.subscription(target.subscriptionId);
  if (!subscription) throw armErrors.subscriptionNotFound(target.subscriptionId);
  call.subscription = subscription;
  if (!isGroup) {
    if (ctx.method !== "GET") return false;
    getSubscription(call, subscription);
    return true;
  }
  return resourceGroup(call, subscription, target.resourceGroup ?? "");
}
