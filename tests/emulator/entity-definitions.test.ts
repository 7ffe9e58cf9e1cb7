// Guards the emulator's table definitions (issue 10): EntityDefinitions(LogicalName='<table>') answers
// the table's SecurityPrivilegeMetadata (names as Dataverse gives them: systemuser's are prv*User),
// an unknown table is 404, and privileges are found by name without regard to case, as in Dataverse.
import { startEmulator, type RunningEmulator } from "../../emulator";
import { emulatorClient, type EmulatorClient } from "../../emulator/testkit";

let emu: RunningEmulator;
let c: EmulatorClient;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  c = emulatorClient(emu);
});
afterAll(async () => emu?.stop());

test("a table's privileges, one per access right, with their types and allowed depths", async () => {
  const r = await c.dataverse("GET", "EntityDefinitions(LogicalName='contact')?$select=LogicalName,Privileges");
  expect(r.status).toBe(200);
  expect(r.data.LogicalName).toBe("contact");
  expect(typeof r.data.MetadataId).toBe("string");
  expect(r.data.Privileges.map((p: { Name: string; PrivilegeType: string }) => `${p.PrivilegeType}:${p.Name}`).sort()).toEqual([
    "Append:prvAppendContact",
    "AppendTo:prvAppendToContact",
    "Assign:prvAssignContact",
    "Create:prvCreateContact",
    "Delete:prvDeleteContact",
    "Read:prvReadContact",
    "Share:prvShareContact",
    "Write:prvWriteContact",
  ]);
  expect(r.data.Privileges[0]).toMatchObject({ CanBeBasic: true, CanBeLocal: true, CanBeDeep: true, CanBeGlobal: true });
});

test("tables whose privileges carry another name: systemuser, annotation, activitypointer", async () => {
  for (const [table, privilege] of [
    ["systemuser", "prvReadUser"],
    ["annotation", "prvReadNote"],
    ["activitypointer", "prvReadActivity"],
  ]) {
    const r = await c.dataverse("GET", `EntityDefinitions(LogicalName='${table}')?$select=Privileges`);
    expect(r.data.Privileges.map((p: { Name: string }) => p.Name)).toContain(privilege);
    expect(r.data.LogicalName).toBeUndefined();
  }
});

test("an unknown table is 404, an unknown property 400", async () => {
  const missing = await c.dataverse("GET", "EntityDefinitions(LogicalName='contct')?$select=Privileges");
  expect({ status: missing.status, code: missing.data.error.code }).toEqual({ status: 404, code: "0x80040217" });
  const unknown = await c.dataverse("GET", "EntityDefinitions(LogicalName='contact')?$select=Attributes");
  expect(unknown.status).toBe(400);
});

test("privileges are found by name without regard to case", async () => {
  const r = await c.dataverse("GET", `privileges?$select=name&$filter=${encodeURIComponent("name eq 'prvexporttoexcel'")}`);
  expect(r.data.value.map((p: { name: string }) => p.name)).toEqual(["prvExportToExcel"]);
});
