/**
 * Azurite, Microsoft's Azure Storage emulator (the pinned `azurite` dev dependency), as a child process
 * serving the Blob API on a free loopback port: where the demo and the tests keep Pulumi state when they
 * prove the `azblob://` backend offline. It signs in with Azurite's well-known development account
 * (public, documented, the same on every machine), never with a real storage key.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { BlobServiceClient, ContainerClient, StorageSharedKeyCredential } from "@azure/storage-blob";

/** Azurite's development account: its name and key are published constants of the emulator itself. */
function developmentAccount(): { name: string; key: string } {
  // Azurite ships no types for its constants module: a plain require is the way in.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const constants = require("azurite/dist/src/blob/utils/constants") as { EMULATOR_ACCOUNT_NAME: string; EMULATOR_ACCOUNT_KEY_STR: string };
  return { name: constants.EMULATOR_ACCOUNT_NAME, key: constants.EMULATOR_ACCOUNT_KEY_STR };
}

export interface AzuriteOptions {
  /** Folder that keeps the blobs across runs; in memory when absent. */
  readonly location?: string;
  /** Receives Azurite's own output lines (start-up, errors). */
  readonly log?: (line: string) => void;
}

export interface RunningAzurite {
  /** `127.0.0.1:<port>`: the `domain` of an azblob:// URL (gocloud then uses http://<domain>/<account>). */
  readonly domain: string;
  /** The Blob service endpoint, `http://127.0.0.1:<port>/<account>`. */
  readonly blobEndpoint: string;
  readonly accountName: string;
  readonly accountKey: string;
  /** A client of one container (for tests and scripts that read what Pulumi wrote). */
  container(name: string): ContainerClient;
  /** Creates the container if it does not exist yet: Pulumi's backend never creates it. */
  ensureContainer(name: string): Promise<ContainerClient>;
  stop(): Promise<void>;
}

const startTimeoutMs = 120_000;

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const account = developmentAccount();
  const args = [
    require.resolve("azurite/dist/src/blob/main.js"),
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    "0",
    "--disableTelemetry",
    "--silent",
  ];
  if (options.location) {
    fs.mkdirSync(options.location, { recursive: true });
    args.push("--location", options.location);
  } else {
    // Pulumi checkpoints are small: cap the in-memory store instead of Azurite's default of half the RAM.
    args.push("--inMemoryPersistence", "--extentMemoryLimit", "256");
  }
  // Azurite needs Node 22: the one running this script (the project's `node` package).
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], cwd: options.location ?? process.cwd() });
  const output: string[] = [];
  const blobEndpointHost = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within ${startTimeoutMs / 1000} s`)), startTimeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${error.message}. Azurite said: ${output.join(" | ") || "(nothing)"}`));
    };
    const onLine = (line: string) => {
      output.push(line);
      options.log?.(line);
      const listening = /successfully listens on http:\/\/(127\.0\.0\.1:\d+)/.exec(line);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]);
      }
    };
    lines(child.stdout!, onLine);
    lines(child.stderr!, onLine);
    child.once("error", (error) => fail(new Error(`could not start Azurite (${error.message}); run 'npm ci'`)));
    child.once("exit", (code, signal) => fail(new Error(`Azurite exited during start-up (${signal ?? `code ${code}`})`)));
  });
  child.removeAllListeners("exit");

  const blobEndpoint = `http://${blobEndpointHost}/${account.name}`;
  const service = new BlobServiceClient(blobEndpoint, new StorageSharedKeyCredential(account.name, account.key));
  return {
    domain: blobEndpointHost,
    blobEndpoint,
    accountName: account.name,
    accountKey: account.key,
    container: (name) => service.getContainerClient(name),
    async ensureContainer(name) {
      const container = service.getContainerClient(name);
      await container.createIfNotExists();
      return container;
    },
    stop: () => stopChild(child),
  };
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void) {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    const complete = pending.split("\n");
    pending = complete.pop() ?? "";
    for (const line of complete) if (line.trim()) onLine(line.trim());
  });
}

/** SIGTERM lets Azurite flush its on-disk store; SIGKILL if it has not gone after a few seconds. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Every blob under a prefix: name and text content (Pulumi's state files are JSON). */
export async function readBlobs(container: ContainerClient, prefix = ""): Promise<Map<string, string>> {
  const blobs = new Map<string, string>();
  for await (const item of container.listBlobsFlat({ prefix })) {
    const content = await container.getBlobClient(item.name).downloadToBuffer();
    blobs.set(item.name, content.toString("utf8"));
  }
  return blobs;
}
