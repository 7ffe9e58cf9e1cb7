/**
 * dataverse-s2s stack: one server-to-server identity per configured integration, in the environment
 * given by `dataverse-s2s:environmentUrl`. A consumer of the package's entry point (library.ts), as any
 * other Pulumi program would be: it resolves `dataverse-s2s` to this repository's compiled build
 * (`npm ci` builds it and links it into node_modules).
 */
import { startProviderPlugins } from "dataverse-s2s/provider-plugins";

// First, before the package loads: the engine starts the provider plugins meanwhile (README, "Using it
// as a package").
startProviderPlugins();

export = async () => (await import("dataverse-s2s")).stackFromConfig();
