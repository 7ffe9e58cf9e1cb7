/**
 * How a Pulumi run reaches the emulator: the same variables a CI job sets for real Azure, with the
 * emulator's addresses, its deployer's credentials, and its private CA trusted by Node and Go.
 */
import * as path from "path";

export interface EmulatorConnection {
  readonly authorityHost: string;
  /** host:port of the cloud metadata document (Entra, Graph and ARM endpoints). */
  readonly metadataHost: string;
  readonly tenantId: string;
  readonly caFile: string;
  readonly deployer: { readonly clientId: string; readonly clientSecret: string };
  readonly azure: { readonly subscriptionId: string };
}

export const repoRoot = path.resolve(__dirname, "..");

/** The demo stack's secrets provider passphrase; it matches the salt committed in Pulumi.local.yaml. */
export const localStackPassphrase = "dataverse-s2s-local-emulator";

/** Environment for `pulumi` and its plugins; secrets travel in variables, never in config or state. */
export function emulatorRunEnvironment(emulator: EmulatorConnection): Record<string, string> {
  return {
    // Dataverse calls of the dynamic providers (DefaultAzureCredential -> EnvironmentCredential).
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: emulator.deployer.clientId,
    AZURE_CLIENT_SECRET: emulator.deployer.clientSecret,
    // The azuread provider's secret (its tenant, client id and metadata host are stack config).
    ARM_CLIENT_SECRET: emulator.deployer.clientSecret,
    // The azure-native provider (Key Vault export) as a CI job configures it: the deployer in the
    // seeded subscription, ARM found through the emulator's metadata (provider config would win).
    ARM_SUBSCRIPTION_ID: emulator.azure.subscriptionId,
    ARM_TENANT_ID: emulator.tenantId,
    ARM_CLIENT_ID: emulator.deployer.clientId,
    ARM_METADATA_HOSTNAME: emulator.metadataHost,
    // Trust the emulator's private CA: Node (plugins, dynamic providers) and Go (the engine).
    NODE_EXTRA_CA_CERTS: emulator.caFile,
    SSL_CERT_FILE: emulator.caFile,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // The program is type-checked once by `npm run typecheck` (CI runs it before the tests); offline
    // runs skip ts-node's second check of it, a quarter of each run's CPU on two cores.
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}
