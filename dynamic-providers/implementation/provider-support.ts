/**
 * What every dynamic provider of this project shares: input checks that say what to change, the
 * preview placeholder for unknown values, and errors that add what to do to what went wrong.
 */
import { RestApiError } from "../../lib/rest-client";
import { environmentUrlProblem } from "../../lib/validators";

/** The value an input has during preview while it is not yet known. */
export const unknownPlaceholder = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
  return value === unknownPlaceholder || (Array.isArray(value) && value.includes(unknownPlaceholder));
}

/**
 * What `read` answers when the object is gone: the host takes an empty id as "deleted" and still
 * needs an object for the properties.
 */
export function gone<Outputs>(): { id: string; props: Outputs } {
  return { id: "", props: {} as Outputs };
}

/** The state `read` is given; dynamic resources cannot be imported, so a read always has one. */
export function stateOf<Outputs>(state: Outputs | undefined, id: string): Outputs {
  if (state === undefined) throw new Error(`dataverse-s2s: ${id} cannot be read without its state; dynamic resources cannot be imported.`);
  return state;
}

export interface CheckFailure {
  property: string;
  reason: string;
}

/** Collects check failures: the environment URL, then each [isWrong, property, whatToDo]. */
export function inputProblems(environmentUrl: string, rules: readonly [boolean, string, string][]): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const urlProblem = isUnknown(environmentUrl) ? undefined : environmentUrlProblem(environmentUrl);
  if (urlProblem) failures.push({ property: "environmentUrl", reason: urlProblem });
  for (const [wrong, property, reason] of rules) if (wrong) failures.push({ property, reason });
  return failures;
}

/** Adds what the user can do to an API failure; the message never carries a token or header. */
export function describeFailure(error: unknown, operation: string): Error {
  if (!(error instanceof RestApiError)) return error instanceof Error ? error : new Error(`${operation}: ${String(error)}`);
  let hint = "";
  if (error.status === 401 || error.code === "TOKEN") {
    hint =
      " The deploying identity could not be authenticated for this environment: check AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and " +
      "AZURE_TENANT_ID (or 'az login'), and that it is an enabled application user or user of the environment.";
  } else if (error.status === 403) {
    hint = " The deploying identity lacks a privilege: give it the System Administrator security role in this environment.";
  } else if (error.status === undefined) {
    hint = " The environment did not answer: check dataverse-s2s:environmentUrl and the network, then run 'pulumi up' again.";
  } else if (error.status === 429 || error.status === 503) {
    hint = " Dataverse kept throttling after several retries: run 'pulumi up' again later.";
  }
  return new Error(`${error.message.replace(/\.$/, "")}.${hint}`);
}
