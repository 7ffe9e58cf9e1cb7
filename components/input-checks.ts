/**
 * Validation of component inputs: a plain value is checked at once (so the run stops before anything
 * is declared), a value still to be resolved inside its output chain.
 */
import * as pulumi from "@pulumi/pulumi";

export function checked<T, U>(value: pulumi.Input<T>, check: (resolved: T) => U): pulumi.Input<U> {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) return pulumi.output(value).apply((resolved) => check(resolved as T));
  return check(value as T);
}
