// Pins the one retry policy: refused requests are retried after Retry-After, a create whose outcome
// is unknown is reconciled instead of replayed, and final errors are not retried.
import { backoffDelayMs, defaultRetryPolicy, withRetries, AttemptFailure } from "../../lib/retry";

class FakeFailure extends Error {
  constructor(readonly failure: AttemptFailure) {
    super(failure.kind);
  }
}
const classify = (error: unknown): AttemptFailure => (error instanceof FakeFailure ? error.failure : { kind: "final" });

describe("withRetries", () => {
  test("a refused request is retried after Retry-After seconds", async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await withRetries(
      defaultRetryPolicy,
      { classify, idempotent: false, sleep: async (ms) => void waits.push(ms) },
      async () => {
        calls++;
        if (calls < 3) throw new FakeFailure({ kind: "refused", retryAfterSeconds: 2 });
        return "ok";
      },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(3);
    expect(waits).toEqual([2000, 2000]);
  });

  test("an ambiguous failure of a create is reconciled, never replayed blindly", async () => {
    let sends = 0;
    let reconciles = 0;
    const result = await withRetries(
      defaultRetryPolicy,
      { classify, idempotent: false, sleep: async () => undefined, reconcile: async () => (reconciles++, "found-after-loss") },
      async () => {
        sends++;
        throw new FakeFailure({ kind: "ambiguous" });
      },
    );
    expect(result).toBe("found-after-loss");
    expect(sends).toBe(1);
    expect(reconciles).toBe(1);
  });

  test("an ambiguous create without reconcile fails rather than risking a duplicate", async () => {
    let sends = 0;
    await expect(
      withRetries(defaultRetryPolicy, { classify, idempotent: false, sleep: async () => undefined }, async () => {
        sends++;
        throw new FakeFailure({ kind: "ambiguous" });
      }),
    ).rejects.toThrow("ambiguous");
    expect(sends).toBe(1);
  });

  test("an idempotent request is resent after an ambiguous failure, and gives up after maxAttempts", async () => {
    let sends = 0;
    await expect(
      withRetries({ ...defaultRetryPolicy, maxAttempts: 4 }, { classify, idempotent: true, sleep: async () => undefined }, async () => {
        sends++;
        throw new FakeFailure({ kind: "ambiguous" });
      }),
    ).rejects.toThrow();
    expect(sends).toBe(4);
  });

  test("a final error is thrown at once", async () => {
    let sends = 0;
    await expect(
      withRetries(defaultRetryPolicy, { classify, idempotent: true, sleep: async () => undefined }, async () => {
        sends++;
        throw new Error("bad request");
      }),
    ).rejects.toThrow("bad request");
    expect(sends).toBe(1);
  });

  test("back-off grows exponentially and is capped", () => {
    const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelayMs(policy, 1)).toBeGreaterThanOrEqual(100);
    expect(backoffDelayMs(policy, 1)).toBeLessThan(200);
    expect(backoffDelayMs(policy, 3)).toBeGreaterThanOrEqual(400);
    expect(backoffDelayMs(policy, 9)).toBe(1000);
    expect(backoffDelayMs(policy, 1, 120)).toBe(1000);
  });

  test("a policy may have no jitter and no cap on Retry-After (the azuread stand-in's go-azure-sdk policy)", () => {
    const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000, jitter: false, capRetryAfter: false };
    expect(backoffDelayMs(policy, 1)).toBe(100);
    expect(backoffDelayMs(policy, 3)).toBe(400);
    expect(backoffDelayMs(policy, 9)).toBe(1000);
    expect(backoffDelayMs(policy, 1, 120)).toBe(120_000);
  });

  test("a resend is sent at once, is not an attempt, and never twice in a row", async () => {
    const waits: number[] = [];
    const tries: boolean[] = [];
    const script: AttemptFailure[] = [{ kind: "refused" }, { kind: "resend" }, { kind: "resend" }];
    await expect(
      withRetries(
        { ...defaultRetryPolicy, maxAttempts: 2 },
        { classify, idempotent: true, sleep: async (ms) => void waits.push(ms) },
        async (resend) => {
          tries.push(resend);
          throw new FakeFailure(script[tries.length - 1]);
        },
      ),
    ).rejects.toThrow("resend");
    expect(tries).toEqual([false, false, true]);
    expect(waits).toHaveLength(1);
    let calls = 0;
    const result = await withRetries({ ...defaultRetryPolicy, maxAttempts: 1 }, { classify, idempotent: true }, async () => {
      if (++calls === 1) throw new FakeFailure({ kind: "resend" });
      return "ok";
    });
    expect(result).toBe("ok");
  });
});
