// The apply-time credential policy gate (issue 17), called as the provider host calls it, against
// the emulator: it reads the policy when the deployer may, asks Graph by trying when it may not,
// and never leaves its probe secret behind. (The tests without Policy.Read.All come first: see the last one.)
import { provider, probeDisplayName, type CredentialPolicyGateInputs } from "../../dynamic-providers/credential-policy-gate/provider";
import { DEFAULT_DEPLOYER_GRAPH_PERMISSIONS } from "../../emulator/config";
import { registerApp, startTestEmulator, TestEmulator } from "../support/emulator";

const dayMs = 24 * 60 * 60 * 1000;
let test_: TestEmulator;

beforeAll(async () => {
  test_ = await startTestEmulator({
    defaultAppManagementPolicy: {
      isEnabled: true,
      applicationRestrictions: { passwordCredentials: [{ restrictionType: "passwordLifetime", maxLifetime: "P90D" }] },
    },
  });
});
afterAll(async () => {
  await test_?.stop();
});

function inputs(applicationObjectId: string, lifetimeDays: number): CredentialPolicyGateInputs {
  const start = Math.floor(test_.emulator.now().getTime() / 1000) * 1000;
  return {
    applicationObjectId,
    startDate: new Date(start).toISOString().replace(".000Z", "Z"),
    endDate: new Date(start + lifetimeDays * dayMs).toISOString().replace(".000Z", "Z"),
    lifetimeDays,
    lifetimeSetting: "dataverse-s2s:integrations[0].secret.lifetimeDays",
    credentialSetting: "dataverse-s2s:integrations[0].credential.type",
    metadataHost: test_.emulator.metadataHost,
    cloudEnvironment: "",
  };
}

async function passwords(objectId: string): Promise<Array<{ keyId: string; displayName: string | null }>> {
  const app = await test_.graph().request<{ passwordCredentials: Array<{ keyId: string; displayName: string | null }> }>({
    operation: "read app",
    method: "GET",
    path: `v1.0/applications/${objectId}`,
  });
  return app.data.passwordCredentials;
}

test("without Policy.Read.All: Graph's refusal of a probe becomes the guidance; an accepted probe is removed at once", async () => {
  test_.emulator.configure({ deployerGraphPermissions: [...DEFAULT_DEPLOYER_GRAPH_PERMISSIONS] });
  const app = await registerApp(test_, "gate-unreadable");
  await expect(provider.create!(inputs(app.objectId, 180))).rejects.toThrow(
    /secret\.lifetimeDays: 180 days is longer than .*'00000000-0000-0000-0000-000000000000'.*CredentialInvalidLifetimeAsPerAppPolicy.*Policy\.Read\.All/s,
  );
  await expect(provider.update!("gate", inputs(app.objectId, 180), inputs(app.objectId, 60))).resolves.toBeDefined();
  expect(await passwords(app.objectId)).toEqual([]);
});

test("a probe left behind (a lost answer, a killed run) is removed before the next try", async () => {
  test_.emulator.configure({ deployerGraphPermissions: [...DEFAULT_DEPLOYER_GRAPH_PERMISSIONS] });
  const app = await registerApp(test_, "gate-leftover");
  await test_.graph().request({
    operation: "a probe left behind",
    method: "POST",
    path: `v1.0/applications/${app.objectId}/addPassword`,
    body: {
      passwordCredential: {
        displayName: probeDisplayName,
        endDateTime: new Date(test_.emulator.now().getTime() + 30 * dayMs).toISOString(),
      },
    },
  });
  const kept = await test_.graph().request<{ keyId: string }>({
    operation: "a secret of someone else",
    method: "POST",
    path: `v1.0/applications/${app.objectId}/addPassword`,
    body: { passwordCredential: { displayName: "kept", endDateTime: new Date(test_.emulator.now().getTime() + 30 * dayMs).toISOString() } },
  });
  await provider.create!(inputs(app.objectId, 30));
  expect((await passwords(app.objectId)).map((password) => password.keyId)).toEqual([kept.data.keyId]);
});

test("with Policy.Read.All: a lifetime above the policy fails with the guidance, without trying; one within passes", async () => {
  test_.emulator.configure({ deployerGraphPermissions: [...DEFAULT_DEPLOYER_GRAPH_PERMISSIONS, "Policy.Read.All"] });
  // A token's permissions are fixed when it is issued, and the process keeps one credential per
  // identity: the client id in capitals (Entra compares it without case) is a new identity here.
  test_.useEnvironment({ AZURE_CLIENT_ID: test_.emulator.deployer.clientId.toUpperCase() });
  const app = await registerApp(test_, "gate-readable");
  await test_.admin.request({ operation: "reset counters", method: "DELETE", path: "requests" });
  await expect(provider.create!(inputs(app.objectId, 180))).rejects.toThrow(
    /The client secret was not made.*secret\.lifetimeDays: 180 days is longer than .* at most 90 days/s,
  );
  expect(test_.emulator.requests().operations["graph POST /applications/{id}/addPassword"]).toBeUndefined();
  await expect(provider.create!(inputs(app.objectId, 90))).resolves.toMatchObject({ id: `credential-policy-gate-${app.objectId}` });
});
