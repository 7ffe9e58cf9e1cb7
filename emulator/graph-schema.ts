// What Microsoft Graph accepts in a request body, per resource: the writable properties with their
// types, the read-only ones, and the enumerations. Graph refuses anything else with 400
// Request_BadRequest; with strict requests off (config strict.graphRequests) the emulator only
// drops what it does not know, as it did before.
import { graphError, type ServiceError } from "./errors";
import { isGuid } from "./http";

type PropertyType =
  "string" | "boolean" | "guid" | "dateTime" | "stringArray" | "object" | "objectArray" | { enumeration: readonly string[] };

interface ResourceSchema {
  /** Graph's type name, as its errors spell it (e.g. "Application"). */
  typeName: string;
  writable: Readonly<Record<string, PropertyType>>;
  /** Properties Graph sets itself: a request that sets one is refused. */
  readOnly: readonly string[];
  /** Writable on create only. */
  createOnly?: readonly string[];
  /** Refused in a PATCH with a message naming the action to use instead. */
  patchRefused?: Readonly<Record<string, string>>;
}

const SIGN_IN_AUDIENCES = [
  "AzureADMyOrg",
  "AzureADMultipleOrgs",
  "AzureADandPersonalMicrosoftAccount",
  "PersonalMicrosoftAccount",
] as const;

/** V: learn.microsoft.com/graph/api/resources/application (v1.0 properties). */
export const APPLICATION_SCHEMA: ResourceSchema = {
  typeName: "Application",
  writable: {
    addIns: "objectArray",
    api: "object",
    appRoles: "objectArray",
    authenticationBehaviors: "object",
    defaultRedirectUri: "string",
    description: "string",
    displayName: "string",
    groupMembershipClaims: "string",
    identifierUris: "stringArray",
    info: "object",
    isDeviceOnlyAuthSupported: "boolean",
    isFallbackPublicClient: "boolean",
    keyCredentials: "objectArray",
    nativeAuthenticationApisEnabled: { enumeration: ["none", "all"] },
    notes: "string",
    oauth2RequirePostResponse: "boolean",
    optionalClaims: "object",
    parentalControlSettings: "object",
    passwordCredentials: "objectArray",
    publicClient: "object",
    requestSignatureVerification: "object",
    requiredResourceAccess: "objectArray",
    samlMetadataUrl: "string",
    serviceManagementReference: "string",
    servicePrincipalLockConfiguration: "object",
    signInAudience: { enumeration: SIGN_IN_AUDIENCES },
    spa: "object",
    tags: "stringArray",
    tokenEncryptionKeyId: "guid",
    uniqueName: "string",
    web: "object",
  },
  readOnly: [
    "id",
    "appId",
    "applicationTemplateId",
    "certification",
    "createdDateTime",
    "deletedDateTime",
    "disabledByMicrosoftStatus",
    "publisherDomain",
    "verifiedPublisher",
  ],
  patchRefused: { passwordCredentials: "Use the addPassword and removePassword actions to change passwordCredentials." },
};

/** V: learn.microsoft.com/graph/api/resources/serviceprincipal (v1.0 properties). */
export const SERVICE_PRINCIPAL_SCHEMA: ResourceSchema = {
  typeName: "ServicePrincipal",
  writable: {
    accountEnabled: "boolean",
    addIns: "objectArray",
    alternativeNames: "stringArray",
    appDescription: "string",
    appId: "string",
    appRoleAssignmentRequired: "boolean",
    appRoles: "objectArray",
    customSecurityAttributes: "object",
    description: "string",
    displayName: "string",
    homepage: "string",
    info: "object",
    keyCredentials: "objectArray",
    loginUrl: "string",
    logoutUrl: "string",
    notes: "string",
    notificationEmailAddresses: "stringArray",
    oauth2PermissionScopes: "objectArray",
    preferredSingleSignOnMode: "string",
    preferredTokenSigningKeyThumbprint: "string",
    replyUrls: "stringArray",
    samlSingleSignOnSettings: "object",
    servicePrincipalNames: "stringArray",
    servicePrincipalType: "string",
    tags: "stringArray",
    tokenEncryptionKeyId: "guid",
  },
  readOnly: [
    "id",
    "appDisplayName",
    "applicationTemplateId",
    "appOwnerOrganizationId",
    "createdDateTime",
    "deletedDateTime",
    "disabledByMicrosoftStatus",
    "passwordCredentials",
    "resourceSpecificApplicationPermissions",
    "signInAudience",
    "verifiedPublisher",
  ],
  createOnly: ["appId"],
};

/** V: learn.microsoft.com/graph/api/resources/federatedidentitycredential. */
export const FEDERATED_CREDENTIAL_SCHEMA: ResourceSchema = {
  typeName: "FederatedIdentityCredential",
  writable: { name: "string", issuer: "string", subject: "string", audiences: "stringArray", description: "string" },
  readOnly: ["id"],
  createOnly: ["name"],
};

