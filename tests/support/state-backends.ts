/**
 * Test support: the Pulumi state backends the end-to-end suites run on, each able to list and read
 * back what Pulumi wrote (checkpoints, backups, history, locks), so tests assert on stored state.
 * - `file`: a fresh folder.
 * - `azblob`: Pulumi's azblob:// backend on a container of an Azurite started for the suite.
 * - the default: what scripts/state-backend.ts picks, i.e. PULUMI_BACKEND_URL when it is set.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readBlobs, RunningAzurite, startAzurite } from "../../scripts/azurite";
import { azuriteStateBackend, chooseStateBackend, fileBackendDir, fileStateBackend, StateBackend } from "../../scripts/state-backend";

export type BackendKind = "file" | "azblob";

export interface TestBackend extends StateBackend {
  /** Every stored object by name, relative to the backend's root (`.pulumi/stacks/...`), with its text. */
  objects(prefix?: string): Promise<Map<string, string>>;
  /** Removes what the backend made for the test (its folder, its Azurite). */
  cleanUp(): Promise<void>;
}

export function fileTestBackend(): TestBackend {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dataverse-s2s-state-"));
  return readableFileBackend(fileStateBackend(dir), dir, async () => fs.rmSync(dir, { recursive: true, force: true }));
}

/** A container (made here) in a running Azurite; the caller owns the Azurite. */
export async function azuriteTestBackend(azurite: RunningAzurite, container: string): Promise<TestBackend> {
  const client = await azurite.ensureContainer(container);
  return {
    ...azuriteStateBackend(azurite, container),
    objects: (prefix = "") => readBlobs(client, prefix),
    cleanUp: async () => undefined,
  };
}

/** A backend of the given kind; for `azblob`, on an Azurite of its own that cleanUp stops. */
export async function openTestBackend(kind: BackendKind): Promise<TestBackend> {
  if (kind === "file") return fileTestBackend();
  const azurite = await startAzurite();
  const backend = await azuriteTestBackend(azurite, "pulumi-state");
  return { ...backend, cleanUp: () => azurite.stop() };
}

/** What a script would use: PULUMI_BACKEND_URL when set (readable here only if file://), else a fresh folder. */
export function defaultTestBackend(): TestBackend {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dataverse-s2s-state-"));
  const removeDir = async () => fs.rmSync(dir, { recursive: true, force: true });
  const chosen = chooseStateBackend(dir);
  if (chosen.url.startsWith("file://")) return readableFileBackend(chosen, fileBackendDir(chosen.url), removeDir);
  return {
    ...chosen,
    objects: async () => {
      throw new Error(`tests read stored state only from file:// and Azurite backends, not from ${chosen.description}`);
    },
    cleanUp: removeDir,
  };
}

function readableFileBackend(backend: StateBackend, dir: string, cleanUp: () => Promise<void>): TestBackend {
  return {
    ...backend,
    async objects(prefix = "") {
      const found = new Map<string, string>();
      const walk = (folder: string) => {
        if (!fs.existsSync(folder)) return;
        for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
          const full = path.join(folder, entry.name);
          if (entry.isDirectory()) walk(full);
          else {
            const name = path.relative(dir, full).split(path.sep).join("/");
            if (name.startsWith(prefix)) found.set(name, fs.readFileSync(full, "utf8"));
          }
        }
      };
      walk(dir);
      return found;
    },
    cleanUp,
  };
}

/** The Pulumi project of Pulumi.yaml: DIY backends file stacks under its name. */
const pulumiProject = "dataverse-s2s";

export interface StoredCheckpoint {
  readonly resources: readonly { readonly urn: string; readonly type: string; readonly id?: string }[];
  readonly pendingOperations: readonly { readonly type: string; readonly resource: { readonly urn: string } }[];
}

/** A DIY checkpoint file (`{version, checkpoint: {latest: {resources, pending_operations}}}`). */
export function parseCheckpoint(text: string): StoredCheckpoint {
  const latest = (JSON.parse(text) as { checkpoint: { latest?: { resources?: unknown[]; pending_operations?: unknown[] } } }).checkpoint
    .latest;
  return {
    resources: (latest?.resources ?? []) as StoredCheckpoint["resources"],
    pendingOperations: (latest?.pending_operations ?? []) as StoredCheckpoint["pendingOperations"],
  };
}

/** What a DIY backend holds for one stack, read from the store itself. */
export interface StoredStack {
  /** `.pulumi/stacks/<project>/<stack>.json`: the live checkpoint. */
  readonly checkpoint?: string;
  /** `<stack>.json.bak`: the checkpoint before the last write. */
  readonly backup?: string;
  /** `.pulumi/history/<project>/<stack>/`: one `.history.json` and one `.checkpoint.json` per finished update. */
  readonly history: ReadonlyMap<string, string>;
  /** `.pulumi/locks/.../<stack>/<lock id>.json`: one per deployment holding the stack. */
  readonly locks: ReadonlyMap<string, string>;
}

export async function readStoredStack(backend: TestBackend, stackName: string): Promise<StoredStack> {
  const all = await backend.objects(".pulumi/");
  const stackFile = `.pulumi/stacks/${pulumiProject}/${stackName}.json`;
  const under = (prefix: string) => new Map([...all].filter(([name]) => name.startsWith(prefix)));
  const locks = new Map([...under(".pulumi/locks/")].filter(([name]) => name.includes(`/${pulumiProject}/${stackName}/`)));
  return {
    checkpoint: all.get(stackFile),
    backup: all.get(`${stackFile}.bak`),
    history: under(`.pulumi/history/${pulumiProject}/${stackName}/`),
    locks,
  };
}

/** The checkpoints a stack's history keeps, oldest first (names carry the update's timestamp). */
export function historyCheckpoints(stored: StoredStack): string[] {
  return [...stored.history.keys()].filter((name) => name.endsWith(".checkpoint.json")).sort();
}
