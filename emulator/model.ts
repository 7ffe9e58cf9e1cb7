// Shapes shared by the handlers: Graph documents with the defaults Graph fills in, Dataverse
// application user rows, and client secret hashing.
import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import type { ApplicationRecord, GraphDoc, SecretHash, ServicePrincipalRecord, SystemUserRow } from "./store";

/** The characters Entra uses in generated client secrets. */
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~";

/** A 40-character secret in Entra's format (three characters, a "8Q~"-style marker, 34 more). */
export function newSecretText(): string {
  const pick = (n: number) => Array.from({ length: n }, () => SECRET_ALPHABET[randomInt(SECRET_ALPHABET.length)]).join("");
  return `${pick(3)}8Q~${pick(34)}`;
}

export function hashSecret(secret: string): SecretHash {
  const salt = randomBytes(16).toString("hex");
  return { salt, hash: createHash("sha256").update(salt).update(secret).digest("hex") };
}

export function verifySecret(secret: string, stored: SecretHash): boolean {
  const hash = createHash("sha256").update(stored.salt).update(secret).digest();
  const expected = Buffer.from(stored.hash, "hex");
  return expected.length === hash.length && timingSafeEqual(expected, hash);
}

/** Graph fields of an application, with Graph's defaults (the azuread provider reads most of them). */
export function newApplicationDoc(id: string, appId: string, createdDateTime: string, publisherDomain: string): GraphDoc {
  return {
    id,
    appId,
    applicationTemplateId: null,
    disabledByMicrosoftStatus: null,
    createdDateTime,
    deletedDateTime: null,
    displayName: null,
    description: null,
    groupMembershipClaims: null,
    identifierUris: [],
    isDeviceOnlyAuthSupported: null,
    isFallbackPublicClient: null,
    nativeAuthenticationApisEnabled: null,
    notes: null,
    oauth2RequirePostResponse: false,
    publisherDomain,
    serviceManagementReference: null,
    signInAudience: "AzureADMyOrg",
    tags: [],
    tokenEncryptionKeyId: null,
    samlMetadataUrl: null,
    defaultRedirectUri: null,
    certification: null,
    optionalClaims: null,
    requestSignatureVerification: null,
    addIns: [],
    api: {
      acceptMappedClaims: null,
      knownClientApplications: [],
      requestedAccessTokenVersion: null,
      oauth2PermissionScopes: [],
      preAuthorizedApplications: [],
    },
    appRoles: [],
    info: { logoUrl: null, marketingUrl: null, privacyStatementUrl: null, supportUrl: null, termsOfServiceUrl: null },
    keyCredentials: [],
    parentalControlSettings: { countriesBlockedForMinors: [], legalAgeGroupRule: "Allow" },
    passwordCredentials: [],
    publicClient: { redirectUris: [] },
    requiredResourceAccess: [],
    verifiedPublisher: { displayName: null, verifiedPublisherId: null, addedDateTime: null },
    web: {
      homePageUrl: null,
      logoutUrl: null,
      redirectUris: [],
      implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false },
      redirectUriSettings: [],
    },
    spa: { redirectUris: [] },
  };
}

/** A service principal for an application, copying what Graph copies from it. */
export function newServicePrincipalDoc(id: string, app: GraphDoc, appOwnerOrganizationId: string): GraphDoc {
  const api = (app.api ?? {}) as Record<string, unknown>;
  return {
    id,
    deletedDateTime: null,
    accountEnabled: true,
    alternativeNames: [],
    appDisplayName: app.displayName ?? null,
    appDescription: app.description ?? null,
    appId: app.appId,
    applicationTemplateId: null,
    appOwnerOrganizationId,
    appRoleAssignmentRequired: false,
    createdDateTime: app.createdDateTime ?? null,
    description: null,
    disabledByMicrosoftStatus: null,
    displayName: app.displayName ?? null,
    homepage: null,
    loginUrl: null,
    logoutUrl: null,
    notes: null,
    notificationEmailAddresses: [],
    preferredSingleSignOnMode: null,
    preferredTokenSigningKeyThumbprint: null,
    replyUrls: [],
    servicePrincipalNames: [app.appId, ...(Array.isArray(app.identifierUris) ? (app.identifierUris as string[]) : [])],
    servicePrincipalType: "Application",
    signInAudience: app.signInAudience ?? "AzureADMyOrg",
    tags: [],
    tokenEncryptionKeyId: null,
    samlMetadataUrl: null,
    samlSingleSignOnSettings: null,
    addIns: [],
    appRoles: structuredClone(app.appRoles ?? []),
    info: structuredClone(app.info ?? null),
    keyCredentials: [],
    oauth2PermissionScopes: structuredClone(api.oauth2PermissionScopes ?? []),
    passwordCredentials: [],
    resourceSpecificApplicationPermissions: [],
    verifiedPublisher: { displayName: null, verifiedPublisherId: null, addedDateTime: null },
  };
}

/** The fields of an application user that Dataverse fills in from the app registration. */
export function newApplicationUserRow(args: {
  systemuserid: string;
  app: ApplicationRecord;
  sp: ServicePrincipalRecord;
  businessunitid: string;
  isdisabled: boolean;
  domain: string;
  now: string;
}): SystemUserRow {
  const appId = String(args.app.doc.appId);
  const name = String(args.app.doc.displayName ?? appId);
  const uris = args.app.doc.identifierUris as string[] | undefined;
  return {
    systemuserid: args.systemuserid,
    applicationid: appId,
    fullname: `# ${name}`,
    firstname: "#",
    lastname: name,
    domainname: `${appId}@${args.domain}`,
    internalemailaddress: `${appId}@${args.domain}`,
    azureactivedirectoryobjectid: args.sp.doc.id,
    applicationiduri: uris && uris.length > 0 ? uris[0] : null,
    accessmode: 4,
    isdisabled: args.isdisabled,
    deletedstate: 0,
    businessunitid: args.businessunitid,
    createdon: args.now,
    modifiedon: args.now,
    roles: [],
  };
}

/**
 * The service principal Azure creates for a user-assigned managed identity: servicePrincipalType
 * ManagedIdentity, appId = the identity's clientId, owned by Microsoft's tenant, no app registration.
 * V: learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-view-managed-identity-service-principal
 * (listed as an enterprise application of type Managed Identity); alternativeNames (isExplicit, the
 * resource id) as Graph shows them; the second servicePrincipalNames entry G.
 */
export function newManagedIdentityServicePrincipalDoc(args: {
  id: string;
  appId: string;
  displayName: string;
  resourceId: string;
  createdDateTime: string;
}): GraphDoc {
  const doc = newServicePrincipalDoc(
    args.id,
    newApplicationDoc("00000000-0000-0000-0000-000000000000", args.appId, args.createdDateTime, "microsoft.com"),
    "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
  );
  doc.displayName = args.displayName;
  doc.appDisplayName = null;
  doc.servicePrincipalType = "ManagedIdentity";
  doc.servicePrincipalNames = [args.appId, `https://identity.azure.net/${args.appId}`];
  doc.alternativeNames = ["isExplicit=True", args.resourceId];
  doc.signInAudience = null;
  doc.createdDateTime = args.createdDateTime;
  return doc;
}
