// Guards the Dataverse side of the emulator: each rule of reference/dataverse-web-api.md with its
// error code, the OData conventions, the quirks, the injected faults, service protection, the
// request counters, unsupported requests, state persistence, and no secret in a log line.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEEDED_IDS, startEmulator, type RunningEmulator } from "../../emulator";
import { createAppWithSecret, emulatorClient, entityId, type EmulatorClient } from "../../emulator/testkit";

const SYSADMIN_TEMPLATE = "627090ff-40a3-4053-8790-584edc5be201";
const ROOT_BU = SEEDED_IDS.rootBusinessUnit.id;
const CHILD_BU = SEEDED_IDS.childBusinessUnit.id;

let emu: RunningEmulator;
let c: EmulatorClient;
const lines: string[] = [];
let seq = 0;
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${++seq}`;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, log: (l) => lines.push(l) });
  c = emulatorClient(emu);
});

afterAll(async () => {
  await emu?.stop();
});

function expectDvError(r: { status: number; data: any }, status: number, code: string): void {
  expect({ status: r.status, code: r.data?.error?.code }).toEqual({ status, code });
  expect(typeof r.data.error.message).toBe("string");
}

async function privilegeIds(names: string[]): Promise<Record<string, string>> {
  const filter = names.map((n) => `name eq '${n}'`).join(" or ");
  const r = await c.dataverse("GET", `privileges?$select=privilegeid,name&$filter=${encodeURIComponent(filter)}`);
  expect(r.status).toBe(200);
  return Object.fromEntries(r.data.value.map((p: any) => [p.name, p.privilegeid]));
}

async function rolePrivileges(roleId: string): Promise<Record<string, string>> {
  const r = await c.dataverse("GET", `RetrieveRolePrivilegesRole(RoleId=${roleId})`);
  expect(r.status).toBe(200);
  return Object.fromEntries(r.data.RolePrivileges.map((p: any) => [p.PrivilegeName, p.Depth]));
}

async function createRole(name: string, bu = ROOT_BU): Promise<string> {
  const r = await c.dataverse("POST", "roles", { name, "businessunitid@odata.bind": `/businessunits(${bu})` });
  expect(r.status).toBe(204);
  return entityId(r.headers);
}

async function createAppUser(appId: string, bu = ROOT_BU): Promise<string> {
  const r = await c.dataverse("POST", "systemusers", {
    applicationid: appId,
    accessmode: 4,
    isdisabled: false,
    "businessunitid@odata.bind": `/businessunits(${bu})`,
  });
  expect(r.status).toBe(204);
  return entityId(r.headers);
}

describe("authentication rules", () => {
  test("WhoAmI answers the deployer with OData headers", async () => {
    const r = await c.dataverse("GET", "WhoAmI");
    expect(r.status).toBe(200);
    expect(r.headers["odata-version"]).toBe("4.0");
    expect(r.data["@odata.context"]).toBe(`${emu.environmentUrl}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`);
    expect(r.data).toMatchObject({ UserId: emu.deployer.systemUserId, BusinessUnitId: ROOT_BU, OrganizationId: SEEDED_IDS.organizationId });
  });

  test("no token, a forged token, and a Graph token (wrong aud) get 401 with a Dataverse error", async () => {
    const none = await c.request("GET", `${emu.environmentUrl}/api/data/v9.2/WhoAmI`);
    expectDvError(none, 401, "0x8005F101");
    expect(none.headers["www-authenticate"]).toContain(`resource_id=${emu.environmentUrl}/`);
    expectDvError(await c.dataverse("GET", "WhoAmI", undefined, "a.b.c"), 401, "0x8005F101");
    const graphToken = await c.accessToken(c.graphScope);
    const wrongAud = await c.dataverse("GET", "WhoAmI", undefined, graphToken);
    expectDvError(wrongAud, 401, "0x8005F101");
    expect(wrongAud.data.error.message).toMatch(/audience/);
  });

  test("an app without an application user gets 403 0x80072560; a disabled one 403 0x80040225", async () => {
    const app = await createAppWithSecret(c, unique("no-user-app"));
    const token = await c.accessToken(c.dataverseScope, app.appId, app.secret);
    expectDvError(await c.dataverse("GET", "WhoAmI", undefined, token), 403, "0x80072560");
    const uid = await createAppUser(app.appId);
    expect((await c.dataverse("GET", "WhoAmI", undefined, token)).data.UserId).toBe(uid);
    expect((await c.dataverse("PATCH", `systemusers(${uid})`, { isdisabled: true })).status).toBe(204);
    expectDvError(await c.dataverse("GET", "WhoAmI", undefined, token), 403, "0x80040225");
  });

  test("a caller without System Administrator cannot create roles or users (403 0x80040220)", async () => {
    const app = await createAppWithSecret(c, unique("basic-user-app"));
    const uid = await createAppUser(app.appId);
    const assoc = await c.dataverse("POST", `systemusers(${uid})/systemuserroles_association/$ref`, {
      "@odata.id": `${emu.environmentUrl}/api/data/v9.2/roles(${SEEDED_IDS.basicUser.rootRoleId})`,
    });
    expect(assoc.status).toBe(204);
    const token = await c.accessToken(c.dataverseScope, app.appId, app.secret);
    expect((await c.dataverse("GET", "roles?$select=name", undefined, token)).status).toBe(200);
    const role = await c.dataverse("POST", "roles", { name: "nope", "businessunitid@odata.bind": `/businessunits(${ROOT_BU})` }, token);
    expectDvError(role, 403, "0x80040220");
    expect(role.data.error.message).toMatch(/missing prvCreateRole privilege/);
    const other = await createAppWithSecret(c, unique("other-app"));
    const user = await c.dataverse(
      "POST",
      "systemusers",
      { applicationid: other.appId, "businessunitid@odata.bind": `/businessunits(${ROOT_BU})` },
      token,
    );
    expectDvError(user, 403, "0x80040220");
    expect(user.data.error.message).toMatch(/missing prvCreateUser privilege/);
  });
});

describe("business units and roles", () => {
  test("exactly one root business unit", async () => {
    const r = await c.dataverse(
      "GET",
      `businessunits?$select=businessunitid,name&$filter=${encodeURIComponent("parentbusinessunitid eq null")}`,
    );
    expect(r.status).toBe(200);
    expect(r.data.value).toHaveLength(1);
    expect(r.data.value[0].businessunitid).toBe(ROOT_BU);
    expect(Object.keys(r.data.value[0]).sort()).toEqual(["@odata.etag", "businessunitid", "name"]);
  });

  test("System Administrator by template and business unit, with 1000+ privileges as depth names", async () => {
    const f = `_roletemplateid_value eq ${SYSADMIN_TEMPLATE} and _businessunitid_value eq ${ROOT_BU}`;
    const r = await c.dataverse("GET", `roles?$select=roleid,name&$filter=${encodeURIComponent(f)}`);
    expect(r.data.value).toHaveLength(1);
    const id = r.data.value[0].roleid;
    const all = await c.dataverse(
      "GET",
      `roles?$select=roleid&$filter=${encodeURIComponent(`_roletemplateid_value eq ${SYSADMIN_TEMPLATE}`)}`,
    );
    expect(all.data.value).toHaveLength(2); // one copy per business unit
    const privs = await c.dataverse("GET", `RetrieveRolePrivilegesRole(RoleId=${id})`);
    expect(privs.data.RolePrivileges.length).toBeGreaterThanOrEqual(1000);
    expect(privs.data.RolePrivileges[0]).toEqual({
      Depth: "Global",
      PrivilegeId: expect.any(String),
      BusinessUnitId: ROOT_BU,
      PrivilegeName: "prvCreateAccount",
    });
    const bound = await c.dataverse("GET", `roles(${id})/Microsoft.Dynamics.CRM.RetrieveRolePrivilegesRole()`);
    expect(bound.data.RolePrivileges).toHaveLength(privs.data.RolePrivileges.length);
  });

  test("create: 204 + OData-EntityId, or 201 + row with Prefer: return=representation; copies in child BUs", async () => {
    const name = unique("API User");
    const r = await c.dataverse("POST", "roles", { name, description: "api", "businessunitid@odata.bind": `/businessunits(${ROOT_BU})` });
    expect(r.status).toBe(204);
    expect(r.headers["odata-entityid"]).toMatch(new RegExp(`^${emu.environmentUrl}/api/data/v9.2/roles\\([0-9a-f-]{36}\\)$`));
    const rep = await c.dataverse(
      "POST",
      "roles?$select=roleid,name",
      { name: unique("rep"), "businessunitid@odata.bind": `/businessunits(${ROOT_BU})` },
      undefined,
      { Prefer: "return=representation" },
    );
    expect(rep.status).toBe(201);
    expect(rep.data.roleid).toMatch(/^[0-9a-f-]{36}$/);
    const copies = await c.dataverse(
      "GET",
      `roles?$select=roleid,_businessunitid_value,_parentroleid_value&$filter=${encodeURIComponent(`name eq '${name}'`)}`,
    );
    expect(copies.data.value.map((x: any) => x._businessunitid_value).sort()).toEqual([ROOT_BU, CHILD_BU].sort());
    const byId = await c.dataverse("GET", `roles?$select=name&$filter=${encodeURIComponent(`roleid eq ${entityId(r.headers)}`)}`);
    expect(byId.data.value.map((x: any) => x.name)).toEqual([name]);
  });

  test("get, patch, delete a role; unknown ids are 404 0x80040217; unknown properties 400", async () => {
    const id = await createRole(unique("patch-me"));
    expect((await c.dataverse("PATCH", `roles(${id})`, { name: "renamed", description: "d" })).status).toBe(204);
    const got = await c.dataverse("GET", `roles(${id})?$select=name,description,_businessunitid_value`);
    expect(got.data).toMatchObject({ name: "renamed", description: "d", _businessunitid_value: ROOT_BU, roleid: id });
    expectDvError(await c.dataverse("PATCH", `roles(${id})`, { nosuch: 1 }), 400, "0x80060888");
    expectDvError(await c.dataverse("GET", `roles(${id})?$select=nosuchfield`), 400, "0x80060888");
    expect((await c.dataverse("DELETE", `roles(${id})`)).status).toBe(204);
    expectDvError(await c.dataverse("GET", `roles(${id})`), 404, "0x80040217");
    expectDvError(await c.dataverse("DELETE", `roles(${id})`), 404, "0x80040217");
  });

  test("new roles get privileges of their own, which ReplacePrivilegesRole keeps (quirk on)", async () => {
    const id = await createRole(unique("quirky"));
    const own = await rolePrivileges(id);
    expect(Object.keys(own).sort()).toEqual(["prvReadPluginType", "prvReadSdkMessage", "prvReadSdkMessageProcessingStep"]);
    const ids = await privilegeIds(["prvReadAccount", "prvWriteAccount", "prvCreateContact"]);
    const replace = await c.dataverse("POST", `roles(${id})/Microsoft.Dynamics.CRM.ReplacePrivilegesRole`, {
      Privileges: [
        { PrivilegeId: ids.prvReadAccount, Depth: "Global", BusinessUnitId: ROOT_BU },
        { PrivilegeId: ids.prvWriteAccount, Depth: "1", BusinessUnitId: ROOT_BU },
        { PrivilegeId: ids.prvCreateContact, Depth: 2, BusinessUnitId: ROOT_BU },
      ],
    });
    expect(replace.status).toBe(204);
    expect(await rolePrivileges(id)).toEqual({
      prvReadAccount: "Global",
      prvWriteAccount: "Local",
      prvCreateContact: "Deep",
      prvReadPluginType: "Global",
      prvReadSdkMessage: "Global",
      prvReadSdkMessageProcessingStep: "Global",
    });
  });

  test("quirk off at run time: a new role starts empty and Replace replaces everything", async () => {
    expect((await c.admin("POST", "config", { quirks: { newRoleSelfPrivileges: false } })).status).toBe(200);
    try {
      const id = await createRole(unique("plain"));
      expect(await rolePrivileges(id)).toEqual({});
    } finally {
      await c.admin("POST", "config", { quirks: { newRoleSelfPrivileges: true } });
    }
  });

  test("AddPrivilegesRole keeps an existing depth (quirk), RemovePrivilegeRole takes Privilege (PrivilegeId only when lenient), bad input errors", async () => {
    const id = await createRole(unique("adder"));
    const ids = await privilegeIds(["prvReadAccount", "prvReadContact"]);
    const add = (depth: unknown, pid = ids.prvReadAccount) =>
      c.dataverse("POST", `roles(${id})/Microsoft.Dynamics.CRM.AddPrivilegesRole`, {
        Privileges: [{ PrivilegeId: pid, Depth: depth, BusinessUnitId: ROOT_BU }],
      });
    expect((await add("Basic")).status).toBe(204);
    expect((await add("Global")).status).toBe(204);
    expect((await rolePrivileges(id)).prvReadAccount).toBe("Basic");
    await c.admin("POST", "config", { quirks: { addPrivilegesKeepsExistingDepth: false } });
    try {
      expect((await add("3")).status).toBe(204);
      expect((await rolePrivileges(id)).prvReadAccount).toBe("Global");
    } finally {
      await c.admin("POST", "config", { quirks: { addPrivilegesKeepsExistingDepth: true } });
    }
    expectDvError(await add("Everything"), 400, "0x80040203");
    expectDvError(await add("Global", "00000000-0000-4000-8000-000000000000"), 404, "0x80040217");

    expect((await add(0, ids.prvReadContact)).status).toBe(204);
    // Strict (the default): RemovePrivilegeRole's one parameter is Privilege; a top-level PrivilegeId is 400.
    expectDvError(
      await c.dataverse("POST", `roles(${id})/Microsoft.Dynamics.CRM.RemovePrivilegeRole`, { PrivilegeId: ids.prvReadAccount }),
      400,
      "0x80040203",
    );
    expect((await rolePrivileges(id)).prvReadAccount).toBe("Global");
    await c.admin("POST", "config", { strict: { dataverseActions: false } });
    try {
      const rm1 = await c.dataverse("POST", `roles(${id})/Microsoft.Dynamics.CRM.RemovePrivilegeRole`, { PrivilegeId: ids.prvReadAccount });
      expect(rm1.status).toBe(204);
    } finally {
      await c.admin("POST", "config", { strict: { dataverseActions: true } });
    }
    const rm2 = await c.dataverse("POST", `roles(${id})/Microsoft.Dynamics.CRM.RemovePrivilegeRole`, {
      Privilege: { "@odata.type": "Microsoft.Dynamics.CRM.privilege", privilegeid: ids.prvReadContact },
    });
    expect(rm2.status).toBe(204);
    const left = await rolePrivileges(id);
    expect(left.prvReadAccount).toBeUndefined();
    expect(left.prvReadContact).toBeUndefined();
  });
});

describe("application users", () => {
  test("create needs a business unit (0x80040530) and the app's service principal (0x80072559)", async () => {
    const app = await createAppWithSecret(c, unique("bu-check"));
    expectDvError(await c.dataverse("POST", "systemusers", { applicationid: app.appId, accessmode: 4 }), 400, "0x80040530");
    const noSp = await c.graph("POST", "/applications", { displayName: unique("no-sp") });
    expectDvError(
      await c.dataverse("POST", "systemusers", {
        applicationid: noSp.data.appId,
        "businessunitid@odata.bind": `/businessunits(${ROOT_BU})`,
      }),
      400,
      "0x80072559",
    );
  });

  test("full life: create, fields filled in, duplicate 412, roles in the same BU only, expand, disassociate, disable, soft delete, purge", async () => {
    const name = unique("integration");
    const app = await createAppWithSecret(c, name);
    const uid = await createAppUser(app.appId);

    const filter = encodeURIComponent(`applicationid eq ${app.appId}`);
    const found = await c.dataverse(
      "GET",
      `systemusers?$select=systemuserid,applicationid,fullname,isdisabled,deletedstate,_businessunitid_value&$expand=systemuserroles_association($select=roleid,name)&$filter=${filter}`,
    );
    expect(found.status).toBe(200);
    expect(found.data.value).toHaveLength(1);
    expect(found.data.value[0]).toMatchObject({
      systemuserid: uid,
      applicationid: app.appId,
      fullname: `# ${name}`,
      isdisabled: false,
      deletedstate: 0,
      _businessunitid_value: ROOT_BU,
      systemuserroles_association: [],
    });
    const full = await c.dataverse("GET", `systemusers(${uid})`);
    expect(full.data).toMatchObject({
      firstname: "#",
      lastname: name,
      accessmode: 4,
      azureactivedirectoryobjectid: app.spId,
      deletedstate: 0,
    });
    expect(full.data.domainname).toContain(app.appId);
    expect(full.data.internalemailaddress).toContain(app.appId);

    const dup = await c.dataverse("POST", "systemusers", {
      applicationid: app.appId,
      "businessunitid@odata.bind": `/businessunits(${ROOT_BU})`,
    });
    expectDvError(dup, 412, "0x80040237");
    expect(dup.data.error.message).toBe("A record with matching key values already exists.");

    const rid = await createRole(unique("assign"));
    const ref = (r: string) => ({ "@odata.id": `${emu.environmentUrl}/api/data/v9.2/roles(${r})` });
    expect((await c.dataverse("POST", `systemusers(${uid})/systemuserroles_association/$ref`, ref(rid))).status).toBe(204);
    expect(
      (await c.dataverse("POST", `systemusers(${uid})/systemuserroles_association/$ref`, ref(SEEDED_IDS.systemAdministrator.rootRoleId)))
        .status,
    ).toBe(204);
    expectDvError(
      await c.dataverse("POST", `systemusers(${uid})/systemuserroles_association/$ref`, ref(SEEDED_IDS.systemAdministrator.childRoleId)),
      400,
      "0x80040227",
    );

    const expanded = await c.dataverse(
      "GET",
      `systemusers(${uid})?$select=fullname&$expand=systemuserroles_association($select=roleid,name,_businessunitid_value)`,
    );
    expect(expanded.data.systemuserroles_association.map((r: any) => r.roleid).sort()).toEqual(
      [rid, SEEDED_IDS.systemAdministrator.rootRoleId].sort(),
    );
    expect(expanded.data.systemuserroles_association[0]._businessunitid_value).toBe(ROOT_BU);

    const del1 = await c.dataverse(
      "DELETE",
      `systemusers(${uid})/systemuserroles_association/$ref?$id=${emu.environmentUrl}/api/data/v9.2/roles(${rid})`,
    );
    expect(del1.status).toBe(204);
    const del2 = await c.dataverse(
      "DELETE",
      `systemusers(${uid})/systemuserroles_association(${SEEDED_IDS.systemAdministrator.rootRoleId})/$ref`,
    );
    expect(del2.status).toBe(204);
    expect((await c.dataverse("GET", `systemusers(${uid})/systemuserroles_association`)).data.value).toEqual([]);

    expectDvError(await c.dataverse("DELETE", `systemusers(${uid})`), 400, "0x80040224");
    expect((await c.dataverse("PATCH", `systemusers(${uid})`, { isdisabled: true })).status).toBe(204);
    expect((await c.dataverse("DELETE", `systemusers(${uid})`)).status).toBe(204);
    const soft = await c.dataverse("GET", `systemusers?$select=systemuserid,deletedstate&$filter=${filter}`);
    expect(soft.data.value).toEqual([expect.objectContaining({ systemuserid: uid, deletedstate: 1 })]);
    // A soft-deleted user still blocks a new one for the same app.
    expectDvError(
      await c.dataverse("POST", "systemusers", { applicationid: app.appId, "businessunitid@odata.bind": `/businessunits(${ROOT_BU})` }),
      412,
      "0x80040237",
    );
    expect((await c.dataverse("DELETE", `systemusers(${uid})`)).status).toBe(204);
    expectDvError(await c.dataverse("GET", `systemusers(${uid})`), 404, "0x80040217");
    expectDvError(await c.dataverse("DELETE", `systemusers(${uid})`), 404, "0x80040217");
    const again = await createAppUser(app.appId);
    expect(again).not.toBe(uid);
  });

  test("filters on systemuserid, isdisabled and _businessunitid_value, and moving BU removes roles", async () => {
    const app = await createAppWithSecret(c, unique("mover"));
    const uid = await createAppUser(app.appId);
    const f = encodeURIComponent(`systemuserid eq ${uid} and isdisabled eq false and _businessunitid_value eq ${ROOT_BU}`);
    expect((await c.dataverse("GET", `systemusers?$select=systemuserid&$filter=${f}`)).data.value).toHaveLength(1);
    await c.dataverse("POST", `systemusers(${uid})/systemuserroles_association/$ref`, {
      "@odata.id": `${emu.environmentUrl}/api/data/v9.2/roles(${SEEDED_IDS.basicUser.rootRoleId})`,
    });
    expect((await c.dataverse("PATCH", `systemusers(${uid})`, { "businessunitid@odata.bind": `/businessunits(${CHILD_BU})` })).status).toBe(
      204,
    );
    const moved = await c.dataverse(
      "GET",
      `systemusers(${uid})?$select=_businessunitid_value&$expand=systemuserroles_association($select=roleid)`,
    );
    expect(moved.data._businessunitid_value).toBe(CHILD_BU);
    expect(moved.data.systemuserroles_association).toEqual([]);
    expect(
      (
        await c.dataverse("POST", `systemusers(${uid})/systemuserroles_association/$ref`, {
          "@odata.id": `${emu.environmentUrl}/api/data/v9.2/roles(${SEEDED_IDS.basicUser.childRoleId})`,
        })
      ).status,
    ).toBe(204);
  });
});

