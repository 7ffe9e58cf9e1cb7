// Guards the emulator's Dataverse $batch as the Web API documents it: multipart/mixed in and out,
// requests run in order with their own status, change sets all or nothing (rolled back on a failure
// and answered by the failed request alone, Content-ID echoed), a stop at the first failure unless
// odata.continue-on-error, no GET inside a change set, at most 1000 requests, and the counters: one
// HTTP request, its parts counted apart. Raw HTTP bodies, written by hand, not by the project's client.
import { SEEDED_IDS, startEmulator, type RunningEmulator } from "../../emulator";
import { emulatorClient, type EmulatorClient } from "../../emulator/testkit";

const ROOT_BU = SEEDED_IDS.rootBusinessUnit.id;

let emu: RunningEmulator;
let c: EmulatorClient;
let seq = 0;
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${++seq}`;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  c = emulatorClient(emu);
});

afterAll(async () => {
  await emu?.stop();
});

const api = () => `${emu.environmentUrl}/api/data/v9.2`;

/** One application/http part. */
function part(method: string, url: string, body?: unknown, contentId?: number): string {
  return [
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    ...(contentId !== undefined ? [`Content-ID: ${contentId}`] : []),
    "",
    `${method} ${url} HTTP/1.1`,
    ...(body !== undefined ? ["Content-Type: application/json; type=entry", "", JSON.stringify(body)] : [""]),
  ].join("\r\n");
}

function changeset(boundary: string, parts: string[]): string {
  return [`Content-Type: multipart/mixed; boundary=${boundary}`, "", ...parts.flatMap((p) => [`--${boundary}`, p]), `--${boundary}--`].join(
    "\r\n",
  );
}

function batchBody(boundary: string, parts: string[]): string {
  return [...parts.flatMap((p) => [`--${boundary}`, p]), `--${boundary}--`, ""].join("\r\n");
}

interface PartAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
  /** Headers of the MIME part (Content-ID). */
  partHeaders: Record<string, string>;
}

type ItemAnswer = PartAnswer | { changeset: PartAnswer[] };

function headersOf(block: string): Record<string, string> {
  const h: Record<string, string> = {};
  for (const line of block.split("\r\n").filter(Boolean)) {
    const i = line.indexOf(":");
    h[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return h;
}

function partsOf(text: string, boundary: string): string[] {
  const sections = text.split(`--${boundary}`).slice(1);
  const out: string[] = [];
  for (const s of sections) {
    if (s.startsWith("--")) return out;
    out.push(s.replace(/^\r\n/, "").replace(/\r\n$/, ""));
  }
  throw new Error(`no closing boundary ${boundary}`);
}

function parsePart(p: string): PartAnswer {
  const [mime, http] = [p.slice(0, p.indexOf("\r\n\r\n")), p.slice(p.indexOf("\r\n\r\n") + 4)];
  const headEnd = http.indexOf("\r\n\r\n");
  const head = http.slice(0, headEnd).split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0])![1]);
  const text = http.slice(headEnd + 4).trim();
  return {
    status,
    headers: headersOf(head.slice(1).join("\r\n")),
    body: text ? JSON.parse(text) : undefined,
    partHeaders: headersOf(mime),
  };
}

function parseAnswer(contentType: string, text: string): ItemAnswer[] {
  const boundary = /boundary=([^;\s]+)/.exec(contentType)![1];
  expect(boundary).toMatch(/^batchresponse_/);
  return partsOf(text, boundary).map((p) => {
    const mime = headersOf(p.slice(0, p.indexOf("\r\n\r\n")));
    const inner = /^multipart\/mixed; boundary=(\S+)/.exec(mime["content-type"] ?? "");
    if (!inner) return parsePart(p);
    expect(inner[1]).toMatch(/^changesetresponse_/);
    return { changeset: partsOf(p.slice(p.indexOf("\r\n\r\n") + 4), inner[1]).map(parsePart) };
  });
}

async function sendBatch(parts: string[], headers: Record<string, string> = {}) {
  const boundary = `batch_${unique("b")}`;
  const token = await c.accessToken(c.dataverseScope);
  const r = await c.request<string>("POST", `${api()}/$batch`, batchBody(boundary, parts), {
    Authorization: `Bearer ${token}`,
    "Content-Type": `multipart/mixed; boundary=${boundary}`,
    Accept: "application/json",
    "OData-Version": "4.0",
    ...headers,
  });
  return { ...r, items: r.status === 200 ? parseAnswer(r.headers["content-type"], r.data) : [] };
}

async function rolesNamed(name: string): Promise<any[]> {
  const r = await c.dataverse("GET", `roles?$select=roleid,name&$filter=${encodeURIComponent(`name eq '${name}'`)}`);
  expect(r.status).toBe(200);
  return r.data.value;
}

const newRole = (name: string) => ({ name, "businessunitid@odata.bind": `/businessunits(${ROOT_BU})` });

test("reads and writes run in order, each with its own status and body, in one HTTP request", async () => {
  const name = unique("Batch Role");
  await c.admin("DELETE", "requests");
  const r = await sendBatch([
    part("GET", `${api()}/WhoAmI`),
    changeset(`changeset_${unique("c")}`, [part("POST", `${api()}/roles`, newRole(name), 1)]),
    // Dataverse keeps a copy of a root business unit's role in each child business unit: ask for the root's.
    part("GET", `roles?$select=name&$filter=${encodeURIComponent(`name eq '${name}' and _businessunitid_value eq ${ROOT_BU}`)}`),
  ]);
  expect(r.status).toBe(200);
  expect(r.items).toHaveLength(3);
  const [whoAmI, created, found] = r.items as [PartAnswer, { changeset: PartAnswer[] }, PartAnswer];
  expect(whoAmI.status).toBe(200);
  expect(whoAmI.body.UserId).toBe(SEEDED_IDS.deployer.systemUserId);
  expect(created.changeset).toHaveLength(1);
  expect(created.changeset[0].status).toBe(204);
  expect(created.changeset[0].partHeaders["content-id"]).toBe("1");
  expect(created.changeset[0].headers["odata-entityid"]).toMatch(/\/roles\([0-9a-f-]{36}\)$/);
  // The GET after the change set sees its write (a relative URL works too).
  expect(found.status).toBe(200);
  expect(found.body.value.map((row: any) => row.name)).toEqual([name]);

  const counters = (await c.admin("GET", "requests")).data;
  expect(counters.services.dataverse).toBe(1);
  expect(counters.operations["dataverse POST $batch"]).toBe(1);
  expect(counters.batchOperations).toEqual({ "dataverse GET WhoAmI": 1, "dataverse POST roles": 1, "dataverse GET roles": 1 });
});

test("a change set is all or nothing: a failed request rolls back the ones before it and answers alone", async () => {
  const name = unique("Rolled Back");
  const r = await sendBatch([
    changeset(`changeset_${unique("c")}`, [
      part("POST", `${api()}/roles`, newRole(name), 1),
      part("PATCH", `${api()}/roles(00000000-0000-4000-8000-000000000001)`, { name: "nobody" }, 2),
    ]),
    part("GET", `${api()}/WhoAmI`),
  ]);
  expect(r.status).toBe(200);
  // Without continue-on-error the batch stops at the failure: the GET after it does not run.
  expect(r.items).toHaveLength(1);
  const failed = r.items[0] as PartAnswer;
  expect(failed.status).toBe(404);
  expect(failed.partHeaders["content-id"]).toBe("2");
  expect(failed.body.error.code).toBe("0x80040217");
  expect(await rolesNamed(name)).toEqual([]);
});

test("with odata.continue-on-error the requests after a failure still run", async () => {
  const r = await sendBatch(
    [part("GET", `${api()}/roles(00000000-0000-4000-8000-000000000002)?$select=name`), part("GET", `${api()}/WhoAmI`)],
    { Prefer: "odata.continue-on-error" },
  );
  expect(r.status).toBe(200);
  expect(r.headers["preference-applied"]).toBe("odata.continue-on-error");
  expect((r.items as PartAnswer[]).map((item) => item.status)).toEqual([404, 200]);
});

test("privileges copied in a change set are all there, and a failed copy leaves the role as it was", async () => {
  const roleName = unique("Copy Target");
  const created = await c.dataverse("POST", "roles", newRole(roleName));
  const roleId = /\(([0-9a-f-]{36})\)$/.exec(created.headers["odata-entityid"])![1];
  const privileges = await c.dataverse("GET", `privileges?$select=privilegeid,name&$top=4`);
  const ids: string[] = privileges.data.value.map((p: any) => p.privilegeid);
  const body = (list: string[]) => ({ Privileges: list.map((id) => ({ PrivilegeId: id, Depth: "Global", BusinessUnitId: ROOT_BU })) });
  const before = await c.dataverse("GET", `RetrieveRolePrivilegesRole(RoleId=${roleId})`);

  const refused = await sendBatch([
    changeset(`changeset_${unique("c")}`, [
      part("POST", `${api()}/roles(${roleId})/Microsoft.Dynamics.CRM.ReplacePrivilegesRole`, body(ids.slice(0, 2)), 1),
      part(
        "POST",
        `${api()}/roles(${roleId})/Microsoft.Dynamics.CRM.AddPrivilegesRole`,
        { Privileges: [{ PrivilegeId: ids[2], Depth: "Nowhere" }] },
        2,
      ),
    ]),
  ]);
  expect((refused.items[0] as PartAnswer).status).toBe(400);
  const unchanged = await c.dataverse("GET", `RetrieveRolePrivilegesRole(RoleId=${roleId})`);
  expect(unchanged.data.RolePrivileges).toEqual(before.data.RolePrivileges);

  const copied = await sendBatch([
    changeset(`changeset_${unique("c")}`, [
      part("POST", `${api()}/roles(${roleId})/Microsoft.Dynamics.CRM.ReplacePrivilegesRole`, body(ids.slice(0, 2)), 1),
      part("POST", `${api()}/roles(${roleId})/Microsoft.Dynamics.CRM.AddPrivilegesRole`, body(ids.slice(2)), 2),
    ]),
    part("GET", `${api()}/RetrieveRolePrivilegesRole(RoleId=${roleId})`),
  ]);
  const [writes, read] = copied.items as [{ changeset: PartAnswer[] }, PartAnswer];
  expect(writes.changeset.map((answer) => answer.status)).toEqual([204, 204]);
  const held = read.body.RolePrivileges.map((p: any) => p.PrivilegeId);
  for (const id of ids) expect(held).toContain(id);
});

test("a malformed batch, a GET inside a change set and more than 1000 requests are refused whole", async () => {
  const token = await c.accessToken(c.dataverseScope);
  const notMultipart = await c.request("POST", `${api()}/$batch`, "{}", {
    Authorization: `Bearer ${token}`,
    "Content-Type": "application/json",
  });
  expect(notMultipart.status).toBe(400);
  expect(notMultipart.data.error.code).toBe("0x80040203");

  const name = unique("Never Made");
  const getInChangeset = await sendBatch([
    changeset(`changeset_${unique("c")}`, [part("POST", `${api()}/roles`, newRole(name), 1), part("GET", `${api()}/WhoAmI`, undefined, 2)]),
  ]);
  expect(getInChangeset.status).toBe(400);
  expect(await rolesNamed(name)).toEqual([]);

  const tooMany = await sendBatch(Array.from({ length: 1001 }, () => part("GET", `${api()}/WhoAmI`)));
  expect(tooMany.status).toBe(400);
  expect(JSON.stringify(tooMany.data)).toContain("1000");
});

test("the batch needs a token like any request; its parts need none of their own", async () => {
  const boundary = `batch_${unique("b")}`;
  const r = await c.request("POST", `${api()}/$batch`, batchBody(boundary, [part("GET", `${api()}/WhoAmI`)]), {
    "Content-Type": `multipart/mixed; boundary=${boundary}`,
  });
  expect(r.status).toBe(401);
});
