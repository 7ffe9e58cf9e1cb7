// scripts/state-backend.ts: which backend a script uses, and how a held stack lock is reported.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  chooseStateBackend,
  explainStackLock,
  redactBackendUrl,
  StackLockedError,
  withStackLockExplained,
} from "../../scripts/state-backend";

const pulumiLockError =
  "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n" +
  "  azblob://state/.pulumi/locks/organization/dataverse-s2s/prod/1b2c.json?domain=127.0.0.1:10000&protocol=http: created by runner@ci-7 (pid 4242) at 2026-11-30T10:00:00Z";

describe("chooseStateBackend", () => {
  test("PULUMI_BACKEND_URL wins, as for any Pulumi program", () => {
    const backend = chooseStateBackend("/tmp/unused", { PULUMI_BACKEND_URL: "azblob://state?storage_account=teamstate" });
    expect(backend.url).toBe("azblob://state?storage_account=teamstate");
    expect(backend.env).toEqual({ PULUMI_BACKEND_URL: "azblob://state?storage_account=teamstate" });
    expect(backend.description).toContain("from PULUMI_BACKEND_URL");
  });

  test("without it, the script's own file backend", () => {
    const dir = path.join(os.tmpdir(), `dataverse-s2s-unit-backend-${process.pid}`);
    const backend = chooseStateBackend(dir, {});
    expect(backend.url).toBe(`file://${dir}?metadata=skip`);
    expect(fs.existsSync(dir)).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("descriptions never carry a password", () => {
    expect(redactBackendUrl("postgres://deployer:hunter2@db.example/state")).toBe("postgres://****@db.example/state");
    expect(chooseStateBackend("/tmp/unused", { PULUMI_BACKEND_URL: "postgres://deployer:hunter2@db/state" }).description).not.toContain(
      "hunter2",
    );
  });
});

describe("a held stack lock", () => {
  test("Pulumi's lock error (the Automation API's ConcurrentUpdateError text) becomes a message that names the stack and says when cancel is safe", async () => {
    // ConcurrentUpdateError's message is the command's result: code, stdout, then stderr.
    const failing = () => Promise.reject(new Error(`code: 255\n stdout: \n stderr: ${pulumiLockError}`));
    const error = await withStackLockExplained("prod", failing).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StackLockedError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Stack 'prod' is locked: another deployment holds it, so this run stopped before changing anything\./);
    expect(message).toContain("'pulumi cancel --stack prod' is safe only once no deployment of this stack is running any more");
    expect((error as StackLockedError).locks).toEqual([
      "azblob://state/.pulumi/locks/organization/dataverse-s2s/prod/1b2c.json?domain=127.0.0.1:10000&protocol=http: created by runner@ci-7 (pid 4242) at 2026-11-30T10:00:00Z",
    ]);
  });

  test("a CLI's stderr is read the same way; Pulumi Cloud's 409 too", () => {
    expect(explainStackLock(new Error("'pulumi up' exited with 255"), "dev", pulumiLockError)).toBeInstanceOf(StackLockedError);
    expect(explainStackLock(new Error("[409] Conflict: Another update is currently in progress."), "dev")).toBeInstanceOf(StackLockedError);
  });

  test("other failures pass through unchanged", () => {
    const other = new Error("error: update failed");
    expect(explainStackLock(other, "dev")).toBe(other);
  });
});
