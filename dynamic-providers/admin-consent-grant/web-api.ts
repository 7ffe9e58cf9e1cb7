/**
 * The Microsoft Graph calls of the admin consent grant: oauth2PermissionGrants, listed by client,
 * made, read, given another scope and deleted. Errors carry the operation, path and status (lib/rest-client.ts).
 */
import type { RestClient } from "../../lib/rest-client";

export interface GraphGrant {
  id: string;
  clientId: string;
  resourceId: string;
  consentType: string;
  scope?: string | null;
}

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The grant's scopes, sorted. */
export const claimsOf = (grant: GraphGrant): string[] => [...new Set((grant.scope ?? "").split(/\s+/).filter(Boolean))].sort();

/** The client's tenant-wide (AllPrincipals) grant to the resource, if Graph has one. */
export async function findGrant(graph: RestClient, clientId: string, resourceId: string): Promise<GraphGrant | undefined> {
  // Filtered by client only (the filter every tenant supports); a client has a handful of grants.
  let path: string | undefined = `v1.0/oauth2PermissionGrants?$filter=${encodeURIComponent(`clientId eq '${clientId}'`)}`;
  while (path) {
    const page: { data: { value?: GraphGrant[]; "@odata.nextLink"?: string } } = await graph.request({
      operation: `list the delegated permission grants of service principal ${clientId}`,
      method: "GET",
      path,
    });
    const found = (page.data.value ?? []).find(
      (grant) => sameId(grant.clientId, clientId) && sameId(grant.resourceId, resourceId) && grant.consentType === "AllPrincipals",
    );
    if (found) return found;
    path = page.data["@odata.nextLink"];
  }
  return undefined;
}

/** POSTs a tenant-wide grant; a 409 (one exists already) is the caller's to handle. */
export async function createGrant(
  graph: RestClient,
  operation: string,
  clientId: string,
  resourceId: string,
  claims: readonly string[],
): Promise<GraphGrant> {
  const created = await graph.request<GraphGrant>({
    operation,
    method: "POST",
    path: "v1.0/oauth2PermissionGrants",
    body: { clientId, resourceId, consentType: "AllPrincipals", scope: claims.join(" ") },
    // Sent again when the answer is lost: the 409 it then gets is the caller's to handle.
    idempotent: true,
  });
  return created.data;
}

/** The grant, or undefined when it is gone. */
export async function getGrant(graph: RestClient, grantId: string): Promise<GraphGrant | undefined> {
  const found = await graph.request<GraphGrant>({
    operation: `read the delegated permission grant ${grantId}`,
    method: "GET",
    path: `v1.0/oauth2PermissionGrants/${encodeURIComponent(grantId)}`,
    acceptStatus: [404],
  });
  return found.status === 404 ? undefined : found.data;
}

/** Gives the grant exactly these scopes (no call when it has them). */
export async function setScope(graph: RestClient, grant: GraphGrant, claims: readonly string[]): Promise<GraphGrant> {
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

/** Deletes the grant; gone already (by hand, or with its service principal) is done. */
export async function deleteGrant(graph: RestClient, grantId: string): Promise<void> {
  await graph.request({
    operation: `delete the delegated permission grant ${grantId}`,
    method: "DELETE",
    path: `v1.0/oauth2PermissionGrants/${encodeURIComponent(grantId)}`,
    acceptStatus: [404],
  });
}
