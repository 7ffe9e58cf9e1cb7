// Several Dataverse environments in one Entra tenant: each environment has its own URL (its own
// port on localhost) and token audience, its own business units, roles and users, and the deployer
// as an application user holding System Administrator in each; apps and service principals are the
// tenant's, shared by all.
import { SEEDED_IDS, startEmulator, type RunningEmulator } from "../../emulator";
import { createAppWithSecret, emulatorClient, entityId, type Answer, type EmulatorClient } from "../../emulator/testkit";
import { environmentUrlProblem } from "../../lib/validators";

let emu: RunningEmulator;
let c: EmulatorClient;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, environments: ["dev", "test", "prod"] });
  c = emulatorClient(emu);
});

afterAll(async () => {
  await emu?.stop();
});

function urlOf(name: string): string {
  const env = emu.environments.find((e) => e.name === name);
  if (!env) throw new Error(`no environment ${name}`);
  return env.url;
}

/** A Dataverse request to one environment, with a token for that environment's audience unless one is given. */
async function dv(
  name: string,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  path: string,
  body?: unknown,
  token?: string,
): Promise<Answer> {
  const t = token ?? (await c.accessToken(`${urlOf(name)}/.default`));
  return c.request(method, `${urlOf(name)}/api/data/v9.2/${path}`, body, {
    Authorization: `Bearer ${t}`,
    Accept: "application/json",
    "OData-Version": "4.0",
  });
}

async function rootBusinessUnit(name: string): Promise<string> {
  const r = await dv(name, "GET", "businessunits?$select=businessunitid&$filter=parentbusinessunitid eq null");
  expect(r.status).toBe(200);
  expect(r.data.value).toHaveLength(1);
  return r.data.value[0].businessunitid as string;
}

