/**
 * Lookups that do not change during a deployment (business unit ids, the source role's id, the
 * tenant's default app management policy), shared by every provider call of the process: all
 * resources of a run share one provider host, so the environment check, the role and twenty
 * integrations look each up once. Bounded in time: a long-lived process (a test runner) sees changes
 * after lookupCacheMs. Keys start with the service address they came from (see forgetLookups).
 */
const lookupCacheMs = 2 * 60 * 1000;
const lookups: Record<string, { readonly value: Promise<unknown>; readonly expiresAtMs: number }> = {};

/** The value kept under `key`, or `lookUp()`'s, kept for the next callers (failures and undefined are not). */
export function cachedLookup<T>(key: string, lookUp: () => Promise<T>): Promise<T> {
  const now = Date.now();
  const hit = lookups[key];
  if (hit && now < hit.expiresAtMs) return hit.value as Promise<T>;
  const value = lookUp();
  const entry = { value, expiresAtMs: now + lookupCacheMs };
  lookups[key] = entry;
  // Failures and "not found" are not kept: the next call asks again.
  value.then(
    (result) => {
      if (result === undefined && lookups[key] === entry) delete lookups[key];
    },
    () => {
      if (lookups[key] === entry) delete lookups[key];
    },
  );
  return value;
}

/** Keeps a value found another way (a create's answer) for the next lookups of `key`. */
export function rememberLookup(key: string, value: unknown): void {
  lookups[key] = { value: Promise.resolve(value), expiresAtMs: Date.now() + lookupCacheMs };
}

/** Forgets every lookup whose key starts with `prefix` (after a failure that may come from a stale one). */
export function forgetLookups(prefix: string): void {
  for (const key of Object.keys(lookups)) if (key.startsWith(prefix)) delete lookups[key];
}
