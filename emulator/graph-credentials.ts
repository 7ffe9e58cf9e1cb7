// An application's credentials on Graph: password credentials (addPassword/removePassword), key
// credentials (certificates, set by PATCH keyCredentials) and federatedIdentityCredentials (CRUD).
import { createHash, randomUUID, X509Certificate } from "node:crypto";
import { graphError } from "./errors";
import { isGuid, sameId } from "./http";
import { hashSecret, newSecretText } from "./model";
import { badRequest, jsonBody, notFound, type GraphCall } from "./graph";
import { checkRequestBody, FEDERATED_CREDENTIAL_SCHEMA } from "./graph-schema";
import { requirePermission } from "./graph-permissions";
import type { ApplicationRecord, GraphDoc } from "./store";
import { checkNewKey, checkNewPassword } from "./app-management-policies";

const TWO_YEARS_MS = 2 * 365.25 * 24 * 3600 * 1000;

/** V: learn.microsoft.com/graph/api/application-post-federatedidentitycredentials: at most 20 per application. */
const MAX_FEDERATED_CREDENTIALS = 20;

/**
 * A date as Graph writes it: whole seconds without a fraction ("2027-01-01T00:00:00Z"), otherwise
 * seven fraction digits, so that a date sent in whole seconds comes back exactly as sent.
 */
export function graphDateTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith(".000Z") ? iso.replace(".000Z", "Z") : iso.replace(/\.(\d{3})Z$/, ".$10000Z");
}

function parseDate(value: unknown, field: string, typeName: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = typeof value === "string" ? Date.parse(value) : NaN;
  if (Number.isNaN(parsed)) throw badRequest(`Invalid value specified for property '${field}' of resource '${typeName}'.`);
  return parsed;
}

export function addPassword(call: GraphCall, application: ApplicationRecord, body: Record<string, unknown>): Record<string, unknown> {
  const { ctx } = call;
  if (ctx.core.config.strict.graphRequests) {
    for (const name of Object.keys(body))
      if (name !== "passwordCredential")
        throw badRequest(`Property '${name}' does not exist as a declared parameter of the action addPassword.`);
  }
  const input = (body.passwordCredential ?? {}) as Record<string, unknown>;
  const start = parseDate(input.startDateTime, "startDateTime", "PasswordCredential") ?? ctx.core.now().getTime();
  // Default end: start + 2 years. Longer lifetimes are accepted (Graph allows them unless an app
  // management policy forbids; the 24-month cap is the portal's).
  const end = parseDate(input.endDateTime, "endDateTime", "PasswordCredential") ?? start + TWO_YEARS_MS;
  if (end <= start) throw badRequest("Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.");
  // The tenant's or the application's app management policy (the 2-year default end included).
  checkNewPassword(ctx.core.store.state, application, start, end);
  const secretText = newSecretText();
  const credential = {
    customKeyIdentifier: null,
    displayName: typeof input.displayName === "string" ? input.displayName : null,
    endDateTime: graphDateTime(end),
    hint: secretText.slice(0, 3),
    keyId: randomUUID(),
    secretText: null,
    startDateTime: graphDateTime(start),
  };
  call.directory.addPassword(application, credential, hashSecret(secretText), Date.now() + ctx.core.config.replicationLagMs);
  return { ...credential, secretText };
}

export function removePassword(call: GraphCall, application: ApplicationRecord, body: Record<string, unknown>): void {
  const keyId = body.keyId;
  if (typeof keyId !== "string" || !isGuid(keyId))
    throw badRequest("Invalid value specified for property 'keyId' of resource 'Application'.");
  const removed = call.directory.removePassword(application, keyId, Date.now() + call.ctx.core.config.replicationLagMs);
  // G: Graph's answer for an unknown keyId is not documented; 404 lets a client treat it as gone.
  if (!removed) throw graphError(404, "Request_ResourceNotFound", `No password credential found with keyId '${keyId}'.`);
}

/**
 * Whether a password, key or federated credential (by keyId or id) was added less than the
 * replication lag ago, so that reads do not show it yet. Writes and the token service are not
 * concerned: the token service has its own rule for new secrets (secretsReplicatedAtMs).
 */
export function credentialNotYetReplicated(application: ApplicationRecord, id: unknown): boolean {
  const key = String(id);
  const replicatedAtMs = application.secretsReplicatedAtMs?.[key] ?? application.credentialsReplicatedAtMs?.[key] ?? 0;
  return replicatedAtMs > Date.now();
}

