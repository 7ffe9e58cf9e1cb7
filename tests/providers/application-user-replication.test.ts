// Entra replication lag as Dataverse sees it (issue 13): right after the service principal is
// created, Dataverse refuses the application user with 0x80072559; the client retries exactly that
// answer under the retry policy and succeeds once the principal has replicated.
import { DataverseClient } from "../../lib/dataverse-client";
import { registerApp, startTestEmulator, type TestEmulator } from "../support/emulator";

let test_: TestEmulator;

beforeAll(async () => {
  test_ = await startTestEmulator({ replicationLagMs: 1500 });
});
afterAll(async () => test_?.stop());

test("createApplicationUser retries 0x80072559 while the service principal replicates", async () => {
  const app = await registerApp(test_, `replication-${Date.now()}`);
  // Real waits (the support client's are skipped): the lag is real time.
  const retries: string[] = [];
  const client = new DataverseClient(test_.emulator.environmentUrl, { log: (message) => retries.push(message) });
  const businessUnitId = await client.businessUnitId();
  test_.emulator.resetRequests();
  const userId = await client.createApplicationUser(app.appId, businessUnitId);
  expect(userId).toMatch(/^[0-9a-f-]{36}$/);
  const counters = test_.emulator.requests();
  // At least one refused attempt, then the one that made the user.
  expect(counters.operations["dataverse POST systemusers"]).toBeGreaterThan(1);
  expect(counters.statuses["400"]).toBeGreaterThanOrEqual(1);
  expect(retries.some((message) => message.includes("create application user") && message.includes("(400)"))).toBe(true);
  expect((await client.findApplicationUsers(app.appId)).map((user) => user.systemuserid)).toEqual([userId]);
});