describe("faults, service protection, counters", () => {
  afterEach(async () => {
    await c.admin("POST", "config", {
      latencyMs: 0,
      faults: { rate429: 0, rate503: 0, rateDrop: 0, pathPrefix: null, maxCount: null, retryAfterSeconds: 1 },
      serviceProtection: { enabled: false, maxRequestsPerWindow: 6000, windowMs: 300000, maxConcurrent: 52 },
    });
  });

  test("the next 2 requests to /api/data get 429 0x80072322 with Retry-After, then it recovers; Graph unaffected", async () => {
    await c.accessToken(c.dataverseScope);
    await c.accessToken(c.graphScope);
    expect(
      (await c.admin("POST", "config", { faults: { rate429: 1, pathPrefix: "/api/data", maxCount: 2, retryAfterSeconds: 7 } })).status,
    ).toBe(200);
    expect((await c.graph("GET", "/applications?$top=1")).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const r = await c.dataverse("GET", "WhoAmI");
      expectDvError(r, 429, "0x80072322");
      expect(r.headers["retry-after"]).toBe("7");
    }
    expect((await c.dataverse("GET", "WhoAmI")).status).toBe(200);
    expect((await c.admin("GET", "config")).data.faults.maxCount).toBe(0);
  });

  test("503 and a dropped connection", async () => {
    await c.accessToken(c.dataverseScope);
    await c.admin("POST", "config", { faults: { rate503: 1, pathPrefix: "/api/data", maxCount: 1 } });
    const r = await c.dataverse("GET", "WhoAmI");
    expect(r.status).toBe(503);
    expect(r.headers["retry-after"]).toBeDefined();
    expect(r.data.error.code).toMatch(/^0x/);
    await c.admin("POST", "config", { faults: { rate503: 0, rateDrop: 1, pathPrefix: "/api/data", maxCount: 1 } });
    await expect(c.dataverse("GET", "WhoAmI")).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await c.dataverse("GET", "WhoAmI")).status).toBe(200);
    const counters = (await c.admin("GET", "requests")).data;
    expect(counters.faults.drop).toBeGreaterThanOrEqual(1);
    expect(counters.statuses.dropped).toBeGreaterThanOrEqual(1);
  });

  test("latency per request", async () => {
    await c.accessToken(c.dataverseScope);
    await c.admin("POST", "config", { latencyMs: 250 });
    const t0 = Date.now();
    expect((await c.dataverse("GET", "WhoAmI")).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  });

  test("service protection: requests per window (0x80072322) and concurrent requests (0x80072326)", async () => {
    await c.accessToken(c.dataverseScope);
    await c.admin("DELETE", "requests");
    await c.admin("POST", "config", {
      serviceProtection: { enabled: true, maxRequestsPerWindow: 3, windowMs: 60000, retryAfterSeconds: 9 },
    });
    for (let i = 0; i < 3; i++) expect((await c.dataverse("GET", "WhoAmI")).status).toBe(200);
    const over = await c.dataverse("GET", "WhoAmI");
    expectDvError(over, 429, "0x80072322");
    expect(over.headers["retry-after"]).toBe("9");
    expect((await c.admin("DELETE", "requests")).status).toBe(204); // resets the windows too
    expect((await c.dataverse("GET", "WhoAmI")).status).toBe(200);

    await c.admin("POST", "config", { latencyMs: 300, serviceProtection: { maxRequestsPerWindow: 100, maxConcurrent: 1 } });
    const both = await Promise.all([c.dataverse("GET", "WhoAmI"), c.dataverse("GET", "WhoAmI")]);
    const statuses = both.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 429]);
    expectDvError(
      both.find((r) => r.status === 429)!,
      429,
      "0x80072326",
    );
  });

  test("counters per service and operation, reset, and unsupported requests answered 501 and listed", async () => {
    await c.accessToken(c.dataverseScope);
    expect((await c.admin("DELETE", "requests")).status).toBe(204);
    await c.dataverse("GET", "WhoAmI");
    await c.dataverse("GET", "roles?$select=name");
    await c.dataverse("GET", "roles?$select=roleid");
    const unsupported = await c.dataverse("GET", "accounts?$select=name");
    expect(unsupported.status).toBe(501);
    expect(unsupported.data.error.code).toMatch(/^0x/);
    const g = await c.graph("GET", "/users");
    expect(g.status).toBe(501);
    expect(g.data.error.code).toBe("NotImplemented");
    const counters = (await c.admin("GET", "requests")).data;
    expect(counters.services.dataverse).toBe(4);
    expect(counters.operations["dataverse GET roles"]).toBe(2);
    expect(counters.operations["dataverse GET WhoAmI"]).toBe(1);
    expect(counters.unsupported).toEqual(
      expect.arrayContaining([
        { service: "dataverse", method: "GET", path: "/api/data/v9.2/accounts", count: 1 },
        { service: "graph", method: "GET", path: "/v1.0/users", count: 1 },
      ]),
    );
    expect(lines.some((l) => l.includes("/api/data/v9.2/accounts") && l.includes("UNSUPPORTED"))).toBe(true);
    await c.admin("DELETE", "requests");
    const after = (await c.admin("GET", "requests")).data;
    expect(after.total).toBe(0);
    expect(after.unsupported).toEqual([]);
  });

  test("admin API validates configuration and moves the clock", async () => {
    const bad = await c.admin("POST", "config", { faults: { rate429: 2 } });
    expect(bad.status).toBe(400);
    expect((await c.admin("POST", "config", { nosuch: true })).status).toBe(400);
    const target = "2031-05-06T07:08:09.000Z";
    const set = await c.admin("POST", "clock", { now: target });
    expect(Math.abs(Date.parse(set.data.now) - Date.parse(target))).toBeLessThan(2000);
    await c.admin("POST", "clock", { offsetMs: 0 });
    const state = (await c.admin("GET", "state")).data;
    expect(
      state.environment.roles.find((r: any) => r.roleid === SEEDED_IDS.systemAdministrator.rootRoleId).privilegeCount,
    ).toBeGreaterThanOrEqual(1000);
    expect(JSON.stringify(state)).not.toMatch(/"salt"|"hash"|secretHashes/);
  });
});

