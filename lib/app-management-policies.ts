/**
 * Tenant credential policies (Entra "app management policies", issue 17): what the tenant lets a
 * new client secret be, read through Microsoft Graph, and the guidance the stack gives when its
 * configuration asks for more.
 *
 * - The tenant default policy: GET /v1.0/policies/defaultAppManagementPolicy (`isEnabled`,
 *   `applicationRestrictions.passwordCredentials`); an application's own policy, when one is assigned:
 *   GET /v1.0/applications/{id}/appManagementPolicies, which replaces the default for that application.
 *   Both need Policy.Read.All (or Policy.ReadWrite.ApplicationConfiguration); without it they are 403
 *   and the policy is "unknown" (the apply-time gate then asks Graph by trying, see
 *   dynamic-providers/credential-policy-gate/).
 * - passwordCredentials restrictions: `passwordAddition` (no new secrets) and `passwordLifetime`
 *   (`maxLifetime`, an ISO 8601 duration), each `enabled` or `disabled`, each for applications created
 *   on or after `restrictForAppsCreatedAfterDateTime` (null: all).
 * - Graph refuses a secret that breaks one with 400 CredentialInvalidLifetimeAsPerAppPolicy ("Credential
 *   lifetime exceeds the max value allowed as per assigned policy '<id>'.") or
 *   CredentialTypeNotAllowedAsPerAppPolicy.
 *
 * Plain functions only (the providers that call them are serialized by Pulumi).
 */
import { cachedLookup } from "./process-lookups";
import { RestApiError, type RestClient } from "./rest-client";

/** Graph's codes for a credential refused by an app management policy. */
export const lifetimeRefusedCode = "CredentialInvalidLifetimeAsPerAppPolicy";
export const typeRefusedCode = "CredentialTypeNotAllowedAsPerAppPolicy";

/** The policy behind a restriction, as a user can find it in the Entra admin center. */
interface PolicyName {
  readonly id: string;
  readonly displayName: string;
}

/** What the tenant allows a new client secret of one application. */
export type PasswordPolicy =
  | {
      readonly readable: true;
      /** Set when new client secrets are blocked (passwordAddition). */
      readonly blockedBy?: PolicyName;
      /** Set when client secrets have a maximum lifetime (passwordLifetime). */
      readonly maxLifetime?: PolicyName & { readonly days: number; readonly duration: string };
    }
  /** The policies could not be read (no Policy.Read.All); `reason` says why. */
  | { readonly readable: false; readonly reason: string };

/** Days of an ISO 8601 duration (P90D, P1Y, P2W, P4DT12H); a year counts 365 days, a month 30. */
export function isoDurationDays(value: string): number | undefined {
  const match =
    /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      value,
    );
  if (!match || value === "P" || value.endsWith("T")) return undefined;
  const [years, months, weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => (part ? Number(part) : 0));
  return years * 365 + months * 30 + weeks * 7 + days + hours / 24 + minutes / 1440 + seconds / 86400;
}

interface PolicyDocument {
  id?: string;
  displayName?: string;
  isEnabled?: boolean;
  applicationRestrictions?: { passwordCredentials?: RestrictionDocument[] };
  restrictions?: { passwordCredentials?: RestrictionDocument[] };
}

interface RestrictionDocument {
  restrictionType?: string;
  state?: string;
  maxLifetime?: string | null;
  restrictForAppsCreatedAfterDateTime?: string | null;
}

/**
 * The password restrictions in force for an application created at `createdMs` under `policy`
 * (its own policy, or the tenant default): only enabled restrictions whose date the application meets.
 */
