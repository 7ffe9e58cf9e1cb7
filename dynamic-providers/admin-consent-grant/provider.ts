/**
 * Tenant-wide admin consent to a resource's delegated permissions for one service principal: a
 * Microsoft Graph oauth2PermissionGrant with consentType "AllPrincipals". Graph keeps at most one
 * such grant per (client, resource) and answers 409 "Permission entry already exists" to a second
 * one, and the azuread provider's grant resource never adopts one: a run killed right after Graph
 * made the grant, before Pulumi recorded it, would leave every later `pulumi up` failing. This
 * resource adopts it instead. The client is the stack's own service principal (see
 * components/app-registration.ts), so a grant of that client to that resource can only be one an
 * earlier run made.
 *
 *   create  -> list the client's grants (GET oauth2PermissionGrants?$filter=clientId eq '<sp>'); the
 *              AllPrincipals grant to the resource, if any, is adopted (PATCH scope when it differs);
 *              else POST one (a 409, an answer lost on the way, is looked up and adopted)
 *   read    -> GET oauth2PermissionGrants/<id> (404: gone, so `pulumi up` makes it again)
 *   update  -> PATCH scope
 *   delete  -> DELETE oauth2PermissionGrants/<id> (404 is done)
 */
import type * as pulumi from "@pulumi/pulumi";
import { graphClient } from "../../lib/graph-client";
import { RestApiError, RestClient } from "../../lib/rest-client";
import { isGuid } from "../../lib/validators";
import { computeDiff, describeFailure, gone, isUnknown, stateOf } from "../shared/provider-support";

export interface AdminConsentGrantInputs {
  /** Object id of the client service principal (the integration's). */
  servicePrincipalObjectId: string;
  /** Object id of the resource's service principal (Dynamics CRM). */
  resourceServicePrincipalObjectId: string;
  /** The delegated permissions consented to, e.g. ["user_impersonation"]. */
  claimValues: string[];
  metadataHost: string;
  cloudEnvironment: string;
}

export interface AdminConsentGrantOutputs extends AdminConsentGrantInputs {
  grantId: string;
  /** The grant's scopes as last read, sorted. */
  grantedClaimValues: string[];
  /** True when the create found the grant already there (made by an interrupted run) and adopted it. */
  adopted: boolean;
}

interface GraphGrant {
  id: string;
  clientId: string;
  resourceId: string;
  consentType: string;
  scope?: string | null;
}

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The grant's Graph id from the resource id: the grant's own id, or azuread's "/oauth2PermissionGrants/<id>"
 * for a grant an earlier version made with azuread's resource (the alias carries that state over, id included).
 */
