/**
 * `npm run demo`: the stack for real against the bundled offline emulator.
 *
 * Starts the emulator (state kept in .pulumi-local/ so that re-runs converge), selects or creates
 * stack `local` in the state backend (PULUMI_BACKEND_URL when set, else a local file backend;
 * `--backend azblob`: Pulumi's azblob:// backend on Azurite), runs `pulumi up --yes`, prints the
 * integration's connection values (secret masked unless --show-secret), proves them by taking a
 * token as the new app and calling WhoAmI, then checks `pulumi preview --refresh
 * --expect-no-changes`. --destroy tears the stack down at the end. Exits non-zero on any failure;
 * the emulator (and Azurite) are always stopped.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Command, Option } from "commander";
import { startEmulator } from "../emulator";
import { readBlobs, RunningAzurite, startAzurite } from "./azurite";
import { azuriteStateBackend, chooseStateBackend, explainStackLock, fileStateBackend, StateBackend } from "./state-backend";
import { emulatorRunEnvironment, localStackPassphrase, repoRoot } from "./emulator-environment";
import { connectionOutputNames, whoAmIAs } from "./verify-connection";

const stateDir = path.join(repoRoot, ".pulumi-local");
const stackName = "local";
/** The demo's container in Azurite (`--backend azblob`). */
const demoContainer = "pulumi-state";

const program = new Command()
  .name("npm run demo --")
  .description("Run the dataverse-s2s stack against the bundled offline emulator")
  .option("--destroy", "tear the stack down at the end (pulumi destroy)", false)
  .option("--show-secret", "print the client secret in clear text", false)
  .addOption(
    new Option(
      "--backend <kind>",
      "state backend: 'file' (.pulumi-local/state) or 'azblob' (Azurite under .pulumi-local/azurite); default: PULUMI_BACKEND_URL if set, else file",
    ).choices(["file", "azblob"]),
  )
  .parse();
const options = program.opts<{ destroy: boolean; showSecret: boolean; backend?: "file" | "azblob" }>();

function emulatorPort(): number {
  const stackFile = fs.readFileSync(path.join(repoRoot, "Pulumi.local.yaml"), "utf8");
  const match = /dataverse-s2s:environmentUrl:\s*https:\/\/localhost:(\d+)/.exec(stackFile);
  if (!match) throw new Error("Pulumi.local.yaml must set dataverse-s2s:environmentUrl to https://localhost:<port> (the emulator's port).");
  return Number(match[1]);
}

/** Runs the CLI; its stderr goes to ours and is kept to tell a held stack lock from other failures. */
function pulumi(args: string[], env: NodeJS.ProcessEnv, capture = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", args, { cwd: repoRoot, env, stdio: ["ignore", capture ? "pipe" : "inherit", "pipe"] });
    let output = "";
    let errors = "";
    child.stdout?.on("data", (chunk) => (output += chunk));
    child.stderr?.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      errors = (errors + chunk.toString("utf8")).slice(-65536);
    });
    child.on("error", (error) => reject(new Error(`could not start 'pulumi' (${error.message}); run 'npm run toolchain' first`)));
    child.on("exit", (code) => {
      if (code === 0) resolve(output);
      else reject(explainStackLock(new Error(`'pulumi ${args.join(" ")}' exited with ${code}`), stackName, errors));
    });
  });
}

/** The backend the demo's runs use, and Azurite when that is where it lives. */
async function openStateBackend(): Promise<{ backend: StateBackend; azurite?: RunningAzurite }> {
  const fileDir = path.join(stateDir, "state");
  if (options.backend === "file") return { backend: fileStateBackend(fileDir) };
  if (options.backend !== "azblob") return { backend: chooseStateBackend(fileDir) };
  // Blobs on disk under .pulumi-local/, like the emulator's data, so that re-runs converge.
  const log = fs.createWriteStream(path.join(stateDir, "azurite.log"), { flags: "a" });
  const azurite = await startAzurite({ location: path.join(stateDir, "azurite"), log: (line) => log.write(`${line}\n`) });
  await azurite.ensureContainer(demoContainer);
  return { backend: azuriteStateBackend(azurite, demoContainer), azurite };
}

