/**
 * What every resource of the stand-in implements, and the field-by-field diff they share.
 */
import type { CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { ConsistencyTiming, KeyedLock } from "./consistency";
import { GraphSession } from "./graph";
import { containsUnknown, Plain, sameStringSet, sameValue } from "./values";

/** Shared by the resources of one provider process. */
export interface ProviderContext {
  /** The signed-in Graph session, opened on first use with the configuration of the last Configure. */
  session(): Promise<GraphSession>;
  readonly timing: ConsistencyTiming;
  /** Keyed by application object id: password adds and removes of one application run one at a time. */
  readonly applicationLocks: KeyedLock;
}

/**
 * Values arrive as the engine sends them (secrets wrapped, unknowns as a sentinel). `check`, `diff`,
 * `read` and `delete` get them raw (read keeps the secret `value` of a password as it is); `create`
 * and `update` get the inputs unwrapped. Outputs use the SDK's output property names.
 */
export interface ResourceHandler {
  check(olds: Plain, news: Plain): CheckResult;
  diff(id: string, olds: Plain, news: Plain): DiffResult;
  create(context: ProviderContext, inputs: Plain): Promise<CreateResult>;
  read(context: ProviderContext, id: string, props: Plain): Promise<ReadResult>;
  update(context: ProviderContext, id: string, olds: Plain, news: Plain): Promise<UpdateResult>;
  delete(context: ProviderContext, id: string, props: Plain): Promise<void>;
}

export interface FieldRule {
  readonly name: string;
  /** Changing it makes a new object (ForceNew in the real provider). */
  readonly replace?: boolean;
  /** Order does not matter (Terraform sets). */
  readonly set?: boolean;
  /** Optional+computed: leaving it out of the program keeps whatever the object has. */
  readonly computed?: boolean;
  /** Custom equality, e.g. timestamps. */
  readonly equal?: (old: unknown, news: unknown) => boolean;
}

/** Compares each field; unknown new values count as changed. */
export function diffFields(olds: Plain, news: Plain, rules: readonly FieldRule[]): DiffResult {
  const replaces: string[] = [];
  let changes = false;
  for (const rule of rules) {
    const next = news[rule.name];
    if (rule.computed && (next === undefined || next === null)) continue;
    const previous = olds[rule.name];
    const same = containsUnknown(next)
      ? false
      : rule.equal
        ? rule.equal(previous, next)
        : rule.set
          ? sameStringSet(previous, next)
          : sameValue(previous, next);
    if (same) continue;
    changes = true;
    if (rule.replace) replaces.push(rule.name);
  }
  return { changes, replaces };
}

/** Validation helpers for `check`: each returns a failure that says what to change. */
export class Failures {
  readonly list: CheckFailure[] = [];

  add(property: string, reason: string): void {
    this.list.push({ property, reason });
  }

  /** Skips values not known yet (preview): they are checked again when known. */
  known(value: unknown): boolean {
    return value !== undefined && value !== null && !containsUnknown(value);
  }
}

/** A failure that tells the engine the object exists although the call failed, so state keeps it. */
export class PartialCreateError extends Error {
  constructor(
    message: string,
    readonly id: string,
    readonly properties: Plain,
  ) {
    super(message);
    this.name = "PartialCreateError";
  }
  readonly reasons = [this.message];
}
