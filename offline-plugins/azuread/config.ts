/**
 * The provider configuration (azuread:metadataHost, clientId, clientSecret, tenantId, environment),
 * recorded from Configure by the shared capture (../shared/configure.ts: the SDK's provider server
 * would otherwise drop it). Nothing recorded here is ever logged; the client secret stays in this
 * process's memory.
 *
 * Precedence is that of the real provider: provider configuration first, then the ARM_* variables.
 */
import { capturedConfigure, configValue } from "../shared/configure";
import { Plain } from "./values";

export { installConfigureCapture, recordConfigure, resetCapturedConfigure } from "../shared/configure";

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

/** The configuration from the last Configure call (if any) and the environment. */
export function capturedConfig(env: NodeJS.ProcessEnv = process.env): AzureadConfig {
  const record = capturedConfigure();
  return resolveConfig(record?.variables ?? {}, record?.args ?? {}, env);
}

/**
 * Merges the Configure variables (`azuread:config:<key>`), the Configure args (`<key>`) and the
 * ARM_* environment variables, in that order of precedence. Empty values count as unset.
 */
export function resolveConfig(variables: Record<string, string>, args: Plain, env: NodeJS.ProcessEnv): AzureadConfig {
  const result: Record<string, string> = {};
  for (const key of configKeys) {
    const value = configValue("azuread", key, { variables, args }, env, [environmentVariables[key]]);
    if (value !== undefined) result[key] = value;
  }
  return result;
}
