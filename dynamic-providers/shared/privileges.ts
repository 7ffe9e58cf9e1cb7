/**
 * The compact, stable form in which a role's privileges are kept in state: sorted "name:depth"
 * entries, a short digest of them, a packed encoding of the whole set, and a readable list of
 * differences.
 *
 * Why packed: a copy of System Administrator holds more than a thousand privileges, about 34 KB as
 * JSON entries; every checkpoint rewrites the state, so the set is stored gzipped (about 6 KB for
 * 1,176 privileges), which still lets a drift show exactly which privileges were lost or gained, and
 * lets a role that does not follow its source be put back as it was. Shared by every provider that
 * keeps a privilege set (cloned roles, roles from a spec).
 */
import { createHash } from "crypto";
import { gunzipSync, gzipSync } from "zlib";
import type { RolePrivilege } from "../../lib/dataverse-client";

/** Sorted, de-duplicated "name:depth" entries of a role's privileges. */
export function privilegeEntries(privileges: readonly RolePrivilege[]): string[] {
  return [...new Set(privileges.map((privilege) => `${privilege.name}:${privilege.depth}`))].sort();
}

/** Splits a "name:depth" entry. */
export function parsePrivilegeEntry(entry: string): { name: string; depth: string } {
  const separator = entry.lastIndexOf(":");
  return separator < 0 ? { name: entry, depth: "" } : { name: entry.slice(0, separator), depth: entry.slice(separator + 1) };
}

export function privilegeDigest(entries: readonly string[]): string {
  return createHash("sha256").update(entries.join("\n")).digest("hex").slice(0, 16);
}

/**
 * Format tag of packed privilege sets: "gz1:" + base64 of the gzip of the sorted entries joined by
 * newlines. Read one by hand with `echo '<value without gz1:>' | base64 -d | gunzip`.
 */
const packedFormat = "gz1:";

/** Packs entries (any order) into one short string; `unpackPrivileges` gives back the sorted entries. */
export function packPrivileges(entries: readonly string[]): string {
  const canonical = [...new Set(entries)].sort().join("\n");
  return packedFormat + gzipSync(Buffer.from(canonical, "utf8"), { level: 9 }).toString("base64");
}

export function unpackPrivileges(packed: string): string[] {
  if (!packed.startsWith(packedFormat)) {
    throw new Error(`dataverse-s2s: a packed privilege set must start with '${packedFormat}'; the state holds another format.`);
  }
  const text = gunzipSync(Buffer.from(packed.slice(packedFormat.length), "base64")).toString("utf8");
  return text === "" ? [] : text.split("\n");
}

/** "-name:depth" for what is missing from `actual`, "+name:depth" for what it has in excess; capped for display. */
export function privilegeDifferences(expected: readonly string[], actual: readonly string[], limit = 25): string[] {
  const expectedSet = new Set(expected);
  const actualSet = new Set(actual);
  const differences = [
    ...expected.filter((entry) => !actualSet.has(entry)).map((entry) => `-${entry}`),
    ...actual.filter((entry) => !expectedSet.has(entry)).map((entry) => `+${entry}`),
  ];
  return differences.length > limit ? [...differences.slice(0, limit), `... and ${differences.length - limit} more`] : differences;
}
