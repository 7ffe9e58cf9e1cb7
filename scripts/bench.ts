/**
 * `npm run bench`: what a deployment costs, measured through the real engine against the emulator
 * with injected latency (default 80 ms per request, as a far-away region would add).
 *
 * For each scale (1 integration, and 20 integrations sharing one role) it runs, on a fresh stack:
 *   up                 fresh `pulumi up`
 *   preview-refresh    no-change `pulumi preview --refresh`
 *   drift-repair       a privilege removed from the role and one user disabled by hand, then
 *                      `pulumi up --refresh` (the repair command the README names)
 *   destroy            `pulumi destroy`
 * and records per phase: wall seconds, emulator requests per service and per operation (a Dataverse
 * $batch is one HTTP request; the requests it carried are counted apart, as `batchOperations`),
 * Entra token requests, and the stack's state size (total and largest resource per type).
 *
 * Prints a table, the targets checked against the figures, then, last, one JSON line with
 * every figure. Timings are from one run on this machine: compare ratios within a run, not numbers
 * across machines.
 *
 * `--compare-with [revision]` runs instead this checkout beside an earlier revision, for plugin
 * start, up and preview --refresh of one integration (scripts/bench-compare.ts).
 */
import { Command, Option } from "commander";
import { privilegeEntries } from "../dynamic-providers/shared/privileges";
import { startTestEmulator, TestEmulator } from "../tests/support/emulator";
import { createTestProject, TestProject } from "../tests/support/pulumi-project";
import { defaultBaseRevision, runComparison } from "./bench-compare";
import { printTable, printTargets, TargetCheck } from "./bench-support";

interface PhaseFigures {
  readonly phase: string;
  readonly integrations: number;
  readonly wallSeconds: number;
  readonly requestsPerService: Record<string, number>;
  readonly requestsPerOperation: Record<string, number>;
  /** Requests carried inside Dataverse $batch requests, per operation. */
  readonly batchOperations: Record<string, number>;
  readonly tokenRequests: number;
  /** Dynamic resources that read Dataverse (role, user, existing role, environment check) in state. */
  readonly dataverseResources: number;
  readonly stateBytes: number;
  /** Resource type -> bytes of its largest resource in state. */
  readonly largestResourceBytes: Record<string, number>;
}

const program = new Command()
  .name("npm run bench --")
  .description("Measure up, preview --refresh, drift repair and destroy against the emulator with latency")
  .option("--latency-ms <ms>", "latency the emulator adds to every request", (value) => Number(value), 80)
  .option("--scales <list>", "numbers of integrations to run, comma separated", "1,20")
  .addOption(
    new Option(
      "--compare-with [revision]",
      "instead: plugin start, up and preview --refresh of 1 integration, this checkout beside that revision's code",
    ).preset(defaultBaseRevision),
  )
  .option("--runs <n>", "with --compare-with: runs of each checkout, alternating (medians)", (value) => Number(value), 3)
  .parse();
const options = program.opts<{ latencyMs: number; scales: string; compareWith?: string; runs: number }>();

function integrationsConfig(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => ({ name: `bench-${String(index + 1).padStart(2, "0")}` }));
}

const dataverseResourceTypes = ["ClonedSecurityRole", "ApplicationUser", "ExistingSecurityRole", "EnvironmentCheck"];

async function stateFigures(
  project: TestProject,
): Promise<{ stateBytes: number; largestResourceBytes: Record<string, number>; dataverseResources: number }> {
  const deployment = await project.stack.exportStack();
  const resources = (deployment.deployment as { resources?: { type: string }[] }).resources ?? [];
  const largestResourceBytes: Record<string, number> = {};
  for (const resource of resources) {
    const bytes = Buffer.byteLength(JSON.stringify(resource));
    largestResourceBytes[resource.type] = Math.max(largestResourceBytes[resource.type] ?? 0, bytes);
  }
  const dataverseResources = resources.filter((resource) => dataverseResourceTypes.includes(resource.type.split(":").pop() ?? "")).length;
  return { stateBytes: Buffer.byteLength(JSON.stringify(deployment)), largestResourceBytes, dataverseResources };
}

/** Token requests are the Entra service's POSTs to a token endpoint. */
function countTokenRequests(operations: Record<string, number>): number {
  return Object.entries(operations)
    .filter(([operation]) => /token/i.test(operation))
    .reduce((sum, [, count]) => sum + count, 0);
}

