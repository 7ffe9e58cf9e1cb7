/**
 * Defaults and limits of the HTTP layer that an operator may need to change without a code change.
 */

/** Seconds one HTTP request may take before it counts as timed out (and is retried if safe). */
export const defaultHttpTimeoutSeconds = 120;

/** DATAVERSE_S2S_HTTP_TIMEOUT_SECONDS when set (slow networks, tests), else the default. */
export function httpTimeoutMs(): number {
  const configured = process.env.DATAVERSE_S2S_HTTP_TIMEOUT_SECONDS;
  if (configured === undefined || configured === "") return defaultHttpTimeoutSeconds * 1000;
  const seconds = Number(configured);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(`DATAVERSE_S2S_HTTP_TIMEOUT_SECONDS='${configured}' is not a positive number of seconds; unset it or give e.g. 120.`);
  }
  return seconds * 1000;
}
