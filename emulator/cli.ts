// `npm run emulator -- [options]`: runs the emulator in the foreground and prints how to connect.
// `--ensure-ca` only makes sure the certificates exist and prints the CA file's path (test
// scripts export it as NODE_EXTRA_CA_CERTS before jest starts).
import { Command, InvalidArgumentError } from "commander";
import { DEFAULT_CLI_PORT } from "./config";
import { defaultPolicyFromFlags } from "./app-management-policies";
import { startEmulator } from "./server";
import { defaultTlsDir, ensureCertificates } from "./tls";

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}.`);
    return n;
  };
}

function rate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError("a probability between 0 and 1 is expected.");
  return n;
}

async function main(): Promise<void> {
  const program = new Command()
    .name("emulator")
    .description("Offline Entra ID + Microsoft Graph + Dataverse Web API emulator (see emulator/README.md)")
    .option("--port <port>", "TCP port (0 picks a free one)", int("--port", 0, 65535), DEFAULT_CLI_PORT)
    .option("--json", "print the connection details as one JSON line first", false)
    .option("--state-file <path>", "load state from this JSON file if it exists, save it after each change")
    .option("--tls-dir <dir>", "folder of the CA and server certificate", defaultTlsDir())
    .option("--ensure-ca", "only make sure the certificates exist, print the CA file path and exit", false)
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
    .option("--no-graph-permissions", "do not check the Graph application permissions of tokens")
    .option("--deployer-graph-permissions <list>", "comma-separated Graph application permissions of the deployer", (value: string) =>
      value
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    )
    .option(
      "--environments <count|names>",
      "Dataverse environments of the tenant: a count (env1, env2, ...) or comma-separated names (dev,test,prod), each on its own port",
      (value: string): number | string[] =>
        /^\d+$/.test(value.trim())
          ? Number(value)
          : value
              .split(",")
              .map((item) => item.trim())
              .filter((item) => item.length > 0),
    )
    .option(
      "--password-max-lifetime <duration>",
      "tenant app management policy: client secrets live at most this long (ISO 8601, e.g. P90D)",
    )
    .option("--block-passwords", "tenant app management policy: no new client secrets (certificates or federated credentials only)", false)
    .option("--quiet", "do not print request log lines", false);
  program.parse(process.argv);
  const o = program.opts<{
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
  }>();

  if (o.ensureCa) {
    const files = await ensureCertificates(o.tlsDir);
    process.stdout.write(`${files.caFile}\n`);
    return;
  }

  const emu = await startEmulator({
    port: o.port,
    tlsDir: o.tlsDir,
    stateFile: o.stateFile,
    environments: o.environments,
    latencyMs: o.latencyMs,
    faults: {
      rate429: o.rate429,
      rate503: o.rate503,
      rateDrop: o.rateDrop,
      pathPrefix: o.faultPathPrefix ?? null,
      seed: o.faultSeed ?? null,
    },
    serviceProtection: { enabled: o.serviceProtection },
    quirks: { newRoleSelfPrivileges: o.newRoleSelfPrivileges, addPrivilegesKeepsExistingDepth: o.addPrivilegesKeepsDepth },
    replicationLagMs: o.replicationLagMs,
    graphPageSize: o.graphPageSize,
    strict: { graphRequests: o.strictGraphRequests, dataverseActions: o.strictDataverseActions, graphPermissions: o.graphPermissions },
    ...(o.deployerGraphPermissions ? { deployerGraphPermissions: o.deployerGraphPermissions } : {}),
    defaultAppManagementPolicy: defaultPolicyFromFlags(o.passwordMaxLifetime, o.blockPasswords),
    log: o.quiet ? undefined : (line) => process.stdout.write(`${line}\n`),
  });

  const details = {
    environmentUrl: emu.environmentUrl,
    environments: emu.environments,
    authorityHost: emu.authorityHost,
    metadataHost: emu.metadataHost,
    graphUrl: emu.graphUrl,
    tenantId: emu.tenantId,
    clientId: emu.deployer.clientId,
    clientSecret: emu.deployer.clientSecret,
    deployerObjectId: emu.deployer.objectId,
    caFile: emu.caFile,
    port: emu.port,
    adminUrl: `${emu.url}/_emulator/`,
    env: emu.env,
  };
  if (o.json) process.stdout.write(`${JSON.stringify(details)}\n`);
  const lines = [
    `dataverse-s2s emulator listening on port ${emu.port}`,
    ...emu.environments.map((e) => `  environment URL   ${e.url}   (${e.name}; Web API: ${e.url}/api/data/v9.2/)`),
    `  authority host    ${emu.authorityHost}`,
    `  metadata host     ${emu.metadataHost}   (azuread:metadataHost)`,
    `  Graph             ${emu.graphUrl}`,
    `  tenant id         ${emu.tenantId}`,
    `  deployer client   ${emu.deployer.clientId}`,
    `  deployer secret   ${emu.deployer.clientSecret}   (an emulator credential)`,
    `  CA file           ${emu.caFile}`,
    `  admin API         ${emu.url}/_emulator/`,
    "",
    "Export in the shell that runs clients:",
    ...Object.entries(emu.env).map(([k, v]) => `  export ${k}='${v}'`),
    "",
    "Ctrl-C stops it.",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`received ${signal}, stopping\n`);
    emu.stop().then(
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

main().catch((err: Error) => {
  process.stderr.write(`emulator: ${err.message}\n`);
  process.exit(1);
});
