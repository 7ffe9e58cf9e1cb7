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
 *
 * The Graph calls are in web-api.ts; ids of earlier versions are read by migrations.ts.
 */
import type * as pulumi from "@pulumi/pulumi";
import { graphClient } from "../../lib/graph-client";
import { RestApiError } from "../../lib/rest-client";
import { isGuid } from "../../lib/validators";
import { computeDiff, describeFailure, gone, isUnknown, stateOf } from "../shared/provider-support";
import { grantIdOf } from "./migrations";
import { claimsOf, createGrant, deleteGrant, findGrant, getGrant, GraphGrant, setScope } from "./web-api";

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

const wantedClaims = (inputs: AdminConsentGrantInputs): string[] => [...new Set(inputs.claimValues)].sort();

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
      const clientId = inputs.servicePrincipalObjectId;
      const resourceId = inputs.resourceServicePrincipalObjectId;
      const existing = await findGrant(graph, clientId, resourceId);
      if (existing) return { id: existing.id, outs: outputsOf(await setScope(graph, existing, claims), inputs, true) };
      let created: GraphGrant;
      try {
        created = await createGrant(graph, operation, clientId, resourceId, claims);
      } catch (error) {
        // Made by a first attempt whose answer was lost (or by a run at the same time): adopt it.
        if (!(error instanceof RestApiError && error.status === 409)) throw error;
        const found = await findGrant(graph, clientId, resourceId);
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
      const found = await getGrant(graph, grantIdOf(id));
      if (!found) return gone<AdminConsentGrantOutputs>();
      return { id, props: outputsOf(found, props, props.adopted ?? false) };
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
      await deleteGrant(graph, grantIdOf(id));
    } catch (error) {
      throw describeFailure(error, `delete the delegated permission grant ${id}`);
    }
  },
};
