/**
 * `npm run bench -- --compare-with [revision]`: this checkout's code beside an earlier revision's, in
 * one run on the same machine, for what the dynamic providers' loading costs (issue 23, item 7):
 *   plugin-start       the dynamic-provider host launched until it answered its first call
 *                      (scripts/bench-plugin-start.ts, on the deployed stack; shown with
 *                      plugin-listen, plugin-load and plugin-all-providers, which have no target)
 *   up                 a fresh `pulumi up` of one integration against the emulator
 *   preview-refresh    a no-change `pulumi preview --refresh` right after it
 * Each checkout runs its own program, node_modules, dynamic-provider host and azuread stand-in
 * (createTestProject's `checkout`), against a fresh emulator of this checkout with the same latency.
 * Runs alternate (base, current, then current, base, ...), and within a run the host launches
 * alternate between the two stacks, so that the machine's load drifts over both alike; the table
 * gives medians, their ratio (current / base) and the target (at most 0.60).
 *
 * The base is the revision's files (`git archive`, no worktree), installed once with its own
 * `npm ci` (which runs its `prepare`: since the package, the build and the node_modules/dataverse-s2s
 * link) and built with its own `npm run build` when that emits anything, in the cache
 * (<cache>/dataverse-s2s/bench-base/<commit>, reused by later runs, outside every checkout); its
 * toolchain setup compiles its azuread stand-in there. This checkout is measured as it is on disk
 * (uncommitted changes included, said in the output), built by scripts/project-env.sh (bench.sh).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repoRoot } from "./emulator-environment";
import { measurePluginStart } from "./bench-plugin-start";
import { printTable, printTargets, TargetCheck } from "./bench-support";
import { startTestEmulator, TestEmulator } from "../tests/support/emulator";
import { createTestProject, TestProject } from "../tests/support/pulumi-project";

/** The code before issue 23's package change: dynamic providers transpiled by ts-node at every host start. */
export const defaultBaseRevision = "10b88f9";

/** The target: each timed phase of the current code at most this share of the base's. */
const targetRatio = 0.6;

const phases = ["plugin-listen", "plugin-start", "plugin-load", "plugin-all-providers", "up", "preview-refresh"] as const;
type Phase = (typeof phases)[number];
const targetPhases: readonly Phase[] = ["plugin-start", "up", "preview-refresh"];

const phaseMeanings: Record<Phase, string> = {
  "plugin-listen": "dynamic-provider host launched until it printed its port (Node and @pulumi/pulumi, no project code yet)",
  "plugin-start": "host launched until it answered its first Diff (a provider deserialized, its implementation loaded)",
  "plugin-load": "plugin-start minus plugin-listen, per launch: the project's part of the plugin start",
  "plugin-all-providers": "host launched until one Diff per distinct provider of the stack was answered",
  up: "fresh `pulumi up` of one integration",
  "preview-refresh": "no-change `pulumi preview --refresh` right after it",
};

export interface ComparisonOptions {
  readonly baseRevision: string;
  readonly runs: number;
  readonly latencyMs: number;
  readonly integrations: readonly Record<string, unknown>[];
}

type Role = "base" | "current";

interface Checkout {
  readonly role: Role;
  readonly root: string;
  readonly commit: string;
  /** Short commit, with "+" when the files differ from it (the current checkout's uncommitted changes). */
  readonly label: string;
}

interface Sample {
  readonly checkout: Role;
  readonly run: number;
  readonly phase: Phase;
  readonly seconds: number;
  /** HTTP requests the emulator answered during the phase (up and preview-refresh): the same work on both sides. */
  readonly requests?: number;
}

const log = (line: string) => process.stderr.write(`[bench compare] ${line}\n`);

/** Runs a command with its output on stderr (stdout is the table's and the JSON line's). */
function run(command: string, args: readonly string[], cwd: string): void {
  const started = Date.now();
  log(`${path.basename(cwd)}: ${command} ${args.join(" ")}`);
  execFileSync(command, args, { cwd, stdio: ["ignore", process.stderr, process.stderr] });
  log(`${path.basename(cwd)}: ${command} ${args[0]} done (${Math.round((Date.now() - started) / 1000)} s)`);
}

const git = (args: readonly string[]) => execFileSync("git", ["-C", repoRoot, ...args], { encoding: "utf8" }).trim();

/** `npm run build` when the checkout's build emits something (a `tsc --noEmit` build only type-checks). */
function build(root: string): void {
  const scripts = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts?: Record<string, string> }).scripts;
  const script = scripts?.build;
  if (!script) return;
  if (/--noEmit\b/.test(script)) {
    log(`${path.basename(root)}: build '${script}' only type-checks: skipped`);
    return;
  }
  run("npm", ["run", "build"], root);
}

function currentCheckout(): Checkout {
  const commit = git(["rev-parse", "HEAD"]);
  const changed = git(["status", "--porcelain", "--untracked-files=no"]) !== "";
  return { role: "current", root: repoRoot, commit, label: `${commit.slice(0, 7)}${changed ? "+" : ""}` };
}

