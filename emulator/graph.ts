// Microsoft Graph v1.0 (and beta, which reads the same objects): applications, service
// principals, owners, passwords and oauth2PermissionGrants, as the azuread provider calls them
// (reference/entra-graph-for-azuread-provider.md).
import { randomUUID } from "node:crypto";
import { graphError, ServiceError } from "./errors";
import { bearer, verifyToken, type TokenClaims } from "./entra";
import { isGuid, RequestContext, sameId, segments } from "./http";
import { hashSecret, newApplicationDoc, newSecretText, newServicePrincipalDoc } from "./model";
import type { ApplicationRecord, GraphDoc, ServicePrincipalRecord, StateData } from "./store";

const TWO_YEARS_MS = 2 * 365.25 * 24 * 3600 * 1000;

/** Fields a PATCH may not change (Graph ignores or refuses them; the emulator ignores them). */
const READ_ONLY = new Set([
  "id",
  "appId",
  "createdDateTime",
  "deletedDateTime",
  "publisherDomain",
  "passwordCredentials",
  "keyCredentials",
]);

function notFound(id: string): ServiceError {
  return graphError(
    404,
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

function badRequest(message: string): ServiceError {
  return graphError(400, "Request_BadRequest", message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Graph PATCH: top-level fields replace; nested complex values merge; explicit null clears. */
function merge(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(patch)) {
    if (k.includes("@odata.")) continue;
    if (READ_ONLY.has(k)) continue;
    if (isPlainObject(v) && isPlainObject(target[k])) merge(target[k] as Record<string, unknown>, v);
    else target[k] = structuredClone(v);
  }
}

/** A tiny $filter: clauses `field eq 'value'` or `startswith(field,'value')` joined by `and`. */
function filterDocs(ctx: RequestContext, docs: GraphDoc[]): GraphDoc[] {
  const raw = ctx.query.get("$filter");
  if (!raw) return docs;
  const clauses = raw.split(/\s+and\s+/i);
  const preds: Array<(d: GraphDoc) => boolean> = [];
  for (const clause of clauses) {
    const eq = /^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(clause);
    const sw = /^\s*startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$/i.exec(clause);
    const m = eq ?? sw;
    if (!m) {
      throw graphError(
        400,
        "Request_UnsupportedQuery",
        `Unsupported or invalid query filter clause specified for property '${clause.trim()}'.`,
      );
    }
    const field = m[1];
    const value = m[2].replace(/''/g, "'").toLowerCase();
    preds.push(
      eq
        ? (d) => typeof d[field] === "string" && (d[field] as string).toLowerCase() === value
        : (d) => typeof d[field] === "string" && (d[field] as string).toLowerCase().startsWith(value),
    );
  }
  return docs.filter((d) => preds.every((p) => p(d)));
}

function topOf(ctx: RequestContext, docs: GraphDoc[]): GraphDoc[] {
  const top = ctx.query.get("$top");
  return top && /^\d+$/.test(top) ? docs.slice(0, Number(top)) : docs;
}

/** $select is honoured loosely: id is always kept, unknown names are ignored (beta ?$select=samlMetadataUrl works). */
function select(ctx: RequestContext, doc: GraphDoc): Record<string, unknown> {
  const raw = ctx.query.get("$select");
  if (!raw) return doc;
  const names = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const out: Record<string, unknown> = { id: doc.id };
  for (const n of names) if (n in doc) out[n] = doc[n];
  return out;
}

/** The object id at the end of an @odata.id / @odata.bind URL (".../directoryObjects/<id>"). */
function refId(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})['")]*\/?$/i.exec(value);
  return m ? m[1].toLowerCase() : undefined;
}

function directoryObject(state: StateData, id: string): Record<string, unknown> | undefined {
  const sp = state.servicePrincipals[id];
  if (sp) return { "@odata.type": "#microsoft.graph.servicePrincipal", ...sp.doc };
  const app = state.applications[id];
  if (app) return { "@odata.type": "#microsoft.graph.application", ...app.doc };
  return undefined;
}

export async function handleGraph(ctx: RequestContext): Promise<boolean> {
  const version = ctx.path.startsWith("/beta/") || ctx.path === "/beta" ? "beta" : "v1.0";
  const segs = segments(ctx.path, `/${version}`);
  if (segs.length === 0) return false;
  const claims = authenticate(ctx);
  const core = ctx.core;
  const state = core.store.state;
  const base = `${core.urls.graphAudience}/${version}`;
  const m = ctx.method;
  const list = (entity: string, value: unknown[]) =>
    ctx.send(200, {
      "@odata.context": `${base}/$metadata#${entity}`,
      ...(ctx.query.get("$count") === "true" ? { "@odata.count": value.length } : {}),
      value,
    });
  const single = (entity: string, doc: Record<string, unknown>, status = 200) =>
    ctx.send(status, { "@odata.context": `${base}/$metadata#${entity}/$entity`, ...doc });

  // Collections addressed by key: applications/{id}, applications(appId='...'), servicePrincipals(appId='...').
  const head = /^(applications|servicePrincipals)(?:\((?:appId=)?'([^']*)'\))?$/.exec(segs[0]);
  if (head) {
    const kind = head[1] as "applications" | "servicePrincipals";
    const table = kind === "applications" ? state.applications : state.servicePrincipals;
    let key: string | undefined;
    let rest: string[];
    let keyText: string;
    if (head[2] !== undefined) {
      const appId = head[2];
      keyText = `(appId='{appId}')`;
      key = Object.values(table).find((r) => sameId(r.doc.appId, appId))?.doc.id;
      if (!key) {
        ctx.op(`${m} /${kind}${keyText}${segs.length > 1 ? "/" + segs.slice(1).join("/") : ""}`);
        throw notFound(appId);
      }
      rest = segs.slice(1);
    } else if (segs.length > 1) {
      keyText = "/{id}";
      key = segs[1];
      rest = segs.slice(2);
    } else {
      keyText = "";
      rest = [];
    }
    const opPath = `/${kind}${keyText}${rest.length ? "/" + rest.map((r) => (isGuid(r) ? "{id}" : r)).join("/") : ""}`;
    ctx.op(`${m} ${opPath}`);

    if (key === undefined) {
      if (m === "GET") {
        const docs = topOf(
          ctx,
          filterDocs(
            ctx,
            Object.values(table).map((r) => r.doc),
          ),
        );
        list(
          kind,
          docs.map((d) => select(ctx, d)),
        );
        return true;
      }
      if (m === "POST") {
        const body = await jsonBody(ctx);
        if (kind === "applications") single(kind, createApplication(ctx, claims, body).doc, 201);
        else single(kind, createServicePrincipal(ctx, body).doc, 201);
        return true;
      }
      return false;
    }

    const record = table[key.toLowerCase()] ?? table[key];
    if (!record) throw notFound(key);
    if (rest.length === 0) {
      if (m === "GET") {
        single(kind, select(ctx, record.doc));
        return true;
      }
      if (m === "PATCH") {
        const body = await jsonBody(ctx);
        merge(record.doc, body);
        if (Array.isArray(body["owners@odata.bind"])) addOwners(state, record, body["owners@odata.bind"] as unknown[], false);
        if (kind === "applications") syncServicePrincipal(state, record as ApplicationRecord);
        ctx.mutated = true;
        ctx.send(204, undefined);
        return true;
      }
      if (m === "DELETE") {
        if (kind === "applications") deleteApplication(ctx, record as ApplicationRecord);
        else deleteServicePrincipal(ctx, record as ServicePrincipalRecord);
        ctx.mutated = true;
        ctx.send(204, undefined);
        return true;
      }
      return false;
    }
    if (rest[0] === "owners") {
      if (rest.length === 1 && m === "GET") {
        list(
          "directoryObjects",
          record.owners.map((o) => directoryObject(state, o)).filter((o) => o !== undefined),
        );
        return true;
      }
      if (rest.length === 2 && rest[1] === "$ref" && m === "POST") {
        const body = await jsonBody(ctx);
        addOwners(state, record, [body["@odata.id"]], true);
        ctx.mutated = true;
        ctx.send(204, undefined);
        return true;
      }
      if (rest.length === 3 && rest[2] === "$ref" && m === "DELETE") {
        const owner = rest[1].toLowerCase();
        const i = record.owners.indexOf(owner);
        if (i < 0) throw notFound(rest[1]);
        record.owners.splice(i, 1);
        ctx.mutated = true;
        ctx.send(204, undefined);
        return true;
      }
      return false;
    }
    if (kind === "applications" && rest.length === 1 && m === "POST" && rest[0] === "addPassword") {
      const body = await jsonBody(ctx);
      single("microsoft.graph.passwordCredential", addPassword(ctx, record as ApplicationRecord, body), 200);
      return true;
    }
    if (kind === "applications" && rest.length === 1 && m === "POST" && rest[0] === "removePassword") {
      const body = await jsonBody(ctx);
      removePassword(record as ApplicationRecord, body);
      ctx.mutated = true;
      ctx.send(204, undefined);
      return true;
    }
    return false;
  }

  if (segs[0] === "oauth2PermissionGrants") {
    ctx.op(`${m} /oauth2PermissionGrants${segs.length > 1 ? "/{id}" : ""}`);
    if (segs.length === 1) {
      if (m === "GET") {
        list("oauth2PermissionGrants", topOf(ctx, filterDocs(ctx, Object.values(state.oauth2PermissionGrants))));
        return true;
      }
      if (m === "POST") {
        single("oauth2PermissionGrants", createGrant(ctx, await jsonBody(ctx)), 201);
        return true;
      }
      return false;
    }
    if (segs.length !== 2) return false;
    const grant = state.oauth2PermissionGrants[segs[1]];
    if (!grant) throw notFound(segs[1]);
    if (m === "GET") {
      single("oauth2PermissionGrants", grant);
      return true;
    }
    if (m === "PATCH") {
      const body = await jsonBody(ctx);
      if (body.scope !== undefined) {
        if (body.scope !== null && typeof body.scope !== "string")
          throw badRequest("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant'.");
        grant.scope = body.scope ?? "";
      }
      for (const k of ["clientId", "resourceId", "consentType", "principalId"]) {
        if (body[k] !== undefined && body[k] !== grant[k]) throw badRequest(`Property '${k}' is read-only and cannot be set.`);
      }
      ctx.mutated = true;
      ctx.send(204, undefined);
      return true;
    }
    if (m === "DELETE") {
      delete state.oauth2PermissionGrants[segs[1]];
      ctx.mutated = true;
      ctx.send(204, undefined);
      return true;
    }
    return false;
  }

  if (segs[0] === "directoryObjects" && segs.length === 2 && m === "GET") {
    ctx.op("GET /directoryObjects/{id}");
    const obj = directoryObject(state, segs[1].toLowerCase());
    if (!obj) throw notFound(segs[1]);
    ctx.send(200, { "@odata.context": `${base}/$metadata#directoryObjects/$entity`, ...obj });
    return true;
  }

  if (segs[0] === "directory" && segs[1] === "deletedItems" && segs.length === 3) {
    ctx.op(`${m} /directory/deletedItems/{id}`);
    const item = state.deletedItems[segs[2].toLowerCase()];
    if (!item) throw notFound(segs[2]);
    if (m === "GET") {
      const type = item.kind === "application" ? "#microsoft.graph.application" : "#microsoft.graph.servicePrincipal";
      ctx.send(200, { "@odata.type": type, ...item.record.doc, deletedDateTime: item.deletedDateTime });
      return true;
    }
    if (m === "DELETE") {
      delete state.deletedItems[segs[2].toLowerCase()];
      ctx.mutated = true;
      ctx.send(204, undefined);
      return true;
    }
    return false;
  }

  if (segs[0] === "organization" && segs.length === 1 && m === "GET") {
    ctx.op("GET /organization");
    list("organization", [
      {
        id: state.tenant.tenantId,
        displayName: state.tenant.displayName,
        verifiedDomains: [
          {
            capabilities: "Email, OfficeCommunicationsOnline",
            isDefault: true,
            isInitial: true,
            name: state.tenant.domain,
            type: "Managed",
          },
        ],
      },
    ]);
    return true;
  }
  return false;
}

function authenticate(ctx: RequestContext): TokenClaims {
  const token = bearer(ctx);
  const unauthorized = (message: string) =>
    graphError(401, "InvalidAuthenticationToken", message, {
      "WWW-Authenticate": `Bearer realm="", authorization_uri="${ctx.core.urls.authorityHost}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
    });
  if (!token) throw unauthorized("Access token is empty.");
  const result = verifyToken(ctx.core, token);
  if ("reason" in result)
    throw unauthorized(
      result.reason === "the token is expired"
        ? "Lifetime validation failed, the token is expired."
        : `Access token validation failure: ${result.reason}.`,
    );
  if (result.claims.aud !== ctx.core.urls.graphAudience) {
    throw unauthorized(
      `Access token validation failure. Invalid audience. Expected '${ctx.core.urls.graphAudience}', got '${result.claims.aud}'.`,
    );
  }
  if (!sameId(result.claims.tid, ctx.core.store.state.tenant.tenantId))
    throw unauthorized("Access token validation failure. Invalid tenant.");
  return result.claims;
}

async function jsonBody(ctx: RequestContext): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await ctx.json();
  } catch {
    throw badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.");
  }
  if (body === undefined) return {};
  if (!isPlainObject(body)) throw badRequest("The request body must be a JSON object.");
  return body;
}

function addOwners(state: StateData, record: { owners: string[] }, refs: unknown[], failOnDuplicate: boolean): void {
  for (const ref of refs) {
    const id = refId(ref);
    if (!id) throw badRequest(`Invalid object identifier '${String(ref)}'.`);
    if (!directoryObject(state, id)) throw notFound(id);
    if (record.owners.includes(id)) {
      if (failOnDuplicate)
        throw badRequest("One or more added object references already exist for the following modified properties: 'owners'.");
      continue;
    }
    record.owners.push(id);
  }
}

function createApplication(ctx: RequestContext, claims: TokenClaims, body: Record<string, unknown>): ApplicationRecord {
  const state = ctx.core.store.state;
  if (typeof body.displayName !== "string" || body.displayName.trim() === "") {
    throw badRequest("Invalid value specified for property 'displayName' of resource 'Application'.");
  }
  const id = randomUUID();
  const doc = newApplicationDoc(id, randomUUID(), ctx.core.now().toISOString(), state.tenant.domain);
  merge(doc, body);
  doc.passwordCredentials = [];
  const record: ApplicationRecord = { doc, owners: [], secretHashes: {} };
  const refs = Array.isArray(body["owners@odata.bind"]) ? (body["owners@odata.bind"] as unknown[]) : [];
  addOwners(state, record, refs, false);
  // An application made with an app-only token is owned by the calling service principal, as in Entra.
  if (state.servicePrincipals[claims.oid] && !record.owners.includes(claims.oid)) record.owners.push(claims.oid);
  state.applications[id] = record;
  ctx.mutated = true;
  return record;
}

function createServicePrincipal(ctx: RequestContext, body: Record<string, unknown>): ServicePrincipalRecord {
  const state = ctx.core.store.state;
  const appId = body.appId;
  if (typeof appId !== "string" || appId === "")
    throw badRequest("Invalid value specified for property 'appId' of resource 'ServicePrincipal'.");
  const app = Object.values(state.applications).find((a) => sameId(a.doc.appId, appId));
  if (!app) {
    // Graph's own text for this case; the azuread provider retries it (eventual consistency).
    throw badRequest(`The appId '${appId}' of the service principal does not reference a valid application object.`);
  }
  if (Object.values(state.servicePrincipals).some((s) => sameId(s.doc.appId, appId))) {
    throw graphError(
      409,
      "Request_MultipleObjectsWithSameKeyValue",
      "Another object with the same value for property servicePrincipalNames already exists.",
    );
  }
  const id = randomUUID();
  const doc = newServicePrincipalDoc(id, app.doc, state.tenant.tenantId);
  doc.createdDateTime = ctx.core.now().toISOString();
  const rest = { ...body };
  delete rest.appId;
  merge(doc, rest);
  const record: ServicePrincipalRecord = { doc, owners: [] };
  if (Array.isArray(body["owners@odata.bind"])) addOwners(state, record, body["owners@odata.bind"] as unknown[], false);
  state.servicePrincipals[id] = record;
  ctx.mutated = true;
  return record;
}

/** Graph keeps a service principal's copies of the application's roles and scopes in step. */
function syncServicePrincipal(state: StateData, app: ApplicationRecord): void {
  for (const sp of Object.values(state.servicePrincipals)) {
    if (!sameId(sp.doc.appId, app.doc.appId)) continue;
    const api = (app.doc.api ?? {}) as Record<string, unknown>;
    sp.doc.appDisplayName = app.doc.displayName ?? null;
    sp.doc.appRoles = structuredClone(app.doc.appRoles ?? []);
    sp.doc.oauth2PermissionScopes = structuredClone(api.oauth2PermissionScopes ?? []);
  }
}

function deleteApplication(ctx: RequestContext, app: ApplicationRecord): void {
  const state = ctx.core.store.state;
  const when = ctx.core.now().toISOString();
  // Deleting an application deletes its service principal and that principal's grants, as Entra does.
  for (const sp of Object.values(state.servicePrincipals)) {
    if (sameId(sp.doc.appId, app.doc.appId)) deleteServicePrincipal(ctx, sp);
  }
  delete state.applications[app.doc.id];
  state.deletedItems[app.doc.id] = { kind: "application", record: app, deletedDateTime: when };
}

function deleteServicePrincipal(ctx: RequestContext, sp: ServicePrincipalRecord): void {
  const state = ctx.core.store.state;
  for (const [gid, g] of Object.entries(state.oauth2PermissionGrants)) {
    if (sameId(g.clientId, sp.doc.id) || sameId(g.resourceId, sp.doc.id)) delete state.oauth2PermissionGrants[gid];
  }
  for (const rec of [...Object.values(state.applications), ...Object.values(state.servicePrincipals)]) {
    rec.owners = rec.owners.filter((o) => o !== sp.doc.id);
  }
  delete state.servicePrincipals[sp.doc.id];
  state.deletedItems[sp.doc.id] = { kind: "servicePrincipal", record: sp, deletedDateTime: ctx.core.now().toISOString() };
}

function parseDate(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const t = typeof value === "string" ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw badRequest(`Invalid value specified for property '${field}' of resource 'PasswordCredential'.`);
  return t;
}

function addPassword(ctx: RequestContext, app: ApplicationRecord, body: Record<string, unknown>): Record<string, unknown> {
  const input = isPlainObject(body.passwordCredential) ? body.passwordCredential : {};
  const start = parseDate(input.startDateTime, "startDateTime") ?? ctx.core.now().getTime();
  // Default end: start + 2 years. Longer lifetimes are accepted (Graph allows them unless an app
  // management policy forbids; the 24-month cap is the portal's).
  const end = parseDate(input.endDateTime, "endDateTime") ?? start + TWO_YEARS_MS;
  if (end <= start) throw badRequest("Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.");
  const secretText = newSecretText();
  const keyId = randomUUID();
  const cred = {
    customKeyIdentifier: null,
    displayName: typeof input.displayName === "string" ? input.displayName : null,
    endDateTime: new Date(end).toISOString(),
    hint: secretText.slice(0, 3),
    keyId,
    secretText: null,
    startDateTime: new Date(start).toISOString(),
  };
  (app.doc.passwordCredentials as unknown[]).push(cred);
  app.secretHashes[keyId] = hashSecret(secretText);
  ctx.mutated = true;
  return { ...cred, secretText };
}

function removePassword(app: ApplicationRecord, body: Record<string, unknown>): void {
  const keyId = body.keyId;
  if (typeof keyId !== "string" || !isGuid(keyId))
    throw badRequest("Invalid value specified for property 'keyId' of resource 'Application'.");
  const creds = app.doc.passwordCredentials as Array<Record<string, unknown>>;
  const i = creds.findIndex((c) => sameId(c.keyId, keyId));
  // G: Graph's answer for an unknown keyId is not documented; 404 lets a client treat it as gone.
  if (i < 0) throw graphError(404, "Request_ResourceNotFound", `No password credential found with keyId '${keyId}'.`);
  creds.splice(i, 1);
  delete app.secretHashes[String(keyId)];
}

function createGrant(ctx: RequestContext, body: Record<string, unknown>): GraphDoc {
  const state = ctx.core.store.state;
  const { clientId, resourceId, consentType, principalId } = body;
  const scope = body.scope;
  if (typeof clientId !== "string" || !state.servicePrincipals[clientId.toLowerCase()]) {
    throw badRequest(
      `Invalid value specified for property 'clientId' of resource 'OAuth2PermissionGrant': no service principal '${String(clientId)}'.`,
    );
  }
  if (typeof resourceId !== "string" || !state.servicePrincipals[resourceId.toLowerCase()]) {
    throw badRequest(
      `Invalid value specified for property 'resourceId' of resource 'OAuth2PermissionGrant': no service principal '${String(resourceId)}'.`,
    );
  }
  if (consentType !== "AllPrincipals" && consentType !== "Principal") {
    throw badRequest("Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.");
  }
  if (consentType === "Principal" && (typeof principalId !== "string" || !isGuid(principalId))) {
    throw badRequest("Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'.");
  }
  if (scope !== undefined && scope !== null && typeof scope !== "string") {
    throw badRequest("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant'.");
  }
  const pid = consentType === "Principal" ? String(principalId).toLowerCase() : null;
  const duplicate = Object.values(state.oauth2PermissionGrants).some(
    (g) =>
      sameId(g.clientId, clientId) && sameId(g.resourceId, resourceId) && g.consentType === consentType && (g.principalId ?? null) === pid,
  );
  if (duplicate) throw graphError(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.");
  const id = randomUUID();
  const grant: GraphDoc = {
    id,
    clientId: clientId.toLowerCase(),
    consentType,
    principalId: pid,
    resourceId: resourceId.toLowerCase(),
    scope: (scope as string | undefined) ?? "",
  };
  state.oauth2PermissionGrants[id] = grant;
  ctx.mutated = true;
  return grant;
}
