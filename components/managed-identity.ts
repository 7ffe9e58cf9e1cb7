/**
 * A user-assigned managed identity as an integration's identity (an Azure Function, a Logic App, a
 * container app): no app registration and no credential to store or rotate. Azure signs the workload
 * in; Dataverse knows the identity as the application user of its client id.
 *
 * Either an existing identity (its client id) or one the stack makes with `@pulumi/azure-native`
 * (`managedidentity.UserAssignedIdentity`, only that module is loaded). Azure makes the identity's
 * service principal in the directory together with the identity, with `appId` = its client id.
 */
import * as pulumi from "@pulumi/pulumi";
// Only the managed identity module: loading the package root would load every Azure service's SDK.
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import type { AppMarker } from "./app-registration";
import { readAzureConfig } from "../config/stack-config";
import { IdentityLeftovers } from "../dynamic-providers/identity-leftovers";

/** An integration's managed identity: an existing one, or one the stack makes. */
export type IntegrationManagedIdentity =
  /**
   * An existing user-assigned identity, by its client id (Azure portal > Managed Identities > the
   * identity > Client ID). `tenantId` (published as the integration's) defaults to the azuread
   * provider's `azuread:tenantId`, then ARM_TENANT_ID / AZURE_TENANT_ID.
   */
  | { readonly kind: "managedIdentity"; readonly clientId: pulumi.Input<string>; readonly tenantId?: pulumi.Input<string> }
  /** An identity the stack makes, in the azure-native provider's subscription. */
  | { readonly kind: "managedIdentity"; readonly create: ManagedIdentityCreateArgs };

export interface ManagedIdentityCreateArgs {
  /** An existing resource group (the stack does not make groups). */
  readonly resourceGroupName: pulumi.Input<string>;
  readonly location: pulumi.Input<string>;
  /** The identity's name; default: `<integration>-identity` and 8 random hex characters (Pulumi's auto-naming). */
  readonly name?: pulumi.Input<string>;
}

/** What the integration needs of its identity. */
export interface IdentityOfIntegration {
  readonly clientId: pulumi.Output<string>;
  readonly tenantId: pulumi.Output<string>;
  /** The identity the stack made (its service principal exists once it does); absent for an existing one. */
  readonly resource?: managedidentity.UserAssignedIdentity;
}

/** Tags on an identity the stack makes: which stack and integration it belongs to. */
export function identityMarkerTags(marker: AppMarker): Record<string, string> {
  // ARM tag names may not contain '/', values may: the stack ("<organization>/<project>/<stack>") is a value.
  return { "managed-by": "dataverse-s2s", "dataverse-s2s-stack": marker.stack, "dataverse-s2s-integration": marker.integration };
}

/** The tenant of an existing identity named only by its client id: the azuread provider's, as the stack's. */
function defaultTenantId(): string | undefined {
  return new pulumi.Config("azuread").get("tenantId") || process.env.ARM_TENANT_ID || process.env.AZURE_TENANT_ID || undefined;
}

/** Declares (or names) the integration's managed identity. `name` is the integration's. */
export function integrationIdentity(
  name: string,
  identity: IntegrationManagedIdentity,
  marker: AppMarker,
  parent: pulumi.Resource,
  dependsOn: pulumi.Resource[] = [],
): IdentityOfIntegration {
  if ("create" in identity) {
    const made = new managedidentity.UserAssignedIdentity(
      `${name}-identity`,
      {
        resourceGroupName: identity.create.resourceGroupName,
        location: identity.create.location,
        ...(identity.create.name === undefined ? {} : { resourceName: identity.create.name }),
        tags: identityMarkerTags(marker),
      },
      // Every write waits for the environment check: a failed one writes nothing.
      { parent, dependsOn },
    );
    // A run killed after ARM made the identity and before Pulumi recorded it leaves one no state
    // knows (the next run auto-names another): removed right after, by its tags.
    const azure = readAzureConfig();
    new IdentityLeftovers(
      `${name}-identity-leftovers`,
      {
        identityId: made.id,
        stack: marker.stack,
        integrations: [marker.integration, ...(marker.formerNames ?? [])],
        metadataHost: azure.metadataHost ?? "",
        environment: azure.environment ?? "",
      },
      { parent },
    );
    return { clientId: made.clientId, tenantId: made.tenantId, resource: made };
  }
  const tenantId = identity.tenantId ?? defaultTenantId();
  if (tenantId === undefined)
    throw new pulumi.ResourceError(
      `DataverseIntegration '${name}': the tenant of the managed identity is unknown; give credential.tenantId or set azuread:tenantId.`,
      parent,
    );
  return { clientId: pulumi.output(identity.clientId), tenantId: pulumi.output(tenantId) };
}
