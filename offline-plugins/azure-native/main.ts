/**
 * Entry point of the offline stand-in for pulumi-resource-azure-native (launched by
 * offline-plugins/bin/pulumi-resource-azure-native). Offline runs only: against real Azure, use the
 * real plugin. See README.md.
 *
 * The engine reads the gRPC port from the first line this process writes to stdout, so nothing may
 * be printed to stdout before `main` does; notices go to stderr.
 */
import { main } from "@pulumi/pulumi/provider";
import { installConfigureCapture } from "../shared/configure";
import { installImportReadSupport } from "../shared/import-read";
import { createAzureNativeProvider } from "./provider";
import { installRequestExtras } from "./request-extras";

// Before main() creates its gRPC server, so that the handlers it registers are wrapped.
installConfigureCapture(undefined, "azure-native (offline stand-in)");
installImportReadSupport();
installRequestExtras();

main(createAzureNativeProvider(), process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`azure-native (offline stand-in): ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
