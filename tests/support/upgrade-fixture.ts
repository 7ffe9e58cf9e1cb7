/**
 * The upgrade fixtures' format (tests/fixtures/upgrade-from-<commit>/), written by
 * scripts/make-upgrade-fixture.ts and read by tests/e2e/upgrade.test.ts: a stack deployed by the code
 * of one commit, with the emulator's state that goes with it.
 *
 * The emulator listens on a port picked at start, and its addresses end up in the stack's config
 * and state (the environment URL, azuread:metadataHost). The fixture holds placeholders instead,
 * replaced by the addresses of the emulator the suite starts. The emulator's own state holds no
 * address (it derives them from its port at start), so it is used as it is.
 */
import * as fs from "fs";
import * as path from "path";
import { repoRoot } from "../../scripts/emulator-environment";

/** The stack's name is part of every URN, so the suite imports into a stack of the same name. */
export const upgradeStackName = "upgrade";

export const upgradeFixturesDir = path.join(repoRoot, "tests", "fixtures");

/** A fixture's files. */
export const upgradeFixtureFiles = {
  /** `pulumi stack export` (without --show-secrets: secrets stay encrypted by the passphrase provider). */
  deployment: "stack.json",
  /** The stack's config file, with the encryption salt of its secrets provider. */
  stackConfig: `Pulumi.${upgradeStackName}.yaml`,
  /** The emulator's state file (emulator/store.ts), as the emulator saved it after the run. */
  emulatorState: "emulator-state.json",
  manifest: "manifest.json",
} as const;

/**
 * What stands for the emulator's addresses: `.invalid` names never resolve, so an address left
 * unreplaced fails at once instead of reaching something else.
 */
export const originPlaceholders = {
  /** Entra ID and Graph: host and port of https://127.0.0.1:<port> (also azuread:metadataHost). */
  entra: "entra.emulator.invalid",
  /** Dataverse: host and port of the environment URL, https://localhost:<port>. */
  dataverse: "dataverse.emulator.invalid",
} as const;

export type EmulatorHosts = Record<keyof typeof originPlaceholders, string>;

/** An integration's identity as the fixture's stack outputs give it: what an upgrade must keep. */
export interface DeployedIdentity {
  clientId: string;
  securityRoleId: string;
  applicationUserId: string;
  secretExpiresAt: string;
}

export interface UpgradeFixtureManifest {
  /** The checkout's commit, and the last commit before it that changed the product (the code a user deploys). */
  commit: string;
  productCommit: string;
  /** When the stack was deployed: the suite sets both clocks shortly after it, so that the secrets are not due for rotation. */
  deployedAt: string;
  stackName: string;
  /** The passphrase of the stack's secrets provider (an emulator-only test value). */
  passphrase: string;
  originPlaceholders: typeof originPlaceholders;
  /** The stack config's integrations. */
  integrations: Record<string, unknown>[];
  /** By integration name. */
  identities: Record<string, DeployedIdentity>;
  /** How many resources of each type the stack holds. */
  resourceTypes: Record<string, number>;
}

/** host:port of each of a running emulator's services. */
export function emulatorHosts(emulator: { metadataHost: string; environmentUrl: string }): EmulatorHosts {
  return { entra: emulator.metadataHost, dataverse: new URL(emulator.environmentUrl).host };
}

/** The emulator's addresses replaced by placeholders (writing a fixture). */
export function withPlaceholders(text: string, hosts: EmulatorHosts): string {
  let replaced = text;
  for (const name of Object.keys(originPlaceholders) as (keyof EmulatorHosts)[])
    replaced = replaced.split(hosts[name]).join(originPlaceholders[name]);
  return replaced;
}

/** The placeholders replaced by the emulator's addresses (reading a fixture). */
export function withEmulatorHosts(text: string, hosts: EmulatorHosts): string {
  let replaced = text;
  for (const name of Object.keys(originPlaceholders) as (keyof EmulatorHosts)[])
    replaced = replaced.split(originPlaceholders[name]).join(hosts[name]);
  return replaced;
}

/** The fixture folders, oldest first by deployment date. */
export function upgradeFixtureDirs(): string[] {
  if (!fs.existsSync(upgradeFixturesDir)) return [];
  return fs
    .readdirSync(upgradeFixturesDir)
    .filter((name) => name.startsWith("upgrade-from-"))
    .map((name) => path.join(upgradeFixturesDir, name))
    .sort((a, b) => readManifest(a).deployedAt.localeCompare(readManifest(b).deployedAt));
}

export function readManifest(fixtureDir: string): UpgradeFixtureManifest {
  return JSON.parse(fs.readFileSync(path.join(fixtureDir, upgradeFixtureFiles.manifest), "utf8")) as UpgradeFixtureManifest;
}
