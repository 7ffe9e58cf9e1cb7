// Every dynamic provider in the form Pulumi keeps it: serialized with pulumi.runtime.serializeFunction
// (what pulumi.dynamic.Resource does), then evaluated in a separate plain Node process with
// require-from-string, as the dynamic-provider host does. Each provider calls the emulator through a
// fault proxy, once per branch of the retry policy (drop, reset, timeout, 408, 429, 502, 503, 504);
// every call must converge, and a create whose answer was lost must be reconciled, not duplicated.
import { ChildProcessWithoutNullStreams, spawn } from "child_process";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { applicationUserProvider } from "../../dynamic-providers/application-user";
import { clonedSecurityRoleProvider } from "../../dynamic-providers/cloned-security-role";
import { existingSecurityRoleProvider } from "../../dynamic-providers/existing-security-role";
import { retiredSecretsProvider } from "../../dynamic-providers/retired-secrets";
import { secretScheduleProvider } from "../../dynamic-providers/secret-schedule";
import { specSecurityRoleProvider } from "../../dynamic-providers/spec-security-role";
import { allFaultKinds, FaultKind, FaultProxy, FaultRule, startFaultProxy } from "../support/fault-proxy";
import { registerApp, startTestEmulator, TestEmulator } from "../support/emulator";

const repoRoot = path.resolve(__dirname, "../..");

// The host's way, in plain Node: requireFromString(text).handler(), one provider per text, cached.
const hostScript = `
const requireFromString = require("require-from-string");
const providers = new Map();
let buffer = "";
process.stdin.on("data", (chunk) => {
  buffer += chunk;
  let newline;
  while ((newline = buffer.indexOf("\\n")) >= 0) {
    const line = buffer.slice(0, newline);
    buffer = buffer.slice(newline + 1);
    const { id, text, method, args } = JSON.parse(line);
    if (!providers.has(text)) providers.set(text, requireFromString(text).handler());
    Promise.resolve()
      .then(() => providers.get(text)[method](...args))
      .then((result) => process.stdout.write(JSON.stringify({ id, result: result === undefined ? null : result }) + "\\n"))
      .catch((error) => process.stdout.write(JSON.stringify({ id, error: String(error && error.message) }) + "\\n"));
  }
});
`;

class ProviderHost {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private output = "";
  stderr = "";

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ["-e", hostScript], { cwd: repoRoot, env });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => {
      this.output += chunk;
      let newline;
      while ((newline = this.output.indexOf("\n")) >= 0) {
        const message = JSON.parse(this.output.slice(0, newline)) as { id: number; result?: unknown; error?: string };
        this.output = this.output.slice(newline + 1);
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error !== undefined) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message.result);
      }
    });
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  call<T>(text: string, method: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.stdin.write(`${JSON.stringify({ id, text, method, args })}\n`);
    });
  }

  stop() {
    this.child.kill();
  }
}