async function measure(
  test: TestEmulator,
  project: TestProject,
  phase: string,
  integrations: number,
  run: () => Promise<unknown>,
): Promise<PhaseFigures> {
  // The state is read before the phase too: after destroy it is empty, and the resources that were read count.
  const before = await stateFigures(project);
  test.emulator.resetRequests();
  const started = process.hrtime.bigint();
  await run();
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const counters = test.emulator.requests();
  const after = await stateFigures(project);
  return {
    phase,
    integrations,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    requestsPerService: counters.services,
    requestsPerOperation: counters.operations,
    batchOperations: counters.batchOperations ?? {},
    tokenRequests: countTokenRequests(counters.operations),
    stateBytes: after.stateBytes,
    largestResourceBytes: after.largestResourceBytes,
    dataverseResources: Math.max(before.dataverseResources, after.dataverseResources),
  };
}

/** Drift as an admin makes it in the UI: a privilege taken from the role, one user disabled. */
async function makeDrift(test: TestEmulator, outputs: Record<string, { value: unknown }>): Promise<void> {
  const integrations = outputs.integrations.value as Record<string, { securityRoleId: string; applicationUserId: string }>;
  const first = Object.values(integrations)[0];
  const client = test.dataverse();
  const privilege = (await client.rolePrivileges(first.securityRoleId)).find((entry) => entry.name === "prvWriteContact");
  if (!privilege) throw new Error("the role has no prvWriteContact to remove");
  await test.removePrivilege(first.securityRoleId, privilege.privilegeId);
  await client.updateUser(first.applicationUserId, { isdisabled: true }, "disable application user (bench drift)");
  if (privilegeEntries(await client.rolePrivileges(first.securityRoleId)).includes(`prvWriteContact:${privilege.depth}`)) {
    throw new Error("the drift was not made");
  }
}

async function runScale(integrations: number): Promise<PhaseFigures[]> {
  const test = await startTestEmulator({ latencyMs: options.latencyMs });
  const project = await createTestProject(test.emulator, `bench-${integrations}`, integrationsConfig(integrations));
  try {
    const figures: PhaseFigures[] = [];
    const log = (line: string) => process.stderr.write(`[bench ${integrations}] ${line}\n`);
    log("up");
    figures.push(await measure(test, project, "up", integrations, () => project.stack.up()));
    log("preview --refresh");
    figures.push(
      await measure(test, project, "preview-refresh", integrations, () => project.stack.preview({ refresh: true, expectNoChanges: true })),
    );
    await makeDrift(test, await project.stack.outputs());
    log("drift repair: up --refresh");
    figures.push(await measure(test, project, "drift-repair", integrations, () => project.stack.up({ refresh: true })));
    log("destroy");
    figures.push(await measure(test, project, "destroy", integrations, () => project.stack.destroy()));
    return figures;
  } finally {
    project.cleanUp();
    await test.stop();
  }
}

function printFigures(figures: readonly PhaseFigures[]): void {
  const header = [
    "integrations",
    "phase",
    "wall s",
    "entra",
    "graph",
    "dataverse",
    "in $batch",
    "tokens",
    "state KB",
    "largest dynamic resource (KB)",
  ];
  const rows = figures.map((figure) => {
    const dynamic = Object.entries(figure.largestResourceBytes).filter(([type]) => type.includes(":dynamic/"));
    const [largestType, largestBytes] = dynamic.sort((a, b) => b[1] - a[1])[0] ?? ["-", 0];
    return [
      String(figure.integrations),
      figure.phase,
      figure.wallSeconds.toFixed(1),
      String(figure.requestsPerService.entra ?? 0),
      String(figure.requestsPerService.graph ?? 0),
      String(figure.requestsPerService.dataverse ?? 0),
      String(Object.values(figure.batchOperations).reduce((sum, count) => sum + count, 0)),
      String(figure.tokenRequests),
      (figure.stateBytes / 1024).toFixed(1),
      largestBytes === 0 ? "-" : `${(largestBytes / 1024).toFixed(1)} ${largestType.split(":").pop()}`,
    ];
  });
  printTable(header, rows);
}

/** Requests (alone or inside a $batch) whose operation matches, e.g. the role's privilege writes. */
function countOperations(figure: PhaseFigures, pattern: RegExp): number {
  return [...Object.entries(figure.requestsPerOperation), ...Object.entries(figure.batchOperations)]
    .filter(([operation]) => pattern.test(operation))
    .reduce((sum, [, count]) => sum + count, 0);
}

