/**
 * Test support for end-to-end runs: the project's program in a temporary folder (index.ts and
 * node_modules linked, so the real program runs unchanged), a state backend (a fresh file backend unless the
 * suite passes one or PULUMI_BACKEND_URL is set, see state-backends.ts), and stack config pointing
 * the azuread provider and the Dataverse providers at an emulator.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigMap, EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { emulatorRunEnvironment, repoRoot } from "../../scripts/emulator-environment";
import type { StateBackend } from "../../scripts/state-backend";
import type { RunningEmulator } from "./emulator";
import { defaultTestBackend, TestBackend } from "./state-backends";

// The stack program and what it resolves `dataverse-s2s` through (node_modules, with the package's
// self-link); no source folder: the program and the providers use the package's compiled build.
const linkedEntries = ["index.ts", "node_modules", "package.json", "tsconfig.json"];

export interface TestProject {
  readonly workDir: string;
  readonly backend: TestBackend;
  readonly stack: Stack;
  readonly env: Record<string, string>;
  /** Removes the work folder, and the backend when the project made it (a folder: removed at once). */
  cleanUp(): void;
}

/**
 * `backend`: where the state goes; when absent, the project makes (and cleans up) the default one.
 * `checkout`: the checkout whose program, node_modules and plugin launchers the project runs: this
 * one by default, or another revision's files (the benchmark's base, scripts/bench-compare.ts).
 */
export async function createTestProject(
  emulator: RunningEmulator,
  stackName: string,
  integrations: Record<string, unknown>[],
  backend?: TestBackend,
  checkout: string = repoRoot,
): Promise<TestProject> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "dataverse-s2s-e2e-"));
  const ownBackend = backend ? undefined : defaultTestBackend();
  const state = backend ?? ownBackend!;
  for (const entry of checkout === repoRoot ? linkedEntries : checkoutEntries(checkout)) {
    fs.symlinkSync(path.join(checkout, entry), path.join(workDir, entry));
  }
  fs.copyFileSync(path.join(checkout, "Pulumi.yaml"), path.join(workDir, "Pulumi.yaml"));
  const config: ConfigMap = { "dataverse-s2s:environmentUrl": { value: emulator.environmentUrl } };
  integrations.forEach((integration, index) => {
    for (const [key, value] of flatten(integration)) config[`dataverse-s2s:integrations[${index}]${key}`] = { value: String(value) };
  });
  const { stack, env } = await emulatorStack({
    emulator,
    stackName,
    workDir,
    backend: state,
    config,
    env: checkout === repoRoot ? undefined : checkoutEnvironment(checkout),
  });
  const cleanUp = () => {
    fs.rmSync(workDir, { recursive: true, force: true });
    void ownBackend?.cleanUp();
  };
  return { workDir, backend: state, stack, env, cleanUp };
}

/**
 * What a project that is a whole checkout links: its top-level entries but hidden ones and its Pulumi
 * files (the project file is copied; a stack file would take the test's config writes). Before the
 * package, a stack lived in a clone of this repository and its providers were found through the
 * project directory (dynamic-providers/, tsconfig.json): the upgrade suite's project and the
 * benchmark's base need that, not only what a project that installs the package has (linkedEntries).
 */
export function checkoutEntries(checkout: string): string[] {
  return fs.readdirSync(checkout).filter((entry) => !entry.startsWith(".") && !/^Pulumi(\..+)?\.yaml$/.test(entry));
}

/**
 * What scripts/toolchain-env.sh sets for a checkout, for another checkout than the one this process
 * runs from: its Node.js and launchers first on PATH, and the shared plugin wrappers pointed at its
 * launchers (the dynamic-provider host and the azuread stand-in of that checkout run).
 */
function checkoutEnvironment(checkout: string): Record<string, string> {
  const launchers = path.join(checkout, "offline-plugins", "bin");
  return {
    PATH: [path.join(checkout, "node_modules", ".bin"), launchers, process.env.PATH ?? ""].join(path.delimiter),
    DATAVERSE_S2S_OFFLINE_PLUGINS: launchers,
  };
}

/**
 * A stack of the Pulumi project in `workDir` whose runs reach the emulator, for this repository's
 * program and for any other project (tests/e2e/consumer.test.ts): the emulator's run environment
 * (scripts/emulator-environment.ts), the backend's variables, the passphrase and `env`; the azuread
 * provider's config (the emulator's metadata host and tenant, the deployer's client id; its secret
 * travels in ARM_CLIENT_SECRET) and the project's own `config`.
 */
export async function emulatorStack(options: {
  readonly emulator: RunningEmulator;
  readonly stackName: string;
  readonly workDir: string;
  readonly backend: StateBackend;
  readonly config: ConfigMap;
  readonly env?: Record<string, string>;
}): Promise<{ stack: Stack; env: Record<string, string> }> {
  const { emulator } = options;
  const env = {
    ...emulatorRunEnvironment(emulator),
    ...options.backend.env,
    PULUMI_CONFIG_PASSPHRASE: "end-to-end-tests",
    ...options.env,
  };
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: options.stackName, workDir: options.workDir }, { envVars: env });
  await stack.setAllConfig(
    {
      "azuread:metadataHost": { value: emulator.metadataHost },
      "azuread:tenantId": { value: emulator.tenantId },
      "azuread:clientId": { value: emulator.deployer.clientId },
      ...options.config,
    },
    true,
  );
  return { stack, env };
}

/** Replaces the stack's list of integrations (a config edit between runs: a rename, a removal). */
export async function setIntegrations(project: TestProject, integrations: Record<string, unknown>[]): Promise<void> {
  await project.stack.removeConfig("dataverse-s2s:integrations");
  const config: Record<string, { value: string }> = {};
  integrations.forEach((integration, index) => {
    for (const [key, value] of flatten(integration)) config[`dataverse-s2s:integrations[${index}]${key}`] = { value: String(value) };
  });
  await project.stack.setAllConfig(config, true);
}

function flatten(value: Record<string, unknown> | unknown[], prefix = ""): [string, unknown][] {
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((inner, index) => [`[${index}]`, inner])
    : Object.entries(value).map(([key, inner]) => [`.${key}`, inner]);
  return entries.flatMap(([key, inner]) =>
    inner !== null && typeof inner === "object"
      ? flatten(inner as Record<string, unknown>, `${prefix}${key}`)
      : [[`${prefix}${key}`, inner] as [string, unknown]],
  );
}

const changingOps = new Set(["create", "update", "replace", "create-replacement", "delete", "delete-replaced"]);

/** Records which resources a run would change: "<op> <resource name>". */
export function changeRecorder() {
  const changes: string[] = [];
  return {
    changes,
    onEvent: (event: EngineEvent) => {
      const metadata = event.resourcePreEvent?.metadata;
      if (metadata && changingOps.has(metadata.op)) changes.push(`${metadata.op} ${metadata.urn.split("::").pop()}`);
    },
  };
}

/** Everything stored in the project's backend, concatenated: what a secret must never appear in. */
export async function backendText(project: TestProject): Promise<string> {
  return [...(await project.backend.objects()).values()].join("\n");
}
