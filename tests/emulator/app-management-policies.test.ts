// Guards the emulator's app management policies (issue 17): the tenant default policy and
// app-specific policies as Graph serves them, who may read and write them, and addPassword /
// keyCredentials refused as Graph refuses them. Each test names the rule it proves.
import { randomUUID, X509Certificate } from "node:crypto";
import { generate } from "selfsigned";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { durationDays } from "../../emulator/app-management-policies";
import { emulatorClient, type EmulatorClient } from "../../emulator/testkit";

const POLICY_ADMIN = ["Application.ReadWrite.All", "Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"];
const DEFAULT_PERMISSIONS = ["Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"];

let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
});

afterAll(async () => {
  await emu?.stop();
});

beforeEach(() => {
  emu.reset();
  emu.configure({ deployerGraphPermissions: POLICY_ADMIN });
});

/** A client with a fresh token: the token's `roles` are fixed when it is issued. */
const client = (): EmulatorClient => emulatorClient(emu);
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const days = (n: number) => n * 24 * 3600 * 1000;

function expectGraphError(answer: { status: number; data: any }, status: number, code: string): void {
  expect({ status: answer.status, code: answer.data?.error?.code }).toEqual({ status, code });
}

async function newApp(c: EmulatorClient): Promise<string> {
  const app = await c.graph("POST", "/applications", { displayName: unique("policy") });
  expect(app.status).toBe(201);
  return app.data.id;
}

function addPassword(c: EmulatorClient, appId: string, lifetimeDays?: number) {
  const start = emu.now().getTime();
  const passwordCredential: Record<string, unknown> = { displayName: "p" };
  if (lifetimeDays !== undefined) {
    passwordCredential.startDateTime = new Date(start).toISOString();
    passwordCredential.endDateTime = new Date(start + days(lifetimeDays)).toISOString();
  }
  return c.graph("POST", `/applications/${appId}/addPassword`, { passwordCredential });
}

const maxLifetime = (duration: string, extra: Record<string, unknown> = {}) => ({
  isEnabled: true,
  applicationRestrictions: {
    passwordCredentials: [{ restrictionType: "passwordLifetime", state: "enabled", maxLifetime: duration, ...extra }],
  },
});

