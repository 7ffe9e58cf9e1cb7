/**
 * Makes a fixture of the upgrade suite (tests/e2e/upgrade.test.ts): a stack deployed by this
 * checkout's code, as a user of this version has it, for later code to upgrade.
 *
 *   source scripts/project-env.sh   # the toolchain on PATH, the emulator's CA trusted
 *   ts-node --transpile-only scripts/make-upgrade-fixture.ts [<folder>]
 *
 * The folder defaults to tests/fixtures/upgrade-from-<commit> (the checkout's HEAD). The product
 * (what a user deploys) must be committed, so that the commit names the code that made the fixture.
 * With DATAVERSE_S2S_NOW set, the stack is deployed as of that day (the emulator's clock too): a way
 * to try the suite on a fixture older than the suite's run.
 *
 * It starts an emulator with a state file, runs `pulumi up` on a stack of two integrations sharing a
 * cloned role, each with a client secret, checks that both sign in, and writes the exported stack
 * (secrets encrypted by the passphrase provider), the stack's config file (its encryption salt goes
 * with them), the emulator's state and a manifest, with the emulator's addresses replaced by
 * placeholders (tests/support/upgrade-fixture.ts). The deployer's credentials are the emulator's
 * seeded ones, the same in every emulator, so the fixture holds none.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../emulator";
import { currentTime } from "../lib/clock";
import { createTestProject } from "../tests/support/pulumi-project";
import { fileTestBackend } from "../tests/support/state-backends";
import {
  DeployedIdentity,
  emulatorHosts,
  originPlaceholders,
  upgradeFixtureFiles,
  UpgradeFixtureManifest,
  upgradeFixturesDir,
  upgradeStackName,
  withPlaceholders,
} from "../tests/support/upgrade-fixture";
import { repoRoot } from "./emulator-environment";
import { whoAmIAs } from "./verify-connection";

/** What a user deploys: the fixture names the last commit that changed it. */
const productPaths = [
  "index.ts",
  "library.ts",
  "components",
  "config",
  "dynamic-providers",
  "lib",
  "package.json",
  "package-lock.json",
  "Pulumi.yaml",
];

/** Two integrations sharing one cloned role ("API User", copied from System Administrator), each with a client secret. */
const integrations = [
  { name: "etl", displayName: "Upgrade ETL" },
  { name: "tests", displayName: "Upgrade tests" },
];

/** Matches an emulator address of any port, to prove that none is left after the placeholders. */
const anyEmulatorAddress = /(127\.0\.0\.1|localhost|\[::1\]):\d+/;

interface IntegrationOutputs extends DeployedIdentity {
  tenantId: string;
  clientSecret: string;
}

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: repoRoot, encoding: "utf8" }).trim();
}

