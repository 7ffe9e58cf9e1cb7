/**
 * azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant
 * (admin consent for delegated permissions), as the real provider drives Graph:
 *
 * - create: POST /v1.0/oauth2PermissionGrants {clientId, resourceId, scope, consentType, principalId?}
 *   ("AllPrincipals" without a user), then GET it until it answers. The id is "/oauth2PermissionGrants/<id>".
 * - read: GET /v1.0/oauth2PermissionGrants/{id} (404: gone, empty id).
 * - update (claim values only): PATCH /v1.0/oauth2PermissionGrants/{id} {scope}.
 * - delete: DELETE /v1.0/oauth2PermissionGrants/{id} (404 is done), then GET until it answers 404 consistently.
 */
import type { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { retryWhileNotFound, waitUntil } from "../consistency";
import { GraphSession } from "../graph";
import { diffFields, Failures, FieldRule, ProviderContext, ResourceHandler } from "../resource";
import { defined, isGuid, Plain, stringList, stringOrEmpty, typedBody, unwrapSecrets } from "../values";

export const delegatedPermissionGrantToken =
  "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant";

const idPrefix = "/oauth2PermissionGrants/";

export function grantObjectId(id: string): string | undefined {
  const rest = id.startsWith(idPrefix) ? id.slice(idPrefix.length) : "";
  return rest && !rest.includes("/") ? rest : undefined;
}

function outputs(grant: Plain): Plain {
  return defined({
    id: `${idPrefix}${grant.id}`,
    servicePrincipalObjectId: stringOrEmpty(grant.clientId),
    resourceServicePrincipalObjectId: stringOrEmpty(grant.resourceId),
    claimValues: stringOrEmpty(grant.scope)
      .split(" ")
      .filter((claim) => claim !== ""),
    userObjectId: grant.consentType === "Principal" ? stringOrEmpty(grant.principalId) : undefined,
  });
}

async function readGrant(session: GraphSession, grantId: string): Promise<Plain | undefined> {
  return session.getOrUndefined(`read delegated permission grant ${grantId}`, `v1.0/oauth2PermissionGrants/${encodeURIComponent(grantId)}`);
}

const diffRules: FieldRule[] = [
  { name: "servicePrincipalObjectId", replace: true },
  { name: "resourceServicePrincipalObjectId", replace: true },
  { name: "userObjectId", replace: true },
  { name: "claimValues", set: true },
];

export const delegatedPermissionGrant: ResourceHandler = {
  check(_olds: Plain, news: Plain): CheckResult {
    const failures = new Failures();
    const plain = unwrapSecrets<Plain>(news);
    for (const field of ["servicePrincipalObjectId", "resourceServicePrincipalObjectId"]) {
      if (plain[field] === undefined || plain[field] === null)
        failures.add(field, `${field} is required: pass a ServicePrincipal's objectId`);
      else if (failures.known(plain[field]) && !isGuid(plain[field]))
        failures.add(field, `${field} must be a service principal object id (a GUID); got '${plain[field]}'`);
    }
    if (failures.known(plain.userObjectId) && !isGuid(plain.userObjectId)) {
      failures.add(
        "userObjectId",
        `userObjectId must be a user's object id (a GUID), or be left out to consent for all users; got '${plain.userObjectId}'`,
      );
    }
    if (failures.known(plain.claimValues)) {
      const claims = Array.isArray(plain.claimValues) ? plain.claimValues : [];
      if (claims.length === 0)
        failures.add("claimValues", "claimValues must name at least one delegated permission, e.g. ['user_impersonation']");
      claims.forEach((claim, index) => {
        if (failures.known(claim) && (typeof claim !== "string" || claim.trim() === "" || /\s/.test(claim))) {
          failures.add(
            `claimValues[${index}]`,
            `each claim value is one permission name without spaces, e.g. 'user_impersonation'; got '${claim}'`,
          );
        }
      });
    } else if (plain.claimValues === undefined || plain.claimValues === null) {
      failures.add("claimValues", "claimValues is required, e.g. ['user_impersonation']");
    }
    return { inputs: news, failures: failures.list };
  },

  diff(_id: string, olds: Plain, news: Plain): DiffResult {
    return diffFields(olds, news, diffRules);
  },

  async create(context: ProviderContext, inputs: Plain): Promise<CreateResult> {
    const session = await context.session();
    const user = typeof inputs.userObjectId === "string" && inputs.userObjectId ? inputs.userObjectId : undefined;
    const created = await session.request({
      operation: `grant delegated permissions to service principal ${inputs.servicePrincipalObjectId}`,
      method: "POST",
      path: "v1.0/oauth2PermissionGrants",
      body: typedBody(
        "oAuth2PermissionGrant",
        defined({
          clientId: inputs.servicePrincipalObjectId,
          resourceId: inputs.resourceServicePrincipalObjectId,
          scope: stringList(inputs.claimValues).join(" "),
          consentType: user ? "Principal" : "AllPrincipals",
          principalId: user,
        }),
      ),
    });
    const grantId = stringOrEmpty(created.data.id);
    if (!grantId) throw new Error("Microsoft Graph: create delegated permission grant returned no id");
    const grant = await retryWhileNotFound(context.timing.notFound, async () => {
      const found = await session.request<Plain>({
        operation: `read delegated permission grant ${grantId}`,
        method: "GET",
        path: `v1.0/oauth2PermissionGrants/${encodeURIComponent(grantId)}`,
      });
      return found.data;
    });
    const outs = outputs(grant);
    return { id: String(outs.id), outs };
  },

  async read(context: ProviderContext, id: string): Promise<ReadResult> {
    const grantId = grantObjectId(id);
    if (!grantId) throw new Error(`azuread: '${id}' is not a delegated permission grant id; expected /oauth2PermissionGrants/<id>`);
    const grant = await readGrant(await context.session(), grantId);
    if (!grant) return { id: "", props: {}, inputs: {} };
    const outs = outputs(grant);
    const { id: _ignored, ...inputs } = outs;
    return { id, props: outs, inputs };
  },

  async update(context: ProviderContext, id: string, _olds: Plain, news: Plain): Promise<UpdateResult> {
    const grantId = grantObjectId(id);
    if (!grantId) throw new Error(`azuread: '${id}' is not a delegated permission grant id; expected /oauth2PermissionGrants/<id>`);
    const session = await context.session();
    await session.request({
      operation: `update delegated permission grant ${grantId}`,
      method: "PATCH",
      path: `v1.0/oauth2PermissionGrants/${encodeURIComponent(grantId)}`,
      body: typedBody("oAuth2PermissionGrant", { scope: stringList(news.claimValues).join(" ") }),
    });
    const grant = await readGrant(session, grantId);
    if (!grant) throw new Error(`delegated permission grant ${grantId} was deleted while it was being updated`);
    return { outs: outputs(grant) };
  },

  async delete(context: ProviderContext, id: string): Promise<void> {
    const grantId = grantObjectId(id);
    if (!grantId) return;
    const session = await context.session();
    await session.request({
      operation: `delete delegated permission grant ${grantId}`,
      method: "DELETE",
      path: `v1.0/oauth2PermissionGrants/${encodeURIComponent(grantId)}`,
      acceptStatus: [404],
    });
    await waitUntil(
      `delete delegated permission grant ${grantId}`,
      context.timing.deletion,
      async () => (await readGrant(session, grantId)) === undefined,
    );
  },
};
