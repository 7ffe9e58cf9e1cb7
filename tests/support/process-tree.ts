/**
 * Test support: ending a process the way a power cut or a killed CI job would.
 */
import { execFileSync } from "child_process";

/** Kills a process and every descendant at once with SIGKILL (plugins run in their own process groups). */
export function killProcessTree(rootPid: number) {
  const table = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((row) => row.trim().split(/\s+/).map(Number));
  const doomed = [rootPid];
  for (let index = 0; index < doomed.length; index++) {
    for (const [pid, ppid] of table) if (ppid === doomed[index]) doomed.push(pid);
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
