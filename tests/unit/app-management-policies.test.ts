// The reading of a tenant credential policy (lib/app-management-policies.ts): which restrictions
// count for an application, and the guidance each gives (issue 17).
import {
  describePolicyProblem,
  isoDurationDays,
  passwordPolicyOf,
  passwordPolicyProblem,
  refusalProblem,
} from "../../lib/app-management-policies";

const settings = {
  lifetimeSetting: "dataverse-s2s:integrations[0].secret.lifetimeDays",
  credentialSetting: "dataverse-s2s:integrations[0].credential.type",
  lifetimeDays: 180,
};
const tenant = (passwordCredentials: Record<string, unknown>[], isEnabled = true) => ({
  id: "00000000-0000-0000-0000-000000000000",
  displayName: "Default app management tenant policy",
  isEnabled,
  applicationRestrictions: { passwordCredentials },
});
const now = Date.parse("2026-06-01T00:00:00Z");

test("ISO 8601 durations", () => {
  expect(isoDurationDays("P90D")).toBe(90);
  expect(isoDurationDays("P1Y")).toBe(365);
  expect(isoDurationDays("P6M")).toBe(180);
  expect(isoDurationDays("P4DT12H")).toBe(4.5);
  expect(isoDurationDays("90D")).toBeUndefined();
});

test("a disabled tenant policy, a disabled restriction, or an application created before the restriction's date counts for nothing", () => {
  const lifetime = { restrictionType: "passwordLifetime", state: "enabled", maxLifetime: "P90D" };
  expect(passwordPolicyOf(tenant([lifetime], false), now)).toEqual({ readable: true });
  expect(passwordPolicyOf(tenant([{ ...lifetime, state: "disabled" }]), now)).toEqual({ readable: true });
  expect(passwordPolicyOf(tenant([{ ...lifetime, restrictForAppsCreatedAfterDateTime: "2026-07-01T00:00:00Z" }]), now)).toEqual({
    readable: true,
  });
  expect(passwordPolicyOf(tenant([{ ...lifetime, restrictForAppsCreatedAfterDateTime: "2026-05-01T00:00:00Z" }]), now)).toMatchObject({
    maxLifetime: { days: 90, duration: "P90D", id: "00000000-0000-0000-0000-000000000000" },
  });
});

test("a lifetime above the maximum names the key, the policy, the allowed days and the way out; one within it passes", () => {
  const policy = passwordPolicyOf(tenant([{ restrictionType: "passwordLifetime", maxLifetime: "P90D" }]), now);
  const message = describePolicyProblem(passwordPolicyProblem(settings, policy)!);
  expect(message).toMatch(/^dataverse-s2s:integrations\[0\]\.secret\.lifetimeDays: 180 days is longer than/);
  expect(message).toMatch(/'Default app management tenant policy' \(00000000-0000-0000-0000-000000000000\)/);
  expect(message).toMatch(/at most 90 days/);
  expect(message).toMatch(/certificate .* or federated/);
  expect(passwordPolicyProblem({ ...settings, lifetimeDays: 90 }, policy)).toBeUndefined();
  expect(passwordPolicyProblem(settings, { readable: false, reason: "403" })).toBeUndefined();
});

test("blocked secrets point to certificate or federated, on the credential.type key", () => {
  const policy = passwordPolicyOf(tenant([{ restrictionType: "passwordAddition" }]), now);
  const problem = passwordPolicyProblem({ ...settings, lifetimeDays: 30 }, policy)!;
  expect(problem.setting).toBe("dataverse-s2s:integrations[0].credential.type");
  expect(describePolicyProblem(problem)).toMatch(/blocks new client secrets \(passwordAddition\).*certificate .* or federated/);
});

test("Graph's refusals become the same guidance; other errors are not judged", () => {
  const lifetime = refusalProblem(
    settings,
    "CredentialInvalidLifetimeAsPerAppPolicy",
    "Credential lifetime exceeds the max value allowed as per assigned policy 'abc'.",
  )!;
  expect(describePolicyProblem(lifetime)).toMatch(/policy 'abc'.*Policy\.Read\.All/);
  expect(refusalProblem(settings, "CredentialTypeNotAllowedAsPerAppPolicy", "... policy 'abc'.")!.setting).toBe(settings.credentialSetting);
  expect(refusalProblem(settings, "Request_BadRequest", "no")).toBeUndefined();
});