function grantIdOf(id: string): string {
  return id.replace(/^\/oauth2PermissionGrants\//, "");
}
const claimsOf = (grant: GraphGrant): string[] => [...new Set((grant.scope ?? "").split(/\s+/).filter(Boolean))].sort();
const wantedClaims = (inputs: AdminConsentGrantInputs): string[] => [...new Set(inputs.claimValues)].sort();

/** The client's tenant-wide grant to the resource, if Graph has one. */
async function findGrant(graph: RestClient, inputs: AdminConsentGrantInputs): Promise<GraphGrant | undefined> {
  // Filtered by client only (the filter every tenant supports); a client has a handful of grants.
  let path: string | undefined =
    `v1.0/oauth2PermissionGrants?$filter=${encodeURIComponent(`clientId eq '${inputs.servicePrincipalObjectId}'`)}`;
  while (path) {
    const page: { data: { value?: GraphGrant[]; "@odata.nextLink"?: string } } = await graph.request({
      operation: `list the delegated permission grants of service principal ${inputs.servicePrincipalObjectId}`,
      method: "GET",
      path,
    });
    const found = (page.data.value ?? []).find(
      (grant) =>
        sameId(grant.clientId, inputs.servicePrincipalObjectId) &&
        sameId(grant.resourceId, inputs.resourceServicePrincipalObjectId) &&
        grant.consentType === "AllPrincipals",
    );
    if (found) return found;
    path = page.data["@odata.nextLink"];
  }
  return undefined;
}

async function setScope(graph: RestClient, grant: GraphGrant, claims: readonly string[]): Promise<GraphGrant> {
  if (JSON.stringify(claimsOf(grant)) === JSON.stringify(claims)) return grant;
  await graph.request({
    operation: `update the delegated permission grant ${grant.id}`,
    method: "PATCH",
    path: `v1.0/oauth2PermissionGrants/${encodeURIComponent(grant.id)}`,
    body: { scope: claims.join(" ") },
    idempotent: true,
  });
  return { ...grant, scope: claims.join(" ") };
}

function outputsOf(grant: GraphGrant, inputs: AdminConsentGrantInputs, adopted: boolean): AdminConsentGrantOutputs {
  return { ...inputs, grantId: grant.id, grantedClaimValues: claimsOf(grant), adopted };
}

export const provider: pulumi.dynamic.ResourceProvider<AdminConsentGrantInputs, AdminConsentGrantOutputs> = {
  async check(_olds: AdminConsentGrantInputs, news: Partial<AdminConsentGrantInputs>) {
    const inputs: AdminConsentGrantInputs = {
      servicePrincipalObjectId: String(news.servicePrincipalObjectId ?? "").toLowerCase(),
      resourceServicePrincipalObjectId: String(news.resourceServicePrincipalObjectId ?? "").toLowerCase(),
      claimValues: Array.isArray(news.claimValues) ? news.claimValues.map(String) : [],
      metadataHost: String(news.metadataHost ?? ""),
      cloudEnvironment: String(news.cloudEnvironment ?? ""),
    };
    const failures: { property: string; reason: string }[] = [];
    for (const field of ["servicePrincipalObjectId", "resourceServicePrincipalObjectId"] as const) {
      if (!isUnknown(inputs[field]) && !isGuid(inputs[field]))
        failures.push({ property: field, reason: "give a service principal's object id (a GUID)" });
    }
    if (
      inputs.claimValues.length === 0 ||
      inputs.claimValues.some((claim) => !isUnknown(claim) && (claim.trim() === "" || /\s/.test(claim)))
    ) {
      failures.push({
        property: "claimValues",
        reason: "name at least one delegated permission, each without spaces, e.g. ['user_impersonation']",
      });
    }
    return { inputs, failures };
  },

  async diff(_id: string, olds: AdminConsentGrantOutputs, news: AdminConsentGrantInputs) {
    return computeDiff(olds, news, {
      replaceOn: ["servicePrincipalObjectId", "resourceServicePrincipalObjectId"],
      updateOn: ["claimValues"],
      // Scopes changed by hand are set back.
      otherChange: JSON.stringify(olds.grantedClaimValues ?? []) !== JSON.stringify(wantedClaims(news)),
      stables: ["grantId"],
      // Graph keeps one grant per client and resource: the old one goes before the new one is made.
      deleteBeforeReplace: "always",
    });
  },

  async create(inputs: AdminConsentGrantInputs) {
    const operation = `grant admin consent to service principal ${inputs.servicePrincipalObjectId}`;
    try {
      const graph = await graphClient(inputs);
      const claims = wantedClaims(inputs);
      const existing = await findGrant(graph, inputs);
      if (existing) return { id: existing.id, outs: outputsOf(await setScope(graph, existing, claims), inputs, true) };
      let created: GraphGrant;
      try {
        created = (
          await graph.request<GraphGrant>({
            operation,
            method: "POST",
            path: "v1.0/oauth2PermissionGrants",
            body: {
              clientId: inputs.servicePrincipalObjectId,
              resourceId: inputs.resourceServicePrincipalObjectId,
              consentType: "AllPrincipals",
              scope: claims.join(" "),
            },
            // Sent again when the answer is lost: the 409 it then gets is handled below.
            idempotent: true,
          })
        ).data;
      } catch (error) {
        // Made by a first attempt whose answer was lost (or by a run at the same time): adopt it.
        if (!(error instanceof RestApiError && error.status === 409)) throw error;
        const found = await findGrant(graph, inputs);
        if (!found) throw error;
        return { id: found.id, outs: outputsOf(await setScope(graph, found, claims), inputs, true) };
      }
      return { id: created.id, outs: outputsOf(created, inputs, false) };
    } catch (error) {
      throw describeFailure(error, operation);
    }
  },

  async read(id: string, state?: AdminConsentGrantOutputs) {
    const props = stateOf(state, id);
    try {
      const graph = await graphClient(props);
      const found = await graph.request<GraphGrant>({
        operation: `read the delegated permission grant ${grantIdOf(id)}`,
        method: "GET",
        path: `v1.0/oauth2PermissionGrants/${encodeURIComponent(grantIdOf(id))}`,
        acceptStatus: [404],
      });
      if (found.status === 404) return gone<AdminConsentGrantOutputs>();
      return { id, props: outputsOf(found.data, props, props.adopted ?? false) };
    } catch (error) {
      throw describeFailure(error, `read the delegated permission grant ${id}`);
    }
  },

  async update(id: string, olds: AdminConsentGrantOutputs, news: AdminConsentGrantInputs) {
    try {
      const graph = await graphClient(news);
      const grant = await setScope(
        graph,
        {
          id: grantIdOf(id),
          clientId: news.servicePrincipalObjectId,
          resourceId: news.resourceServicePrincipalObjectId,
          consentType: "AllPrincipals",
          scope: (olds.grantedClaimValues ?? []).join(" "),
        },
        wantedClaims(news),
      );
      return { outs: outputsOf(grant, news, olds.adopted ?? false) };
    } catch (error) {
      throw describeFailure(error, `update the delegated permission grant ${id}`);
    }
  },

  async delete(id: string, props: AdminConsentGrantOutputs) {
    try {
      const graph = await graphClient(props);
      await graph.request({
        operation: `delete the delegated permission grant ${grantIdOf(id)}`,
        method: "DELETE",
        path: `v1.0/oauth2PermissionGrants/${encodeURIComponent(grantIdOf(id))}`,
        // Gone already (by hand, or with its service principal): done.
        acceptStatus: [404],
      });
    } catch (error) {
      throw describeFailure(error, `delete the delegated permission grant ${id}`);
    }
  },
};
