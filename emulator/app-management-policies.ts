// App management policies (issue 17): the tenant's default policy and app-specific policies that
// restrict the credentials an application may get, as Microsoft Graph serves and enforces them.
//
// Sources (V): learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy (GET/PATCH
// /policies/defaultAppManagementPolicy, id 00000000-0000-0000-0000-000000000000, isEnabled default
// false, applicationRestrictions), .../resources/appmanagementpolicy (/policies/appManagementPolicies,
// `restrictions`), .../api/appmanagementpolicy-post-appliesto (POST /applications/{id}/
// appManagementPolicies/$ref; "the application adopts this policy over the tenant-wide
// tenantAppManagementPolicy"; one policy per application; Application.Read.All and
// Policy.ReadWrite.ApplicationConfiguration), .../resources/passwordcredentialconfiguration
// (restrictionType passwordAddition / passwordLifetime / ..., maxLifetime as an ISO 8601 duration,
// restrictForAppsCreatedAfterDateTime, state enabled/disabled), tenantappmanagementpolicy-get
// (Policy.Read.All; Policy.ReadWrite.ApplicationConfiguration writes). The refusal of addPassword
// with a too long lifetime, 400 CredentialInvalidLifetimeAsPerAppPolicy "Credential lifetime exceeds
// the max value allowed as per assigned policy '<id>'." with a detail InvalidKeyEndDate/EndDate, is
// as reported in public issues (OfficeDev/microsoft-365-agents-toolkit#10998); the status 400 and the
// refusal of a blocked credential type (CredentialTypeNotAllowedAsPerAppPolicy, its message) are G.
import { randomUUID } from "node:crypto";
import { graphError, ServiceError } from "./errors";
import { isGuid, sameId } from "./http";
import type { GraphCall } from "./graph";
import { requirePermission, requirePolicyPermission } from "./graph-permissions";
import type { ApplicationRecord, EmulatorStore, GraphDoc, StateData } from "./store";
import { isoDurationDays } from "../lib/app-management-policies";

/** The tenant default policy's fixed id (V). */
const DEFAULT_POLICY_ID = "00000000-0000-0000-0000-000000000000";

/** Policies as stored: the tenant default, app-specific policies, and which application has which. */
export interface AppManagementState {
  defaultPolicy: GraphDoc;
  policies: Record<string, GraphDoc>;
  /** Application object id -> the one appManagementPolicy assigned to it. */
  assignments: Record<string, string>;
}

const PASSWORD_RESTRICTIONS = [
  "passwordAddition",
  "passwordLifetime",
  "symmetricKeyAddition",
  "symmetricKeyLifetime",
  "customPasswordAddition",
];
const KEY_RESTRICTIONS = ["asymmetricKeyLifetime", "trustedCertificateAuthority"];

function emptyConfiguration(): Record<string, unknown> {
  return { passwordCredentials: [], keyCredentials: [] };
}

function defaultAppManagementState(): AppManagementState {
  return {
    defaultPolicy: {
      id: DEFAULT_POLICY_ID,
      displayName: "Default app management tenant policy",
      description: "Default tenant policy that enforces app management restrictions on applications and service principals.",
      isEnabled: false,
      applicationRestrictions: emptyConfiguration(),
      servicePrincipalRestrictions: emptyConfiguration(),
    },
    policies: {},
    assignments: {},
  };
}

/** The policies of a state, made on first use (older state files have none). */
function appManagementOf(state: StateData): AppManagementState {
  state.appManagement ??= defaultAppManagementState();
  return state.appManagement;
}