export function passwordPolicyOf(policy: PolicyDocument | undefined, createdMs: number): PasswordPolicy {
  // The tenant default counts only when enabled (isEnabled defaults to false); callers pass an
  // assigned app policy with isEnabled true.
  if (!policy || policy.isEnabled !== true) return { readable: true };
  const name: PolicyName = { id: String(policy.id ?? ""), displayName: String(policy.displayName ?? policy.id ?? "") };
  const restrictions = (policy.restrictions ?? policy.applicationRestrictions)?.passwordCredentials ?? [];
  let blockedBy: PolicyName | undefined;
  let maxLifetime: (PolicyName & { days: number; duration: string }) | undefined;
  for (const restriction of restrictions) {
    if (restriction.state === "disabled") continue;
    const after = restriction.restrictForAppsCreatedAfterDateTime;
    if (typeof after === "string" && !Number.isNaN(Date.parse(after)) && createdMs < Date.parse(after)) continue;
    if (restriction.restrictionType === "passwordAddition") blockedBy = name;
    if (restriction.restrictionType === "passwordLifetime" && typeof restriction.maxLifetime === "string") {
      const days = isoDurationDays(restriction.maxLifetime);
      if (days !== undefined) maxLifetime = { ...name, days, duration: restriction.maxLifetime };
    }
  }
  return { readable: true, ...(blockedBy ? { blockedBy } : {}), ...(maxLifetime ? { maxLifetime } : {}) };
}

const isRefusal = (error: unknown) => error instanceof RestApiError && (error.status === 401 || error.status === 403);

/**
 * The restrictions on a new client secret of an application: `applicationObjectId` for an existing
 * one (its own policy first, and its creation date), none for one the run is about to create
 * (the tenant default, for an application created now). Unreadable without Policy.Read.All.
 */
export async function readPasswordPolicy(
  graph: RestClient,
  applicationObjectId: string | undefined,
  nowMs: number,
): Promise<PasswordPolicy> {
  try {
    // The tenant default first: without Policy.Read.All this is the one call made (a 403).
    // Read once per process: the environment check, and each integration's schedule and gate, ask.
    const tenant = await cachedLookup(`${graph.baseUrl.toLowerCase()}|tenant app management policy`, () =>
      graph.request<PolicyDocument>({
        operation: "read the tenant's default app management policy",
        method: "GET",
        path: "v1.0/policies/defaultAppManagementPolicy",
      }),
    );
    if (!applicationObjectId) return passwordPolicyOf(tenant.data, nowMs);
    const application = await graph.request<{ createdDateTime?: string }>({
      operation: `read the creation date of application ${applicationObjectId}`,
      method: "GET",
      path: `v1.0/applications/${applicationObjectId}?$select=id,createdDateTime`,
      // An application made a moment ago may not have reached every replica yet.
      retryOnCodes: ["Request_ResourceNotFound"],
    });
    const created = Date.parse(String(application.data.createdDateTime ?? ""));
    const createdMs = Number.isNaN(created) ? nowMs : created;
    const own = await graph.request<{ value?: PolicyDocument[] }>({
      operation: `read the app management policy of application ${applicationObjectId}`,
      method: "GET",
      path: `v1.0/applications/${applicationObjectId}/appManagementPolicies`,
      retryOnCodes: ["Request_ResourceNotFound"],
    });
    const assigned = (own.data.value ?? []).find((policy) => policy.isEnabled !== false);
    return passwordPolicyOf(assigned ? { ...assigned, isEnabled: true } : tenant.data, createdMs);
  } catch (error) {
    if (isRefusal(error)) {
      return {
        readable: false,
        reason: `the deploying identity may not read app management policies (${(error as RestApiError).code ?? (error as RestApiError).status}); grant it Policy.Read.All`,
      };
    }
    throw error;
  }
}

/** The config keys a message names, and the integration they belong to. */
export interface SecretSettings {
  /** "dataverse-s2s:integrations[0].secret.lifetimeDays", or a description when the index is unknown. */
  readonly lifetimeSetting: string;
  /** "dataverse-s2s:integrations[0].credential.type". */
  readonly credentialSetting: string;
  readonly lifetimeDays: number;
}

const policyLabel = (policy: PolicyName) =>
  policy.displayName && policy.displayName !== policy.id ? `'${policy.displayName}' (${policy.id})` : `'${policy.id}'`;

const otherCredentials =
  "credential.type certificate (an uploaded public certificate, credential.certificatePem) or federated " +
  "(credential.github, credential.aks or credential.federated: no stored credential at all; README 'Credentials')";

