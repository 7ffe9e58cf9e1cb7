// Client assertions at the token endpoint (client_assertion_type
// urn:ietf:params:oauth:client-assertion-type:jwt-bearer), two kinds:
// - certificate: a JWT the app signs with its certificate's private key; the header's x5t (SHA-1
//   thumbprint, base64url) names a keyCredential of the application (V: learn.microsoft.com/entra/
//   identity-platform/certificate-credentials);
// - federated: a JWT from an external issuer matching a federatedIdentityCredential (issuer,
//   subject, audience) of the application (V: learn.microsoft.com/entra/workload-id/
//   workload-identity-federation). The emulator is such an issuer itself (/_emulator/issuer).
import { createPublicKey, createSign, createVerify, generateKeyPairSync, randomUUID, X509Certificate, type KeyObject } from "node:crypto";
import { entraError } from "./errors";
import type { EmulatorCore } from "./http";
import { certificateByThumbprint } from "./graph-credentials";
import type { ApplicationRecord } from "./store";

export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** The audience federated tokens carry for Entra (V: workload identity federation docs). */
const FEDERATED_AUDIENCE = "api://AzureADTokenExchange";

interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signedPart: string;
  signature: Buffer;
}

function decodeJwt(token: string): DecodedJwt {
  const parts = token.split(".");
  if (parts.length !== 3)
    throw entraError(400, "invalid_client", 50027, "JWT token is invalid or malformed: the client assertion is not a JWT.");
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")) as Record<string, unknown>,
      payload: JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as Record<string, unknown>,
      signedPart: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2], "base64url"),
    };
  } catch {
    throw entraError(
      400,
      "invalid_client",
      50027,
      "JWT token is invalid or malformed: the client assertion header or payload is not JSON.",
    );
  }
}

function verifySignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const algorithm = jwt.header.alg;
  if (algorithm !== "RS256" && algorithm !== "PS256") return false;
  const verifier = createVerify("RSA-SHA256").update(jwt.signedPart);
  return algorithm === "PS256"
    ? verifier.verify({ key: publicKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }, jwt.signature)
    : verifier.verify(publicKey, jwt.signature);
}

/** exp and nbf against the emulator clock (V: AADSTS700024 "Client assertion is not within its valid time range"). */
function checkLifetime(core: EmulatorCore, payload: Record<string, unknown>): void {
  const now = Math.floor(core.now().getTime() / 1000);
  const skew = 300;
  if (typeof payload.exp !== "number" || payload.exp + skew < now || (typeof payload.nbf === "number" && payload.nbf - skew > now)) {
    throw entraError(400, "invalid_client", 700024, "Client assertion is not within its valid time range.");
  }
}

/** Verifies a client assertion for an application; returns normally when it authenticates the app. */
export function verifyClientAssertion(
  core: EmulatorCore,
  application: ApplicationRecord,
  assertion: string,
  tokenEndpoints: string[],
): void {
  const jwt = decodeJwt(assertion);
  const appId = String(application.doc.appId);
  if (typeof jwt.header.x5t === "string" || typeof jwt.header["x5t#S256"] === "string") {
    verifyCertificateAssertion(core, application, jwt, tokenEndpoints);
    return;
  }
  verifyFederatedAssertion(core, application, jwt, appId);
}

