// `npm run azurite -- [--container <name>] [--location <dir>]`: Azurite in the foreground with a
// container ready for Pulumi's azblob:// backend; prints the variables that point any Pulumi run
// (`npm run demo`, `pulumi up`) at it. Ctrl-C stops it.
import * as path from "path";
import { Command } from "commander";
import { startAzurite } from "./azurite";
import { repoRoot } from "./emulator-environment";
import { azuriteStateBackend } from "./state-backend";

async function main() {
  const options = new Command()
    .name("npm run azurite --")
    .description("Azurite (Blob API) with a container for Pulumi state")
    .option("--container <name>", "container to create", "pulumi-state")
    .option("--location <dir>", "folder for the blobs (in memory if not given)")
    .parse()
    .opts<{ container: string; location?: string }>();
  const azurite = await startAzurite({
    location: options.location && path.resolve(repoRoot, options.location),
    log: (line) => console.error(`[azurite] ${line}`),
  });
  await azurite.ensureContainer(options.container);
  const backend = azuriteStateBackend(azurite, options.container);
  console.log(`# ${backend.description}. In another shell:`);
  for (const [name, value] of Object.entries(backend.env)) console.log(`export ${name}='${value}'`);
  const stop = () => void azurite.stop().then(() => process.exit(0));
  process.once("SIGINT", stop).once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(`azurite failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