describe("secrets and persistence", () => {
  test("no secret in any log line", async () => {
    const app = await createAppWithSecret(c, unique("log-app"));
    await c.token(c.dataverseScope, app.appId, app.secret);
    await c.token(c.dataverseScope, app.appId, "wrong-secret-value");
    const all = lines.join("\n");
    expect(all).not.toContain(emu.deployer.clientSecret);
    expect(all).not.toContain(app.secret);
    expect(all).not.toMatch(/Bearer|eyJ/);
  });

  test("state file: loaded at start, saved after each change and on stop", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emu-state-"));
    const stateFile = join(dir, "state.json");
    try {
      const first = await startEmulator({ port: 0, stateFile });
      const fc = emulatorClient(first);
      const r = await fc.dataverse("POST", "roles", { name: "persisted role", "businessunitid@odata.bind": `/businessunits(${ROOT_BU})` });
      expect(r.status).toBe(204);
      await first.stop();
      const second = await startEmulator({ port: 0, stateFile });
      try {
        const sc = emulatorClient(second);
        const found = await sc.dataverse("GET", `roles?$select=name&$filter=${encodeURIComponent(`roleid eq ${entityId(r.headers)}`)}`);
        expect(found.data.value).toEqual([expect.objectContaining({ name: "persisted role" })]);
        // The deployer secret still works (hashes persisted, never the secret).
        expect((await sc.token(sc.graphScope)).status).toBe(200);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