function fixtureReadme(manifest: UpgradeFixtureManifest): string {
  const rows = Object.entries(manifest.identities).map(
    ([name, identity]) => `| ${name} | ${identity.clientId} | ${identity.securityRoleId} | ${identity.applicationUserId} |`,
  );
  return [
    `# Upgrade fixture: a stack deployed by ${manifest.commit}`,
    "",
    "Emulator-only test data for tests/e2e/upgrade.test.ts, made by scripts/make-upgrade-fixture.ts on",
    `${manifest.deployedAt} with the code of commit ${manifest.commit} (the product last changed in ${manifest.productCommit}).`,
    "No real tenant, environment or secret: the ids are the offline emulator's, the client secrets in",
    `${upgradeFixtureFiles.deployment} are encrypted with the test passphrase "${manifest.passphrase}" (salt in`,
    `${upgradeFixtureFiles.stackConfig}), and ${upgradeFixtureFiles.emulatorState} holds only hashes of secrets.`,
    "",
    `- ${upgradeFixtureFiles.deployment}: \`pulumi stack export\` of stack "${manifest.stackName}" (secrets encrypted).`,
    `- ${upgradeFixtureFiles.stackConfig}: the stack's config file.`,
    `- ${upgradeFixtureFiles.emulatorState}: the emulator's state file after the run (emulator/store.ts).`,
    `- ${upgradeFixtureFiles.manifest}: what the suite compares (ids, resource counts) and the placeholders.`,
    "",
    `The emulator's addresses are placeholders: ${originPlaceholders.entra} for Entra ID and Graph`,
    `(127.0.0.1:<port>), ${originPlaceholders.dataverse} for the environment URL (localhost:<port>).`,
    "",
    "| integration | client id | security role id | application user id |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    "Remake (replaces this folder's files): `source scripts/project-env.sh && ts-node --transpile-only scripts/make-upgrade-fixture.ts`.",
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const uncommitted = git("status", "--porcelain", "--", ...productPaths);
  if (uncommitted)
    throw new Error(`the product has uncommitted changes; commit them first, so that the fixture names its code:\n${uncommitted}`);
  const commit = git("rev-parse", "--short", "HEAD");
  const productCommit = git("log", "-1", "--format=%h", "--", ...productPaths);
  const outputDir = path.resolve(process.argv[2] ?? path.join(upgradeFixturesDir, `upgrade-from-${commit}`));

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "dataverse-s2s-upgrade-fixture-"));
  const stateFile = path.join(scratch, upgradeFixtureFiles.emulatorState);
  // The project's clock (DATAVERSE_S2S_NOW when set) is the emulator's too: a fixture can be made as of another day.
  const deployedAt = currentTime().toISOString();
  const emulator = await startEmulator({ port: 0, stateFile, clockOffsetMs: Date.parse(deployedAt) - Date.now() });
  const backend = fileTestBackend();
  const project = await createTestProject(emulator, upgradeStackName, integrations, backend);
  try {
    const result = await project.stack.up({ onOutput: (line) => process.stdout.write(line) });
    if (result.summary.result !== "succeeded") throw new Error(`pulumi up ended with ${result.summary.result}`);
    const deployed = result.outputs.integrations.value as Record<string, IntegrationOutputs>;
    for (const [name, values] of Object.entries(deployed)) {
      const whoAmI = await whoAmIAs({ ...values, environmentUrl: emulator.environmentUrl }, emulator.authorityHost, {
        newSecretWaitMs: 30_000,
      });
      if (whoAmI.UserId.toLowerCase() !== values.applicationUserId.toLowerCase()) throw new Error(`${name}: WhoAmI answered another user`);
    }
    const deployment = await project.stack.exportStack();
    const stackConfig = fs.readFileSync(path.join(project.workDir, upgradeFixtureFiles.stackConfig), "utf8");
    await emulator.stop();
    const emulatorState = fs.readFileSync(stateFile, "utf8");
    // The suite starts its emulator from this file on a port of its own, so the file must hold no address.
    if (anyEmulatorAddress.test(emulatorState))
      throw new Error("the emulator's state holds an address: the suite could not move it to another port");

    const resourceTypes: Record<string, number> = {};
    for (const resource of deployment.deployment.resources as { type: string }[])
      resourceTypes[resource.type] = (resourceTypes[resource.type] ?? 0) + 1;
    const manifest: UpgradeFixtureManifest = {
      commit,
      productCommit,
      deployedAt,
      stackName: upgradeStackName,
      passphrase: project.env.PULUMI_CONFIG_PASSPHRASE,
      originPlaceholders,
      integrations,
      identities: Object.fromEntries(
        Object.entries(deployed).map(([name, { clientId, securityRoleId, applicationUserId, secretExpiresAt }]) => [
          name,
          { clientId, securityRoleId, applicationUserId, secretExpiresAt },
        ]),
      ),
      resourceTypes,
    };
    const hosts = emulatorHosts(emulator);
    const files: Record<string, string> = {
      [upgradeFixtureFiles.deployment]: withPlaceholders(`${JSON.stringify(deployment, null, 2)}\n`, hosts),
      [upgradeFixtureFiles.stackConfig]: withPlaceholders(stackConfig, hosts),
      [upgradeFixtureFiles.emulatorState]: `${JSON.stringify(JSON.parse(emulatorState), null, 1)}\n`,
      [upgradeFixtureFiles.manifest]: `${JSON.stringify(manifest, null, 2)}\n`,
      "README.md": fixtureReadme(manifest),
    };
    for (const [file, text] of Object.entries(files)) {
      const left = anyEmulatorAddress.exec(text);
      if (left) throw new Error(`${file} still holds the address ${left[0]} after the placeholders`);
    }
    fs.mkdirSync(outputDir, { recursive: true });
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(outputDir, file), text);
    process.stdout.write(`fixture written to ${path.relative(process.cwd(), outputDir)}\n`);
  } finally {
    project.cleanUp();
    await backend.cleanUp();
    await emulator.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`make-upgrade-fixture: ${error.message}\n`);
  process.exit(1);
});
