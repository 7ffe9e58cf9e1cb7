// Key Vault export end to end (issue 24), with the real engine, the azure-native stand-in and the
// emulator's ARM and vault: the four connection values land in the seeded vault, the client secret
// with its Entra expiry as the vault secret's expiry; a connector that reads them from the vault
// (its own managed identity, Key Vault Secrets User on the vault, @azure/keyvault-secrets at the
// versionless URIs the stack outputs) signs in. A rotation (the emulator's clock and
// DATAVERSE_S2S_NOW moved together, as in rotation.test.ts) writes the new secret as a new version;
// the old one keeps signing in through the overlap and the connector, reading again, signs in. A
// vault secret deleted by hand is soft-deleted as Key Vault does: preview shows it, `up` fails on
// the name Key Vault keeps (README: purge it), and after a purge `up` repairs it. Destroy
// soft-deletes the four secrets, as the README says.
import type { ManagedIdentityCredential } from "@azure/identity";
import { parseKeyVaultSecretIdentifier, SecretClient } from "@azure/keyvault-secrets";
import { emulatorClient } from "../../emulator/testkit";
import { whoAmIAs } from "../../scripts/verify-connection";
import {
  ConnectionOutputs,
  expectWhoAmI,
  failureOf,
  firstRefusal,
  laggingTenant,
  startE2eEmulator,
  TestEmulator,
} from "../support/emulator";
import { changeRecorder, createTestProject, TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

const dayMs = 24 * 60 * 60 * 1000;
const secretNames = ["etl-client-secret", "etl-client-id", "etl-environment-url", "etl-tenant-id"];
const KV_DATA = "api-version=7.6";
const ARM_KV = "api-version=2024-11-01";
type Outputs = Record<string, { value: any; secret: boolean }>;

let test_: TestEmulator;
let project: TestProject;
let start: number;
let connectorClientId: string;

beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
  const { azure } = test_.emulator;
  // The connector's own identity, allowed to read the vault's secrets and nothing else.
  const arm = emulatorClient(test_.emulator);
  const group = `/subscriptions/${azure.subscriptionId}/resourceGroups/${azure.resourceGroup}`;
  const identity = await arm.arm(
    "PUT",
    `${group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/connector?api-version=2023-01-31`,
    {
      location: azure.location,
    },
  );
  expect(identity.status).toBe(201);
  connectorClientId = identity.data.properties.clientId;
  const secretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
  const assignment = await arm.arm(
    "PUT",
    `${azure.vaultId}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`,
    {
      properties: {
        roleDefinitionId: `/subscriptions/${azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${secretsUser}`,
        principalId: identity.data.properties.principalId,
        principalType: "ServicePrincipal",
      },
    },
  );
  expect(assignment.status).toBe(201);
  test_.useEnvironment(test_.emulator.managedIdentity.env);

  project = await createTestProject(test_.emulator, "key-vault", [
    {
      name: "etl",
      displayName: "Vault ETL",
      secret: { lifetimeDays: 30, rotateBeforeDays: 10, overlapDays: 3 },
      keyVault: { id: azure.vaultId },
    },
  ]);
  start = Math.floor(Date.now() / 1000) * 1000;
});
afterAll(async () => {
  project?.cleanUp();
  await test_?.stop();
});

/** Moves the emulator's clock and the stack's "now" to `days` after the start. */
function atDay(days: number) {
  const now = new Date(start + days * dayMs).toISOString();
  test_.emulator.setClock(now);
  project.stack.workspace.envVars.DATAVERSE_S2S_NOW = now;
}

/**
 * What a connector configured with the stack's versionless secret URIs reads, as it reads it: its
 * managed identity, one SecretClient per vault URL of the URIs, Key Vault's challenge (not checked
 * against 127.0.0.1 offline). Each read is a connector process of its own: @azure/identity loaded
 * afresh, since MSAL keeps managed identity tokens process-wide and one from before a clock jump
 * would be expired for the emulator.
 */
