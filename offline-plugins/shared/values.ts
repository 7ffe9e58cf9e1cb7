/**
 * Property values as a provider plugin sees them on the wire, and the comparisons `diff` needs.
 *
 * Unlike a dynamic provider, a plugin served by @pulumi/pulumi/provider tells the engine that it
 * accepts secrets, so secret inputs and state arrive wrapped in the engine's secret envelope and
 * preview unknowns arrive as a sentinel string. Values are unwrapped before use; secret outputs
 * are wrapped again on the way out so that their secrecy never depends on the SDK alone.
 */

/** Key and value of the engine's type signature (sdk/nodejs/runtime/rpc.ts). */
const sigKey = "4dabf18193072939515e22adb298388d";
const secretSig = "1b47061264138c4ac30d75fd1eb44270";
/** How the engine sends a value that is not known yet (preview). */
export const unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Plain = Record<string, unknown>;

export function isSecretEnvelope(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Plain)[sigKey] === secretSig;
}

export function secretEnvelope(value: unknown): Plain {
  return { [sigKey]: secretSig, value };
}

/** Removes every secret envelope, at any depth. */
export function unwrapSecrets<T = unknown>(value: unknown): T {
  if (isSecretEnvelope(value)) return unwrapSecrets<T>(value.value);
  if (Array.isArray(value)) return value.map((item) => unwrapSecrets(item)) as T;
  if (typeof value === "object" && value !== null) {
    const result: Plain = {};
    for (const [key, item] of Object.entries(value)) result[key] = unwrapSecrets(item);
    return result as T;
  }
  return value as T;
}

/** True when the value, or anything inside it, is not known yet. */
export function containsUnknown(value: unknown): boolean {
  if (value === unknownValue) return true;
  if (isSecretEnvelope(value)) return containsUnknown(value.value);
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
  return false;
}

/** Graph and Terraform state write "not set" as null, "" or []; they all mean the same here. */
export function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === "" ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}

/** Deep equality after unwrapping secrets, with every empty form equal to every other. */
export function sameValue(a: unknown, b: unknown): boolean {
  const left = unwrapSecrets(a);
  const right = unwrapSecrets(b);
  if (isEmpty(left) && isEmpty(right)) return true;
  if (Array.isArray(left) && Array.isArray(right)) {
    return left.length === right.length && left.every((item, index) => sameValue(item, right[index]));
  }
  if (typeof left === "object" && left !== null && typeof right === "object" && right !== null) {
    if (Array.isArray(left) || Array.isArray(right)) return false;
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    return [...keys].every((key) => sameValue((left as Plain)[key], (right as Plain)[key]));
  }
  return left === right;
}

/** Equality of sets of strings (owners, tags, claim values), case-insensitive as Entra ids are. */
export function sameStringSet(a: unknown, b: unknown): boolean {
  const normalize = (value: unknown) => [...new Set((Array.isArray(value) ? value : []).map((item) => String(item).toLowerCase()))].sort();
  const left = normalize(unwrapSecrets(a));
  const right = normalize(unwrapSecrets(b));
  return left.length === right.length && left.every((item, index) => item === right[index]);
}

/** Drops undefined fields: the provider server cannot encode them ("Unexpected struct type"). */
export function defined(record: Plain): Plain {
  const result: Plain = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) result[key] = value;
  return result;
}

export function stringOrEmpty(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

export function asRecord(value: unknown): Plain {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Plain) : {};
}

export function asRecords(value: unknown): Plain[] {
  return Array.isArray(value) ? value.map(asRecord) : [];
}

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: unknown): value is string {
  return typeof value === "string" && guidPattern.test(value);
}