function badRequest(message: string): ServiceError {
  return graphError(400, "Request_BadRequest", message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Days of an ISO 8601 duration (the product's own parser: one reading of maxLifetime). */
export const durationDays = isoDurationDays;

/** Checks one credential configuration list (passwordCredentials or keyCredentials) as Graph would accept it. */
function checkRestrictions(value: unknown, field: string, allowed: string[]): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw badRequest(`Invalid value specified for property '${field}': an array is expected.`);
  const seen = new Set<string>();
  return value.map((entry, index) => {
    if (!isPlainObject(entry)) throw badRequest(`Invalid value specified for property '${field}[${index}]'.`);
    const type = entry.restrictionType;
    if (typeof type !== "string" || !allowed.includes(type))
      throw badRequest(`Invalid value specified for property '${field}[${index}].restrictionType': one of ${allowed.join(", ")}.`);
    // V: "Each value of restrictionType can be used only once per policy."
    if (seen.has(type)) throw badRequest(`The restrictionType '${type}' can be used only once per policy.`);
    seen.add(type);
    const state = entry.state ?? "enabled";
    if (state !== "enabled" && state !== "disabled")
      throw badRequest(`Invalid value specified for property '${field}[${index}].state': enabled or disabled.`);
    const maxLifetime = entry.maxLifetime ?? null;
    if (type.endsWith("Lifetime")) {
      // V: maxLifetime "is required when restrictionType is set to passwordLifetime".
      if (typeof maxLifetime !== "string" || durationDays(maxLifetime) === undefined || durationDays(maxLifetime)! <= 0)
        throw badRequest(`Invalid value specified for property '${field}[${index}].maxLifetime': an ISO 8601 duration such as P90D.`);
    } else if (maxLifetime !== null) {
      throw badRequest(`Property '${field}[${index}].maxLifetime' applies to lifetime restrictions only.`);
    }
    const after = entry.restrictForAppsCreatedAfterDateTime ?? null;
    if (after !== null && (typeof after !== "string" || Number.isNaN(Date.parse(after))))
      throw badRequest(`Invalid value specified for property '${field}[${index}].restrictForAppsCreatedAfterDateTime'.`);
    return { restrictionType: type, state, maxLifetime, restrictForAppsCreatedAfterDateTime: after };
  });
}

/** An appManagementConfiguration ({passwordCredentials, keyCredentials}), merged onto `current`. */
function checkConfiguration(value: unknown, field: string, current: Record<string, unknown>): Record<string, unknown> {
  if (!isPlainObject(value)) throw badRequest(`Invalid value specified for property '${field}'.`);
  const next = { ...current };
  for (const [name, item] of Object.entries(value)) {
    if (name === "@odata.type") continue;
    if (name === "passwordCredentials") next.passwordCredentials = checkRestrictions(item, `${field}.${name}`, PASSWORD_RESTRICTIONS);
    else if (name === "keyCredentials") next.keyCredentials = checkRestrictions(item, `${field}.${name}`, KEY_RESTRICTIONS);
    else throw badRequest(`Property '${field}.${name}' does not exist as a declared property or extension property.`);
  }
  return next;
}

/** Applies a PATCH (or a create body) of a policy: only its documented properties. */
function patchPolicy(policy: GraphDoc, body: Record<string, unknown>, configurations: string[]): void {
  for (const [name, value] of Object.entries(body)) {
    if (name === "@odata.type" || name === "@odata.context") continue;
    if (name === "id") {
      if (value !== policy.id) throw badRequest("Property 'id' is read-only and cannot be set.");
    } else if (name === "displayName" || name === "description") {
      if (typeof value !== "string") throw badRequest(`Invalid value specified for property '${name}'.`);
      policy[name] = value;
    } else if (name === "isEnabled") {
      if (typeof value !== "boolean") throw badRequest("Invalid value specified for property 'isEnabled'.");
      policy.isEnabled = value;
    } else if (configurations.includes(name)) {
      policy[name] = checkConfiguration(value, name, (policy[name] as Record<string, unknown> | undefined) ?? emptyConfiguration());
    } else {
      throw badRequest(`Property '${name}' does not exist as a declared property or extension property.`);
    }
  }
}

/**
 * The tenant's app management policies behind an interface, as DirectoryStore is for the directory:
 * the Graph handlers and the admin API change policies and assignments only through these methods,
 * which save the state once a change is complete.
 */
export class AppManagementStore {
  constructor(private readonly store: EmulatorStore) {}

  private get policies(): AppManagementState {
    return appManagementOf(this.store.state);
  }

  /** Everything, as the admin API shows it. */
  snapshot(): AppManagementState {
    return this.policies;
  }

  defaultPolicy(): GraphDoc {
    return this.policies.defaultPolicy;
  }

  appPolicies(): GraphDoc[] {
    return Object.values(this.policies.policies);
  }

  appPolicy(id: string): GraphDoc | undefined {
    return isGuid(id) ? this.policies.policies[id.toLowerCase()] : undefined;
  }

  /** The policy assigned to an application, if any. */
  assignedTo(application: ApplicationRecord): GraphDoc | undefined {
    const assigned = this.policies.assignments[application.doc.id];
    return assigned ? this.policies.policies[assigned] : undefined;
  }

  /** PATCH of the tenant default policy (Graph and the admin API). */
  patchDefault(body: Record<string, unknown>): GraphDoc {
    const next = structuredClone(this.policies.defaultPolicy);
    patchPolicy(next, body, ["applicationRestrictions", "servicePrincipalRestrictions"]);
    this.policies.defaultPolicy = next;
    this.store.save();
    return next;
  }

  /** A new appManagementPolicy from a create body (Graph and the admin API). */
  create(body: Record<string, unknown>): GraphDoc {
    if (typeof body.displayName !== "string" || body.displayName.trim() === "")
      throw badRequest("Invalid value specified for property 'displayName' of resource 'AppManagementPolicy'.");
    const policy: GraphDoc = { id: randomUUID(), displayName: "", description: null, isEnabled: true, restrictions: emptyConfiguration() };
    patchPolicy(policy, body, ["restrictions"]);
    this.policies.policies[policy.id] = policy;
    this.store.save();
    return policy;
  }

  /** PATCH of an appManagementPolicy: the whole body is checked before the policy changes. */
  patch(policy: GraphDoc, body: Record<string, unknown>): void {
    const next = structuredClone(policy);
    patchPolicy(next, body, ["restrictions"]);
    this.policies.policies[policy.id] = next;
    this.store.save();
  }

  /** Deletes a policy; its assignments end with it. */
  delete(policy: GraphDoc): void {
    delete this.policies.policies[policy.id];
    for (const [application, assigned] of Object.entries(this.policies.assignments))
      if (assigned === policy.id) delete this.policies.assignments[application];
    this.store.save();
  }

  /** Assigns a policy to an application (one per application: V). */
  assign(application: ApplicationRecord, policyId: string): void {
    const policy = this.policies.policies[policyId.toLowerCase()];
    if (!policy) throw notFound(policyId);
    const current = this.policies.assignments[application.doc.id];
    if (current && !sameId(current, policy.id))
      throw badRequest("Only one appManagementPolicy can be assigned to an application; remove the current one first.");
    this.policies.assignments[application.doc.id] = policy.id;
    this.store.save();
  }

  /** Ends an assignment; 404 when that policy is not the application's. */
  unassign(application: ApplicationRecord, policyId: string): void {
    if (!sameId(this.policies.assignments[application.doc.id], policyId)) throw notFound(policyId);
    delete this.policies.assignments[application.doc.id];
    this.store.save();
  }
}

function notFound(id: string): ServiceError {
  return graphError(
    404,
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

/** One restriction in force for an application, with the policy it comes from. */
interface ActiveRestriction {
  policyId: string;
  restrictionType: string;
  maxLifetimeDays?: number;
}

/**
 * The restrictions in force for an application's new credentials: its own policy when one is
 * assigned and enabled, else the tenant default when enabled (V: "adopts this policy over the
 * tenant-wide" one). A restriction counts when its state is enabled and the application was created
 * on or after restrictForAppsCreatedAfterDateTime (V: "created on or after"; null = every application).
 */
function activeRestrictions(
  state: StateData,
  application: ApplicationRecord,
  kind: "passwordCredentials" | "keyCredentials",
): ActiveRestriction[] {
  const policies = appManagementOf(state);
  const assigned = policies.assignments[application.doc.id];
  const own = assigned ? policies.policies[assigned] : undefined;
  let policyId: string;
  let configuration: Record<string, unknown> | undefined;
  if (own && own.isEnabled !== false) {
    policyId = own.id;
    configuration = own.restrictions as Record<string, unknown> | undefined;
  } else if (policies.defaultPolicy.isEnabled === true) {
    policyId = policies.defaultPolicy.id;
    configuration = policies.defaultPolicy.applicationRestrictions as Record<string, unknown> | undefined;
  } else {
    return [];
  }
  const created = Date.parse(String(application.doc.createdDateTime ?? ""));
  return ((configuration?.[kind] as Record<string, unknown>[] | undefined) ?? [])
    .filter((restriction) => restriction.state !== "disabled")
    .filter((restriction) => {
      const after = restriction.restrictForAppsCreatedAfterDateTime;
      return typeof after !== "string" || Number.isNaN(created) || created >= Date.parse(after);
    })
    .map((restriction) => ({
      policyId,
      restrictionType: String(restriction.restrictionType),
      ...(typeof restriction.maxLifetime === "string" ? { maxLifetimeDays: durationDays(restriction.maxLifetime) } : {}),
    }));
}

function lifetimeRefused(policyId: string): ServiceError {
  const message = `Credential lifetime exceeds the max value allowed as per assigned policy '${policyId}'.`;
  return new ServiceError("graph", 400, "CredentialInvalidLifetimeAsPerAppPolicy", message, (now) => ({
    error: {
      code: "CredentialInvalidLifetimeAsPerAppPolicy",
      message,
      details: [{ code: "InvalidKeyEndDate", message, target: "EndDate" }],
      innerError: innerError(now),
    },
  }));
}

function typeRefused(policyId: string, what: string): ServiceError {
  const message = `${what} is not allowed as per assigned policy '${policyId}'.`;
  return new ServiceError("graph", 400, "CredentialTypeNotAllowedAsPerAppPolicy", message, (now) => ({
    error: { code: "CredentialTypeNotAllowedAsPerAppPolicy", message, innerError: innerError(now) },
  }));
}

function innerError(now: Date): Record<string, string> {
  const requestId = randomUUID();
  return { date: now.toISOString().replace(/\.\d+Z$/, ""), "request-id": requestId, "client-request-id": requestId };
}

const DAY_MS = 24 * 3600 * 1000;

/** Throws Graph's refusal when a new password credential from `startMs` to `endMs` breaks a policy of the application. */
export function checkNewPassword(state: StateData, application: ApplicationRecord, startMs: number, endMs: number): void {
  for (const restriction of activeRestrictions(state, application, "passwordCredentials")) {
    if (restriction.restrictionType === "passwordAddition") throw typeRefused(restriction.policyId, "Password credential");
    if (restriction.restrictionType === "passwordLifetime" && restriction.maxLifetimeDays !== undefined) {
      // G: the lifetime is endDateTime - startDateTime, compared to the second.
      if (endMs - startMs > restriction.maxLifetimeDays * DAY_MS + 1000) throw lifetimeRefused(restriction.policyId);
    }
  }
}

/** Throws Graph's refusal when a new certificate from `startMs` to `endMs` breaks an asymmetricKeyLifetime restriction. */
export function checkNewKey(state: StateData, application: ApplicationRecord, startMs: number, endMs: number): void {
  for (const restriction of activeRestrictions(state, application, "keyCredentials")) {
    if (restriction.restrictionType === "asymmetricKeyLifetime" && restriction.maxLifetimeDays !== undefined) {
      if (endMs - startMs > restriction.maxLifetimeDays * DAY_MS + 1000) throw lifetimeRefused(restriction.policyId);
    }
  }
}

function single(call: GraphCall, entity: string, doc: Record<string, unknown>, status = 200): void {
  call.ctx.send(status, { "@odata.context": `${call.base}/$metadata#${entity}/$entity`, ...doc });
}

async function body(call: GraphCall): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = await call.ctx.json();
  } catch {
    throw badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.");
  }
  if (!isPlainObject(parsed)) throw badRequest("The request body must be a JSON object.");
  return parsed;
}

/** /policies/defaultAppManagementPolicy and /policies/appManagementPolicies[/{id}]. */
export async function routePolicies(call: GraphCall, pathSegments: string[]): Promise<boolean> {
  const { ctx } = call;
  const [, collection, id, ...rest] = pathSegments;
  if (collection === "defaultAppManagementPolicy" && id === undefined) {
    ctx.op(`${ctx.method} /policies/defaultAppManagementPolicy`);
    return routeDefaultPolicy(call);
  }
  if (collection !== "appManagementPolicies" || rest.length > 0) return false;
  ctx.op(`${ctx.method} /policies/appManagementPolicies${id !== undefined ? "/{id}" : ""}`);
  if (id === undefined) return routePolicyCollection(call);
  const policy = new AppManagementStore(ctx.core.store).appPolicy(id);
  if (!policy) throw notFound(id);
  return routePolicy(call, policy);
}

/** GET and PATCH /policies/defaultAppManagementPolicy. */
async function routeDefaultPolicy(call: GraphCall): Promise<boolean> {
  const { ctx } = call;
  const policies = new AppManagementStore(ctx.core.store);
  if (ctx.method === "GET") {
    requirePolicyPermission(call, "read");
    single(call, "policies/defaultAppManagementPolicy", policies.defaultPolicy());
    return true;
  }
  if (ctx.method === "PATCH") {
    requirePolicyPermission(call, "write");
    policies.patchDefault(await body(call));
    ctx.send(204, undefined);
    return true;
  }
  return false;
}

/** GET (list) and POST (create) /policies/appManagementPolicies. */
async function routePolicyCollection(call: GraphCall): Promise<boolean> {
  const { ctx } = call;
  const policies = new AppManagementStore(ctx.core.store);
  if (ctx.method === "GET") {
    requirePolicyPermission(call, "read");
    const value = policies.appPolicies();
    ctx.send(200, { "@odata.context": `${call.base}/$metadata#policies/appManagementPolicies`, value });
    return true;
  }
  if (ctx.method === "POST") {
    requirePolicyPermission(call, "write");
    const created = policies.create(await body(call));
    single(call, "policies/appManagementPolicies", created, 201);
    return true;
  }
  return false;
}

/** GET, PATCH and DELETE /policies/appManagementPolicies/{id}; deleting a policy ends its assignments. */
async function routePolicy(call: GraphCall, policy: GraphDoc): Promise<boolean> {
  const { ctx } = call;
  const policies = new AppManagementStore(ctx.core.store);
  if (ctx.method === "GET") {
    requirePolicyPermission(call, "read");
    single(call, "policies/appManagementPolicies", policy);
    return true;
  }
  if (ctx.method === "PATCH") {
    requirePolicyPermission(call, "write");
    policies.patch(policy, await body(call));
    ctx.send(204, undefined);
    return true;
  }
  if (ctx.method === "DELETE") {
    requirePolicyPermission(call, "write");
    policies.delete(policy);
    ctx.send(204, undefined);
    return true;
  }
  return false;
}

/** /applications/{id}/appManagementPolicies, .../$ref (assign) and .../{policyId}/$ref (unassign). */
export async function routeApplicationPolicies(call: GraphCall, application: ApplicationRecord, rest: string[]): Promise<boolean> {
  const { ctx } = call;
  const policies = new AppManagementStore(ctx.core.store);
  if (rest.length === 1 && ctx.method === "GET") {
    // V: reading an application's policies needs Policy.Read.All (and the application readable).
    requirePermission(call, "read", application);
    requirePolicyPermission(call, "read");
    const assigned = policies.assignedTo(application);
    const value = assigned ? [assigned] : [];
    ctx.send(200, { "@odata.context": `${call.base}/$metadata#policies/appManagementPolicies`, value });
    return true;
  }
  if (rest.length === 2 && rest[1] === "$ref" && ctx.method === "POST") {
    // V: Application.Read.All and Policy.ReadWrite.ApplicationConfiguration.
    requirePermission(call, "read", application);
    requirePolicyPermission(call, "write");
    const reference = (await body(call))["@odata.id"];
    const policyId = typeof reference === "string" ? /([0-9a-f-]{36})\/?$/i.exec(reference)?.[1] : undefined;
    if (!policyId) throw badRequest('Send {"@odata.id": "https://graph.microsoft.com/v1.0/policies/appManagementPolicies/{id}"}.');
    policies.assign(application, policyId);
    ctx.send(204, undefined);
    return true;
  }
  if (rest.length === 3 && rest[2] === "$ref" && ctx.method === "DELETE") {
    requirePermission(call, "read", application);
    requirePolicyPermission(call, "write");
    policies.unassign(application, rest[1]);
    ctx.send(204, undefined);
    return true;
  }
  return false;
}

/**
 * The admin API's policy calls (loopback, no token), for tests and the CLI:
 *   GET  /_emulator/policies                -> {defaultPolicy, policies, assignments}
 *   POST /_emulator/policies/default        -> PATCH of the tenant default policy (Graph's body), answers it
 *   POST /_emulator/policies/app            -> {policy: <appManagementPolicy create body>, assignTo?: [<application object id or appId>]}
 */
export async function handlePolicyAdmin(
  policies: AppManagementStore,
  method: string,
  name: string,
  readBody: () => Promise<Record<string, unknown>>,
  findApplication: (key: string) => ApplicationRecord | undefined,
): Promise<{ status: number; body: unknown } | undefined> {
  if (method === "GET" && name === "policies") return { status: 200, body: policies.snapshot() };
  if (method === "POST" && name === "policies/default") return { status: 200, body: policies.patchDefault(await readBody()) };
  if (method === "POST" && name === "policies/app") {
    const request = await readBody();
    if (!isPlainObject(request.policy))
      throw badRequest('Send {"policy": {displayName, restrictions, ...}, "assignTo"?: [<application id>]}.');
    const assignTo = request.assignTo ?? [];
    if (!Array.isArray(assignTo) || assignTo.some((key) => typeof key !== "string"))
      throw badRequest("assignTo must be a list of application ids.");
    const applications = (assignTo as string[]).map((key) => {
      const application = findApplication(key);
      if (!application) throw notFound(key);
      return application;
    });
    const policy = policies.create(request.policy);
    for (const application of applications) policies.assign(application, policy.id);
    return { status: 201, body: policy };
  }
  return undefined;
}

/** The tenant default policy the CLI flags describe (`--password-max-lifetime P90D`, `--block-passwords`). */
export function defaultPolicyFromFlags(maxLifetime: string | undefined, blockPasswords: boolean): Record<string, unknown> | undefined {
  const passwordCredentials: Record<string, unknown>[] = [];
  if (blockPasswords) passwordCredentials.push({ restrictionType: "passwordAddition", state: "enabled" });
  if (maxLifetime) passwordCredentials.push({ restrictionType: "passwordLifetime", state: "enabled", maxLifetime });
  if (passwordCredentials.length === 0) return undefined;
  return { isEnabled: true, applicationRestrictions: { passwordCredentials } };
}