async function readVault(uris: Record<string, string>) {
  let identity!: { ManagedIdentityCredential: typeof ManagedIdentityCredential };
  jest.isolateModules(() => (identity = require("@azure/identity")));
  const credential = new identity.ManagedIdentityCredential({ clientId: connectorClientId });
  const read = async (uri: string) => {
    const { vaultUrl, name, version } = parseKeyVaultSecretIdentifier(uri);
    expect(version).toBeUndefined();
    return new SecretClient(vaultUrl, credential, { disableChallengeResourceVerification: true }).getSecret(name);
  };
  const [clientSecret, clientId, environmentUrl, tenantId] = await Promise.all(
    [uris.clientSecret, uris.clientId, uris.environmentUrl, uris.tenantId].map(read),
  );
  return { clientSecret, clientId, environmentUrl, tenantId };
}

/** The vault's values as the connection values a connector signs in with. */
function connection(vault: Awaited<ReturnType<typeof readVault>>, outputs: Outputs): ConnectionOutputs {
  return {
    environmentUrl: vault.environmentUrl.value!,
    tenantId: vault.tenantId.value!,
    clientId: vault.clientId.value!,
    clientSecret: vault.clientSecret.value!,
    applicationUserId: outputs.applicationUserId.value,
  };
}

/** Whether a client secret ends up refused (a removal takes the tenant's replication lag to apply). */
async function refused(values: ConnectionOutputs): Promise<boolean> {
  const error = await firstRefusal(() => whoAmIAs(values, test_.emulator.authorityHost));
  return /AADSTS7000215|AADSTS7000222/.test(String(error));
}

/** The seeded vault's data plane as an admin with the deployer's Key Vault Secrets Officer role (a fresh token: the clock moves). */
const vaultAdmin = (method: "GET" | "DELETE", path: string) =>
  emulatorClient(test_.emulator).keyVault(method, `${test_.emulator.azure.vaultUri}${path}?${KV_DATA}`);

const changedOps = (result: { summary: { resourceChanges?: Record<string, number> } }) =>
  Object.keys(result.summary.resourceChanges ?? {}).filter((op) => op !== "same");

let outputs: Outputs;

test("up writes the four values to the vault, the client secret with its Entra expiry; the connector reading them signs in", async () => {
  atDay(0);
  const result = await project.stack.up();
  outputs = result.outputs;
  const uris: Record<string, string> = outputs.keyVaultSecretUris.value;
  expect(outputs.integrations.value.etl.keyVaultSecretUris).toEqual(uris);
  // Versionless URIs under the vault's own address (ARM's vaultUri), one per value.
  expect(uris).toEqual({
    clientSecret: `${test_.emulator.azure.vaultUri}secrets/etl-client-secret`,
    clientId: `${test_.emulator.azure.vaultUri}secrets/etl-client-id`,
    environmentUrl: `${test_.emulator.azure.vaultUri}secrets/etl-environment-url`,
    tenantId: `${test_.emulator.azure.vaultUri}secrets/etl-tenant-id`,
  });

  const vault = await readVault(uris);
  expect(vault.clientSecret.value).toBe(outputs.clientSecret.value);
  expect(vault.clientId.value).toBe(outputs.clientId.value);
  expect(vault.environmentUrl.value).toBe(outputs.environmentUrl.value);
  expect(vault.tenantId.value).toBe(outputs.tenantId.value);
  // The vault secret's exp is the Entra secret's end (secretExpiresAt); the ids never expire.
  expect(outputs.secretExpiresAt.value).toBe(new Date(start + 30 * dayMs).toISOString().replace(".000Z", "Z"));
  expect(vault.clientSecret.properties.expiresOn?.getTime()).toBe(Date.parse(outputs.secretExpiresAt.value));
  expect(vault.clientId.properties.expiresOn).toBeUndefined();
  expect(vault.clientSecret.properties.contentType).toBe("text/plain");
  await expectWhoAmI(test_.emulator, connection(vault, outputs));
});