const readyStamp = ".bench-base-ready";

/** The base revision's files, installed and built, in the cache; see the header. */
function baseCheckout(revision: string): Checkout {
  let commit: string;
  try {
    commit = git(["rev-parse", "--verify", "--quiet", `${revision}^{commit}`]);
  } catch {
    throw new Error(`--compare-with: '${revision}' is no commit of ${repoRoot} (git fetch it, or name another)`);
  }
  const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "dataverse-s2s", "bench-base");
  const root = path.join(cache, commit);
  if (!fs.existsSync(path.join(root, readyStamp))) {
    log(`preparing the base ${commit.slice(0, 7)} in ${root} (once)`);
    fs.mkdirSync(cache, { recursive: true });
    // Made aside and renamed into place whole: an interrupted preparation leaves no half-made base.
    const staging = fs.mkdtempSync(path.join(cache, `.${commit.slice(0, 12)}-`));
    const archive = `${staging}.tar`;
    try {
      execFileSync("git", ["-C", repoRoot, "archive", "--format=tar", "-o", archive, commit]);
      execFileSync("tar", ["-xf", archive, "-C", staging]);
      run("npm", ["ci", "--no-audit", "--no-fund"], staging);
      build(staging);
      fs.writeFileSync(path.join(staging, readyStamp), `${JSON.stringify({ commit, prepared: new Date().toISOString() })}\n`);
      if (fs.existsSync(root)) fs.rmSync(root, { recursive: true, force: true });
      fs.renameSync(staging, root);
    } finally {
      fs.rmSync(archive, { force: true });
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
  // What its own launchers need (its stand-in plugins compiled in the checkout); quick once done.
  run("bash", ["scripts/setup-toolchain.sh"], root);
  return { role: "base", root, commit, label: commit.slice(0, 7) };
}

/** Both checkouts must run under the one toolchain on PATH, built for one @pulumi/pulumi version. */
function checkSamePulumi(checkouts: readonly Checkout[]): void {
  const versions = checkouts.map(
    (checkout) =>
      (
        JSON.parse(fs.readFileSync(path.join(checkout.root, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")) as {
          version: string;
        }
      ).version,
  );
  if (new Set(versions).size > 1) {
    throw new Error(`the checkouts use @pulumi/pulumi ${versions.join(" and ")}: the comparison needs one engine version for both`);
  }
}

const secondsSince = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/** Host launches per checkout and run: a plugin start is short, so several steady its median at little cost. */
const pluginStartsPerRun = 4;

/** A checkout's stack of one run, deployed on its own emulator; the caller cleans it up. */
interface Deployed {
  readonly checkout: Checkout;
  readonly test: TestEmulator;
  readonly project: TestProject;
  readonly say: (line: string) => void;
  readonly sample: (phase: Phase, seconds: number, requests?: number) => Sample;
}

/** A fresh emulator and stack of the checkout: `up` and `preview --refresh` timed into `samples`. */
async function deploy(checkout: Checkout, runNumber: number, options: ComparisonOptions, samples: Sample[]): Promise<Deployed> {
  const test = await startTestEmulator({ latencyMs: options.latencyMs });
  let project: TestProject | undefined;
  try {
    project = await createTestProject(test.emulator, "bench-compare", [...options.integrations], undefined, checkout.root);
    const deployed: Deployed = {
      checkout,
      test,
      project,
      say: (line) => log(`run ${runNumber}/${options.runs} ${checkout.role} ${checkout.label}: ${line}`),
      sample: (phase, seconds, requests) => ({
        checkout: checkout.role,
        run: runNumber,
        phase,
        seconds,
        ...(requests === undefined ? {} : { requests }),
      }),
    };
    for (const [phase, run] of [
      ["up", () => project!.stack.up()],
      ["preview-refresh", () => project!.stack.preview({ refresh: true, expectNoChanges: true })],
    ] as const) {
      test.emulator.resetRequests();
      const started = process.hrtime.bigint();
      await run();
      const seconds = secondsSince(started);
      const requests = Object.values(test.emulator.requests().services).reduce((sum, count) => sum + count, 0);
      deployed.say(`${phase} ${seconds.toFixed(1)} s, ${requests} requests`);
      samples.push(deployed.sample(phase, seconds, requests));
    }
    return deployed;
  } catch (error) {
    project?.cleanUp();
    await test.stop();
    throw error;
  }
}

async function pluginStart(deployed: Deployed, launch: number): Promise<Sample[]> {
  const plugin = await measurePluginStart(deployed.checkout.root, deployed.project);
  deployed.say(
    `plugin start ${launch}/${pluginStartsPerRun}: listening ${plugin.listenSeconds.toFixed(2)} s, ` +
      `first answer ${plugin.firstAnswerSeconds.toFixed(2)} s, ${plugin.providers} providers ${plugin.allProvidersSeconds.toFixed(2)} s`,
  );
  return [
    deployed.sample("plugin-listen", plugin.listenSeconds),
    deployed.sample("plugin-start", plugin.firstAnswerSeconds),
    deployed.sample("plugin-load", plugin.firstAnswerSeconds - plugin.listenSeconds),
    deployed.sample("plugin-all-providers", plugin.allProvidersSeconds),
  ];
}

/**
 * One run: each checkout's stack deployed (up, preview --refresh), in `order`; then the host launches,
 * alternating between the two a second or so apart, so that a change in the machine's load falls on
 * both alike.
 */
async function sampleRun(order: readonly Checkout[], runNumber: number, options: ComparisonOptions): Promise<Sample[]> {
  const samples: Sample[] = [];
  const deployed: Deployed[] = [];
  try {
    for (const checkout of order) deployed.push(await deploy(checkout, runNumber, options, samples));
    for (let launch = 1; launch <= pluginStartsPerRun; launch++) {
      for (const stack of deployed) samples.push(...(await pluginStart(stack, launch)));
    }
    return samples;
  } finally {
    // Last made, first stopped: each emulator restores the environment it found.
    for (const stack of [...deployed].reverse()) {
      stack.project.cleanUp();
      await stack.test.stop();
    }
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export async function runComparison(options: ComparisonOptions): Promise<void> {
  const current = currentCheckout();
  const base = baseCheckout(options.baseRevision);
  checkSamePulumi([base, current]);
  const started = Date.now();
  const samples: Sample[] = [];
  for (let runNumber = 1; runNumber <= options.runs; runNumber++) {
    const order = runNumber % 2 === 1 ? [base, current] : [current, base];
    samples.push(...(await sampleRun(order, runNumber, options)));
  }
  const wallMinutes = (Date.now() - started) / 60_000;

  const of = (role: Role, phase: Phase) => samples.filter((sample) => sample.checkout === role && sample.phase === phase);
  const medianRequests = (role: Role, phase: Phase) => {
    const counts = of(role, phase).flatMap((sample) => (sample.requests === undefined ? [] : [sample.requests]));
    return counts.length ? median(counts) : undefined;
  };
  const figures = phases.map((phase) => {
    const baseSeconds = median(of("base", phase).map((sample) => sample.seconds));
    const currentSeconds = median(of("current", phase).map((sample) => sample.seconds));
    return {
      phase,
      baseSeconds,
      currentSeconds,
      ratio: currentSeconds / baseSeconds,
      targeted: targetPhases.includes(phase),
      baseRequests: medianRequests("base", phase),
      currentRequests: medianRequests("current", phase),
    };
  });

  console.log(`base     ${base.label}  ${base.root}`);
  console.log(`current  ${current.label}  ${current.root}${current.label.endsWith("+") ? " (with uncommitted changes)" : ""}`);
  console.log(
    `${options.runs} runs of each, alternating (in each, ${pluginStartsPerRun} host launches per checkout, alternating); ` +
      `${options.integrations.length} integration; ` +
      `${options.latencyMs} ms added to every emulator request; medians in seconds; ${wallMinutes.toFixed(1)} min of runs`,
  );
  for (const phase of phases) console.log(`  ${phase.padEnd(20)} ${phaseMeanings[phase]}`);
  console.log("");
  printTable(
    ["phase", `base ${base.label} s`, `current ${current.label} s`, "current / base", "target", "result", "requests base / current"],
    figures.map((figure) => [
      figure.phase,
      figure.baseSeconds.toFixed(2),
      figure.currentSeconds.toFixed(2),
      figure.ratio.toFixed(2),
      figure.targeted ? `<= ${targetRatio.toFixed(2)}` : "-",
      figure.targeted ? (figure.ratio <= targetRatio ? "met" : "NOT MET") : "",
      figure.baseRequests === undefined ? "-" : `${figure.baseRequests} / ${figure.currentRequests}`,
    ]),
  );
  const targets: TargetCheck[] = figures
    .filter((figure) => figure.targeted)
    .map((figure) => ({
      target: `${figure.phase}: current (${current.label}) <= ${targetRatio * 100} % of base (${base.label})`,
      measured: `${figure.currentSeconds.toFixed(2)} s / ${figure.baseSeconds.toFixed(2)} s = ${figure.ratio.toFixed(2)}`,
      met: figure.ratio <= targetRatio,
    }));
  printTargets(targets);
  console.log(
    JSON.stringify({
      mode: "compare",
      latencyMs: options.latencyMs,
      runs: options.runs,
      pluginStartsPerRun,
      integrations: options.integrations.length,
      base: { revision: options.baseRevision, commit: base.commit, root: base.root },
      current: { commit: current.commit, uncommittedChanges: current.label.endsWith("+"), root: current.root },
      phases: figures,
      samples,
      targets,
    }),
  );
}
