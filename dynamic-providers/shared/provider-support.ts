/**
 * What every dynamic provider of this project shares: input checks that say what to change, the
 * preview placeholder for unknown values, the one way to compute a diff, and errors that add what to
 * do to what went wrong.
 */
import type * as pulumi from "@pulumi/pulumi";
import { RestApiError } from "../../lib/rest-client";
import { environmentUrlProblem } from "../../lib/validators";

/** The value an input has during preview while it is not yet known. */
const unknownPlaceholder = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

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

/**
 * Collects check failures: the environment URL, then each [isWrong, property, whatToDo].
 *
 * A `check` normalises its inputs; the stack's settings are validated once, by config/stack-config.ts,
 * with the same rules (lib/validators.ts, lib/defaults.ts). The failures kept here are for what only
 * the provider sees: values made by other resources (ids from Entra, role ids), and resources
 * declared directly in a program without the config reader. Unknown values (preview) never fail.
 */
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

/** A field of both the inputs and the outputs, compared by a diff. */
type SharedField<Inputs, Outputs> = keyof Inputs & keyof Outputs & string;

interface DiffRules<Inputs, Outputs> {
  /** Fields whose change replaces the resource (the object cannot be moved or renamed in place). */
  readonly replaceOn?: readonly SharedField<Inputs, Outputs>[];
  /** Fields whose change is an update in place. */
  readonly updateOn?: readonly SharedField<Inputs, Outputs>[];
  /** How two values of a field compare; default: equal as JSON (arrays element by element). */
  readonly equal?: { readonly [Field in SharedField<Inputs, Outputs>]?: (old: Outputs[Field], wanted: Inputs[Field]) => boolean };
  /** A change that no input field shows: drift read back by `read`, work that has fallen due. */
  readonly otherChange?: boolean;
  /** Outputs an update keeps (so dependents do not see them as unknown during a preview). */
  readonly stables?: readonly string[];
  /** Delete the old object before making the new one: always, or only when replacing (default: the engine's). */
  readonly deleteBeforeReplace?: "always" | "whenReplacing";
}

/**
 * The one way the providers compute a diff: field by field; an unknown value (preview) counts as
 * changed; a changed replace-on field replaces; stables only when nothing is replaced.
 */
export function computeDiff<Inputs, Outputs>(olds: Outputs, news: Inputs, rules: DiffRules<Inputs, Outputs>): pulumi.dynamic.DiffResult {
  const differs = (field: SharedField<Inputs, Outputs>): boolean => {
    const wanted = news[field];
    if (isUnknown(wanted)) return true;
    const compare = rules.equal?.[field];
    if (compare) return !compare(olds[field], wanted);
    return JSON.stringify(olds[field]) !== JSON.stringify(wanted);
  };
  const replaces = (rules.replaceOn ?? []).filter(differs);
  const updates = (rules.updateOn ?? []).filter(differs);
  return {
    changes: replaces.length > 0 || updates.length > 0 || rules.otherChange === true,
    replaces,
    ...(rules.stables ? { stables: replaces.length > 0 ? [] : [...rules.stables] } : {}),
    ...(rules.deleteBeforeReplace === undefined
      ? {}
      : { deleteBeforeReplace: rules.deleteBeforeReplace === "always" || replaces.length > 0 }),
  };
}
