// `npm run emulator -- [options]`: runs the emulator in the foreground and prints how to connect.
// `--ensure-ca` only makes sure the certificates exist and prints the CA file's path (test
// scripts export it as NODE_EXTRA_CA_CERTS before jest starts).
import { Command, InvalidArgumentError } from "commander";
import { DEFAULT_CLI_PORT, type EmulatorOptions } from "./config";
import { defaultPolicyFromFlags } from "./app-management-policies";
import { startEmulator, type RunningEmulator } from "./server";
import { defaultTlsDir, ensureCertificates } from "./tls";

/** The parsed command line (commander names each option after its flag, in camel case). */
interface CliOptions {
  port: number;
  json: boolean;
  stateFile?: string;
  tlsDir: string;
  ensureCa: boolean;
  latencyMs: number;
  rate429: number;
  rate503: number;
  rateDrop: number;
  faultPathPrefix?: string;
  faultSeed?: number;
  serviceProtection: boolean;
  newRoleSelfPrivileges: boolean;
  addPrivilegesKeepsDepth: boolean;
  quiet: boolean;
  replicationLagMs: number;
  graphPageSize: number;
  strictGraphRequests: boolean;
  strictDataverseActions: boolean;
  graphPermissions: boolean;
  deployerGraphPermissions?: string[];
  environments?: number | string[];
  passwordMaxLifetime?: string;
  blockPasswords: boolean;
}

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max)
      throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}.`);
    return parsed;
  };
}

function rate(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) throw new InvalidArgumentError("a probability between 0 and 1 is expected.");
  return parsed;
}

function commaList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** Where it listens and keeps its files. */
function addServerOptions(program: Command): Command {
  return program
    .option("--port <port>", "TCP port (0 picks a free one)", int("--port", 0, 65535), DEFAULT_CLI_PORT)
    .option("--json", "print the connection details as one JSON line first", false)
    .option("--state-file <path>", "load state from this JSON file if it exists, save it after each change")
    .option("--tls-dir <dir>", "folder of the CA and server certificate", defaultTlsDir())
    .option("--ensure-ca", "only make sure the certificates exist, print the CA file path and exit", false);
}

/** Latency, faults, service protection, quirks and replication lag. */
function addBehaviourOptions(program: Command): Command {
  return program
    .option("--latency-ms <ms>", "delay added to every request", int("--latency-ms", 0, 600000), 0)
    .option("--rate-429 <p>", "probability of an injected 429", rate, 0)
    .option("--rate-503 <p>", "probability of an injected 503", rate, 0)
    .option("--rate-drop <p>", "probability of a dropped connection", rate, 0)
    .option("--fault-path-prefix <prefix>", "inject faults only under this path prefix (e.g. /api/data)")
    .option("--fault-seed <n>", "seed of the fault dice: the same seed replays the same faults", int("--fault-seed", 0, 0xffffffff))
    .option("--service-protection", "enforce Dataverse service protection limits", false)
    .option("--no-new-role-self-privileges", "turn off the quirk: new roles get privileges of their own")
    .option("--no-add-privileges-keeps-depth", "turn off the quirk: AddPrivilegesRole keeps an existing depth")
    .option(
      "--replication-lag-ms <ms>",
      "how long new objects, secrets and removals take to replicate",
      int("--replication-lag-ms", 0, 600000),
      0,
    )
    .option("--graph-page-size <n>", "items per Graph list page before @odata.nextLink", int("--graph-page-size", 1, 999), 100)
    .option("--no-strict-graph-requests", "accept unknown Graph properties, $select names and $count without ConsistencyLevel")
    .option("--no-strict-dataverse-actions", "accept unknown Dataverse action parameters and any privilege depth")
    .option("--no-graph-permissions", "do not check the Graph application permissions of tokens");
}

/** The tenant: the deployer's Graph permissions, the environments, the app management policy. */
function addTenantOptions(program: Command): Command {
  return program
    .option("--deployer-graph-permissions <list>", "comma-separated Graph application permissions of the deployer", commaList)
    .option(
      "--environments <count|names>",
      "Dataverse environments of the tenant: a count (env1, env2, ...) or comma-separated names (dev,test,prod), each on its own port",
      (value: string): number | string[] => (/^\d+$/.test(value.trim()) ? Number(value) : commaList(value)),
    )
    .option(
      "--password-max-lifetime <duration>",
      "tenant app management policy: client secrets live at most this long (ISO 8601, e.g. P90D)",
    )
    .option("--block-passwords", "tenant app management policy: no new client secrets (certificates or federated credentials only)", false);
}

function parseCommandLine(argv: string[]): CliOptions {
  const program = new Command()
    .name("emulator")
    .description("Offline Entra ID + Microsoft Graph + Dataverse Web API emulator (see emulator/README.md)");
  addTenantOptions(addBehaviourOptions(addServerOptions(program))).option("--quiet", "do not print request log lines", false);
  program.parse(argv);
  return program.opts<CliOptions>();
}

function startOptions(options: CliOptions): EmulatorOptions {
  return {
    port: options.port,
    tlsDir: options.tlsDir,
    stateFile: options.stateFile,
    environments: options.environments,
    latencyMs: options.latencyMs,
    faults: {
      rate429: options.rate429,
      rate503: options.rate503,
      rateDrop: options.rateDrop,
      pathPrefix: options.faultPathPrefix ?? null,
      seed: options.faultSeed ?? null,
    },
    serviceProtection: { enabled: options.serviceProtection },
    quirks: { newRoleSelfPrivileges: options.newRoleSelfPrivileges, addPrivilegesKeepsExistingDepth: options.addPrivilegesKeepsDepth },
    replicationLagMs: options.replicationLagMs,
    graphPageSize: options.graphPageSize,
    strict: {
      graphRequests: options.strictGraphRequests,
      dataverseActions: options.strictDataverseActions,
      graphPermissions: options.graphPermissions,
    },
    ...(options.deployerGraphPermissions ? { deployerGraphPermissions: options.deployerGraphPermissions } : {}),
    defaultAppManagementPolicy: defaultPolicyFromFlags(options.passwordMaxLifetime, options.blockPasswords),
    log: options.quiet ? undefined : (line) => process.stdout.write(`${line}\n`),
  };
}

/** The --json line: what a script needs to connect. */
function connectionDetails(emulator: RunningEmulator): Record<string, unknown> {
  return {
    environmentUrl: emulator.environmentUrl,
    environments: emulator.environments,
    authorityHost: emulator.authorityHost,
    metadataHost: emulator.metadataHost,
    graphUrl: emulator.graphUrl,
    tenantId: emulator.tenantId,
    clientId: emulator.deployer.clientId,
    clientSecret: emulator.deployer.clientSecret,
    deployerObjectId: emulator.deployer.objectId,
    caFile: emulator.caFile,
    port: emulator.port,
    adminUrl: `${emulator.url}/_emulator/`,
    resourceManagerUrl: emulator.resourceManagerUrl,
    azure: emulator.azure,
    managedIdentity: emulator.managedIdentity,
    env: emulator.env,
  };
}

/** The same details for a person. */
function connectionText(emulator: RunningEmulator): string {
  const lines = [
    `dataverse-s2s emulator listening on port ${emulator.port}`,
    ...emulator.environments.map(
      (environment) => `  environment URL   ${environment.url}   (${environment.name}; Web API: ${environment.url}/api/data/v9.2/)`,
    ),
    `  authority host    ${emulator.authorityHost}`,
    `  metadata host     ${emulator.metadataHost}   (azuread:metadataHost)`,
    `  Graph             ${emulator.graphUrl}`,
    `  tenant id         ${emulator.tenantId}`,
    `  deployer client   ${emulator.deployer.clientId}`,
    `  deployer secret   ${emulator.deployer.clientSecret}   (an emulator credential)`,
    `  CA file           ${emulator.caFile}`,
    `  admin API         ${emulator.url}/_emulator/`,
    `  ARM               ${emulator.resourceManagerUrl}/subscriptions/${emulator.azure.subscriptionId}   (token scope https://management.azure.com/.default)`,
    `  Key Vault         ${emulator.azure.vaultUri}   (vault ${emulator.azure.vaultName}; token scope https://vault.azure.net/.default)`,
    `  identity endpoint ${emulator.managedIdentity.endpoint}   (IDENTITY_HEADER=${emulator.managedIdentity.header})`,
    "",
    "Export in the shell that runs clients:",
    ...Object.entries(emulator.env).map(([name, value]) => `  export ${name}='${value}'`),
    "",
    "Ctrl-C stops it.",
  ];
  return `${lines.join("\n")}\n`;
}

/** Ctrl-C or SIGTERM stops the emulator (saving its state file) and exits. */
function stopOnSignals(emulator: RunningEmulator): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`received ${signal}, stopping\n`);
    emulator.stop().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`emulator stop failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

async function main(): Promise<void> {
  const options = parseCommandLine(process.argv);
  if (options.ensureCa) {
    const files = await ensureCertificates(options.tlsDir);
    process.stdout.write(`${files.caFile}\n`);
    return;
  }
  const emulator = await startEmulator(startOptions(options));
  if (options.json) process.stdout.write(`${JSON.stringify(connectionDetails(emulator))}\n`);
  process.stdout.write(connectionText(emulator));
  stopOnSignals(emulator);
}

main().catch((err: Error) => {
  process.stderr.write(`emulator: ${err.message}\n`);
  process.exit(1);
});
