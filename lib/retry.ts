/**
 * The one retry policy of the project, used by every REST call (Dataverse and Microsoft Graph).
 *
 * What is retried, and why:
 * - 429 (Dataverse service protection, Graph throttling) and 503: the service refused the request
 *   before doing anything, so any request may be sent again, after `Retry-After` when given.
 * - 408/502/504 and dropped connections: the request may or may not have been carried out. A read,
 *   PUT, PATCH or DELETE is idempotent and is sent again; a create (POST) is never replayed blindly:
 *   the caller's `reconcile` first looks for what the lost request may have made.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** First back-off when the service gives no Retry-After, doubled per attempt. */
  readonly baseDelayMs: number;
  /** Upper bound of any single back-off, and of a Retry-After wait unless `capRetryAfter` is false. */
  readonly maxDelayMs: number;
  /** Adds up to `baseDelayMs` of random jitter to a back-off (default true). */
  readonly jitter?: boolean;
  /** Caps a Retry-After wait at `maxDelayMs` (default true). */
  readonly capRetryAfter?: boolean;
  /**
   * Replaces the doubling back-off (and its jitter) for a client that must follow another client's
   * rule (the offline azure-native stand-in follows azcore's); `attempt` counts from 1.
   */
  readonly backoffMs?: (attempt: number) => number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** How a failed attempt is to be treated. */
export type FailureKind =
  /** Refused before being carried out (429, 503): safe to send again. */
  | "refused"
  /** Outcome unknown (dropped connection, 408/502/504): safe to send again only if idempotent. */
  | "ambiguous"
  /** Any other failure: give up at once. */
  | "final"
  /**
   * Sent again at once by the transport itself (Go's net/http resends a replayable request once when a
   * reused keep-alive connection failed before any answer): no wait, not counted as an attempt, and
   * never twice in a row (a second "resend" in a row is final).
   */
  | "resend";

export interface AttemptFailure {
  readonly kind: FailureKind;
  /** Seconds from a Retry-After header, when the service sent one. */
  readonly retryAfterSeconds?: number;
}

export interface RetryHooks<T> {
  /** Classifies an error thrown by one attempt. */
  classify(error: unknown): AttemptFailure;
  /** True for reads, PUT, PATCH, DELETE; false for creates. */
  readonly idempotent: boolean;
  /**
   * For non-idempotent requests whose outcome is unknown: look for the result of the lost attempt.
   * Returns it if the request did take effect, or undefined to send it again.
   */
  reconcile?: () => Promise<T | undefined>;
  /** Called before each wait, for logs. */
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
  /** Injected in tests to avoid real waits. */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function backoffDelayMs(policy: RetryPolicy, attempt: number, retryAfterSeconds?: number): number {
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0) {
    return policy.capRetryAfter === false ? retryAfterSeconds * 1000 : Math.min(retryAfterSeconds * 1000, policy.maxDelayMs);
  }
  if (policy.backoffMs) return policy.backoffMs(attempt);
  const exponential = policy.baseDelayMs * 2 ** (attempt - 1);
  // Jitter spreads concurrent clients that were throttled together.
  const jitter = policy.jitter === false ? 0 : Math.random() * policy.baseDelayMs;
  return Math.min(exponential + jitter, policy.maxDelayMs);
}

/**
 * Runs `attempt` under the retry policy. The last error is rethrown unchanged when attempts run out.
 * `attempt` is told when it is a transport resend ("resend"), which does not count as an attempt.
 */
export async function withRetries<T>(policy: RetryPolicy, hooks: RetryHooks<T>, attempt: (resend: boolean) => Promise<T>): Promise<T> {
  const sleep = hooks.sleep ?? realSleep;
  let resend = false;
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(resend);
    } catch (error) {
      const failure = hooks.classify(error);
      if (failure.kind === "resend" && !resend) {
        resend = true;
        attemptNumber--;
        continue;
      }
      resend = false;
      if (failure.kind === "final" || failure.kind === "resend" || attemptNumber >= policy.maxAttempts) throw error;
      if (failure.kind === "ambiguous" && !hooks.idempotent) {
        if (!hooks.reconcile) throw error;
        const landed = await hooks.reconcile();
        if (landed !== undefined) return landed;
      }
      const delayMs = backoffDelayMs(policy, attemptNumber, failure.retryAfterSeconds);
      hooks.onRetry?.(attemptNumber, delayMs, error);
      await sleep(delayMs);
    }
  }
}
