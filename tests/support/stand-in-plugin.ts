/**
 * Test support: an offline stand-in plugin (offline-plugins/bin/pulumi-resource-<name>) started as the
 * engine starts it, a process that prints its gRPC port, and a client calling it as the engine does.
 * No ARM_* or AZURE_* variable reaches it: its configuration must come from Configure.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";

const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");

const repo = path.resolve(__dirname, "../..");

export interface RunningStandIn {
  /** Calls a gRPC method of the provider (`check`, `create`, ...) with a request message. */
  call<T>(method: string, request: unknown): Promise<T>;
  /** What the plugin wrote to stderr so far. */
  stderr(): string;
  stop(): void;
}

export async function startStandInPlugin(name: "azuread" | "azure-native"): Promise<RunningStandIn> {
  const env = { ...process.env };
  for (const variable of Object.keys(env)) if (/^(ARM|AZURE)_/.test(variable)) delete env[variable];
  const plugin: ChildProcess = spawn(path.join(repo, `offline-plugins/bin/pulumi-resource-${name}`), [], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  plugin.stderr!.on("data", (chunk) => (stderr += chunk));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    plugin.stdout!.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve(out.split("\n")[0].trim());
    });
    plugin.once("exit", (code) => reject(new Error(`plugin exited with ${code}: ${stderr}`)));
  });
  expect(port).toMatch(/^\d+$/);
  // The build is current (npm test runs the toolchain setup first): no fallback to ts-node.
  expect(stderr).not.toContain("no current JavaScript build");
  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    call: <T>(method: string, request: unknown) =>
      new Promise<T>((resolve, reject) =>
        client[method](request, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))),
      ),
    stderr: () => stderr,
    stop: () => {
      client.close();
      plugin.kill();
    },
  };
}