/** The targets, each a count or a ratio from this run. */
function checkTargets(figures: readonly PhaseFigures[]): TargetCheck[] {
  const find = (integrations: number, phase: string) => figures.find((f) => f.integrations === integrations && f.phase === phase);
  const dataverse = (figure: PhaseFigures) => figure.requestsPerService.dataverse ?? 0;
  const checks: TargetCheck[] = [];
  const largestDynamic = Math.max(
    0,
    ...figures.flatMap((f) =>
      Object.entries(f.largestResourceBytes)
        .filter(([type]) => type.includes(":dynamic/"))
        .map(([, bytes]) => bytes),
    ),
  );
  checks.push({
    target: "every dynamic resource <= 16 KB in state",
    measured: `largest ${(largestDynamic / 1024).toFixed(1)} KB`,
    met: largestDynamic <= 16 * 1024,
  });
  const up1 = find(1, "up");
  if (up1)
    checks.push({
      target: "fresh up of 1 integration <= 10 Dataverse requests",
      measured: String(dataverse(up1)),
      met: dataverse(up1) <= 10,
    });
  for (const figure of figures) {
    // Process and audience pairs that ask for a token: the provider host (Dataverse and Graph) and the
    // azuread plugin (Graph); in a preview also the program, which checks for a Dataverse credential
    // (dynamic-providers/environment-check/). The counters cannot tell processes apart: this is the bound.
    const pairs = figure.phase === "preview-refresh" ? 4 : 3;
    checks.push({
      target: `${figure.integrations}/${figure.phase}: token requests <= 1 per process and audience (${pairs} pairs)`,
      measured: String(figure.tokenRequests),
      met: figure.tokenRequests <= pairs,
    });
  }
  for (const figure of figures.filter((f) => f.phase === "preview-refresh")) {
    const perResource = dataverse(figure) / Math.max(1, figure.dataverseResources);
    checks.push({
      target: `${figure.integrations}/preview --refresh: <= 2 Dataverse reads per dynamic resource`,
      measured: `${dataverse(figure)} for ${figure.dataverseResources} resources = ${perResource.toFixed(2)}`,
      met: perResource <= 2,
    });
  }
  const scales = [...new Set(figures.map((f) => f.integrations))].sort((a, b) => a - b);
  const [small, large] = [scales[0], scales[scales.length - 1]];
  const upSmall = find(small, "up");
  const upLarge = find(large, "up");
  if (upSmall && upLarge && large > small) {
    const ratio = upLarge.wallSeconds / upSmall.wallSeconds;
    checks.push({ target: `up wall time: ${large} integrations <= 3x ${small}`, measured: `${ratio.toFixed(2)}x`, met: ratio <= 3 });
    const perAdded = (dataverse(upLarge) - dataverse(upSmall)) / (large - small);
    const userCost = applicationUserRequests(upSmall) / small;
    checks.push({
      target: `up: Dataverse requests grow only by the per-user cost (${userCost} in the 1-integration run)`,
      measured: `${perAdded.toFixed(2)} per added integration`,
      met: perAdded <= userCost,
    });
    const roleWrites = countOperations(upLarge, /ReplacePrivilegesRole|POST roles$/);
    checks.push({
      target: `up of ${large}: the shared role is created and its privileges written once`,
      measured: `${roleWrites} role writes (POST roles, ReplacePrivilegesRole)`,
      met: roleWrites === 2,
    });
  }
  return checks;
}

/**
 * What one application user costs in an up: its create (POST systemusers) and its one $batch (role
 * assignments and read back: the only batch whose parts address systemusers).
 */
function applicationUserRequests(figure: PhaseFigures): number {
  const creates = figure.requestsPerOperation["dataverse POST systemusers"] ?? 0;
  const userBatches = Object.keys(figure.batchOperations).some((operation) => /systemusers/.test(operation)) ? creates : 0;
  return creates + userBatches;
}

async function main(): Promise<void> {
  if (!Number.isFinite(options.latencyMs) || options.latencyMs < 0) {
    throw new Error(`--latency-ms must be 0 or more, got ${options.latencyMs}`);
  }
  if (options.compareWith !== undefined) {
    if (program.getOptionValueSource("scales") === "cli") throw new Error("--scales does not apply to --compare-with (one integration)");
    if (!Number.isInteger(options.runs) || options.runs < 1 || options.runs > 20) {
      throw new Error(`--runs must be an integer from 1 to 20, got ${options.runs}`);
    }
    await runComparison({
      baseRevision: options.compareWith,
      runs: options.runs,
      latencyMs: options.latencyMs,
      integrations: integrationsConfig(1),
    });
    return;
  }
  if (program.getOptionValueSource("runs") === "cli") throw new Error("--runs applies only to --compare-with");
  const scales = options.scales.split(",").map((value) => Number(value.trim()));
  if (scales.some((scale) => !Number.isInteger(scale) || scale < 1 || scale > 50)) {
    throw new Error(`--scales must be integers from 1 to 50, got '${options.scales}'`);
  }
  const figures: PhaseFigures[] = [];
  for (const scale of scales) figures.push(...(await runScale(scale)));
  printFigures(figures);
  const targets = checkTargets(figures);
  printTargets(targets);
  console.log(JSON.stringify({ latencyMs: options.latencyMs, phases: figures, targets }));
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
