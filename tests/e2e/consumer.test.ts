// The package as another Pulumi project uses it (issue 23): `npm pack`, the tarball installed into a
// project outside the repository (a copy of examples/consumer, the minimal DataverseIntegration and two
// integrations sharing a role passed in explicitly), then `pulumi up`, WhoAmI with its outputs, a
// refreshed preview with no changes and `destroy` against the emulator. The dynamic providers run in
// Pulumi's own dynamic-provider host of that project (its @pulumi/pulumi's launcher, which runs node
// on its node_modules/@pulumi/pulumi/cmd/dynamic-provider), never through this repository's launcher
// or node_modules. Runs against a tenant with replication lag and Graph pages of two (laggingTenant).
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import type { Stack } from "@pulumi/pulumi/automation";
import { repoRoot } from "../../scripts/emulator-environment";
import { connectionOutputNames } from "../../scripts/verify-connection";
import { connectionOutputs, expectWhoAmI, laggingTenant, startE2eEmulator, TestEmulator } from "../support/emulator";
import { emulatorStack } from "../support/pulumi-project";
import { fileTestBackend, TestBackend } from "../support/state-backends";

jest.setTimeout(15 * 60 * 1000);

const run = promisify(execFile);
const example = path.join(repoRoot, "examples", "consumer");
/** The example's files a project needs; its package.json is written with the tarball as the package. */
const projectFiles = ["Pulumi.yaml", "index.ts", "tsconfig.json"];

let tempDir: string;
let workDir: string;
let tarball: string;
let launcherLog: string;
let test_: TestEmulator | undefined;
let backend: TestBackend | undefined;
let stack: Stack;
let outputs: Record<string, { value: any; secret: boolean }>;

beforeAll(() => {
  // Outside the repository, so that nothing resolves through its node_modules.
  tempDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "dataverse-s2s-consumer-")));
  workDir = path.join(tempDir, "project");
  launcherLog = path.join(tempDir, "dynamic-provider-launches.log");
});
afterAll(async () => {
  await test_?.stop();
  await backend?.cleanUp();
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
});

/** `npm <args>` in `cwd`; npm's own output is kept for a failure's message. */
async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run("npm", args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Every file of the package in `dir`, relative to it (a nested node_modules is other packages'). */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).flatMap((entry) => {
    const file = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/");
    return entry.isFile() && !file.startsWith("node_modules/") ? [file] : [];
  });
}

/** The provider modules the package's shells load (`providerShell("<name>", ...)` in its build). */
function shellModuleNames(packageDir: string): string[] {
  const names = new Set<string>();
  for (const file of filesUnder(packageDir).filter((name) => name.endsWith(".js"))) {
    for (const match of fs.readFileSync(path.join(packageDir, file), "utf8").matchAll(/providerShell\)?\("([a-z0-9-]+)"/g))
      names.add(match[1]);
  }
  return [...names].sort();
}