/**
 * PATCH keyCredentials replaces the whole collection (V: application-update, "keyCredentials").
 * Each new entry carries its certificate in `key` (base64 DER); an entry without `key` keeps an
 * existing credential by keyId (G). Graph derives the dates, the thumbprint
 * (customKeyIdentifier) and the display name from the certificate and answers `key: null`.
 */
export function setKeyCredentials(call: GraphCall, application: ApplicationRecord, entries: Record<string, unknown>[]): void {
  const existing = (application.doc.keyCredentials as Array<Record<string, unknown>> | undefined) ?? [];
  const certificates: Record<string, string> = {};
  const credentials = entries.map((entry, index) => {
    if (typeof entry.key !== "string" || entry.key === "") {
      const kept = existing.find((credential) => sameId(credential.keyId, entry.keyId));
      const certificate = kept ? application.certificates?.[String(kept.keyId)] : undefined;
      if (!kept || !certificate)
        throw badRequest(
          `Invalid value specified for property 'keyCredentials[${index}].key' of resource 'Application': a new key credential needs its certificate.`,
        );
      certificates[String(kept.keyId)] = certificate;
      return kept;
    }
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(Buffer.from(entry.key, "base64"));
    } catch {
      throw badRequest(`Key credential's key is invalid: keyCredentials[${index}].key must be a base64 DER X.509 certificate.`);
    }
    if (entry.type !== "AsymmetricX509Cert" || entry.usage !== "Verify") {
      throw badRequest(
        `Invalid value specified for property 'keyCredentials[${index}]': a certificate needs type AsymmetricX509Cert and usage Verify.`,
      );
    }
    const keyId = typeof entry.keyId === "string" && isGuid(entry.keyId) ? entry.keyId.toLowerCase() : randomUUID();
    certificates[keyId] = certificate.raw.toString("base64");
    const thumbprint = createHash("sha1").update(certificate.raw).digest();
    const startMs = parseDate(entry.startDateTime, "startDateTime", "KeyCredential") ?? Date.parse(certificate.validFrom);
    const endMs = parseDate(entry.endDateTime, "endDateTime", "KeyCredential") ?? Date.parse(certificate.validTo);
    // Only new certificates are checked: one kept by keyId was accepted when it was added.
    checkNewKey(call.ctx.core.store.state, application, startMs, endMs);
    return {
      customKeyIdentifier: typeof entry.customKeyIdentifier === "string" ? entry.customKeyIdentifier : thumbprint.toString("base64"),
      displayName: typeof entry.displayName === "string" ? entry.displayName : certificate.subject.replace(/\n/g, ", "),
      endDateTime: graphDateTime(endMs),
      key: null,
      keyId,
      startDateTime: graphDateTime(startMs),
      type: "AsymmetricX509Cert",
      usage: "Verify",
    };
  });
  call.directory.setKeyCredentials(application, credentials, certificates, Date.now() + call.ctx.core.config.replicationLagMs);
}

/**
 * The certificate (base64 DER) of a key credential whose thumbprint (base64url) is `x5t`: SHA-1 for
 * the `x5t` header, SHA-256 for `x5t#S256` (which MSAL sends; Entra accepts either).
 */
export function certificateByThumbprint(
  application: ApplicationRecord,
  x5t: string,
  algorithm: "sha1" | "sha256" = "sha1",
): { certificate: string; credential: Record<string, unknown> } | undefined {
  for (const credential of (application.doc.keyCredentials as Array<Record<string, unknown>> | undefined) ?? []) {
    const certificate = application.certificates?.[String(credential.keyId)];
    if (!certificate) continue;
    const thumbprint = createHash(algorithm).update(Buffer.from(certificate, "base64")).digest("base64url");
    if (thumbprint === x5t.replace(/=+$/, "")) return { certificate, credential };
  }
  return undefined;
}