test("a rotation writes the new secret as a new version; the old one signs in through the overlap; the connector keeps working", async () => {
  const first = await readVault(outputs.keyVaultSecretUris.value);
  const firstValues = connection(first, outputs);

  // Inside the rotation window (from day 20): a new Entra secret, a new version of the vault secret.
  atDay(21);
  const rotated = await project.stack.up();
  expect(rotated.outputs.clientSecret.value).not.toBe(outputs.clientSecret.value);
  outputs = rotated.outputs;
  const second = await readVault(outputs.keyVaultSecretUris.value);
  expect(second.clientSecret.value).toBe(outputs.clientSecret.value);
  expect(second.clientSecret.properties.version).not.toBe(first.clientSecret.properties.version);
  expect(second.clientSecret.properties.expiresOn?.getTime()).toBe(Date.parse(outputs.secretExpiresAt.value));
  expect(outputs.secretExpiresAt.value).toBe(new Date(start + 51 * dayMs).toISOString().replace(".000Z", "Z"));
  await expectWhoAmI(test_.emulator, connection(second, outputs));
  // A connector that has not read the vault again yet still signs in with the old secret.
  await expectWhoAmI(test_.emulator, firstValues);

  // After the overlap (3 days): the old secret is removed; the vault's current one keeps working.
  atDay(25);
  expect(changedOps(await project.stack.up())).toEqual(["update"]);
  expect(await refused(firstValues)).toBe(true);
  const third = await readVault(outputs.keyVaultSecretUris.value);
  expect(third.clientSecret.properties.version).toBe(second.clientSecret.properties.version);
  await expectWhoAmI(test_.emulator, connection(third, outputs));
});

test("a vault secret deleted by hand: preview shows it; up meets the soft-deleted name; after a purge up repairs it", async () => {
  expect((await vaultAdmin("DELETE", "secrets/etl-client-id")).status).toBe(200);
  expect((await vaultAdmin("GET", "secrets/etl-client-id")).status).toBe(404);

  // `pulumi preview` (Pulumi.yaml refreshes every run) plans the secret's re-creation, nothing else.
  const recorder = changeRecorder();
  await project.stack.preview({ onEvent: recorder.onEvent });
  expect(recorder.changes).toEqual(["create etl-key-vault-client-id"]);

  // Key Vault keeps a deleted secret's name for its retention period: ARM refuses the PUT.
  const error = await failureOf(project.stack.up());
  expect(error.message).toMatch(/Status=409 Code="Conflict" Message="Secret etl-client-id is currently in a deleted but recoverable state/);

  // What the README says to do: purge it (az keyvault secret purge), then up.
  expect((await vaultAdmin("DELETE", "deletedsecrets/etl-client-id")).status).toBe(204);
  const repaired = await project.stack.up();
  expect(changedOps(repaired)).toEqual(["create"]);
  await project.stack.preview({ expectNoChanges: true });
  const vault = await readVault(repaired.outputs.keyVaultSecretUris.value);
  expect(vault.clientId.value).toBe(outputs.clientId.value);
  await expectWhoAmI(test_.emulator, connection(vault, outputs));
});

test("destroy soft-deletes the four vault secrets: gone from the vault, recoverable among its deleted secrets", async () => {
  await project.stack.destroy();
  const arm = emulatorClient(test_.emulator);
  for (const name of secretNames) {
    expect([name, (await vaultAdmin("GET", `secrets/${name}`)).status]).toEqual([name, 404]);
    expect([name, (await arm.arm("GET", `${test_.emulator.azure.vaultId}/secrets/${name}?${ARM_KV}`)).status]).toEqual([name, 404]);
    const deleted = await vaultAdmin("GET", `deletedsecrets/${name}`);
    expect([name, deleted.status, deleted.data.attributes?.recoveryLevel]).toEqual([name, 200, expect.stringMatching(/Recoverable/)]);
  }
  expect((await failureOf(readVault(outputs.keyVaultSecretUris.value))).message).toMatch(/SecretNotFound|was not found/);
});
