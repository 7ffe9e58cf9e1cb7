/**
 * The benchmark's plugin start (`npm run bench -- --compare-with`): how long the dynamic-provider
 * host takes from its launch until it has answered with this project's providers, measured outside
 * the engine so that nothing else (the program, the azuread plugin, the emulator) is in the figure.
 *
 * The host is started as the engine starts it: the checkout's launcher
 * (offline-plugins/bin/pulumi-resource-pulumi-nodejs, which the toolchain's wrapper execs), in the
 * project directory, with the run's environment. Then, over gRPC as the engine speaks it: Configure,
 * and a Diff of a deployed resource with the inputs and outputs its state holds (a diff compares
 * fields and calls no service). The first Diff deserializes the provider from `__provider` and loads
 * its implementation (ts-node's registration and the transpiled TypeScript in a checkout that loads
 * sources, a plain require of compiled JavaScript in one that loads a package); every resource
 * carries the same kind of shell, so the first call of a run pays this whatever its method.
 *
 * Times, from the launch: `listenSeconds` (the host printed its port: Node and @pulumi/pulumi loaded,
 * none of this project's code yet), `firstAnswerSeconds` (the first Diff answered: the plugin start
 * of a run), `allProvidersSeconds` (one Diff per distinct provider of the stack answered, in state
 * order: what a run pays before every provider it uses is loaded).
 */
import { spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { ConfigureRequest, DiffRequest } from "@pulumi/pulumi/proto/provider_pb";
import { JavaScriptValue, Struct } from "google-protobuf/google/protobuf/struct_pb";
import type { TestProject } from "../tests/support/pulumi-project";

export interface PluginStart {
  readonly listenSeconds: number;
  readonly firstAnswerSeconds: number;
  readonly allProvidersSeconds: number;
  /** Distinct providers (serialized shells) in the stack: the Diffs behind allProvidersSeconds. */
  readonly providers: number;
}

interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly id?: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
}

/** The key and value that mark a secret in an exported state (`pulumi stack export --show-secrets`). */
const secretSignatureKey = "4dabf18193072939515e22adb298388d";
const secretSignature = "1b47061264138c4ac30d75fd1eb44270";

/** The plain value the engine sends to a dynamic provider, which accepts no secrets. */
function withoutSecretEnvelopes(value: unknown): JavaScriptValue {
  if (Array.isArray(value)) return value.map(withoutSecretEnvelopes);
  if (value === null || typeof value !== "object") return value as JavaScriptValue;
  const record = value as Record<string, unknown>;
  if (record[secretSignatureKey] === secretSignature && typeof record.plaintext === "string") {
    return withoutSecretEnvelopes(JSON.parse(record.plaintext));
  }
  return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, withoutSecretEnvelopes(inner)]));
}

/** One deployed dynamic resource per distinct `__provider`, in state order. */
async function resourcePerProvider(project: TestProject): Promise<StateResource[]> {
  const exported = await project.stack.exportStack();
  const resources = (exported.deployment as { resources?: StateResource[] }).resources ?? [];
  const chosen = new Map<unknown, StateResource>();
  for (const resource of resources) {
    const provider = resource.inputs?.__provider;
    if (resource.type.startsWith("pulumi-nodejs:dynamic") && typeof provider === "string" && !chosen.has(provider)) {
      chosen.set(provider, resource);
    }
  }
  if (chosen.size === 0) throw new Error("plugin start: the stack has no dynamic resource to diff (was it deployed?)");
  return [...chosen.values()];
}

function call<Request, Response>(
  method: (request: Request, callback: (error: grpc.ServiceError | null, response: Response) => void) => unknown,
  request: Request,
): Promise<Response> {
  return new Promise((resolve, reject) => method(request, (error, response) => (error ? reject(error) : resolve(response))));
}

const secondsSince = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/** Launches `checkout`'s dynamic-provider host for `project` (deployed) and times it; see the header. */
export async function measurePluginStart(checkout: string, project: TestProject): Promise<PluginStart> {
  const resources = await resourcePerProvider(project);
  const launcher = path.join(checkout, "offline-plugins", "bin", "pulumi-resource-pulumi-nodejs");
  const started = process.hrtime.bigint();
  // The engine passes its own address; the host does not call it back for a Diff.
  const host = spawn(launcher, ["127.0.0.1:1"], { cwd: project.workDir, env: { ...process.env, ...project.env } });
  let stderr = "";
  host.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => host.once("exit", () => resolve()));
  let client: ResourceProviderClient | undefined;
  try {
    const port = await new Promise<string>((resolve, reject) => {
      let stdout = "";
      host.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.match(/^(\d+)\s*\n/);
        if (line) resolve(line[1]);
      });
      host.once("exit", (code) => reject(new Error(`the dynamic-provider host exited (${code}) before listening: ${stderr.trim()}`)));
    });
    const listenSeconds = secondsSince(started);
    client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const configure = new ConfigureRequest().setArgs(Struct.fromJavaScript({})).setAcceptsecrets(false);
    await call(client.configure.bind(client), configure);
    let firstAnswerSeconds = 0;
    for (const resource of resources) {
      const diff = new DiffRequest()
        .setId(resource.id ?? "")
        .setUrn(resource.urn)
        .setOlds(Struct.fromJavaScript(withoutSecretEnvelopes(resource.outputs ?? {}) as Record<string, JavaScriptValue>))
        .setNews(Struct.fromJavaScript(withoutSecretEnvelopes(resource.inputs ?? {}) as Record<string, JavaScriptValue>));
      await call(client.diff.bind(client), diff).catch((error: Error) => {
        throw new Error(`plugin start: Diff of ${resource.urn} failed: ${error.message} ${stderr.trim()}`);
      });
      if (firstAnswerSeconds === 0) firstAnswerSeconds = secondsSince(started);
    }
    return { listenSeconds, firstAnswerSeconds, allProvidersSeconds: secondsSince(started), providers: resources.length };
  } finally {
    client?.close();
    host.kill();
    await exited;
  }
}
