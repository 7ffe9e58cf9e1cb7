/**
 * `npm run report`: where each integration's secret expires, in every stack of the project.
 *
 * For every stack (or those given with --stack): each integration's client id, environment URL,
 * secret expiry, days left, rotation state (ok / in rotation window / expired, from the
 * integration's rotateBeforeDays) and the last drift check. As a table, --json, or --markdown (for a
 * CI job summary). Everything goes through the Automation API (LocalWorkspace: stack list, exported
 * state, history, tags), so it works with the file backend and any other Pulumi backend, with the
 * same access as `pulumi preview` (the Automation API decrypts the state it exports: a passphrase
 * stack needs PULUMI_CONFIG_PASSPHRASE). No secret value is ever printed.
 *
 * Last drift check: the latest of a `pulumi refresh`, an `up --refresh` (both in the stack history)
 * and a run of scripts/ci/drift-check.sh (a preview is not kept in the history, so that script
 * stamps the stack with the tags below).
 */
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack, UpdateSummary } from "@pulumi/pulumi/automation";
import { applyIntegrationOverrides } from "../config/overrides";
import { parseStackConfig } from "../config/stack-config";
import { currentTime, dayMs } from "../lib/clock";
import { localStackPassphrase } from "./emulator-environment";
import { fileBackendUrl } from "./state-backend";

/** Stack tags written by scripts/ci/drift-check.ts. */
export const driftCheckedAtTag = "dataverse-s2s:drift-checked-at";
export const driftResultTag = "dataverse-s2s:drift-result";

export type RotationState = "ok" | "in rotation window" | "expired" | "no secret" | "unknown";

export interface IntegrationReport {
  readonly stack: string;
  readonly integration: string;
  readonly clientId: string | null;
  readonly environmentUrl: string | null;
  readonly secretExpiresAt: string | null;
  readonly daysLeft: number | null;
  readonly rotateBeforeDays: number | null;
  readonly rotationState: RotationState;
  /** ISO time, or "never". */
  readonly lastDriftCheck: string;
  /** What the last drift check was (refresh, up --refresh, drift-check: clean|drift), when there was one. */
  readonly lastDriftCheckBy: string | null;
}

export interface StackReport {
  readonly stack: string;
  readonly deployed: boolean;
  readonly integrations: IntegrationReport[];
  /** Why part of the report is missing (e.g. the stack's config does not validate). */
  readonly problems: string[];
}

/**
 * The backend to read (environment variables for the CLI): PULUMI_BACKEND_URL when set; else the
 * demo's file backend (.pulumi-local/state) when it exists; else whatever the CLI is logged in to.
 * Small on purpose, to be replaced by a shared backend-picking helper.
 */
export function pickBackend(projectDir: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.PULUMI_BACKEND_URL) return { PULUMI_BACKEND_URL: env.PULUMI_BACKEND_URL };
  const demoState = path.join(projectDir, ".pulumi-local", "state");
  if (!fs.existsSync(demoState)) return {};
  // The demo's emulator-only stack has a fixed passphrase (see scripts/demo.ts).
  return {
    PULUMI_BACKEND_URL: fileBackendUrl(demoState),
    ...(env.PULUMI_CONFIG_PASSPHRASE || env.PULUMI_CONFIG_PASSPHRASE_FILE ? {} : { PULUMI_CONFIG_PASSPHRASE: localStackPassphrase }),
  };
}

/** Days left (floored; negative once expired) and the rotation state of a secret. */
export function rotationOf(
  expiresAt: string | null,
  rotateBeforeDays: number | null,
  now: Date,
): { daysLeft: number | null; state: RotationState } {
  if (!expiresAt) return { daysLeft: null, state: "no secret" };
  const expiry = Date.parse(expiresAt);
  if (Number.isNaN(expiry)) return { daysLeft: null, state: "unknown" };
  const daysLeft = Math.floor((expiry - now.getTime()) / dayMs);
  if (now.getTime() >= expiry) return { daysLeft, state: "expired" };
  if (rotateBeforeDays === null) return { daysLeft, state: "unknown" };
  return { daysLeft, state: now.getTime() >= expiry - rotateBeforeDays * dayMs ? "in rotation window" : "ok" };
}