describe("three environments in one tenant", () => {
  test("each environment has its own URL on localhost, accepted by the product's environmentUrl validator", () => {
    expect(emu.environments.map((e) => e.name)).toEqual(["dev", "test", "prod"]);
    const urls = emu.environments.map((e) => e.url);
    expect(new Set(urls).size).toBe(3);
    expect(urls[0]).toBe(emu.environmentUrl);
    for (const url of urls) {
      expect(url).toMatch(/^https:\/\/localhost:\d+$/);
      expect(environmentUrlProblem(url)).toBeUndefined();
    }
  });

  test("each environment is seeded on its own: own organization, business units, System Administrator with every privilege, the deployer as its application user", async () => {
    const seen = { org: new Set<string>(), bu: new Set<string>(), role: new Set<string>(), user: new Set<string>() };
    for (const name of ["dev", "test", "prod"]) {
      const who = await dv(name, "GET", "WhoAmI");
      expect(who.status).toBe(200);
      seen.org.add(who.data.OrganizationId);
      seen.user.add(who.data.UserId);
      seen.bu.add(await rootBusinessUnit(name));
      const sa = await dv(
        name,
        "GET",
        `roles?$select=roleid&$filter=roletemplateid eq ${SEEDED_IDS.systemAdministrator.templateId} and parentroleid eq null`,
      );
      expect(sa.status).toBe(200);
      expect(sa.data.value).toHaveLength(1);
      const roleId = sa.data.value[0].roleid as string;
      seen.role.add(roleId);
      const privileges = await dv(name, "GET", `RetrieveRolePrivilegesRole(RoleId=${roleId})`);
      expect(privileges.status).toBe(200);
      expect(privileges.data.RolePrivileges).toHaveLength(1176);
      const me = await dv(
        name,
        "GET",
        `systemusers(${who.data.UserId})?$select=applicationid&$expand=systemuserroles_association($select=roleid)`,
      );
      expect(me.status).toBe(200);
      expect(me.data.applicationid).toBe(emu.deployer.clientId);
      expect(me.data.systemuserroles_association.map((r: { roleid: string }) => r.roleid)).toEqual([roleId]);
    }
    for (const ids of Object.values(seen)) expect(ids.size).toBe(3);
    // The first environment keeps the fixed ids that everything written for one environment relies on.
    const first = await dv("dev", "GET", "WhoAmI");
    expect(first.data.UserId).toBe(emu.deployer.systemUserId);
  });

  test("a role made in one environment is not in another", async () => {
    const name = `isolated-role-${Date.now().toString(36)}`;
    const made = await dv("dev", "POST", "roles", {
      name,
      "businessunitid@odata.bind": `/businessunits(${await rootBusinessUnit("dev")})`,
    });
    expect(made.status).toBe(204);
    const roleId = entityId(made.headers);
    const query = `roles?$select=roleid&$filter=name eq '${name}'`;
    expect((await dv("dev", "GET", query)).data.value).toHaveLength(2); // the root role and its copy in Sales
    expect((await dv("test", "GET", query)).data.value).toHaveLength(0);
    expect((await dv("prod", "GET", query)).data.value).toHaveLength(0);
    expect((await dv("test", "GET", `roles(${roleId})`)).status).toBe(404);
    const state = emu.state() as { environments: Array<{ name: string; roles: Array<{ name: string }> }> };
    expect(state.environments.map((e) => [e.name, e.roles.filter((r) => r.name === name).length])).toEqual([
      ["dev", 2],
      ["test", 0],
      ["prod", 0],
    ]);
  });

  test("a token for one environment's audience is refused by another", async () => {
    const devToken = await c.accessToken(`${urlOf("dev")}/.default`);
    expect((await dv("dev", "GET", "WhoAmI", undefined, devToken)).status).toBe(200);
    const refused = await dv("test", "GET", "WhoAmI", undefined, devToken);
    expect(refused.status).toBe(401);
    expect(refused.data.error.code).toBe("0x8005F101");
    expect(refused.data.error.message).toContain(urlOf("test"));
    expect(refused.headers["www-authenticate"]).toContain(`resource_id=${urlOf("test")}/`);
    // A Graph token is no Dataverse token either.
    expect((await dv("prod", "GET", "WhoAmI", undefined, await c.accessToken(c.graphScope))).status).toBe(401);
  });

  test("an application user made in one environment exists there only: the app (shared by the tenant) is refused by the others", async () => {
    const app = await createAppWithSecret(c, `env-isolation-${Date.now().toString(36)}`);
    const made = await dv("test", "POST", "systemusers", {
      applicationid: app.appId,
      accessmode: 4,
      isdisabled: false,
      "businessunitid@odata.bind": `/businessunits(${await rootBusinessUnit("test")})`,
    });
    expect(made.status).toBe(204);
    const query = `systemusers?$select=systemuserid&$filter=applicationid eq ${app.appId}`;
    expect((await dv("test", "GET", query)).data.value).toHaveLength(1);
    expect((await dv("dev", "GET", query)).data.value).toHaveLength(0);
    expect((await dv("prod", "GET", query)).data.value).toHaveLength(0);

    // The app gets tokens for every environment (one tenant), but only test knows it as a user.
    for (const [name, status] of [
      ["test", 200],
      ["dev", 403],
      ["prod", 403],
    ] as const) {
      const token = await c.accessToken(`${urlOf(name)}/.default`, app.appId, app.secret);
      const who = await dv(name, "GET", "WhoAmI", undefined, token);
      expect({ name, status: who.status }).toEqual({ name, status });
      if (status === 403) expect(who.data.error.code).toBe("0x80072560");
    }
  });

  test("the request counters count Dataverse requests per environment", async () => {
    await c.admin("DELETE", "requests");
    await dv("prod", "GET", "WhoAmI");
    await dv("prod", "GET", "WhoAmI");
    await dv("test", "GET", "WhoAmI");
    const counters = (await c.admin("GET", "requests")).data;
    expect(counters.environments).toEqual({ prod: 2, test: 1 });
    expect(emu.requests().environments).toEqual({ prod: 2, test: 1 });
  });

  test("the admin API lists every environment", async () => {
    const info = await c.admin("GET", "info");
    expect(info.data.environments).toEqual(emu.environments);
    const state = await c.admin("GET", "state");
    expect(state.data.environments.map((e: { name: string }) => e.name)).toEqual(["dev", "test", "prod"]);
    expect(state.data.environment.name).toBe("dev");
  });
});

describe("the environments option", () => {
  test("a count names the environments env1..envN; the default is one environment", async () => {
    const two = await startEmulator({ port: 0, environments: 2 });
    const one = await startEmulator({ port: 0 });
    try {
      expect(two.environments.map((e) => e.name)).toEqual(["env1", "env2"]);
      expect(one.environments).toEqual([{ name: "default", url: one.environmentUrl, port: one.port }]);
    } finally {
      await Promise.all([two.stop(), one.stop()]);
    }
  });

  test("bad names are refused with what to do", async () => {
    await expect(startEmulator({ port: 0, environments: ["dev", "DEV"] })).rejects.toThrow("the names must differ");
    await expect(startEmulator({ port: 0, environments: ["a b"] })).rejects.toThrow("letters, digits and dashes");
    await expect(startEmulator({ port: 0, environments: 0 })).rejects.toThrow("a count from 1 to 20");
  });
});
