/**
 * Removes the user-assigned managed identities a crashed run of this stack left for one integration.
 * An engine killed after ARM answered the identity's PUT and before Pulumi recorded it leaves an
 * identity no state knows; the azure-native provider's auto-name (`<integration>-identity<8 hex>`)
 * is new at every run, so the next run makes another, and the first stays, with its service principal.
 * Every identity the stack makes carries tags naming the stack and the integration
 * (components/managed-identity.ts); any identity of the group with this stack's tag and one of the
 * integration's names (current or former) that is not the identity in state is such a leftover.
 *
 *   create  -> GET the group's userAssignedIdentities (following nextLink), DELETE every one with the
 *              marker tags but the identity in state (204 and 404 are done)
 *   read    -> the same list: leftovers found show as a change, so `pulumi up` removes them
 *   update  -> the same as create, with what is found now (a new identity id is an update)
 *   delete  -> nothing (the identity itself is deleted by its own resource)
 *
 * Deleting an identity deletes its service principal with it (Azure does; the killed run made no
 * application user for it: that waits for the identity's create to be recorded).
 */
import type * as pulumi from "@pulumi/pulumi";
import { listAll } from "../../lib/graph-client";
import { armApiVersions, armClient } from "../../lib/managed-identities";
import { RestApiError, type RestClient } from "../../lib/rest-client";
import { computeDiff, isUnknown, stateOf } from "../shared/provider-support";

export interface IdentityLeftoversInputs {
  /** ARM resource id of the identity in state: never a leftover; its resource group is the one searched. */
  identityId: string;
  /** The value of the `dataverse-s2s-stack` tag: "<organization>/<project>/<stack>". */
  stack: string;
  /** Values of the `dataverse-s2s-integration` tag that are this integration's: its name and former names. */
  integrations: string[];
  /** The azure-native provider's cloud (azure-native:metadataHost / environment); empty for the public cloud. */
  metadataHost: string;
  environment: string;
}

export interface IdentityLeftoversOutputs extends IdentityLeftoversInputs {
  /** Resource ids of marked identities other than the one in state, as last read. */
  leftovers: string[];
}

interface IdentityDoc {
  id: string;
  tags?: Record<string, string>;
}

/** The resource group part of an identity's id: `/subscriptions/<sub>/resourceGroups/<group>`. */
function groupOf(identityId: string): string {
  const match = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)\/providers\//i.exec(identityId);
  if (!match) throw new Error(`dataverse-s2s: '${identityId}' is not an ARM resource id of a user-assigned managed identity.`);
  return match[1];
}

async function findLeftovers(arm: RestClient, inputs: IdentityLeftoversInputs): Promise<string[]> {
  const integrations = new Set(inputs.integrations.map((name) => name.toLowerCase()));
  const identities = await listAll<IdentityDoc>(
    arm,
    "list the user-assigned managed identities of the resource group",
    `${groupOf(inputs.identityId).replace(/^\//, "")}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=${armApiVersions.userAssignedIdentities}`,
    "nextLink",
  );
  const found = identities
    .filter((identity) => {
      const tags = identity.tags ?? {};
      return tags["dataverse-s2s-stack"] === inputs.stack && integrations.has(String(tags["dataverse-s2s-integration"]).toLowerCase());
    })
    .filter((identity) => identity.id.toLowerCase() !== inputs.identityId.toLowerCase())
    .map((identity) => identity.id);
  return found.sort();
}

async function removeLeftovers(inputs: IdentityLeftoversInputs): Promise<void> {
  const arm = await armClient({ metadataHost: inputs.metadataHost, environment: inputs.environment });
  for (const id of await findLeftovers(arm, inputs)) {
    await arm.request({
      operation: `delete the managed identity ${id} that an interrupted run left`,
      method: "DELETE",
      path: `${id.replace(/^\//, "")}?api-version=${armApiVersions.userAssignedIdentities}`,
      acceptStatus: [404],
    });
  }
}

/** Adds what to do to an ARM failure (the shared describeFailure speaks of Dataverse). */
function describeArmFailure(error: unknown, operation: string, identityId: string): Error {
  if (!(error instanceof RestApiError)) return error instanceof Error ? error : new Error(`${operation}: ${String(error)}`);
  let hint = "";
  if (error.status === 403)
    hint = ` Give the deploying identity Managed Identity Contributor (or Contributor) on the resource group ${groupOf(identityId)}.`;
  else if (error.status === 401 || error.code === "TOKEN")
    hint = " Check the deploying identity's credential (AZURE_CLIENT_ID, ... or 'az login') and azure-native:metadataHost / environment.";
  else if (error.status === undefined || error.status === 429 || error.status >= 500) hint = " Run 'pulumi up' again later.";
  return new Error(`${error.message.replace(/\.$/, "")}.${hint}`);
}

export const provider: pulumi.dynamic.ResourceProvider<IdentityLeftoversInputs, IdentityLeftoversOutputs> = {
  async check(_olds: IdentityLeftoversInputs, news: Partial<IdentityLeftoversInputs>) {
    const inputs: IdentityLeftoversInputs = {
      identityId: String(news.identityId ?? ""),
      stack: String(news.stack ?? ""),
      integrations: (news.integrations ?? []).map(String),
      metadataHost: String(news.metadataHost ?? ""),
      environment: String(news.environment ?? ""),
    };
    const failures = [];
    if (!inputs.stack) failures.push({ property: "stack", reason: "give the stack's marker, '<organization>/<project>/<stack>'" });
    if (inputs.integrations.length === 0) failures.push({ property: "integrations", reason: "give at least the integration's name" });
    if (!isUnknown(inputs.identityId) && !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\//i.test(inputs.identityId))
      failures.push({
        property: "identityId",
        reason: `'${inputs.identityId}' is not an ARM resource id of a user-assigned managed identity`,
      });
    return { inputs, failures };
  },

  async diff(_id: string, olds: IdentityLeftoversOutputs, news: IdentityLeftoversInputs) {
    return computeDiff(olds, news, {
      updateOn: ["identityId", "stack", "integrations"],
      otherChange: (olds.leftovers ?? []).length > 0,
    });
  },

  async create(inputs: IdentityLeftoversInputs) {
    try {
      await removeLeftovers(inputs);
    } catch (error) {
      throw describeArmFailure(error, "remove the managed identities an interrupted run left", inputs.identityId);
    }
    return { id: `${inputs.identityId}/leftovers`, outs: { ...inputs, leftovers: [] } };
  },

  async read(id: string, state?: IdentityLeftoversOutputs) {
    const props = stateOf(state, id);
    try {
      const arm = await armClient({ metadataHost: props.metadataHost, environment: props.environment });
      return { id, props: { ...props, leftovers: await findLeftovers(arm, props) } };
    } catch (error) {
      throw describeArmFailure(error, "look for managed identities left by an interrupted run", props.identityId);
    }
  },

  async update(_id: string, _olds: IdentityLeftoversOutputs, news: IdentityLeftoversInputs) {
    try {
      await removeLeftovers(news);
    } catch (error) {
      throw describeArmFailure(error, "remove the managed identities an interrupted run left", news.identityId);
    }
    return { outs: { ...news, leftovers: [] } };
  },

  async delete() {
    // The identity is deleted by its own resource; leftovers of a removed integration were removed by
    // the runs that still declared it.
  },
};