describe("the tenant default policy (GET/PATCH /policies/defaultAppManagementPolicy)", () => {
  test("reads as Graph serves it: fixed id, disabled by default, empty restrictions (V)", async () => {
    const answer = await client().graph("GET", "/policies/defaultAppManagementPolicy");
    expect(answer.status).toBe(200);
    expect(answer.data).toMatchObject({
      id: "00000000-0000-0000-0000-000000000000",
      isEnabled: false,
      applicationRestrictions: { passwordCredentials: [], keyCredentials: [] },
    });
    expect(answer.data["@odata.context"]).toMatch(/\$metadata#policies\/defaultAppManagementPolicy\/\$entity$/);
  });

  test("reading needs Policy.Read.All, writing Policy.ReadWrite.ApplicationConfiguration, else 403 (V)", async () => {
    emu.configure({ deployerGraphPermissions: DEFAULT_PERMISSIONS });
    const withoutPolicy = client();
    expectGraphError(await withoutPolicy.graph("GET", "/policies/defaultAppManagementPolicy"), 403, "Authorization_RequestDenied");
    expectGraphError(await withoutPolicy.graph("GET", "/policies/appManagementPolicies"), 403, "Authorization_RequestDenied");
    emu.configure({ deployerGraphPermissions: ["Application.ReadWrite.All", "Policy.Read.All"] });
    const reader = client();
    expect((await reader.graph("GET", "/policies/defaultAppManagementPolicy")).status).toBe(200);
    expectGraphError(
      await reader.graph("PATCH", "/policies/defaultAppManagementPolicy", { isEnabled: true }),
      403,
      "Authorization_RequestDenied",
    );
  });

  test("PATCH validates restrictionType, maxLifetime (ISO 8601), state and one restriction of a type per policy", async () => {
    const c = client();
    const patch = (body: unknown) => c.graph("PATCH", "/policies/defaultAppManagementPolicy", body);
    expectGraphError(await patch(maxLifetime("90 days")), 400, "Request_BadRequest");
    expectGraphError(
      await patch({ applicationRestrictions: { passwordCredentials: [{ restrictionType: "passwordLifetime" }] } }),
      400,
      "Request_BadRequest",
    );
    expectGraphError(
      await patch({ applicationRestrictions: { passwordCredentials: [{ restrictionType: "noSuchRestriction" }] } }),
      400,
      "Request_BadRequest",
    );
    expectGraphError(
      await patch({
        applicationRestrictions: {
          passwordCredentials: [{ restrictionType: "passwordAddition" }, { restrictionType: "passwordAddition" }],
        },
      }),
      400,
      "Request_BadRequest",
    );
    expectGraphError(await patch({ notAProperty: 1 }), 400, "Request_BadRequest");
    expect((await patch(maxLifetime("P90D"))).status).toBe(204);
    const read = await c.graph("GET", "/policies/defaultAppManagementPolicy");
    expect(read.data.isEnabled).toBe(true);
    expect(read.data.applicationRestrictions.passwordCredentials).toEqual([
      { restrictionType: "passwordLifetime", state: "enabled", maxLifetime: "P90D", restrictForAppsCreatedAfterDateTime: null },
    ]);
  });

  test("ISO 8601 durations: days, weeks, years, time parts", () => {
    expect(durationDays("P90D")).toBe(90);
    expect(durationDays("P1Y")).toBe(365);
    expect(durationDays("P2W")).toBe(14);
    expect(durationDays("P4DT12H")).toBe(4.5);
    expect(durationDays("P")).toBeUndefined();
    expect(durationDays("90")).toBeUndefined();
  });
});

describe("addPassword under a policy", () => {
  test("passwordLifetime: a longer secret is 400 CredentialInvalidLifetimeAsPerAppPolicy naming the policy; a shorter one passes (V)", async () => {
    const c = client();
    await c.admin("POST", "policies/default", maxLifetime("P90D"));
    const appId = await newApp(c);
    const refused = await addPassword(c, appId, 180);
    expectGraphError(refused, 400, "CredentialInvalidLifetimeAsPerAppPolicy");
    expect(refused.data.error.message).toBe(
      "Credential lifetime exceeds the max value allowed as per assigned policy '00000000-0000-0000-0000-000000000000'.",
    );
    expect(refused.data.error.details).toEqual([{ code: "InvalidKeyEndDate", message: refused.data.error.message, target: "EndDate" }]);
    expect((await c.graph("GET", `/applications/${appId}`)).data.passwordCredentials).toEqual([]);
    expect((await addPassword(c, appId, 90)).status).toBe(200);
    expect((await addPassword(c, appId, 60)).status).toBe(200);
  });

  test("Graph's default end (2 years) trips a lifetime policy when no end date is sent", async () => {
    const c = client();
    await c.admin("POST", "policies/default", maxLifetime("P365D"));
    expectGraphError(await addPassword(c, await newApp(c)), 400, "CredentialInvalidLifetimeAsPerAppPolicy");
  });

  test("passwordAddition: every new secret is 400 CredentialTypeNotAllowedAsPerAppPolicy (G)", async () => {
    const c = client();
    await c.admin("POST", "policies/default", {
      isEnabled: true,
      applicationRestrictions: { passwordCredentials: [{ restrictionType: "passwordAddition", state: "enabled" }] },
    });
    const refused = await addPassword(c, await newApp(c), 30);
    expectGraphError(refused, 400, "CredentialTypeNotAllowedAsPerAppPolicy");
    expect(refused.data.error.message).toMatch(/policy '00000000-0000-0000-0000-000000000000'/);
  });

  test("a disabled policy, a disabled restriction, or an app created before restrictForAppsCreatedAfterDateTime is not restricted (V)", async () => {
    const c = client();
    await c.admin("POST", "policies/default", { ...maxLifetime("P30D"), isEnabled: false });
    expect((await addPassword(c, await newApp(c), 180)).status).toBe(200);
    await c.admin("POST", "policies/default", maxLifetime("P30D", { state: "disabled" }));
    expect((await addPassword(c, await newApp(c), 180)).status).toBe(200);
    const older = await newApp(c);
    const later = new Date(emu.now().getTime() + days(1)).toISOString();
    await c.admin("POST", "policies/default", maxLifetime("P30D", { restrictForAppsCreatedAfterDateTime: later }));
    expect((await addPassword(c, older, 180)).status).toBe(200);
    emu.advanceClock(days(2));
    const afterTwoDays = client(); // the earlier token has expired on the emulator clock
    expectGraphError(await addPassword(afterTwoDays, await newApp(afterTwoDays), 180), 400, "CredentialInvalidLifetimeAsPerAppPolicy");
  });

  test("an app-specific policy (POST /applications/{id}/appManagementPolicies/$ref) overrides the tenant default (V)", async () => {
    const c = client();
    await c.admin("POST", "policies/default", maxLifetime("P30D"));
    const appId = await newApp(c);
    const created = await c.graph("POST", "/policies/appManagementPolicies", {
      displayName: "Secrets up to a year",
      isEnabled: true,
      restrictions: { passwordCredentials: [{ restrictionType: "passwordLifetime", maxLifetime: "P365D" }] },
    });
    expect(created.status).toBe(201);
    const assign = await c.graph("POST", `/applications/${appId}/appManagementPolicies/$ref`, {
      "@odata.id": `${emu.graphUrl}/policies/appManagementPolicies/${created.data.id}`,
    });
    expect(assign.status).toBe(204);
    expect((await c.graph("GET", `/applications/${appId}/appManagementPolicies`)).data.value.map((p: any) => p.id)).toEqual([
      created.data.id,
    ]);
    expect((await addPassword(c, appId, 180)).status).toBe(200);
    const refused = await addPassword(c, appId, 400);
    expectGraphError(refused, 400, "CredentialInvalidLifetimeAsPerAppPolicy");
    expect(refused.data.error.message).toContain(`'${created.data.id}'`);
    // Another application still follows the tenant default.
    expectGraphError(await addPassword(c, await newApp(c), 180), 400, "CredentialInvalidLifetimeAsPerAppPolicy");
  });

  test("assigning a policy needs Policy.ReadWrite.ApplicationConfiguration; only one policy per application (V)", async () => {
    const c = client();
    const appId = await newApp(c);
    const first = (await c.admin("POST", "policies/app", { policy: { displayName: "a" } })).data;
    const second = (await c.admin("POST", "policies/app", { policy: { displayName: "b" } })).data;
    const ref = (id: string) => ({ "@odata.id": `${emu.graphUrl}/policies/appManagementPolicies/${id}` });
    expect((await c.graph("POST", `/applications/${appId}/appManagementPolicies/$ref`, ref(first.id))).status).toBe(204);
    expectGraphError(await c.graph("POST", `/applications/${appId}/appManagementPolicies/$ref`, ref(second.id)), 400, "Request_BadRequest");
    emu.configure({ deployerGraphPermissions: ["Application.ReadWrite.All", "Policy.Read.All"] });
    expectGraphError(
      await client().graph("DELETE", `/applications/${appId}/appManagementPolicies/${first.id}/$ref`),
      403,
      "Authorization_RequestDenied",
    );
  });
});

describe("keyCredentials (PATCH) under an asymmetricKeyLifetime restriction", () => {
  test("a certificate valid longer than allowed is refused and the PATCH changes nothing; a shorter one passes", async () => {
    const c = client();
    await c.admin("POST", "policies/default", {
      isEnabled: true,
      applicationRestrictions: { keyCredentials: [{ restrictionType: "asymmetricKeyLifetime", maxLifetime: "P90D" }] },
    });
    const generated = await generate([{ name: "commonName", value: "policy test" }], {
      keyType: "rsa",
      keySize: 2048,
      algorithm: "sha256",
    });
    const key = new X509Certificate(generated.cert).raw.toString("base64");
    const appId = await newApp(c);
    const start = emu.now();
    const entry = (lifetimeDays: number) => ({
      type: "AsymmetricX509Cert",
      usage: "Verify",
      key,
      startDateTime: start.toISOString(),
      endDateTime: new Date(start.getTime() + days(lifetimeDays)).toISOString(),
    });
    const refused = await c.graph("PATCH", `/applications/${appId}`, { displayName: "renamed", keyCredentials: [entry(365)] });
    expectGraphError(refused, 400, "CredentialInvalidLifetimeAsPerAppPolicy");
    const unchanged = await c.graph("GET", `/applications/${appId}`);
    expect(unchanged.data.keyCredentials).toEqual([]);
    expect(unchanged.data.displayName).not.toBe("renamed");
    expect((await c.graph("PATCH", `/applications/${appId}`, { keyCredentials: [entry(60)] })).status).toBe(204);
  });
});

describe("admin API and start option", () => {
  test("GET /_emulator/policies shows the default policy, the app policies and their assignments; reset clears them", async () => {
    const c = client();
    const appId = await newApp(c);
    const policy = (await c.admin("POST", "policies/app", { policy: { displayName: "p" }, assignTo: [appId] })).data;
    const listed = (await c.admin("GET", "policies")).data;
    expect(listed.assignments).toEqual({ [appId]: policy.id });
    expect(Object.keys(listed.policies)).toEqual([policy.id]);
    expect(
      (await c.admin("POST", "policies/default", { applicationRestrictions: { passwordCredentials: [{ restrictionType: "x" }] } })).status,
    ).toBe(400);
    emu.reset();
    expect((await c.admin("GET", "policies")).data.assignments).toEqual({});
  });

  test("startEmulator({defaultAppManagementPolicy}) (the CLI's --password-max-lifetime / --block-passwords) sets the policy at start", async () => {
    const other = await startEmulator({ port: 0, defaultAppManagementPolicy: maxLifetime("P90D"), deployerGraphPermissions: POLICY_ADMIN });
    try {
      const c = emulatorClient(other);
      expect(
        (await c.graph("GET", "/policies/defaultAppManagementPolicy")).data.applicationRestrictions.passwordCredentials[0].maxLifetime,
      ).toBe("P90D");
    } finally {
      await other.stop();
    }
  });
});
