// Dataverse's service protection limits, per caller: the concurrent requests in flight and the
// requests in the sliding time window, both answered 429 with Retry-After when over the limit
// (`serviceProtection` in config.ts). The counters live per emulator, at run time only.
import type { ServiceProtectionConfig } from "../config";
import { dataverseError, DataverseErrorCode } from "../errors";
import type { EmulatorCore, RequestContext } from "../http";
import { headers } from "./common";

/** Per-emulator run-time counters of the service protection limits (not persisted). */
interface Protection {
  windows: Map<string, number[]>;
  concurrent: Map<string, number>;
}
const protections = new WeakMap<EmulatorCore, Protection>();

function protection(core: EmulatorCore): Protection {
  let counters = protections.get(core);
  if (!counters) {
    counters = { windows: new Map(), concurrent: new Map() };
    protections.set(core, counters);
  }
  return counters;
}

/** Resets the service protection counters (DELETE /_emulator/requests does it too). */
export function resetProtection(core: EmulatorCore): void {
  protections.delete(core);
}

function retryAfter(limits: ServiceProtectionConfig): Record<string, string> {
  return { "Retry-After": String(limits.retryAfterSeconds), ...headers() };
}

/** Admits a caller's request, or refuses it (429) when the caller has too many in flight or its window is full. */
export function admitRequest(ctx: RequestContext, userId: string): void {
  const limits = ctx.core.config.serviceProtection;
  if (!limits.enabled) return;
  const inFlight = protection(ctx.core).concurrent.get(userId) ?? 0;
  const answerHeaders = retryAfter(limits);
  if (inFlight >= limits.maxConcurrent) {
    ctx.op("service protection (concurrency)");
    throw dataverseError(
      429,
      DataverseErrorCode.tooManyConcurrent,
      `Number of concurrent requests exceeded the limit of ${limits.maxConcurrent}.`,
      answerHeaders,
    );
  }
  admitToWindow(ctx, userId);
}

/**
 * Counts a request in the caller's service protection window, or refuses it (429) when the window is
 * full. A request inside a $batch counts as one request too, as in Dataverse.
 */
export function admitToWindow(ctx: RequestContext, userId: string): void {
  const limits = ctx.core.config.serviceProtection;
  if (!limits.enabled) return;
  const counters = protection(ctx.core);
  const now = Date.now();
  const window = (counters.windows.get(userId) ?? []).filter((time) => time > now - limits.windowMs);
  counters.windows.set(userId, window);
  if (window.length >= limits.maxRequestsPerWindow) {
    ctx.op("service protection (requests)");
    throw dataverseError(
      429,
      DataverseErrorCode.tooManyRequests,
      `Number of requests exceeded the limit of ${limits.maxRequestsPerWindow} over time window of ${Math.round(limits.windowMs / 1000)} seconds.`,
      retryAfter(limits),
    );
  }
  window.push(now);
}

/** Runs a caller's request counted as in flight (enabled or not, as the concurrency limit reads it). */
export async function whileInFlight<T>(core: EmulatorCore, userId: string, run: () => Promise<T>): Promise<T> {
  const counters = protection(core);
  counters.concurrent.set(userId, (counters.concurrent.get(userId) ?? 0) + 1);
  try {
    return await run();
  } finally {
    counters.concurrent.set(userId, (counters.concurrent.get(userId) ?? 1) - 1);
  }
}
