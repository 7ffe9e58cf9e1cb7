/**
 * The provider configuration (azuread:metadataHost, clientId, clientSecret, tenantId, environment).
 *
 * The generic provider server in @pulumi/pulumi (provider/server.js) answers Configure without
 * passing the request on to the Provider object, so the configuration would be lost. Before the
 * server starts, `installConfigureCapture` wraps the SDK's Configure handler (sdk-server.ts), so that the Configure handler records the request's variables and args, then runs
 * unchanged. Nothing recorded here is ever logged; the client secret stays in this process's memory.
 *
 * Precedence is that of the real provider: provider configuration first, then the ARM_* variables.
 */
import { sdkGrpcModule, wrapServerHandlers } from "./sdk-server";
import { Plain, unwrapSecrets } from "./values";

export interface AzureadConfig {
  readonly metadataHost?: string;
  readonly environment?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly tenantId?: string;
}

/** The keys of the configuration, as in `azuread:<key>`. */
const configKeys = ["metadataHost", "environment", "clientId", "clientSecret", "tenantId"] as const;
type ConfigKey = (typeof configKeys)[number];

const environmentVariables: Record<ConfigKey, string> = {
  metadataHost: "ARM_METADATA_HOSTNAME",
  environment: "ARM_ENVIRONMENT",
  clientId: "ARM_CLIENT_ID",
  clientSecret: "ARM_CLIENT_SECRET",
  tenantId: "ARM_TENANT_ID",
};

/** What the last Configure call carried. */
interface ConfigureRecord {
  readonly variables: Record<string, string>;
  readonly args: Plain;
}

let lastConfigure: ConfigureRecord | undefined;

/** The subset of a ConfigureRequest (pulumirpc) that is read here. */
interface ConfigureRequestLike {
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

/** Forgets what was recorded (tests). */
export function resetCapturedConfigure(): void {
  lastConfigure = undefined;
}

const captureMarker = Symbol.for("dataverse-s2s.azuread.configureCapture");

/** Records each Configure request before the SDK's handler runs (wrapServerHandlers). */
export function installConfigureCapture(grpc: typeof import("@grpc/grpc-js") = sdkGrpcModule()): void {
  wrapServerHandlers(grpc, captureMarker, {
    configure: (configure) =>
      function (this: unknown, call, callback) {
        try {
          recordConfigure((call as { request: ConfigureRequestLike }).request);
        } catch (error) {
          process.stderr.write(`azuread (offline stand-in): could not read the provider configuration: ${(error as Error).message}\n`);
        }
        return configure.call(this, call, callback);
      },
  });
}

/** The configuration from the last Configure call (if any) and the environment. */
export function capturedConfig(env: NodeJS.ProcessEnv = process.env): AzureadConfig {
  return resolveConfig(lastConfigure?.variables ?? {}, lastConfigure?.args ?? {}, env);
}

/**
 * Merges the Configure variables (`azuread:config:<key>`), the Configure args (`<key>`) and the
 * ARM_* environment variables, in that order of precedence. Empty values count as unset.
 */
export function resolveConfig(variables: Record<string, string>, args: Plain, env: NodeJS.ProcessEnv): AzureadConfig {
  const result: Record<string, string> = {};
  for (const key of configKeys) {
    const candidates = [variables[`azuread:config:${key}`], variables[`azuread:${key}`], args[key], env[environmentVariables[key]]];
    const value = candidates.find((candidate): candidate is string => typeof candidate === "string" && candidate.trim() !== "");
    if (value !== undefined) result[key] = value.trim();
  }
  return result;
}
