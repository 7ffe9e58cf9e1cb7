// "`pulumi preview` shows drift; `pulumi up` repairs it" (README), with exactly those commands: no
// --refresh flag, because Pulumi.yaml sets `options: refresh: always`. Objects are edited by hand in
// the emulator as an admin would (app renamed, Dynamics CRM permission removed, role renamed; then
// service principal deleted, role deleted), each round shown by `pulumi preview`, repaired by
// `pulumi up`, and followed by a clean preview.
import { dynamicsCrmAppId } from "../../lib/defaults";
import { connectionOutputs, expectWhoAmI, laggingTenant, startE2eEmulator, TestEmulator } from "../support/emulator";
import { changeRecorder, createTestProject, TestProject } from "../support/pulumi-project";

jest.setTimeout(15 * 60 * 1000);

const displayName = "Drift ETL connector";

let test_: TestEmulator;
let project: TestProject;
let outputs: Record<string, { value: any; secret: boolean }>;

interface GraphApplication {
  id: string;
  displayName: string;
  requiredResourceAccess: { resourceAppId: string; resourceAccess: { id: string; type: string }[] }[];
}

beforeAll(async () => {
  test_ = await startE2eEmulator(laggingTenant);
  project = await createTestProject(test_.emulator, "drift", [{ name: "etl", displayName }]);
  outputs = (await project.stack.up()).outputs;
});
afterAll(async () => {
  project?.cleanUp();
  await test_?.stop();
});

const application = async () =>
  (
    await test_
      .graph()
      .request<GraphApplication>({ operation: "read app", method: "GET", path: `v1.0/applications(appId='${outputs.clientId.value}')` })
  ).data;

const servicePrincipals = async () =>
  (
    await test_.graph().request<{ value: { id: string }[] }>({
      operation: "find sp",
      method: "GET",
      path: `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${outputs.clientId.value}'`)}`,
    })
  ).data.value;

/** `pulumi preview` as the README names it: what it would change. */
async function preview(): Promise<string[]> {
  const recorder = changeRecorder();
  await project.stack.preview({ onEvent: recorder.onEvent });
  return recorder.changes.sort();
}

/** `pulumi up` as the README names it, then a `pulumi preview` that must change nothing. */
async function repair() {
  const result = await project.stack.up();
  expect(result.summary.result).toBe("succeeded");
  outputs = result.outputs;
  await project.stack.preview({ expectNoChanges: true });
}

test("app renamed, Dynamics CRM permission removed, role renamed: shown by preview, repaired by up", async () => {
  const before = await application();
  await test_.graph().request({
    operation: "rename app and drop its permissions",
    method: "PATCH",
    path: `v1.0/applications/${before.id}`,
    body: { displayName: "Renamed by hand", requiredResourceAccess: [] },
  });
  const dataverse = test_.dataverse();
  await dataverse.updateRole(outputs.securityRoleId.value, { name: "Renamed role" });

  // While the app's update is planned its ids are unknown, so preview also lists replacements of
  // what is tied to it (service principal, user); up keeps the ids and replaces nothing.
  expect(await preview()).toEqual(expect.arrayContaining(["update etl-entra-app", "update role-api-user"]));
  await repair();

  const after = await application();
  expect(after.displayName).toBe(displayName);
  expect(after.requiredResourceAccess.map((access) => access.resourceAppId)).toEqual([dynamicsCrmAppId]);
  expect((await dataverse.getRole(outputs.securityRoleId.value))?.name).toBe("API User");
});

test("service principal deleted, role deleted: shown by preview, made again by up", async () => {
  const [sp] = await servicePrincipals();
  await test_.graph().request({ operation: "delete sp", method: "DELETE", path: `v1.0/servicePrincipals/${sp.id}` });
  const dataverse = test_.dataverse();
  await dataverse.deleteRole(outputs.securityRoleId.value);

  const changes = await preview();
  expect(changes).toEqual(expect.arrayContaining(["create etl-entra-sp", "create role-api-user"]));
  await repair();

  expect(await servicePrincipals()).toHaveLength(1);
  const roles = await dataverse.findRoleByName("API User", await dataverse.businessUnitId());
  expect(roles.map((role) => role.roleid.toLowerCase())).toEqual([String(outputs.securityRoleId.value).toLowerCase()]);
  const user = await dataverse.getUser(outputs.applicationUserId.value);
  expect(user!.systemuserroles_association!.map((role) => role.roleid.toLowerCase())).toEqual([
    String(outputs.securityRoleId.value).toLowerCase(),
  ]);
  await expectWhoAmI(test_.emulator, connectionOutputs(outputs));
});