/** V: learn.microsoft.com/graph/api/resources/keycredential. */
const KEY_CREDENTIAL_SCHEMA: ResourceSchema = {
  typeName: "KeyCredential",
  writable: {
    customKeyIdentifier: "string",
    displayName: "string",
    endDateTime: "dateTime",
    key: "string",
    keyId: "guid",
    startDateTime: "dateTime",
    type: { enumeration: ["AsymmetricX509Cert", "X509CertAndPassword", "Symmetric"] },
    usage: { enumeration: ["Verify", "Sign"] },
  },
  readOnly: [],
};

function badRequest(message: string): ServiceError {
  return graphError(400, "Request_BadRequest", message);
}

function invalidValue(property: string, typeName: string): ServiceError {
  return badRequest(`Invalid value specified for property '${property}' of resource '${typeName}'.`);
}

function hasType(value: unknown, type: PropertyType): boolean {
  if (value === null) return true;
  if (typeof type === "object") return typeof value === "string" && type.enumeration.includes(value);
  switch (type) {
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "guid":
      return typeof value === "string" && isGuid(value);
    case "dateTime":
      return typeof value === "string" && !Number.isNaN(Date.parse(value));
    case "stringArray":
      return Array.isArray(value) && value.every((item) => typeof item === "string");
    case "object":
      return typeof value === "object" && !Array.isArray(value);
    case "objectArray":
      return Array.isArray(value) && value.every((item) => item !== null && typeof item === "object" && !Array.isArray(item));
  }
}

/**
 * The `@odata.type` annotation of a request body, as Graph's OData reader takes it: the resource's
 * own type (`#microsoft.graph.application`, with or without `#`) is accepted, any other is a 400.
 * (go-azure-sdk's models send it on every create and update; see the azuread stand-in.)
 */
export function checkODataType(typeName: string, body: Readonly<Record<string, unknown>>): void {
  if (!("@odata.type" in body)) return;
  const own = `microsoft.graph.${typeName.charAt(0).toLowerCase()}${typeName.slice(1)}`;
  const sent = body["@odata.type"];
  if (sent === own || sent === `#${own}`) return;
  throw badRequest(
    `The entity type '${String(sent).replace(/^#/, "")}' is not compatible with the base type '${own}' of the given entity set.`,
  );
}

/**
 * Checks a request body against a resource's schema, as Graph does, and throws its 400. Annotations
 * (`@odata.type`, the resource's own type only) and `owners@odata.bind` are allowed; other binds are not.
 */
export function checkRequestBody(schema: ResourceSchema, body: Record<string, unknown>, operation: "create" | "update"): void {
  for (const [property, value] of Object.entries(body)) {
    if (property === "@odata.type") {
      checkODataType(schema.typeName, body);
      continue;
    }
    if (property === "owners@odata.bind" && schema !== FEDERATED_CREDENTIAL_SCHEMA) {
      if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) throw invalidValue(property, schema.typeName);
      continue;
    }
    if (operation === "update" && schema.patchRefused?.[property] !== undefined) {
      throw badRequest(`Property '${property}' cannot be updated with PATCH. ${schema.patchRefused[property]}`);
    }
    if (schema.readOnly.includes(property) || (operation === "update" && schema.createOnly?.includes(property))) {
      throw badRequest(`Property '${property}' is read-only and cannot be set.`);
    }
    const type = schema.writable[property];
    if (type === undefined) {
      throw badRequest(`Property '${property}' does not exist as a declared property or extension property.`);
    }
    if (!hasType(value, type)) throw invalidValue(property, schema.typeName);
    if (property === "keyCredentials" && Array.isArray(value)) {
      for (const credential of value as Record<string, unknown>[]) checkRequestBody(KEY_CREDENTIAL_SCHEMA, credential, "create");
    }
  }
}

/** A read-only value sent back unchanged: GUIDs compare without case, anything else as JSON. */
export function sameReadOnlyValue(current: unknown, sent: unknown): boolean {
  if (current === undefined) return false;
  if (typeof current === "string" && typeof sent === "string" && isGuid(current) && isGuid(sent))
    return current.toLowerCase() === sent.toLowerCase();
  return JSON.stringify(current) === JSON.stringify(sent);
}

/** The properties a $select may name: the resource's own (Graph answers 400 for any other). */
export function checkSelect(typeName: string, names: string[], known: ReadonlySet<string>): void {
  for (const name of names) {
    if (!known.has(name)) {
      throw badRequest(
        `Parsing OData Select and Expand failed: Could not find a property named '${name}' on type 'microsoft.graph.${typeName.charAt(0).toLowerCase()}${typeName.slice(1)}'.`,
      );
    }
  }
}
