/**
 * The provider configuration as Configure carries it, for the stand-ins.
 *
 * The generic provider server in @pulumi/pulumi (provider/server.js) answers Configure without
 * passing the request on to the Provider object, so the configuration would be lost. Before the
 * server starts, `installConfigureCapture` wraps the SDK's Configure handler (sdk-server.ts), so that
 * it records the request's variables and args, then runs unchanged. Nothing recorded here is ever
 * logged; secrets stay in this process's memory. One plugin process serves one package, so one record.
 */
import { sdkGrpcModule, wrapServerHandlers } from "./sdk-server";
import { Plain, unwrapSecrets } from "./values";

/** What the last Configure call carried. */
export interface ConfigureRecord {
  readonly variables: Record<string, string>;
  readonly args: Plain;
}

let lastConfigure: ConfigureRecord | undefined;

/** The subset of a ConfigureRequest (pulumirpc) that is read here. */
export interface ConfigureRequestLike {
  getVariablesMap(): { forEach(callback: (value: string, key: string) => void): void };
  getArgs(): { toJavaScript(): Plain } | undefined;
}

/** Records a ConfigureRequest. Exported for tests. */
export function recordConfigure(request: ConfigureRequestLike): void {
  const variables: Record<string, string> = {};
  request.getVariablesMap().forEach((value, key) => (variables[key] = value));
  const args = request.getArgs()?.toJavaScript() ?? {};
  lastConfigure = { variables, args: unwrapSecrets<Plain>(args) };
}

/** What the last Configure call carried, if any. */
export function capturedConfigure(): ConfigureRecord | undefined {
  return lastConfigure;
}

/** Forgets what was recorded (tests). */
export function resetCapturedConfigure(): void {
  lastConfigure = undefined;
}

const captureMarker = Symbol.for("dataverse-s2s.stand-in.configureCapture");

/** Records each Configure request before the SDK's handler runs (wrapServerHandlers). */
export function installConfigureCapture(grpc: typeof import("@grpc/grpc-js") = sdkGrpcModule(), label = "offline stand-in"): void {
  wrapServerHandlers(grpc, captureMarker, {
    configure: (configure) =>
      function (this: unknown, call, callback) {
        try {
          recordConfigure((call as { request: ConfigureRequestLike }).request);
        } catch (error) {
          process.stderr.write(`${label}: could not read the provider configuration: ${(error as Error).message}\n`);
        }
        return configure.call(this, call, callback);
      },
  });
}

/**
 * One setting of package `pkg`, in the real providers' order of precedence: the Configure variable
 * (`<pkg>:config:<key>`, then `<pkg>:<key>`), the Configure arg `<key>`, then the environment
 * variables in the order given. Empty values count as unset. Trimmed.
 */
export function configValue(
  pkg: string,
  key: string,
  record: ConfigureRecord | undefined,
  env: NodeJS.ProcessEnv,
  environmentVariables: readonly string[],
): string | undefined {
  const candidates = [
    record?.variables[`${pkg}:config:${key}`],
    record?.variables[`${pkg}:${key}`],
    record?.args[key],
    ...environmentVariables.map((name) => env[name]),
  ];
  const value = candidates.find((candidate): candidate is string => typeof candidate === "string" && candidate.trim() !== "");
  return value?.trim();
}