/** applications/{id}/federatedIdentityCredentials[/{id} | (name='...')]. */
export async function federatedCredentials(call: GraphCall, application: ApplicationRecord, rest: string[]): Promise<boolean> {
  const { ctx, directory } = call;
  const keyMatch = /^federatedIdentityCredentials(?:\(name='((?:[^']|'')*)'\))?$/.exec(rest[0]);
  if (!keyMatch) return false;
  const byName = keyMatch[1]?.replace(/''/g, "'");
  const key = byName ?? rest[1];
  if (rest.length > (byName !== undefined ? 1 : 2)) return false;
  const entity = `applications('${application.doc.id}')/federatedIdentityCredentials`;
  if (key === undefined) {
    if (ctx.method === "GET") {
      requirePermission(call, "read", application);
      const replicated = directory
        .federatedCredentials(application)
        .filter((credential) => !credentialNotYetReplicated(application, credential.id));
      ctx.send(200, { "@odata.context": `${call.base}/$metadata#${entity}`, value: replicated });
      return true;
    }
    if (ctx.method !== "POST") return false;
    requirePermission(call, "write", application);
    const created = createFederatedCredential(call, application, await jsonBody(ctx));
    ctx.send(201, { "@odata.context": `${call.base}/$metadata#${entity}/$entity`, ...created });
    return true;
  }
  const credential = directory
    .federatedCredentials(application)
    .find((candidate) => (byName !== undefined ? candidate.name === byName : sameId(candidate.id, key)));
  if (!credential) throw notFound(key);
  if (ctx.method === "GET") {
    requirePermission(call, "read", application);
    // A replica that has not caught up does not know the new credential yet.
    if (credentialNotYetReplicated(application, credential.id)) throw notFound(key);
    ctx.send(200, { "@odata.context": `${call.base}/$metadata#${entity}/$entity`, ...credential });
    return true;
  }
  if (ctx.method === "PATCH") {
    requirePermission(call, "write", application);
    const body = await jsonBody(ctx);
    checkRequestBody(FEDERATED_CREDENTIAL_SCHEMA, body, "update");
    checkFederatedFields({ ...credential, ...body });
    directory.updateFederatedCredential(application, credential, body);
    ctx.send(204, undefined);
    return true;
  }
  if (ctx.method === "DELETE") {
    requirePermission(call, "write", application);
    directory.deleteFederatedCredential(application, credential.id);
    ctx.send(204, undefined);
    return true;
  }
  return false;
}

/** V: federatedIdentityCredential: name, issuer, subject and exactly one audience are required. */
function checkFederatedFields(fields: Record<string, unknown>): void {
  for (const name of ["name", "issuer", "subject"]) {
    if (typeof fields[name] !== "string" || (fields[name] as string).trim() === "") {
      throw badRequest(`Invalid value specified for property '${name}' of resource 'FederatedIdentityCredential'.`);
    }
  }
  // V: "a maximum length of 120 characters and must be URL friendly" (URL-friendly read as RFC 3986 unreserved: G).
  if (!/^[A-Za-z0-9._~-]{1,120}$/.test(String(fields.name))) {
    throw badRequest(
      "Invalid value specified for property 'name' of resource 'FederatedIdentityCredential': at most 120 URL-friendly characters (letters, digits, '-', '_', '.', '~').",
    );
  }
  const audiences = fields.audiences;
  if (!Array.isArray(audiences) || audiences.length !== 1 || typeof audiences[0] !== "string") {
    throw badRequest(
      "Invalid value specified for property 'audiences' of resource 'FederatedIdentityCredential': exactly one audience is required.",
    );
  }
}

function createFederatedCredential(call: GraphCall, application: ApplicationRecord, body: Record<string, unknown>): GraphDoc {
  checkRequestBody(FEDERATED_CREDENTIAL_SCHEMA, body, "create");
  checkFederatedFields(body);
  const existing = call.directory.federatedCredentials(application);
  if (existing.length >= MAX_FEDERATED_CREDENTIALS) {
    throw badRequest(`An application can have at most ${MAX_FEDERATED_CREDENTIALS} federated identity credentials.`);
  }
  if (existing.some((credential) => credential.name === body.name)) {
    throw graphError(
      409,
      "Request_MultipleObjectsWithSameKeyValue",
      `FederatedIdentityCredential with name ${String(body.name)} already exists.`,
    );
  }
  if (existing.some((credential) => credential.issuer === body.issuer && credential.subject === body.subject)) {
    throw graphError(
      409,
      "Request_MultipleObjectsWithSameKeyValue",
      "FederatedIdentityCredential with the same issuer and subject already exists.",
    );
  }
  return call.directory.addFederatedCredential(
    application,
    {
      audiences: [...(body.audiences as string[])],
      description: typeof body.description === "string" ? body.description : null,
      issuer: body.issuer,
      name: body.name,
      subject: body.subject,
    },
    Date.now() + call.ctx.core.config.replicationLagMs,
  );
}
