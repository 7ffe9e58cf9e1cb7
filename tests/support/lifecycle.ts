/**
 * Test support for the lifecycle suites (issue 8): a watcher that reads application users' roles
 * from the emulator all through a run, and the run's writes in the order the emulator answered them,
 * a Dataverse $batch's parts in the order the batch carried them (a change set is all or nothing).
 */
import type { TestEmulator } from "./emulator";

/** Reads the given users' roles again and again while `run` runs; records every moment one held none. */
export async function watchingRoles<T>(
  test_: TestEmulator,
  userIds: () => string[],
  run: () => Promise<T>,
): Promise<{ result: T; roleless: string[]; reads: number }> {
  const client = test_.dataverse();
  const roleless: string[] = [];
  let reads = 0;
  let running = true;
  const watcher = (async () => {
    while (running) {
      for (const userId of userIds()) {
        const user = await client.getUser(userId);
        reads++;
        if (!user || user.deletedstate || (user.systemuserroles_association ?? []).length === 0) {
          roleless.push(`${userId}: ${user ? "no role" : "gone"}`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  })();
  try {
    const result = await run();
    return { result, roleless, reads };
  } finally {
    running = false;
    await watcher;
  }
}

/** One answered write: "<service> <METHOD> <operation>", with the log line it came in (a $batch's parts share one). */
export interface WriteEvent {
  readonly write: string;
  readonly line: number;
}

/**
 * Keeps every request log line of an emulator (the emulator itself keeps only the last 2000): pass
 * `log` to startE2eEmulator. `writesSince(mark)` lists the successful writes answered after `mark()`,
 * in order; a $batch counts as the writes it carried, in the order it carried them.
 */
export function requestRecorder() {
  const lines: string[] = [];
  return {
    log: (line: string) => {
      lines.push(line);
    },
    mark: () => lines.length,
    writesSince(mark: number): WriteEvent[] {
      const events: WriteEvent[] = [];
      lines.slice(mark).forEach((line, offset) => {
        // "<time> <service> <METHOD> <path> <status> <ms>ms[ FAULT x][ parts=[a; b]]"
        const [, service, method, path, status] = line.split(" ");
        if (!/^2\d\d$/.test(status)) return;
        const parts = /parts=\[(.*)\]$/.exec(line);
        if (parts) {
          for (const part of parts[1].split("; ")) {
            if (/^\w+ (POST|PATCH|PUT|DELETE) /.test(part)) events.push({ write: part, line: mark + offset });
          }
        } else if (/^(POST|PATCH|PUT|DELETE)$/.test(method)) {
          events.push({ write: `${service} ${method} ${operationOf(service, path)}`, line: mark + offset });
        }
      });
      return events;
    },
  };
}

/** A Dataverse path as the emulator names a $batch part: without the API prefix, ids as "(<id>)". */
function operationOf(service: string, path: string): string {
  const bare = path.split("?")[0];
  if (service !== "dataverse") return bare;
  return bare.replace(/^\/api\/data\/v9\.\d+\//, "").replace(/\([0-9a-fA-F-]{36}\)/g, "(<id>)");
}

/** Index of the first event matching `pattern` (-1 when none). */
export function firstIndex(events: readonly WriteEvent[], pattern: RegExp): number {
  return events.findIndex((event) => pattern.test(event.write));
}

/** Index of the last event matching `pattern` (-1 when none). */
export function lastIndex(events: readonly WriteEvent[], pattern: RegExp): number {
  for (let index = events.length - 1; index >= 0; index--) if (pattern.test(events[index].write)) return index;
  return -1;
}

/** The writes that give a user a role and take one from it, and that create and delete roles. */
export const roleWrites = {
  associate: /^dataverse POST systemusers\(<id>\)\/systemuserroles_association\/\$ref$/,
  disassociate: /^dataverse DELETE systemusers\(<id>\)\/systemuserroles_association(\(<id>\))?\/\$ref$/,
  moveUser: /^dataverse PATCH systemusers\(<id>\)$/,
  createRole: /^dataverse POST roles$/,
  deleteRole: /^dataverse DELETE roles\(<id>\)$/,
};
