/**
 * The invoke azuread:index/getServicePrincipal:getServicePrincipal, as the real data source queries Graph:
 * exactly one of clientId (GET /v1.0/servicePrincipals?$filter=appId eq '...'), displayName
 * ($filter=displayName eq '...') or objectId (GET /v1.0/servicePrincipals/{id}); then the read calls
 * of the resource. Exactly one principal must match. `id` is the object id.
 */
import type { InvokeResult } from "@pulumi/pulumi/provider";
import { ProviderContext } from "../resource";
import { odataString, Plain, stringOrEmpty, unwrapSecrets } from "../values";
import { readServicePrincipal } from "./servicePrincipal";

export const getServicePrincipalToken = "azuread:index/getServicePrincipal:getServicePrincipal";

export async function getServicePrincipal(context: ProviderContext, rawArgs: Plain): Promise<InvokeResult> {
  const args = unwrapSecrets<Plain>(rawArgs);
  const given = (["clientId", "displayName", "objectId"] as const).filter((key) => typeof args[key] === "string" && args[key] !== "");
  if (given.length !== 1) {
    return { failures: [{ property: "clientId", reason: "give exactly one of clientId, displayName or objectId" }] };
  }
  const key = given[0];
  const wanted = String(args[key]);
  const session = await context.session();
  let objectId: string;
  if (key === "objectId") {
    objectId = wanted;
  } else {
    const graphField = key === "clientId" ? "appId" : "displayName";
    const found = await session.list(
      `find the service principal with ${key} '${wanted}'`,
      `v1.0/servicePrincipals?$filter=${encodeURIComponent(`${graphField} eq ${odataString(wanted)}`)}`,
    );
    const matches = found.filter((sp) => stringOrEmpty(sp[graphField]).toLowerCase() === wanted.toLowerCase());
    if (matches.length === 0) throw new Error(`azuread: no service principal found with ${key} '${wanted}'`);
    if (matches.length > 1)
      throw new Error(`azuread: ${matches.length} service principals found with ${key} '${wanted}'; use objectId to pick one`);
    objectId = String(matches[0].id);
  }
  const outputs = await readServicePrincipal(session, objectId);
  if (!outputs) throw new Error(`azuread: no service principal found with objectId '${objectId}'`);
  return { outputs: { ...outputs, id: outputs.objectId, samlSingleSignOns: [] } };
}
