/**
 * The compact, stable form in which a role's privileges are kept in state: sorted "name:depth"
 * entries, a short digest of them, and a readable list of differences.
 */
import { createHash } from "crypto";
import type { RolePrivilege } from "../../lib/dataverse-client";

export function privilegeEntries(privileges: readonly RolePrivilege[]): string[] {
  return [...new Set(privileges.map((privilege) => `${privilege.name}:${privilege.depth}`))].sort();
}

export function privilegeDigest(entries: readonly string[]): string {
  return createHash("sha256").update(entries.join("\n")).digest("hex").slice(0, 16);
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
