/**
 * Waiting out Entra's replication lag, as the real provider does, with short bounded waits.
 *
 * Graph is eventually consistent: an object just created may answer 404 for a while, a password
 * just added may be missing from the application for a few reads, a deleted object may come back.
 * The real provider polls until it sees the same answer five times in a row (one to five seconds
 * apart) and retries 404s after a create for up to ten minutes. The stand-in makes the same kind of
 * calls with shorter intervals and a one-minute bound, since it only ever talks to the emulator.
 */
import { RestApiError } from "../../lib/rest-client";

export interface PollTiming {
  /** Consecutive satisfying answers required. */
  readonly consecutive: number;
  readonly intervalMs: number;
  /** Gives up (with an error) after this long. */
  readonly timeoutMs: number;
}

export interface ConsistencyTiming {
  /** After a change: until the change is seen (password listed, password gone). */
  readonly update: PollTiming;
  /** After a delete: until the object answers 404. */
  readonly deletion: PollTiming;
  /** Right after a create: how long a 404 on the new object is retried. */
  readonly notFound: PollTiming;
}

export const defaultTiming: ConsistencyTiming = {
  update: { consecutive: 5, intervalMs: 250, timeoutMs: 60_000 },
  deletion: { consecutive: 5, intervalMs: 500, timeoutMs: 60_000 },
  notFound: { consecutive: 1, intervalMs: 500, timeoutMs: 60_000 },
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it answers true `consecutive` times in a row. */
export async function waitUntil(description: string, timing: PollTiming, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timing.timeoutMs;
  let streak = 0;
  for (;;) {
    streak = (await check()) ? streak + 1 : 0;
    if (streak >= timing.consecutive) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `${description}: Microsoft Graph did not show the change consistently within ${Math.round(timing.timeoutMs / 1000)} s`,
      );
    }
    await sleep(timing.intervalMs);
  }
}

/** Runs `action` again while it fails with 404, which right after a create means "not replicated yet". */
export async function retryWhileNotFound<T>(timing: PollTiming, action: () => Promise<T>): Promise<T> {
  return retryWhile(timing, (error) => error instanceof RestApiError && error.status === 404, action);
}

/** Runs `action` again while its failure is one `retried` accepts (an operation's RetryFunc), within the timing's bound. */
export async function retryWhile<T>(timing: PollTiming, retried: (error: unknown) => boolean, action: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timing.timeoutMs;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if (!retried(error) || Date.now() >= deadline) throw error;
      await sleep(timing.intervalMs);
    }
  }
}

/**
 * Serializes work on one Graph object within this process. The engine runs independent resources in
 * parallel, and two passwords of one application must not be added or removed at the same time
 * (the real provider takes the same lock, keyed by the application's object id).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
