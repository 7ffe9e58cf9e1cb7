// The emulator's public API: start it in-process, or ensure its certificates for a script.
export { startEmulator } from "./server";
export type { RunningEmulator, DeployerCredentials } from "./server";
export type { EmulatorOptions, EmulatorConfig, EmulatorConfigPatch, FaultConfig, ServiceProtectionConfig, QuirksConfig } from "./config";
export { DEFAULT_CLI_PORT, defaultConfig } from "./config";
export type { RequestCounters, UnsupportedRequest } from "./admin";
export { ensureCertificates, defaultTlsDir } from "./tls";
export type { TlsFiles } from "./tls";
export { SEEDED_IDS } from "./seed";
export { DataverseErrorCode } from "./errors";