test("npm pack: the compiled build, its declarations and the README; no source, test or tool", async () => {
  const [packed] = JSON.parse(await npm(repoRoot, ["pack", "--json", "--pack-destination", tempDir])) as {
    filename: string;
    size: number;
    files: { path: string }[];
  }[];
  tarball = path.join(tempDir, packed.filename);
  const files = packed.files.map((file) => file.path);
  console.log(`tarball ${packed.filename}: ${packed.size} bytes, ${files.length} files`);

  expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/library.js", "dist/library.d.ts"]));
  expect(files.filter((file) => !/^dist\/.+(\.js|\.d\.ts)$/.test(file) && file !== "package.json" && file !== "README.md")).toEqual([]);
  // Every compiled file is the build of a source that exists (a build left over from a moved file is not shipped)...
  expect(
    files.filter(
      (file) => file.startsWith("dist/") && !fs.existsSync(path.join(repoRoot, file.slice(5).replace(/(\.d\.ts|\.js)$/, ".ts"))),
    ),
  ).toEqual([]);
  // ...and of the product, not of the tools.
  expect(files.filter((file) => /^dist\/(tests|emulator|scripts|offline-plugins|examples)\//.test(file))).toEqual([]);
  // The implementation every shell loads, where the package's exports put `providers/<name>`.
  const providerTarget = (
    JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")).exports["./providers/*"] as string
  ).replace(/^\.\//, "");
  const names = shellModuleNames(path.join(repoRoot, "dist"));
  expect(names.length).toBeGreaterThan(0);
  expect(names.map((name) => providerTarget.replace("*", name)).filter((file) => !files.includes(file))).toEqual([]);
});

test("the tarball installs without ts-node or typescript, loads in plain Node, and finds no code through the working directory", async () => {
  // The example's own files, and its runtime dependencies only: what the package brings with it.
  fs.mkdirSync(workDir);
  for (const file of projectFiles) fs.copyFileSync(path.join(example, file), path.join(workDir, file));
  const manifest = JSON.parse(fs.readFileSync(path.join(example, "package.json"), "utf8"));
  const devDependencies = manifest.devDependencies;
  delete manifest.devDependencies;
  manifest.dependencies["dataverse-s2s"] = `file:${tarball}`;
  fs.writeFileSync(path.join(workDir, "package.json"), JSON.stringify(manifest, null, 2));
  const started = Date.now();
  await npm(workDir, ["install", "--prefer-offline", "--no-audit", "--no-fund"]);
  console.log(`npm install (runtime dependencies): ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const installed = path.join(workDir, "node_modules", "dataverse-s2s");
  expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
  const installedManifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
  const runtime = { ...installedManifest.dependencies, ...installedManifest.peerDependencies, ...installedManifest.optionalDependencies };
  expect(Object.keys(runtime).filter((name) => name === "ts-node" || name === "typescript")).toEqual([]);
  // Nor anything the package depends on: neither is installed anywhere in the project.
  expect(JSON.parse(await npm(workDir, ["query", "#ts-node, #typescript"]))).toEqual([]);

  // As the program and the dynamic-provider host load it: the entry point, and each shell's
  // implementation by its package name, with no TypeScript loader in the process.
  const probe = `
    const library = require("dataverse-s2s");
    if (typeof require("dataverse-s2s/provider-plugins").startProviderPlugins !== "function") throw new Error("no startProviderPlugins");
    const names = JSON.parse(process.argv[1]);
    const providers = names.filter((name) => typeof require("dataverse-s2s/providers/" + name).provider.create === "function");
    console.log(JSON.stringify({
      exports: Object.keys(library).sort(),
      providers,
      typescriptLoader: require.extensions[".ts"] !== undefined || Object.keys(require.cache).some((file) => /[\\\\/](ts-node|typescript)[\\\\/]/.test(file)),
    }));`;
  const names = shellModuleNames(installed);
  const { stdout } = await run("node", ["-e", probe, JSON.stringify(names)], { cwd: workDir });
  const loaded = JSON.parse(stdout);
  expect(loaded.exports).toEqual(expect.arrayContaining(["DataverseIntegration", "ClonedSecurityRole", "EnvironmentCheck"]));
  expect(loaded.providers).toEqual(names);
  expect(loaded.typescriptLoader).toBe(false);

  // Code is found by package name only (README, "Using it as a package"): no file reads the working directory.
  const readsCwd = filesUnder(installed).filter((file) => fs.readFileSync(path.join(installed, file), "utf8").includes("process.cwd()"));
  expect(readsCwd).toEqual([]);

  // The project's own dev dependencies (TypeScript for its program), then its program type-checked
  // against the package's declarations as installed.
  manifest.devDependencies = devDependencies;
  fs.writeFileSync(path.join(workDir, "package.json"), JSON.stringify(manifest, null, 2));
  await npm(workDir, ["install", "--prefer-offline", "--no-audit", "--no-fund"]);
  const tsc = path.join(workDir, "node_modules", "typescript", "bin", "tsc");
  await run("node", [tsc, "--noEmit", "-p", workDir], { cwd: workDir });
  // The early start of the provider plugins (README, "Using it as a package") is a subpath export:
  // its declarations must resolve with the classic "node" resolution too, which reads no `exports`.
  fs.writeFileSync(
    path.join(workDir, "early-start.ts"),
    'import { startProviderPlugins } from "dataverse-s2s/provider-plugins";\nstartProviderPlugins();\n',
  );
  const options = ["--strict", "--module", "commonjs", "--moduleResolution", "node", "--target", "ES2022", "--types", "node"];
  await run("node", [tsc, "--noEmit", ...options, "early-start.ts"], { cwd: workDir });
  fs.rmSync(path.join(workDir, "early-start.ts"));
});

test("pulumi up with Pulumi's dynamic-provider host of the project: the outputs sign in (WhoAmI)", async () => {
  test_ = await startE2eEmulator(laggingTenant);
  backend = fileTestBackend();
  const launchers = writeLaunchers();
  ({ stack } = await emulatorStack({
    emulator: test_.emulator,
    stackName: "consumer",
    workDir,
    backend,
    config: { "dataverse-s2s-consumer:environmentUrl": { value: test_.emulator.environmentUrl } },
    // The toolchain's plugin wrappers (next to `pulumi`, in $PULUMI_HOME) run the launchers of this
    // folder; plugins on PATH are not looked at, so no other launcher can run.
    env: { DATAVERSE_S2S_OFFLINE_PLUGINS: launchers, PULUMI_IGNORE_AMBIENT_PLUGINS: "true" },
  }));

  const result = await stack.up();
  expect(result.summary.result).toBe("succeeded");
  outputs = result.outputs;
  expect(Object.keys(outputs)).toEqual(expect.arrayContaining([...connectionOutputNames]));
  expect(outputs.clientSecret.secret).toBe(true);
  await expectWhoAmI(test_.emulator, connectionOutputs(outputs));

  // The defaults: a role "API User" of this integration's own, a secret valid 180 days.
  const dataverse = test_.dataverse();
  const businessUnitId = await dataverse.businessUnitId();
  expect((await dataverse.findRoleByName("API User", businessUnitId)).map((role) => role.roleid)).toEqual([outputs.securityRoleId.value]);
  const validDays = (Date.parse(outputs.secretExpiresAt.value) - Date.now()) / 86_400_000;
  expect(validDays).toBeGreaterThan(179);
  expect(validDays).toBeLessThanOrEqual(180);

  // The shared role: one role, held by both integrations, each of which signs in.
  const shared = outputs.sharedRole.value;
  expect((await dataverse.findRoleByName("Reporting API User", businessUnitId)).map((role) => role.roleid)).toEqual([shared.roleId]);
  for (const name of ["reports", "dashboards"]) {
    await expectWhoAmI(test_.emulator, { ...connectionOutputs(outputs), ...shared[name] });
    const user = await test_.dataverse().getUser(shared[name].applicationUserId);
    expect(user).toBeDefined();
  }

  // Every dynamic-provider host was Pulumi's own launcher of the project, on its @pulumi/pulumi (no
  // log at all: another launcher ran).
  const launches = fs.existsSync(launcherLog) ? fs.readFileSync(launcherLog, "utf8").trim().split("\n") : [];
  expect([...new Set(launches)]).toEqual([
    `${workDir} ${path.join(workDir, "node_modules", "@pulumi", "pulumi", "cmd", "dynamic-provider", "index.js")}`,
  ]);
});

test("a refreshed preview shows no changes", async () => {
  await stack.preview({ refresh: true, expectNoChanges: true });
});

test("destroy leaves no app registration, application user or role of the stack", async () => {
  const result = await stack.destroy();
  expect(result.summary.result).toBe("succeeded");
  const shared = outputs.sharedRole.value;
  const graph = test_!.graph();
  for (const clientId of [outputs.clientId.value, shared.reports.clientId, shared.dashboards.clientId]) {
    const found = await graph.request<{ value: unknown[] }>({
      operation: "find application",
      method: "GET",
      path: `v1.0/applications?$filter=${encodeURIComponent(`appId eq '${clientId}'`)}`,
    });
    expect(found.data.value).toEqual([]);
  }
  const dataverse = test_!.dataverse();
  for (const userId of [outputs.applicationUserId.value, shared.reports.applicationUserId, shared.dashboards.applicationUserId]) {
    expect(await dataverse.getUser(userId)).toBeUndefined();
  }
  for (const roleId of [outputs.securityRoleId.value, shared.roleId]) expect(await dataverse.getRole(roleId)).toBeUndefined();
});

/**
 * The launchers the toolchain's wrappers run for this project (DATAVERSE_S2S_OFFLINE_PLUGINS): the
 * dynamic-provider host is Pulumi's own launcher shipped in the project's @pulumi/pulumi (it runs node
 * on the cmd/dynamic-provider that `require.resolve` finds from the project folder), after a line in
 * the log saying where it ran and what it resolved. The providers (azuread, azure-native) are the
 * offline stand-ins, as in every offline run: they are no part of the package.
 */
function writeLaunchers(): string {
  const dir = path.join(tempDir, "launchers");
  fs.mkdirSync(dir);
  const stock = path.join(workDir, "node_modules", "@pulumi", "pulumi", "pulumi-resource-pulumi-nodejs");
  expect(fs.existsSync(stock)).toBe(true);
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  const launcher = [
    "#!/bin/sh",
    "# Written by tests/e2e/consumer.test.ts: logs the folder it runs in and the host it will run, then runs Pulumi's own launcher.",
    `printf '%s %s\\n' "$(pwd)" "$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")" >> ${quote(launcherLog)}`,
    `exec ${quote(stock)} "$@"`,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "pulumi-resource-pulumi-nodejs"), launcher, { mode: 0o755 });
  const offlinePlugins = path.join(repoRoot, "offline-plugins", "bin");
  for (const plugin of fs.readdirSync(offlinePlugins).filter((name) => /^pulumi-resource-/.test(name))) {
    if (plugin !== "pulumi-resource-pulumi-nodejs") fs.symlinkSync(path.join(offlinePlugins, plugin), path.join(dir, plugin));
  }
  return dir;
}