/** The last time the stack's resources were compared with the real world, from history and tags. */
export function lastDriftCheckOf(history: UpdateSummary[], tags: Record<string, string>): { at: string; by: string } | undefined {
  const candidates: { at: string; by: string }[] = [];
  for (const entry of history) {
    if (entry.result !== "succeeded" && entry.result !== "failed") continue;
    const at = new Date(entry.endTime ?? entry.startTime).toISOString();
    if (entry.kind === "refresh") candidates.push({ at, by: "refresh" });
    else if (entry.kind === "update" && entry.environment?.["pulumi.flag.refresh"] === "true") candidates.push({ at, by: "up --refresh" });
  }
  const stamped = tags[driftCheckedAtTag];
  if (stamped && !Number.isNaN(Date.parse(stamped)))
    candidates.push({ at: new Date(stamped).toISOString(), by: `drift-check: ${tags[driftResultTag] ?? "unknown"}` });
  return candidates.sort((a, b) => b.at.localeCompare(a.at))[0];
}

type ConfigValues = Record<string, { value: string; secret?: boolean }>;

const parseJson = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Each integration's rotateBeforeDays, through the one config reader (its defaults and checks). */
function rotateBeforeDaysOf(config: ConfigValues, problems: string[]): Map<string, number> {
  const result = new Map<string, number>();
  try {
    const declared = applyIntegrationOverrides(
      parseJson(config["dataverse-s2s:integrations"]?.value),
      parseJson(config["dataverse-s2s:integrationOverrides"]?.value),
    );
    // Only what the report needs is validated: the secret schedule of each integration.
    const scheduleOnly = Array.isArray(declared)
      ? declared.map((entry: Record<string, unknown>) => ({ name: entry?.name, secret: entry?.secret }))
      : declared;
    const parsed = parseStackConfig({ environmentUrl: config["dataverse-s2s:environmentUrl"]?.value, integrations: scheduleOnly });
    for (const integration of parsed.integrations) result.set(integration.name, integration.secret.rotateBeforeDays);
  } catch (error) {
    problems.push(`the stack's configuration does not validate, so rotation windows are unknown: ${(error as Error).message}`);
  }
  return result;
}

type IntegrationOutputs = Record<string, { clientId?: unknown; environmentUrl?: unknown; secretExpiresAt?: unknown }>;

async function reportStack(workspace: LocalWorkspace, stackName: string, now: Date): Promise<StackReport> {
  const problems: string[] = [];
  const deployment = await workspace.exportStack(stackName);
  const resources: { type: string; outputs?: Record<string, unknown> }[] = deployment.deployment?.resources ?? [];
  const root = resources.find((resource) => resource.type === "pulumi:pulumi:Stack");
  const rawIntegrations = root?.outputs?.integrations;
  // A plain map; a secret-wrapped value (only if a whole output were secret) is not readable without the key.
  const deployed: IntegrationOutputs =
    rawIntegrations && typeof rawIntegrations === "object" && !("ciphertext" in rawIntegrations)
      ? (rawIntegrations as IntegrationOutputs)
      : {};

  let config: ConfigValues = {};
  try {
    config = await workspace.getAllConfig(stackName);
  } catch (error) {
    problems.push(
      `could not read the stack's config (${(error as Error).message.split("\n")[0]}); set PULUMI_CONFIG_PASSPHRASE or log in as for 'pulumi up'`,
    );
  }
  const rotateBeforeDays = rotateBeforeDaysOf(config, problems);

  const stack = await Stack.select(stackName, workspace);
  const history = await stack.history(undefined, undefined, false);
  const tags = await workspace.listTags(stackName);
  const drift = lastDriftCheckOf(history, tags);

  const names = [...new Set([...Object.keys(deployed), ...rotateBeforeDays.keys()])];
  const integrations = names.map((name): IntegrationReport => {
    const outputs = deployed[name] ?? {};
    const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);
    const expiresAt = text(outputs.secretExpiresAt);
    const days = rotateBeforeDays.get(name) ?? null;
    const rotation = deployed[name] ? rotationOf(expiresAt, days, now) : { daysLeft: null, state: "unknown" as const };
    return {
      stack: stackName,
      integration: name,
      clientId: text(outputs.clientId),
      environmentUrl: text(outputs.environmentUrl) ?? text(config["dataverse-s2s:environmentUrl"]?.value),
      secretExpiresAt: expiresAt,
      daysLeft: rotation.daysLeft,
      rotateBeforeDays: days,
      rotationState: deployed[name] ? rotation.state : "unknown",
      lastDriftCheck: drift?.at ?? "never",
      lastDriftCheckBy: drift?.by ?? null,
    };
  });
  return { stack: stackName, deployed: Object.keys(deployed).length > 0, integrations, problems };
}

export interface ReportOptions {
  readonly projectDir: string;
  readonly stacks?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: Date;
}

