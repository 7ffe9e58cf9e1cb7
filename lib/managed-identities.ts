/**
 * Lookups of user-assigned managed identities, with the deployer's own tokens (DefaultAzureCredential):
 * an identity by its ARM resource id (Azure Resource Manager), its service principal by client id
 * (Microsoft Graph), and the resource group an identity is made in. Each failure is described for
 * the setting that named the identity, with what to check.
 *
 * Plain functions only (the EnvironmentCheck provider that calls some of them is serialized by Pulumi).
 */
import { discoverArmEndpoints } from "./cloud-endpoints";
import { RestApiError, RestClient } from "./rest-client";
import { parseManagedIdentityId, resourceGroupId } from "./managed-identity-rules";

/** The api-versions read here: the ones pulumi-azure-native 3.x uses by default (emulator/README.md). */
export const armApiVersions = { userAssignedIdentities: "2023-01-31", resourceGroups: "2021-04-01" } as const;

/** The azure-native provider's cloud; both empty: the public cloud. */
export interface ArmCloud {
  readonly metadataHost?: string;
  readonly environment?: string;
}

/** An ARM client for the cloud, with the deployer's credential (DefaultAzureCredential). */
export async function armClient(cloud: ArmCloud): Promise<RestClient> {
  const endpoints = await discoverArmEndpoints({
    metadataHost: cloud.metadataHost || undefined,
    environment: cloud.environment || undefined,
  });
  return new RestClient({ service: "Azure Resource Manager", baseUrl: endpoints.resourceManager, tokenResource: endpoints.audience });
}

/** What an existing identity is known by. */
export interface ResolvedIdentity {
  /** The identity's client id: the application id of its service principal, and of its Dataverse application user. */
  readonly clientId: string;
  /** The object id of its service principal. */
  readonly principalId: string;
  readonly tenantId: string;
}

/** An identity, a resource group or a permission that is not there: the message names the setting. */
export class ManagedIdentityLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManagedIdentityLookupError";
  }
}

const permissionAdvice =
  "give the deploying identity Reader on the identity or its resource group, " +
  "or name the identity by its client id (credential.clientId), which needs no Azure access";

/** Reads an identity by its ARM resource id; a 404 or 403 becomes a ManagedIdentityLookupError naming `setting`. */
export async function lookUpIdentityByResourceId(arm: RestClient, resourceId: string, setting: string): Promise<ResolvedIdentity> {
  const id = parseManagedIdentityId(resourceId);
  try {
    const response = await arm.request<{ properties?: { clientId?: string; principalId?: string; tenantId?: string } }>({
      operation: `read the managed identity '${id.name}'`,
      method: "GET",
      path: `${resourceId.trim().replace(/^\//, "")}?api-version=${armApiVersions.userAssignedIdentities}`,
    });
    const properties = response.data.properties ?? {};
    if (!properties.clientId || !properties.principalId || !properties.tenantId)
      throw new ManagedIdentityLookupError(`${setting}: ARM answered for '${resourceId}' without its clientId, principalId or tenantId.`);
    return {
      clientId: properties.clientId.toLowerCase(),
      principalId: properties.principalId.toLowerCase(),
      tenantId: properties.tenantId.toLowerCase(),
    };
  } catch (error) {
    if (error instanceof RestApiError && error.status === 404)
      throw new ManagedIdentityLookupError(
        `${setting}: there is no user-assigned managed identity '${resourceId}' (${error.code ?? "404"}: ${error.serviceMessage}). ` +
          "Check the resource id (Azure portal > Managed Identities > the identity > Properties > Resource ID) and that the subscription is the identity's.",
      );
    if (error instanceof RestApiError && error.status === 403)
      throw new ManagedIdentityLookupError(
        `${setting}: the deploying identity may not read '${resourceId}' (${error.code ?? "403"}); ${permissionAdvice}.`,
      );
    throw error;
  }
}

/** A problem found with an identity or a resource group, for the environment check's report. */
export interface IdentityProblem {
  readonly setting: string;
  readonly problem: string;
  readonly check: string;
}

/** The service principal of `clientId` must exist and be a managed identity's. */
export async function identityPrincipalProblem(graph: RestClient, setting: string, clientId: string): Promise<IdentityProblem | undefined> {
  const response = await graph.request<{ value?: { id: string; displayName?: string; servicePrincipalType?: string }[] }>({
    operation: `find the service principal of the managed identity ${clientId}`,
    method: "GET",
    path: `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${clientId}'`)}&$select=id,appId,displayName,servicePrincipalType`,
  });
  const principal = (response.data.value ?? [])[0];
  if (!principal)
    return {
      setting,
      problem: `there is no managed identity with the client id ${clientId} in the tenant (Microsoft Graph has no service principal with that appId)`,
      check:
        "the identity's Client ID (Azure portal > Managed Identities > the identity > Overview, not its Object (principal) ID), " +
        "that it is in the tenant of azuread:tenantId, and that the deploying identity may read service principals (Application.Read.All)",
    };
  if (principal.servicePrincipalType && principal.servicePrincipalType !== "ManagedIdentity")
    return {
      setting,
      problem: `${clientId} is the client id of '${principal.displayName ?? principal.id}', a service principal of type ${principal.servicePrincipalType}, not a managed identity`,
      check:
        "the managed identity's Client ID; for an app registration made by hand use credential.type secret, certificate or federated with adopt.clientId",
    };
  return undefined;
}

/** The resource group a made identity goes to must exist, and the deployer must be allowed to read it. */
export async function resourceGroupProblem(
  arm: RestClient,
  setting: string,
  subscriptionId: string,
  resourceGroup: string,
): Promise<IdentityProblem | undefined> {
  const id = resourceGroupId(subscriptionId, resourceGroup);
  try {
    await arm.request({
      operation: `read the resource group '${resourceGroup}'`,
      method: "GET",
      path: `${id.replace(/^\//, "")}?api-version=${armApiVersions.resourceGroups}`,
    });
    return undefined;
  } catch (error) {
    if (error instanceof RestApiError && error.status === 404)
      return {
        setting,
        problem: `there is no resource group '${resourceGroup}' in the subscription ${subscriptionId} (${error.code ?? "404"})`,
        check:
          "the group's name ('az group list --query [].name -o tsv'), and that azure-native:subscriptionId (or ARM_SUBSCRIPTION_ID) is its subscription; the stack does not make resource groups",
      };
    if (error instanceof RestApiError && error.status === 403)
      return {
        setting,
        problem: `the deploying identity may not read the resource group '${resourceGroup}' (${error.code ?? "403"}), so it cannot make a managed identity there`,
        check: `that the deploying identity has Managed Identity Contributor on the resource group ${id} (or Contributor)`,
      };
    if (error instanceof RestApiError && (error.status === 401 || error.code === "TOKEN"))
      return {
        setting,
        problem: `Azure Resource Manager refused the deploying identity's token (${error.serviceMessage.split("\n")[0]})`,
        check: "azure-native:metadataHost / environment, and that the deploying identity is in the subscription's tenant",
      };
    throw error;
  }
}
