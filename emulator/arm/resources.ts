// Microsoft.Resources: subscriptions (GET one, GET the list) and resource groups (GET, PUT), ARM's
// own resources, which answer InvalidApiVersionParameter for an api-version they do not have.
// V: azure-rest-api-specs specification/resources/resource-manager/Microsoft.Resources (Subscriptions_Get,
// Subscriptions_List, ResourceGroups_Get, ResourceGroups_CreateOrUpdate; 201 on create, 200 on update).
import { armBody, armErrors, authorize, LOCATIONS, type ArmCall } from "./pipeline";
import type { ArmDoc, SubscriptionRecord } from "./model";
import { scopeCovers } from "./roles";

/** api-versions of subscriptions (Microsoft.Resources/subscriptions) the emulator answers. */
export const SUBSCRIPTION_API_VERSIONS = ["2016-06-01", "2019-06-01", "2020-01-01", "2021-01-01", "2022-12-01"] as const;
/** api-versions of resource groups, those @pulumi/azure-native 3.28.0 lists for resources:ResourceGroup (default 2024-03-01). */
export const RESOURCE_GROUP_API_VERSIONS = [
  "2020-10-01",
  "2021-01-01",
  "2021-04-01",
  "2022-09-01",
  "2023-07-01",
  "2024-03-01",
  "2024-07-01",
  "2024-11-01",
  "2025-03-01",
  "2025-04-01",
] as const;

export function subscriptionDoc(call: ArmCall, subscription: SubscriptionRecord): Record<string, unknown> {
  return {
    id: `/subscriptions/${subscription.subscriptionId}`,
    authorizationSource: "RoleBased",
    managedByTenants: [],
    subscriptionId: subscription.subscriptionId,
    tenantId: call.ctx.core.store.state.tenant.tenantId,
    displayName: subscription.displayName,
    state: "Enabled",
    subscriptionPolicies: { locationPlacementId: "Public_2014-09-01", quotaId: "PayAsYouGo_2014-09-01", spendingLimit: "Off" },
  };
}

/** GET /subscriptions: those where the caller holds a role assignment at or below the subscription. */
export function listSubscriptions(call: ArmCall): void {
  const mine = call.azure
    .subscriptions()
    .filter((subscription) =>
      call.azure
        .roleAssignments()
        .some(
          (assignment) =>
            String((assignment.properties as Record<string, unknown>).principalId).toLowerCase() === call.caller.objectId.toLowerCase() &&
            scopeCovers(`/subscriptions/${subscription.subscriptionId}`, String((assignment.properties as Record<string, unknown>).scope)),
        ),
    );
  call.ctx.send(200, {
    value: mine.map((subscription) => subscriptionDoc(call, subscription)),
    count: { type: "Total", value: mine.length },
  });
}

export function getSubscription(call: ArmCall, subscription: SubscriptionRecord): void {
  const scope = `/subscriptions/${subscription.subscriptionId}`;
  authorize(call, "Microsoft.Resources/subscriptions/read", scope);
  call.ctx.send(200, subscriptionDoc(call, subscription));
}

export async function resourceGroup(call: ArmCall, subscription: SubscriptionRecord, name: string): Promise<boolean> {
  const { ctx, azure } = call;
  const id = `/subscriptions/${subscription.subscriptionId}/resourceGroups/${name}`;
  if (ctx.method === "GET") {
    authorize(call, "Microsoft.Resources/subscriptions/resourceGroups/read", id);
    const group = azure.resourceGroup(subscription.subscriptionId, name);
    if (!group) throw armErrors.resourceGroupNotFound(name);
    ctx.send(200, group);
    return true;
  }
  if (ctx.method === "PUT") {
    authorize(call, "Microsoft.Resources/subscriptions/resourceGroups/write", id);
    const body = await armBody(ctx);
    const existing = azure.resourceGroup(subscription.subscriptionId, name);
    const location = readLocation(body, existing);
    const doc: ArmDoc = {
      id: existing?.id ?? id,
      name: existing?.name ?? name,
      type: "Microsoft.Resources/resourceGroups",
      location,
      tags: readTags(body),
      properties: { provisioningState: "Succeeded" },
    };
    azure.putResourceGroup(subscription, doc);
    ctx.send(existing ? 200 : 201, doc);
    return true;
  }
  return false;
}

/** `location`, required on create (V: LocationRequired); a known location (G: InvalidLocation for others). */
export function readLocation(body: Record<string, unknown>, existing: ArmDoc | undefined): string {
  const location = body.location;
  if (location === undefined || location === null || location === "") {
    if (existing) return String(existing.location);
    throw armErrors.locationRequired();
  }
  const normalized = String(location).replace(/\s+/g, "").toLowerCase();
  if (!LOCATIONS.includes(normalized)) {
    throw armErrors.badRequest(
      "LocationNotAvailableForResourceType",
      `The provided location '${String(location)}' is not available for resource type. List of available regions is '${LOCATIONS.join(",")}'.`,
    );
  }
  return normalized;
}

/** `tags`: an object of strings (G: InvalidTag otherwise). */
export function readTags(body: Record<string, unknown>): Record<string, string> {
  const tags = body.tags ?? {};
  if (typeof tags !== "object" || tags === null || Array.isArray(tags) || Object.values(tags).some((value) => typeof value !== "string")) {
    throw armErrors.badRequest("InvalidTag", "The tags must be an object of string values.");
  }
  return { ...(tags as Record<string, string>) };
}

/** The resource group of a provider resource: 404 ResourceGroupNotFound when it does not exist. */
export function requireResourceGroup(call: ArmCall, name: string): ArmDoc {
  const group = call.subscription ? call.azure.resourceGroup(call.subscription.subscriptionId, name) : undefined;
  if (!group) throw armErrors.resourceGroupNotFound(name);
  return group;
}
