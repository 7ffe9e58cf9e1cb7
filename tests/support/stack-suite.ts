// The stack suite: the real Pulumi engine (Automation API, the offline toolchain) running the
// unchanged program against the emulator: up from nothing, a second up that changes nothing, drift
// made as an admin would and repaired, destroy leaving nothing behind. It runs on each state backend
// a team may use, one file each: a local folder (tests/e2e/stack-file.test.ts) and Azure Blob Storage
// (tests/e2e/stack-azblob.test.ts, on Azurite). Crashes are in crash.test.ts; locking and a killed
// job on azblob in azblob-backend.test.ts.
import { privilegeEntries } from "../../dynamic-providers/shared/privileges";
import { connectionOutputNames, whoAmIAs } from "../../scripts/verify-connection";
import { laggingTenant, firstRefusal, newSecretWait, startE2eEmulator, TestEmulator } from "./emulator";
import { backendText, changeRecorder, createTestProject, TestProject } from "./pulumi-project";
import { BackendKind, openTestBackend, TestBackend } from "./state-backends";

/** The suite on one state backend: each backend's file runs on its own Jest worker. */
export function describeStackSuite(backendKind: BackendKind): void {
  jest.setTimeout(15 * 60 * 1000);
  describe(`the stack on the ${backendKind} backend`, () => {
    let test_: TestEmulator;
    let backend: TestBackend;
    let project: TestProject;
    let outputs: Record<string, { value: any; secret: boolean }>;

    beforeAll(async () => {
      test_ = await startE2eEmulator(laggingTenant);
      backend = await openTestBackend(backendKind);
      project = await createTestProject(test_.emulator, "e2e", [{ name: "etl", displayName: "E2E ETL connector" }], backend);
    });
    afterAll(async () => {
      project?.cleanUp();
      await backend?.cleanUp();
      await test_?.stop();
    });

    const connection = () => ({
      environmentUrl: outputs.environmentUrl.value,
      tenantId: outputs.tenantId.value,
      clientId: outputs.clientId.value,
      clientSecret: outputs.clientSecret.value,
    });

    async function previewChanges(): Promise<string[]> {
      const recorder = changeRecorder();
      await project.stack.preview({ refresh: true, onEvent: recorder.onEvent });
      return recorder.changes;
    }

    async function repairAndExpectClean() {
      await project.stack.up({ refresh: true });
      await project.stack.preview({ refresh: true, expectNoChanges: true });
      outputs = await project.stack.outputs();
    }

    test("up from nothing makes a working identity; the secret is secret everywhere", async () => {
      const result = await project.stack.up();
      expect(result.summary.result).toBe("succeeded");
      outputs = result.outputs;
      for (const key of connectionOutputNames) {
        expect(outputs[key]?.value).toBeTruthy();
      }
      expect(outputs.environmentUrl.value).toBe(test_.emulator.environmentUrl);
      expect(outputs.tenantId.value).toBe(test_.emulator.tenantId);
      expect(outputs.clientSecret.secret).toBe(true);
      expect(outputs.clientId.secret).toBe(false);

      const secret: string = outputs.clientSecret.value;
      expect(secret.length).toBeGreaterThan(20);
      const stored = await backendText(project);
      expect(stored).toContain(outputs.clientId.value); // the checkpoint is in this backend...
      expect(stored).not.toContain(secret); // ...and the secret only encrypted

      const whoAmI = await whoAmIAs(connection(), test_.emulator.authorityHost, newSecretWait);
      expect(whoAmI.UserId.toLowerCase()).toBe(String(outputs.applicationUserId.value).toLowerCase());
    });

    test("a second up changes nothing and a refreshed preview is clean", async () => {
      const result = await project.stack.up();
      const changes = result.summary.resourceChanges ?? {};
      expect(Object.keys(changes).filter((op) => op !== "same")).toEqual([]);
      await project.stack.preview({ refresh: true, expectNoChanges: true });
    });

    describe("drift made as an admin would, seen by preview --refresh and repaired by up", () => {
      test("a privilege removed from the role", async () => {
        const roleId: string = outputs.securityRoleId.value;
        const client = test_.dataverse();
        const privilege = (await client.rolePrivileges(roleId)).find((entry) => entry.name === "prvWriteContact")!;
        await test_.removePrivilege(roleId, privilege.privilegeId);
        expect(await previewChanges()).toEqual(["update role-api-user"]);
        await repairAndExpectClean();
        expect(privilegeEntries(await client.rolePrivileges(roleId))).toContain(`prvWriteContact:${privilege.depth}`);
      });

      test("the role unassigned from the user", async () => {
        const client = test_.dataverse();
        await client.unassignRole(outputs.applicationUserId.value, outputs.securityRoleId.value);
        expect(await previewChanges()).toEqual(["update etl-user"]);
        await repairAndExpectClean();
        const user = await client.getUser(outputs.applicationUserId.value);
        expect(user!.systemuserroles_association!.map((role) => role.roleid)).toEqual([outputs.securityRoleId.value]);
      });

      test("the user disabled", async () => {
        const client = test_.dataverse();
        await client.updateUser(outputs.applicationUserId.value, { isdisabled: true }, "disable by hand");
        expect(await previewChanges()).toEqual(["update etl-user"]);
        await repairAndExpectClean();
        expect((await client.getUser(outputs.applicationUserId.value))!.isdisabled).toBe(false);
      });

      test("the client secret removed from the app", async () => {
        const graph = test_.graph();
        const app = await graph.request<{ id: string; passwordCredentials: { keyId: string }[] }>({
          operation: "find app",
          method: "GET",
          path: `v1.0/applications(appId='${outputs.clientId.value}')`,
        });
        for (const credential of app.data.passwordCredentials) {
          await graph.request({
            operation: "remove password",
            method: "POST",
            path: `v1.0/applications/${app.data.id}/removePassword`,
            body: { keyId: credential.keyId },
          });
        }
        expect(String(await firstRefusal(() => whoAmIAs(connection(), test_.emulator.authorityHost)))).toMatch(
          /AADSTS7000215|invalid_client|401/,
        );
        // A new secret, and the rotation tracker noting the key change (the removed key needs no overlap).
        expect(await previewChanges()).toEqual(["create etl-entra-secret", "update etl-entra-retired-secrets"]);
        await repairAndExpectClean();
        const whoAmI = await whoAmIAs(connection(), test_.emulator.authorityHost, newSecretWait);
        expect(whoAmI.UserId.toLowerCase()).toBe(String(outputs.applicationUserId.value).toLowerCase());
      });
    });

    test("destroy leaves nothing of the stack in the emulator", async () => {
      const clientId: string = outputs.clientId.value;
      const roleId: string = outputs.securityRoleId.value;
      const result = await project.stack.destroy();
      expect(result.summary.result).toBe("succeeded");
      const graph = test_.graph();
      const apps = await graph.request<{ value: unknown[] }>({
        operation: "list apps",
        method: "GET",
        path: `v1.0/applications?$filter=${encodeURIComponent(`appId eq '${clientId}'`)}`,
      });
      expect(apps.data.value).toEqual([]);
      const sps = await graph.request<{ value: unknown[] }>({
        operation: "list sps",
        method: "GET",
        path: `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${clientId}'`)}`,
      });
      expect(sps.data.value).toEqual([]);
      const client = test_.dataverse();
      expect(await client.getRole(roleId)).toBeUndefined();
      expect(await client.findRoleByName("API User", await client.businessUnitId())).toEqual([]);
      expect(await client.findApplicationUsers(clientId)).toEqual([]);
      // Every call the engine, the azuread plugin and the dynamic providers made was answered.
      expect(test_.emulator.requests().unsupported).toEqual([]);
    });
  });
}
