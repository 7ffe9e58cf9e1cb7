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
 * and records per phase: wall seconds, emulator requests per service and per operation, Entra token
 * requests, and the stack's state size (total and largest resource per type).
 *
 * Prints a table, then, last, one JSON line with every figure. Timings are from one run on this
 * machine: compare ratios within a run, not numbers across machines.
 */
import { Command } from "commander";
import { privilegeEntries } from "../dynamic-providers/implementation/privileges";
import { startTestEmulator, TestEmulator } from "../tests/support/emulator";
import { createTestProject, TestProject } from "../tests/support/pulumi-project";

interface PhaseFigures {
  readonly phase: string;
  readonly integrations: number;
  readonly wallSeconds: number;
  readonly requestsPerService: Record<string, number>;
  readonly requestsPerOperation: Record<string, number>;
  readonly tokenRequests: number;
  readonly stateBytes: number;
  /** Resource type -> bytes of its largest resource in state. */
  readonly largestResourceBytes: Record<string, number>;
}

const program = new Command()
  .name("npm run bench --")
  .description("Measure up, preview --refresh, drift repair and destroy against the emulator with latency")
  .option("--latency-ms <ms>", "latency the emulator adds to every request", (value) => Number(value), 80)
  .option("--scales <list>", "numbers of integrations to run, comma separated", "1,20")
  .parse();
const options = program.opts<{ latencyMs: number; scales: string }>();

function integrationsConfig(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => ({ name: `bench-${String(index + 1).padStart(2, "0")}` }));
}

async function stateFigures(project: TestProject): Promise<{ stateBytes: number; largestResourceBytes: Record<string, number> }> {
  const deployment = await project.stack.exportStack();
  const resources = (deployment.deployment as { resources?: { type: string }[] }).resources ?? [];
  const largestResourceBytes: Record<string, number> = {};
  for (const resource of resources) {
    const bytes = Buffer.byteLength(JSON.stringify(resource));
    largestResourceBytes[resource.type] = Math.max(largestResourceBytes[resource.type] ?? 0, bytes);
  }
  return { stateBytes: Buffer.byteLength(JSON.stringify(deployment)), largestResourceBytes };
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
  test.emulator.resetRequests();
  const started = process.hrtime.bigint();
  await run();
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const counters = test.emulator.requests();
  return {
    phase,
    integrations,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    requestsPerService: counters.services,
    requestsPerOperation: counters.operations,
    tokenRequests: countTokenRequests(counters.operations),
    ...(await stateFigures(project)),
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

function printTable(figures: readonly PhaseFigures[]): void {
  const header = ["integrations", "phase", "wall s", "entra", "graph", "dataverse", "tokens", "state KB", "largest resource (KB)"];
  const rows = figures.map((figure) => {
    const [largestType, largestBytes] = Object.entries(figure.largestResourceBytes).sort((a, b) => b[1] - a[1])[0] ?? ["-", 0];
    return [
      String(figure.integrations),
      figure.phase,
      figure.wallSeconds.toFixed(1),
      String(figure.requestsPerService.entra ?? 0),
      String(figure.requestsPerService.graph ?? 0),
      String(figure.requestsPerService.dataverse ?? 0),
      String(figure.tokenRequests),
      (figure.stateBytes / 1024).toFixed(1),
      `${(largestBytes / 1024).toFixed(1)} ${largestType.split(":").pop()}`,
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  const scales = options.scales.split(",").map((value) => Number(value.trim()));
  if (scales.some((scale) => !Number.isInteger(scale) || scale < 1 || scale > 50)) {
    throw new Error(`--scales must be integers from 1 to 50, got '${options.scales}'`);
  }
  const figures: PhaseFigures[] = [];
  for (const scale of scales) figures.push(...(await runScale(scale)));
  printTable(figures);
  console.log(JSON.stringify({ latencyMs: options.latencyMs, phases: figures }));
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