const mask = (secret: string) => `${secret.slice(0, 3)}${"*".repeat(Math.max(secret.length - 3, 0))}`;

async function main() {
  const started = Date.now();
  const step = (message: string) => console.log(`\n==> ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  fs.mkdirSync(path.join(stateDir, "state"), { recursive: true });
  const logFile = fs.createWriteStream(path.join(stateDir, "emulator.log"), { flags: "a" });

  step(`starting the emulator on port ${emulatorPort()} (log: .pulumi-local/emulator.log)`);
  const emulator = await startEmulator({
    port: emulatorPort(),
    stateFile: path.join(stateDir, "emulator-state.json"),
    log: (line) => logFile.write(`${line}\n`),
  });
  const counters = async () => emulator.requests();
  const resetCounters = async () => emulator.resetRequests();
  let azurite: RunningAzurite | undefined;
  try {
    if (options.backend === "azblob") step("starting Azurite (blobs in .pulumi-local/azurite, log: .pulumi-local/azurite.log)");
    const state = await openStateBackend();
    azurite = state.azurite;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...emulatorRunEnvironment(emulator),
      ...state.backend.env,
      PULUMI_CONFIG_PASSPHRASE: localStackPassphrase,
    };
    const requestCounts: Record<string, unknown> = {};

    step(`selecting stack '${stackName}' (${state.backend.description})`);
    await pulumi(["stack", "select", stackName, "--create", "--non-interactive"], env);

    step("pulumi up --yes");
    await resetCounters();
    await pulumi(["up", "--yes", "--non-interactive"], env);
    requestCounts.up = (await counters()).services;

    const outputs = JSON.parse(await pulumi(["stack", "output", "--json", "--show-secrets"], env, true)) as Record<string, string>;
    step("connection values for the integration (what a connection dialog asks for)");
    for (const key of connectionOutputNames) {
      const value = key === "clientSecret" && !options.showSecret ? `${mask(outputs[key])}  (--show-secret to print it)` : outputs[key];
      console.log(`  ${key.padEnd(18)} ${value}`);
    }

    step("proving the credential: token as the new app, then WhoAmI");
    const whoAmI = await whoAmIAs(
      {
        environmentUrl: outputs.environmentUrl,
        tenantId: outputs.tenantId,
        clientId: outputs.clientId,
        clientSecret: outputs.clientSecret,
      },
      emulator.authorityHost,
    );
    if (whoAmI.UserId.toLowerCase() !== outputs.applicationUserId.toLowerCase()) {
      throw new Error(`WhoAmI answered user ${whoAmI.UserId}, not the application user ${outputs.applicationUserId}`);
    }
    console.log(`  WhoAmI: UserId ${whoAmI.UserId} = applicationUserId: the integration can connect.`);

    step("pulumi preview --refresh --expect-no-changes (drift check)");
    await resetCounters();
    await pulumi(["preview", "--refresh", "--expect-no-changes", "--non-interactive"], env);
    requestCounts.previewRefresh = (await counters()).services;

    if (options.destroy) {
      step("pulumi destroy --yes");
      await resetCounters();
      await pulumi(["destroy", "--yes", "--non-interactive"], env);
      requestCounts.destroy = (await counters()).services;
    }
    if (azurite) {
      const stored = await readBlobs(azurite.container(demoContainer), `.pulumi/stacks/dataverse-s2s/${stackName}.json`);
      for (const [name, text] of stored) console.log(`  state: ${name} in container '${demoContainer}' (${text.length} bytes)`);
    }
    step(`done. Emulator requests per service: ${JSON.stringify(requestCounts)}`);
  } finally {
    await azurite?.stop();
    await emulator.stop();
    logFile.end();
  }
}

main().catch((error: unknown) => {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