function verifyCertificateAssertion(core: EmulatorCore, application: ApplicationRecord, jwt: DecodedJwt, tokenEndpoints: string[]): void {
  const appId = String(application.doc.appId);
  const sha256 = typeof jwt.header["x5t#S256"] === "string";
  const thumbprint = String(sha256 ? jwt.header["x5t#S256"] : jwt.header.x5t);
  const found = certificateByThumbprint(application, thumbprint, sha256 ? "sha256" : "sha1");
  if (!found) {
    throw entraError(
      401,
      "invalid_client",
      700027,
      `Client assertion failed signature validation. The key was not found: no certificate with thumbprint (${sha256 ? "x5t#S256" : "x5t"}) '${thumbprint}' is registered on application '${appId}'.`,
    );
  }
  const publicKey = new X509Certificate(Buffer.from(found.certificate, "base64")).publicKey;
  if (!verifySignature(jwt, publicKey)) {
    throw entraError(401, "invalid_client", 700027, "Client assertion failed signature validation.");
  }
  const { payload } = jwt;
  if (payload.iss !== appId || payload.sub !== appId) {
    throw entraError(
      401,
      "invalid_client",
      700021,
      `Client assertion application identifier doesn't match 'client_id' parameter: iss and sub must be '${appId}'.`,
    );
  }
  if (
    typeof payload.aud !== "string" ||
    !tokenEndpoints.some((endpoint) => endpoint.toLowerCase() === (payload.aud as string).toLowerCase())
  ) {
    throw entraError(
      401,
      "invalid_client",
      700016,
      `Client assertion audience claim does not match the token endpoint: aud must be ${tokenEndpoints[0]}.`,
    );
  }
  checkLifetime(core, payload);
  const now = core.now().getTime();
  const start = Date.parse(String(found.credential.startDateTime));
  const end = Date.parse(String(found.credential.endDateTime));
  if (now < start || now >= end) {
    throw entraError(
      401,
      "invalid_client",
      700027,
      `The certificate with thumbprint '${thumbprint}' of application '${appId}' is outside its validity period.`,
    );
  }
}

function verifyFederatedAssertion(core: EmulatorCore, application: ApplicationRecord, jwt: DecodedJwt, appId: string): void {
  const { payload } = jwt;
  const issuer = String(payload.iss ?? "");
  const candidates = (application.federatedIdentityCredentials ?? []).filter((credential) => credential.issuer === issuer);
  if (candidates.length === 0) {
    throw entraError(
      400,
      "invalid_client",
      700211,
      `No matching federated identity record found for presented assertion issuer '${issuer}'.`,
    );
  }
  const audience = Array.isArray(payload.aud) ? payload.aud.map(String) : [String(payload.aud ?? "")];
  const match = candidates.find(
    (credential) => credential.subject === payload.sub && (credential.audiences as string[]).some((wanted) => audience.includes(wanted)),
  );
  if (!match) {
    throw entraError(
      400,
      "invalid_client",
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${String(payload.sub)}'. Assertion Audience: '${audience.join(",")}'.`,
    );
  }
  const publicKey = trustedIssuerKey(core, issuer);
  if (!publicKey) {
    throw entraError(
      400,
      "invalid_client",
      700212,
      `The issuer '${issuer}' of the federated assertion for application '${appId}' is not a trusted issuer of the emulator (config federatedIssuers).`,
    );
  }
  if (!verifySignature(jwt, publicKey)) throw entraError(400, "invalid_client", 700027, "Client assertion failed signature validation.");
  checkLifetime(core, payload);
}

// ---- the emulator as a federated identity issuer ------------------------------------------------

const issuerKeys = new WeakMap<EmulatorCore, { privateKey: KeyObject; publicKey: KeyObject }>();

function emulatorIssuerKeys(core: EmulatorCore): { privateKey: KeyObject; publicKey: KeyObject } {
  let keys = issuerKeys.get(core);
  if (!keys) {
    keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
    issuerKeys.set(core, keys);
  }
  return keys;
}

/** The `iss` of the emulator's own federated tokens. */
function emulatorIssuer(core: EmulatorCore): string {
  return `${core.urls.url}/_emulator/issuer`;
}

function trustedIssuerKey(core: EmulatorCore, issuer: string): KeyObject | undefined {
  if (issuer === emulatorIssuer(core)) return emulatorIssuerKeys(core).publicKey;
  const configured = core.config.federatedIssuers.find((entry) => entry.issuer === issuer);
  return configured ? createPublicKey(configured.publicKeyPem) : undefined;
}

/** A token from the emulator's issuer (as a CI system would issue one), valid for ten minutes. */
export function issueFederatedToken(core: EmulatorCore, subject: string, audience = FEDERATED_AUDIENCE): { token: string; issuer: string } {
  const issuer = emulatorIssuer(core);
  const now = Math.floor(core.now().getTime() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "emulator-issuer" })).toString("base64url");
  const payload = Buffer.from(
    JSON.stringify({ iss: issuer, sub: subject, aud: audience, iat: now, nbf: now, exp: now + 600, jti: randomUUID() }),
  ).toString("base64url");
  const signature = createSign("RSA-SHA256").update(`${header}.${payload}`).sign(emulatorIssuerKeys(core).privateKey).toString("base64url");
  return { token: `${header}.${payload}.${signature}`, issuer };
}