const serialize = async (provider: pulumi.dynamic.ResourceProvider) =>
  (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;

let test_: TestEmulator;
let proxy: FaultProxy;
let host: ProviderHost;
let environmentUrl: string;
const texts: Record<string, string> = {};

beforeAll(async () => {
  test_ = await startTestEmulator();
  proxy = await startFaultProxy(test_.emulator.port);
  environmentUrl = `https://localhost:${proxy.port}`;
  host = new ProviderHost({
    ...process.env,
    AZURE_AUTHORITY_HOST: `https://127.0.0.1:${proxy.port}`,
    // The timeout branch: a request left unanswered fails after 2 s instead of 120 s.
    DATAVERSE_S2S_HTTP_TIMEOUT_SECONDS: "2",
  });
  texts.role = await serialize(clonedSecurityRoleProvider);
  texts.existing = await serialize(existingSecurityRoleProvider);
  texts.user = await serialize(applicationUserProvider);
  texts.retired = await serialize(retiredSecretsProvider);
  texts.schedule = await serialize(secretScheduleProvider);
  texts.spec = await serialize(specSecurityRoleProvider);
});
afterAll(async () => {
  host?.stop();
  await proxy?.stop();
  await test_?.stop();
});

/** Runs `action` with `rules` armed and checks that every rule was used, so the branch really ran. */
async function withFaults<T>(rules: FaultRule[], action: () => Promise<T>): Promise<T> {
  proxy.setRules(rules);
  const result = await action();
  expect(proxy.pendingRules()).toEqual([]);
  expect(proxy.injected()).toHaveLength(rules.length);
  proxy.setRules([]);
  return result;
}

/** 429 and 503 are refused before the service acts; the ambiguous kinds hit after it acted. */
const afterForwarding = (fault: FaultKind) => fault !== 429 && fault !== 503;

test("each serialized provider is a small shell without this machine's paths", () => {
  for (const [name, text] of Object.entries(texts)) {
    // About 4.2 KB: the loader and the method shells (the implementation stays out: it alone is tens of KB).
    expect({ name, bytes: text.length < 5120 }).toEqual({ name, bytes: true });
    expect(text).not.toContain(repoRoot);
    expect(text).not.toMatch(/\bnew Set\b|\bnew Map\b/);
  }
});

test("the serialized secret schedule runs in the host's form", async () => {
  const checked = await host.call<{ inputs: Record<string, unknown>; failures: unknown[] }>(
    texts.schedule,
    "check",
    {},
    { lifetimeDays: 180, rotateBeforeDays: 30 },
  );
  expect(checked.failures).toEqual([]);
  const created = await host.call<{ id: string; outs: { endDate: string } }>(texts.schedule, "create", checked.inputs);
  expect(created.outs.endDate).toBe(checked.inputs.endDate);
});

test("the serialized SpecSecurityRole runs in the host's form: a lost table lookup is retried, a lost create reconciled", async () => {
  const name = "Serialized spec";
  const checked = await host.call<{ inputs: Record<string, unknown>; failures: unknown[] }>(
    texts.spec,
    "check",
    {},
    { environmentUrl, name, privileges: { contact: ["read", "write"] } },
  );
  expect(checked.failures).toEqual([]);
  const created = await withFaults(
    [
      { method: "GET", pathIncludes: "EntityDefinitions", fault: 503, afterForwarding: false },
      { method: "POST", pathIncludes: "/roles", fault: "reset", afterForwarding: true },
    ],
    () => host.call<{ id: string; outs: { grantedPrivileges: string[] } }>(texts.spec, "create", checked.inputs),
  );
  const client = test_.dataverse();
  expect((await client.findRoleByName(name, await client.businessUnitId())).map((role) => role.roleid)).toEqual([created.id]);
  expect(created.outs.grantedPrivileges).toEqual(["prvReadContact:Global", "prvWriteContact:Global"]);
  await host.call(texts.spec, "delete", created.id, created.outs);
});

describe.each(allFaultKinds.map((fault) => [String(fault), fault] as const))("with one %s on each call", (label, fault) => {
  const after = afterForwarding(fault);

  test("ClonedSecurityRole: create is reconciled, read, update and delete converge", async () => {
    const name = `Serialized ${label}`;
    const checked = await host.call<{ inputs: Record<string, unknown>; failures: unknown[] }>(
      texts.role,
      "check",
      {},
      { environmentUrl, name },
    );
    expect(checked.failures).toEqual([]);
    const created = await withFaults([{ method: "POST", pathIncludes: "/roles", fault, afterForwarding: after }], () =>
      host.call<{ id: string; outs: Record<string, unknown> }>(texts.role, "create", checked.inputs),
    );
    const client = test_.dataverse();
    const rootUnit = await client.businessUnitId();
    expect((await client.findRoleByName(name, rootUnit)).map((role) => role.roleid)).toEqual([created.id]);

    // read is one $batch (the role, its privileges and its source's), idempotent as it only reads.
    const read = await withFaults([{ method: "POST", pathIncludes: "$batch", fault, afterForwarding: after }], () =>
      host.call<{ id: string; props: Record<string, unknown> }>(texts.role, "read", created.id, created.outs),
    );
    expect(read.id).toBe(created.id);

    const renamed = { ...checked.inputs, name: `${name} renamed` };
    await withFaults([{ method: "PATCH", pathIncludes: `roles(${created.id})`, fault, afterForwarding: after }], () =>
      host.call(texts.role, "update", created.id, read.props, renamed),
    );
    expect((await client.getRole(created.id))?.name).toBe(`${name} renamed`);

    await withFaults([{ method: "DELETE", pathIncludes: `roles(${created.id})`, fault, afterForwarding: after }], () =>
      host.call(texts.role, "delete", created.id, { ...read.props, name: `${name} renamed` }),
    );
    expect(await client.getRole(created.id)).toBeUndefined();
  });

  test("ExistingSecurityRole: the lookup converges", async () => {
    const checked = await host.call<{ inputs: Record<string, unknown> }>(
      texts.existing,
      "check",
      {},
      { environmentUrl, name: "Basic User" },
    );
    const created = await withFaults([{ method: "GET", pathIncludes: "roles?", fault, afterForwarding: after }], () =>
      host.call<{ id: string; outs: { roleId: string } }>(texts.existing, "create", checked.inputs),
    );
    const client = test_.dataverse();
    expect(created.id).toBe((await client.findRoleByName("Basic User", await client.businessUnitId()))[0].roleid.toLowerCase());
  });

  test("ApplicationUser: create is reconciled (one user per app), delete converges", async () => {
    const app = await registerApp(test_, `serialized-${label}`);
    const basicUser = (await test_.dataverse().findSourceRole("Basic User", await test_.dataverse().businessUnitId()))!.roleid;
    const checked = await host.call<{ inputs: Record<string, unknown>; failures: unknown[] }>(
      texts.user,
      "check",
      {},
      { environmentUrl, applicationId: app.appId, roleIds: [basicUser] },
    );
    expect(checked.failures).toEqual([]);
    const created = await withFaults([{ method: "POST", pathIncludes: "/systemusers", fault, afterForwarding: after }], () =>
      host.call<{ id: string; outs: { assignedRoleIds: string[] } }>(texts.user, "create", checked.inputs),
    );
    const users = (await test_.dataverse().findApplicationUsers(app.appId)).filter((user) => !user.deletedstate);
    expect(users.map((user) => user.systemuserid.toLowerCase())).toEqual([created.id]);
    expect(created.outs.assignedRoleIds).toEqual([basicUser.toLowerCase()]);

    // delete is GET, then one $batch of PATCH (disable), DELETE (soft delete), DELETE (purge): idempotent.
    await withFaults([{ method: "POST", pathIncludes: "$batch", fault, afterForwarding: after }], () =>
      host.call(texts.user, "delete", created.id, created.outs),
    );
    expect(await test_.dataverse().findApplicationUsers(app.appId)).toEqual([]);
  });

  test("RetiredSecrets: read and the removal of an overdue secret converge (Microsoft Graph)", async () => {
    const app = await registerApp(test_, `retired-${label}`);
    const graph = test_.graph();
    const password = await graph.request<{ keyId: string }>({
      operation: "add a secret",
      method: "POST",
      path: `v1.0/applications/${app.objectId}/addPassword`,
      body: { passwordCredential: {} },
    });
    const inputs = {
      applicationObjectId: app.objectId,
      currentKeyId: "",
      overlapDays: 0,
      metadataHost: `127.0.0.1:${proxy.port}`,
      cloudEnvironment: "",
    };
    const outs = {
      ...inputs,
      retired: [{ keyId: password.data.keyId, retiredAt: "2020-01-01T00:00:00Z", removeAfter: "2020-01-02T00:00:00Z" }],
    };

    const read = await withFaults([{ method: "GET", pathIncludes: `applications/${app.objectId}`, fault, afterForwarding: after }], () =>
      host.call<{ props: { retired: unknown[] } }>(texts.retired, "read", `${app.objectId}/retired-secrets`, outs),
    );
    expect(read.props.retired).toHaveLength(1);

    const updated = await withFaults([{ method: "POST", pathIncludes: "removePassword", fault, afterForwarding: after }], () =>
      host.call<{ outs: { retired: unknown[] } }>(texts.retired, "update", `${app.objectId}/retired-secrets`, outs, inputs),
    );
    expect(updated.outs.retired).toEqual([]);
    const application = await graph.request<{ passwordCredentials: { keyId: string }[] }>({
      operation: "read app",
      method: "GET",
      path: `v1.0/applications/${app.objectId}`,
    });
    expect(application.data.passwordCredentials.map((credential) => credential.keyId)).not.toContain(password.data.keyId);
  });
});
