/**
 * The provider configuration of azure-native v3 (`azure-native:<key>` or its environment variable),
 * recorded from Configure by the shared capture (../shared/configure.ts). Precedence is the real
 * provider's `getConfig(configName, envName)` (provider/pkg/provider/provider.go): provider
 * configuration first, then the variable. The client secret stays in this process's memory.
 */
import { capturedConfigure, ConfigureRecord, configValue } from "../shared/configure";

export interface AzureNativeConfig {
  readonly subscriptionId?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly tenantId?: string;
  /** public (default), usgovernment or china; not used when a metadata host is set. */
  readonly environment?: string;
  /** Host of the cloud's metadata service (`/metadata/endpoints`), for a custom cloud. */
  readonly metadataHost?: string;
  /** Default location of resources that take one, when neither the program nor the old state gives one. */
  readonly location?: string;
}

/** Each key and its environment variables (readAuthConfig and getCloud in auth_azidentity.go). */
const keys: Readonly<Record<keyof AzureNativeConfig, readonly string[]>> = {
  subscriptionId: ["ARM_SUBSCRIPTION_ID"],
  clientId: ["ARM_CLIENT_ID"],
  clientSecret: ["ARM_CLIENT_SECRET"],
  tenantId: ["ARM_TENANT_ID"],
  environment: ["ARM_ENVIRONMENT", "AZURE_ENVIRONMENT"],
  metadataHost: ["ARM_METADATA_HOSTNAME"],
  // getDefaultLocation reads k.config["location"] only: no variable.
  location: [],
};

export function resolveConfig(record: ConfigureRecord | undefined, env: NodeJS.ProcessEnv): AzureNativeConfig {
  const result: Record<string, string> = {};
  for (const [key, variables] of Object.entries(keys)) {
    const value = configValue("azure-native", key, record, env, variables);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

/** The configuration from the last Configure call (if any) and the environment. */
export function capturedConfig(env: NodeJS.ProcessEnv = process.env): AzureNativeConfig {
  return resolveConfig(capturedConfigure(), env);
}
