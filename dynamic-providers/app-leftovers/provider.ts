/**
 * Removes what a crashed run of this stack left behind for one integration:
 * - App registrations: an engine killed while Graph was creating the application (the azuread
 *   provider never adopts an existing application, so the next run makes another) leaves an app that
 *   no state knows. Every app of the stack carries a tag naming the stack and the integration; any
 *   app with one of this integration's tags that is not the application in state is such a leftover.
 * - Owners of the service principal: Graph makes the caller an owner of the principal it creates,
 *   and the azuread provider removes it right after. An engine killed in between leaves the deployer
 *   as owner; the next run adopts the principal (`useExisting`), and the real provider's adoption
 *   changes owners only `if d.HasChange("owners")` (terraform-provider-azuread v3.8.0,
 *   service_principal_resource.go), which `owners: []` against no prior state is not. The principal
 *   is declared with no owners, so every owner found is removed here, in the same run; otherwise a
 *   second `pulumi up` would be needed.
 *
 *   create  -> list the apps with the integration's tags (current and former names), DELETE every one
 *              but the application in state (404 is done); DELETE every owner of the service
 *              principal (404 is done)
 *   read    -> the same list of apps: leftovers found show as a change, so `pulumi up` removes them
 *              (owners added later are the ServicePrincipal resource's own drift: it shows and repairs them)
 *   update  -> the same as create, with what is found now (a new service principal id is an update)
 *   delete  -> nothing (the application itself is deleted by its own resource)
 *
 * Deleting an application deletes its service principal and secrets with it.
 */
import type * as pulumi from "@pulumi/pulumi";
import { graphClient, listAll } from "../../lib/graph-client";
import type { RestClient } from "../../lib/rest-client";
import { computeDiff, describeFailure, stateOf } from "../shared/provider-support";

export interface AppLeftoversInputs {
  /** Object id of the application in state: never a leftover. */
  applicationObjectId: string;
  /** The tags that mark this integration's apps (its name and its former names). */
  markerTags: string[];
  /** Object id of the service principal in state, whose owners a crashed run may have left ("" for none). */
  servicePrincipalObjectId: string;
  metadataHost: string;
  cloudEnvironment: string;
}

export interface AppLeftoversOutputs extends AppLeftoversInputs {
  /** Object ids of marked apps other than the one in state, as last read. */
  leftovers: string[];
}

async function findLeftovers(graph: RestClient, inputs: AppLeftoversInputs): Promise<string[]> {
  const found = new Set<string>();
  for (const tag of inputs.markerTags) {
    const filter = `tags/any(t:t eq '${tag.replace(/'/g, "''")}')`;
    const apps = await listAll<{ id: string }>(
      graph,
      `list the app registrations tagged '${tag}'`,
      `v1.0/applications?$filter=${encodeURIComponent(filter)}&$select=id`,
    );
    for (const app of apps) if (app.id.toLowerCase() !== inputs.applicationObjectId.toLowerCase()) found.add(app.id.toLowerCase());
  }
  return [...found].sort();
}

/** Removes every owner of the service principal: it is declared with none (components/app-registration.ts). */
async function removePrincipalOwners(graph: RestClient, servicePrincipalObjectId: string): Promise<void> {
  if (!servicePrincipalObjectId) return;
  const owners = await listAll<{ id: string }>(
    graph,
    `list the owners of the service principal ${servicePrincipalObjectId}`,
    `v1.0/servicePrincipals/${servicePrincipalObjectId}/owners?$select=id`,
  );
  for (const owner of owners) {
    await graph.request({
      operation: `remove ${owner.id}, left by an interrupted run, from the owners of the service principal ${servicePrincipalObjectId}`,
      method: "DELETE",
      path: `v1.0/servicePrincipals/${servicePrincipalObjectId}/owners/${owner.id}/$ref`,
      acceptStatus: [404],
    });
  }
}

async function removeLeftovers(inputs: AppLeftoversInputs): Promise<void> {
  const graph = await graphClient(inputs);
  for (const objectId of await findLeftovers(graph, inputs)) {
    await graph.request({
      operation: `delete the app registration ${objectId} that an interrupted run left`,
      method: "DELETE",
      path: `v1.0/applications/${objectId}`,
      acceptStatus: [404],
    });
  }
  await removePrincipalOwners(graph, inputs.servicePrincipalObjectId);
}

export const provider: pulumi.dynamic.ResourceProvider<AppLeftoversInputs, AppLeftoversOutputs> = {
  async check(_olds: AppLeftoversInputs, news: Partial<AppLeftoversInputs>) {
    const inputs: AppLeftoversInputs = {
      applicationObjectId: String(news.applicationObjectId ?? ""),
      markerTags: (news.markerTags ?? []).map(String),
      servicePrincipalObjectId: String(news.servicePrincipalObjectId ?? ""),
      metadataHost: String(news.metadataHost ?? ""),
      cloudEnvironment: String(news.cloudEnvironment ?? ""),
    };
    const failures = inputs.markerTags.length === 0 ? [{ property: "markerTags", reason: "give at least one tag" }] : [];
    return { inputs, failures };
  },

  async diff(_id: string, olds: AppLeftoversOutputs, news: AppLeftoversInputs) {
    return computeDiff(olds, news, {
      updateOn: ["applicationObjectId", "markerTags", "servicePrincipalObjectId"],
      otherChange: (olds.leftovers ?? []).length > 0,
    });
  },

  async create(inputs: AppLeftoversInputs) {
    try {
      await removeLeftovers(inputs);
    } catch (error) {
      throw describeFailure(error, "remove what an interrupted run left (app registrations, service principal owners)");
    }
    return { id: `${inputs.applicationObjectId}/leftovers`, outs: { ...inputs, leftovers: [] } };
  },

  async read(id: string, state?: AppLeftoversOutputs) {
    const props = stateOf(state, id);
    try {
      return { id, props: { ...props, leftovers: await findLeftovers(await graphClient(props), props) } };
    } catch (error) {
      throw describeFailure(error, "look for app registrations left by an interrupted run");
    }
  },

  async update(_id: string, _olds: AppLeftoversOutputs, news: AppLeftoversInputs) {
    try {
      await removeLeftovers(news);
    } catch (error) {
      throw describeFailure(error, "remove what an interrupted run left (app registrations, service principal owners)");
    }
    return { outs: { ...news, leftovers: [] } };
  },

  async delete() {
    // The application is deleted by its own resource; leftovers of a removed integration were removed
    // by the runs that still declared it.
  },
};
