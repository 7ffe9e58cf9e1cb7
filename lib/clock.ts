/**
 * The project's clock. "Now" is the wall clock unless DATAVERSE_S2S_NOW (an ISO date) sets it, so
 * that tests and rehearsals of a rotation can move time without waiting.
 */

export const dayMs = 24 * 60 * 60 * 1000;

/** The current time: DATAVERSE_S2S_NOW when set (tests, rehearsals), else the wall clock. */
export function currentTime(): Date {
  const configured = process.env.DATAVERSE_S2S_NOW;
  if (configured) {
    const parsed = new Date(configured);
    if (Number.isNaN(parsed.getTime())) {
      throw new Error(`DATAVERSE_S2S_NOW='${configured}' is not a date; use an ISO date such as 2027-01-31T00:00:00Z, or unset it.`);
    }
    return parsed;
  }
  return new Date();
}
