/**
 * Entry point of the offline stand-in for pulumi-resource-azuread (launched by
 * offline-plugins/bin/pulumi-resource-azuread). Offline runs only: against real Azure, use the real
 * plugin. See README.md.
 *
 * The engine reads the gRPC port from the first line this process writes to stdout, so nothing may
 * be printed to stdout before `main` does; notices go to stderr.
 */
import { main } from "@pulumi/pulumi/provider";
import { installConfigureCapture } from "./config";
import { installImportReadSupport } from "../shared/import-read";
import { installProviderPreview } from "./preview";
import { createAzureadProvider } from "./provider";

// Before main() creates its gRPC server, so that the Configure handler it registers is wrapped.
installConfigureCapture(undefined, "azuread (offline stand-in)");
// Reads by id alone (an import) would fail in the SDK's server without it.
installImportReadSupport();
// Previews of updates keep what an update cannot change known, as the bridged provider's do.
installProviderPreview();

main(createAzureadProvider(), process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`azuread (offline stand-in): ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