/** One problem with a policy, shaped as the environment check lists problems. */
interface PolicyProblem {
  readonly setting: string;
  readonly problem: string;
  /** What to check or change. */
  readonly check: string;
}

/** The one-line form of a problem: "<setting>: <problem>. Check <check>." */
export function describePolicyProblem(problem: PolicyProblem): string {
  return `${problem.setting}: ${problem.problem}. Check ${problem.check}.`;
}

/** Whole days a policy allows (a maxLifetime of P90DT12H allows 90 whole days). */
export const allowedDays = (maxLifetime: { days: number }) => Math.max(1, Math.floor(maxLifetime.days + 1e-9));

/** A lifetime above the policy's maximum: the key, the policy, the allowed value, the way out. */
function lifetimeProblem(settings: SecretSettings, maxLifetime: PolicyName & { days: number; duration: string }): PolicyProblem {
  const allowed = allowedDays(maxLifetime);
  return {
    setting: settings.lifetimeSetting,
    problem:
      `${settings.lifetimeDays} days is longer than the tenant's app management policy ${policyLabel(maxLifetime)} allows for a client ` +
      `secret: at most ${allowed} days (maxLifetime ${maxLifetime.duration}); Entra would refuse the secret (${lifetimeRefusedCode})`,
    check: `that secret.lifetimeDays is ${allowed} or less (with secret.rotateBeforeDays below it), or use ${otherCredentials}`,
  };
}

/** A client secret where the policy blocks them: the key, the policy, the way out. */
function blockedProblem(settings: SecretSettings, blockedBy: PolicyName): PolicyProblem {
  return {
    setting: settings.credentialSetting,
    problem:
      `'secret' (the default) asks for a client secret, but the tenant's app management policy ${policyLabel(blockedBy)} blocks new ` +
      `client secrets (passwordAddition); Entra would refuse it (${typeRefusedCode})`,
    check: `the integration's credential: use ${otherCredentials}`,
  };
}

/**
 * The tenant-policy rule, judged here only (the environment check, SecretSchedule and CredentialPolicyGate
 * call it): the problem of a new secret of `settings` under `policy`, a blocked secret before a lifetime
 * above the maximum; undefined when the policy allows it or cannot be read.
 */
export function passwordPolicyProblem(settings: SecretSettings, policy: PasswordPolicy): PolicyProblem | undefined {
  if (!policy.readable) return undefined;
  if (policy.blockedBy) return blockedProblem(settings, policy.blockedBy);
  if (policy.maxLifetime && settings.lifetimeDays > policy.maxLifetime.days + 1e-9) return lifetimeProblem(settings, policy.maxLifetime);
  return undefined;
}

/** The policy id in Graph's refusal text ("... as per assigned policy '<id>'."). */
function refusingPolicyId(message: string): string {
  return /policy '([^']+)'/.exec(message)?.[1] ?? "unknown";
}

/**
 * Graph's own refusal of a secret (what the apply-time gate met when the policies could not be
 * read) as the same problem the pre-check reports, with what Graph said in place of what could not be read.
 */
export function refusalProblem(settings: SecretSettings, code: string | undefined, message: string): PolicyProblem | undefined {
  const policy: PolicyName = { id: refusingPolicyId(message), displayName: "" };
  if (code === typeRefusedCode) return blockedProblem(settings, policy);
  if (code !== lifetimeRefusedCode) return undefined;
  return {
    setting: settings.lifetimeSetting,
    problem:
      `${settings.lifetimeDays} days is longer than the tenant's app management policy ${policyLabel(policy)} allows for a client secret: ` +
      `Entra refused it (${lifetimeRefusedCode}: ${message}). The deploying identity may not read the policy (no Policy.Read.All), ` +
      "so its maximum is not known here",
    check:
      `that secret.lifetimeDays is at most the policy's maximum (ask an Entra admin, or grant the deployer Policy.Read.All and run ` +
      `'pulumi preview', which then names it), or use ${otherCredentials}`,
  };
}