/** Reports the given stacks, or every stack of the project in its backend. */
export async function collectReport(options: ReportOptions): Promise<StackReport[]> {
  const env = options.env ?? process.env;
  const envVars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) envVars[name] = value;
  Object.assign(envVars, pickBackend(options.projectDir, env));
  const backendUrl = envVars.PULUMI_BACKEND_URL;
  const workspace = await LocalWorkspace.create({ workDir: options.projectDir, envVars });
  const listed = await workspace.listStacks();
  const selected = listed.find((summary) => summary.current)?.name;
  const names = options.stacks && options.stacks.length > 0 ? [...options.stacks] : listed.map((summary) => summary.name);
  const now = options.now ?? currentTime();
  const reports: StackReport[] = [];
  try {
    for (const name of names) {
      if (!listed.some((summary) => summary.name === name)) {
        reports.push({
          stack: name,
          deployed: false,
          integrations: [],
          problems: [
            `no stack named '${name}' in ${backendUrl ?? "the backend the CLI is logged in to"} (stacks: ${listed.map((s) => s.name).join(", ") || "none"})`,
          ],
        });
        continue;
      }
      reports.push(await reportStack(workspace, name, now));
    }
  } finally {
    // Reading history selects each stack; leave the user's selection as it was.
    if (selected) await workspace.selectStack(selected);
  }
  return reports;
}

const columns: [string, (row: IntegrationReport) => string][] = [
  ["Stack", (row) => row.stack],
  ["Integration", (row) => row.integration],
  ["Client id", (row) => row.clientId ?? "-"],
  ["Environment", (row) => row.environmentUrl ?? "-"],
  ["Secret expires", (row) => row.secretExpiresAt ?? "-"],
  ["Days left", (row) => (row.daysLeft === null ? "-" : String(row.daysLeft))],
  ["Rotation", (row) => row.rotationState],
  ["Last drift check", (row) => (row.lastDriftCheckBy ? `${row.lastDriftCheck} (${row.lastDriftCheckBy})` : row.lastDriftCheck)],
];

const problemLines = (reports: StackReport[]) =>
  reports.flatMap((report) => report.problems.map((problem) => `stack ${report.stack}: ${problem}`));

export function renderTable(reports: StackReport[]): string {
  const rows = reports.flatMap((report) => report.integrations).map((row) => columns.map(([, cell]) => cell(row)));
  const header = columns.map(([title]) => title);
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => row[index].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]))
      .join("  ")
      .trimEnd();
  const lines = [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)];
  if (rows.length === 0) lines.push("(no integrations deployed in these stacks)");
  return [...lines, ...problemLines(reports).map((problem) => `! ${problem}`)].join("\n");
}

export function renderMarkdown(reports: StackReport[]): string {
  const escape = (cell: string) => cell.replace(/\|/g, "\\|");
  const rows = reports.flatMap((report) => report.integrations);
  const icon: Record<RotationState, string> = {
    ok: "ok",
    "in rotation window": "⚠️ in rotation window",
    expired: "❌ expired",
    "no secret": "no secret",
    unknown: "unknown",
  };
  const lines = [
    `| ${columns.map(([title]) => title).join(" | ")} |`,
    `|${columns.map(() => " --- ").join("|")}|`,
    ...rows.map(
      (row) => `| ${columns.map(([title, cell]) => escape(title === "Rotation" ? icon[row.rotationState] : cell(row))).join(" | ")} |`,
    ),
  ];
  if (rows.length === 0) lines.push("", "_No integrations deployed in these stacks._");
  const problems = problemLines(reports);
  if (problems.length > 0) lines.push("", ...problems.map((problem) => `- ${escape(problem)}`));
  return lines.join("\n");
}

async function main() {
  // Loaded here, not at the top: commander is an ES module that the unit tests' runner cannot load.
  const { Command } = await import("commander");
  const program = new Command()
    .name("npm run report --")
    .description("Each integration's client id, environment, secret expiry, rotation state and last drift check, per stack")
    .option("-s, --stack <names...>", "only these stacks (default: every stack of the project)")
    .option("--json", "print JSON", false)
    .option("--markdown", "print a Markdown table (for a CI job summary)", false)
    .option("--dir <path>", "the Pulumi project folder", process.cwd())
    .parse();
  const options = program.opts<{ stack?: string[]; json: boolean; markdown: boolean; dir: string }>();
  if (options.json && options.markdown) throw new Error("give --json or --markdown, not both");
  const reports = await collectReport({ projectDir: path.resolve(options.dir), stacks: options.stack });
  if (options.json) console.log(JSON.stringify({ generatedAt: currentTime().toISOString(), stacks: reports }, null, 2));
  else console.log(options.markdown ? renderMarkdown(reports) : renderTable(reports));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`report failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
