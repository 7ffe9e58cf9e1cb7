/**
 * Where a script's Pulumi runs keep their state, decided in one place for the demo, the tests' projects
 * and any report or bench script. As for any Pulumi program, PULUMI_BACKEND_URL wins when it is set;
 * otherwise the script's own local file backend. Also: the azblob:// URL and login for Azurite, and the
 * one message for a stack that another deployment holds.
 */
import * as fs from "fs";
import type { RunningAzurite } from "./azurite";

export interface StateBackend {
  /** The value of PULUMI_BACKEND_URL for the runs. */
  readonly url: string;
  /** Variables the runs need: PULUMI_BACKEND_URL and, for a storage emulator, its login. */
  readonly env: Readonly<Record<string, string>>;
  /** For people: what the backend is, without any credential. */
  readonly description: string;
}

/** PULUMI_BACKEND_URL from the environment when set, otherwise a file backend in `localStateDir`. */
export function chooseStateBackend(localStateDir: string, environment: NodeJS.ProcessEnv = process.env): StateBackend {
  const fromEnvironment = environment.PULUMI_BACKEND_URL?.trim();
  if (fromEnvironment) {
    return {
      url: fromEnvironment,
      env: { PULUMI_BACKEND_URL: fromEnvironment },
      description: `${redactBackendUrl(fromEnvironment)} (from PULUMI_BACKEND_URL)`,
    };
  }
  return fileStateBackend(localStateDir);
}

/**
 * The file:// URL of a local state folder. `metadata=skip`: gocloud's fileblob (Pulumi 3.259's file
 * backend) writes a checkpoint atomically (temp file, rename) but its `<checkpoint>.attrs` sidecar in
 * place, so a job killed during that small write leaves an empty sidecar and every later command of the
 * stack, `pulumi cancel` included, fails with "failed to load checkpoint: EOF". Pulumi reads nothing
 * from the sidecar; without it the only write is the atomic one.
 */
export function fileBackendUrl(dir: string): string {
  return `file://${dir}?metadata=skip`;
}

/** The folder of a file:// backend URL (its query, e.g. metadata=skip, left out). */
export function fileBackendDir(url: string): string {
  return url.slice("file://".length).split("?")[0];
}

export function fileStateBackend(dir: string): StateBackend {
  fs.mkdirSync(dir, { recursive: true });
  const url = fileBackendUrl(dir);
  return { url, env: { PULUMI_BACKEND_URL: url }, description: `file backend in ${dir}` };
}

/**
 * Pulumi's azblob:// backend on an Azurite container. gocloud's azureblob driver (Pulumi 3.259) takes
 * `domain` and `protocol` from the URL and, for a loopback domain, addresses the account path-style
 * (http://127.0.0.1:<port>/<account>); AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY select shared-key
 * login, which wins over a connection string, a SAS token and DefaultAzureCredential.
 */
export function azuriteStateBackend(azurite: RunningAzurite, container: string): StateBackend {
  const url = `azblob://${container}?domain=${azurite.domain}&protocol=http`;
  return {
    url,
    env: { PULUMI_BACKEND_URL: url, AZURE_STORAGE_ACCOUNT: azurite.accountName, AZURE_STORAGE_KEY: azurite.accountKey },
    description: `azblob container '${container}' in Azurite at ${azurite.blobEndpoint} (development account)`,
  };
}

/** A backend URL fit for a log line: user and password (postgres://, s3 endpoints) masked. */
export function redactBackendUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@?#]*@/i, "$1****@");
}

/** What Pulumi says when another update holds the stack: DIY backends' lock, and Pulumi Cloud's 409. */
const lockedStackTexts = ["the stack is currently locked by", "[409] Conflict: Another update is currently in progress."];

export function isStackLockedMessage(text: string): boolean {
  return lockedStackTexts.some((needle) => text.includes(needle));
}

/** A run that stopped before writing anything because another deployment holds the stack. */
export class StackLockedError extends Error {
  constructor(
    readonly stackName: string,
    /** Pulumi's lines about each lock: where it is, who made it (user@host, pid) and when. */
    readonly locks: readonly string[],
  ) {
    super(
      `Stack '${stackName}' is locked: another deployment holds it, so this run stopped before changing anything. ` +
        `Wait for that deployment to end, then run again. ` +
        `'pulumi cancel --stack ${stackName}' is safe only once no deployment of this stack is running any more (its job ended or was killed): ` +
        `it deletes every lock of the stack, a live one's too; then 'pulumi refresh --clear-pending-creates' and 'pulumi up' finish what it left (README, "State for teams").` +
        (locks.length ? `\nHeld by:\n${locks.map((lock) => `  ${lock}`).join("\n")}` : ""),
    );
    this.name = "StackLockedError";
  }
}

/**
 * The error to report for a failed Pulumi run: a StackLockedError when another deployment held the
 * stack (the Automation API's ConcurrentUpdateError, or a CLI's stderr saying so), else `error` as it was.
 */
export function explainStackLock(error: unknown, stackName: string, stderr = ""): unknown {
  const text = `${error instanceof Error ? error.message : String(error)}\n${stderr}`;
  if (!isStackLockedMessage(text)) return error;
  const locks = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => /: created by \S+ \(pid \d+\) at /.test(line));
  return new StackLockedError(stackName, [...new Set(locks)]);
}

/** Runs one Pulumi operation on a stack and reports a held lock with StackLockedError. */
export async function withStackLockExplained<T>(stackName: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw explainStackLock(error, stackName);
  }
}
