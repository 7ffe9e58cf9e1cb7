/**
 * A security role declared by the privileges it grants (issue 10): tables by logical name, each with
 * access rights at a depth, plus privileges by name that belong to no table. One set of rules for the
 * config reader (offline: shapes, rights, depths) and one resolution against Dataverse for the
 * environment check and the SpecSecurityRole provider (online: tables and names exist, each depth is
 * one the privilege allows), so that every mistake is reported, naming its key, before any write.
 *
 * Tables are resolved with EntityDefinitions(LogicalName='<table>')/Privileges, which names the
 * table's privileges exactly (systemuser's are prv*User, annotation's prv*Note); privileges given by
 * name are looked up in the `privileges` table by name. No id is ever guessed.
 */
import type { DataverseClient, RolePrivilege } from "./dataverse-client";
import { roleDefaults } from "./defaults";
import { isRecord } from "./validators";

/** The access rights of a table, as the config writes them, with SecurityPrivilegeMetadata.PrivilegeType. */
const accessRights = {
  create: "Create",
  read: "Read",
  write: "Write",
  delete: "Delete",
  append: "Append",
  appendTo: "AppendTo",
  assign: "Assign",
  share: "Share",
} as const;
type AccessRight = keyof typeof accessRights;

/** Depths a role may grant a privilege at, narrowest first (RecordFilter needs a filter: not offered). */
const privilegeDepths = ["Basic", "Local", "Deep", "Global"] as const;
type PrivilegeDepth = (typeof privilegeDepths)[number];

/** A validated spec: table -> right -> depth, and privileges by name (granted at Global). */
export interface PrivilegeSpec {
  readonly privileges: Readonly<Record<string, Readonly<Partial<Record<AccessRight, PrivilegeDepth>>>>>;
  readonly miscPrivileges: readonly string[];
}

const logicalNamePattern = /^[a-z][a-z0-9_]{0,63}$/;
const privilegeNamePattern = /^prv[A-Za-z0-9_]{1,97}$/;

/** The depth as written ("global", "Global"), or undefined when it is not one. */
function parseDepth(value: unknown): PrivilegeDepth | undefined {
  return typeof value === "string" ? privilegeDepths.find((depth) => depth.toLowerCase() === value.trim().toLowerCase()) : undefined;
}

function parseRight(value: unknown): AccessRight | undefined {
  return typeof value === "string"
    ? (Object.keys(accessRights) as AccessRight[]).find((right) => right.toLowerCase() === value.trim().toLowerCase())
    : undefined;
}

const rightList = Object.keys(accessRights).join(", ");
const depthList = privilegeDepths.join(", ");

/** Checks a privilege name's shape (existence is checked against Dataverse); undefined when fine. */
export function privilegeNameProblem(value: unknown): string | undefined {
  return typeof value === "string" && privilegeNamePattern.test(value.trim())
    ? undefined
    : `'${String(value)}' is not a privilege name; privilege names look like prvReadSdkMessage (Settings > Security roles lists them).`;
}

/**
 * Validates a spec as written in the config (`key` is the role's key, e.g.
 * "dataverse-s2s:integrations[0].role"): pushes one problem per mistake and returns the normalised spec.
 */
export function parsePrivilegeSpec(
  raw: { privileges?: unknown; miscPrivileges?: unknown; depth?: unknown },
  key: string,
  problems: string[],
): PrivilegeSpec & { readonly depth: PrivilegeDepth } {
  let depth: PrivilegeDepth = roleDefaults.specDepth;
  if (raw.depth !== undefined) {
    const parsed = parseDepth(raw.depth);
    if (parsed) depth = parsed;
    else problems.push(`${key}.depth '${String(raw.depth)}' is not a depth; use one of ${depthList}.`);
  }
  const privileges: Record<string, Partial<Record<AccessRight, PrivilegeDepth>>> = {};
  if (raw.privileges !== undefined) {
    if (!isRecord(raw.privileges)) {
      problems.push(`${key}.privileges must map table logical names to rights, e.g. { contact: [create, read, write] }.`);
    } else {
      for (const [table, rights] of Object.entries(raw.privileges)) {
        const tableKey = `${key}.privileges.${table}`;
        if (!logicalNamePattern.test(table)) {
          problems.push(`${tableKey}: '${table}' is not a table's logical name (lower case, e.g. contact, account, new_widget).`);
          continue;
        }
        const granted: Partial<Record<AccessRight, PrivilegeDepth>> = {};
        const grant = (rawRight: unknown, rawDepth: unknown) => {
          const right = parseRight(rawRight);
          if (!right) {
            problems.push(`${tableKey}: '${String(rawRight)}' is not an access right; use ${rightList}.`);
            return;
          }
          const rightDepth = rawDepth === undefined ? depth : parseDepth(rawDepth);
          if (!rightDepth) problems.push(`${tableKey}.${right}: '${String(rawDepth)}' is not a depth; use one of ${depthList}.`);
          else granted[right] = rightDepth;
        };
        if (Array.isArray(rights)) for (const right of rights) grant(right, undefined);
        else if (typeof rights === "object" && rights !== null)
          for (const [right, rightDepth] of Object.entries(rights)) grant(right, rightDepth);
        else if (typeof rights === "string") grant(rights, undefined);
        else problems.push(`${tableKey} must list rights ([create, read]) or map rights to depths ({ read: Global, write: Local }).`);
        if (Array.isArray(rights) ? rights.length === 0 : typeof rights === "object" && rights !== null && Object.keys(rights).length === 0)
          problems.push(`${tableKey} grants no right; list at least one (${rightList}) or leave the table out.`);
        privileges[table] = sortedRecord(granted);
      }
    }
  }
  const miscPrivileges: string[] = [];
  if (raw.miscPrivileges !== undefined) {
    if (!Array.isArray(raw.miscPrivileges))
      problems.push(`${key}.miscPrivileges must be a list of privilege names, e.g. [prvReadSdkMessage].`);
    else
      raw.miscPrivileges.forEach((name, index) => {
        const problem = privilegeNameProblem(name);
        if (problem) problems.push(`${key}.miscPrivileges[${index}]: ${problem}`);
        else if (!miscPrivileges.some((other) => other.toLowerCase() === String(name).trim().toLowerCase()))
          miscPrivileges.push(String(name).trim());
      });
  }
  if (Object.keys(privileges).length === 0 && miscPrivileges.length === 0 && raw.privileges !== undefined)
    problems.push(`${key}.privileges grants nothing; name at least one table and right, or use role.cloneFrom.`);
  return { depth, privileges: sortedRecord(privileges), miscPrivileges: [...miscPrivileges].sort() };
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** A problem of a spec that only Dataverse can reveal, with the key (relative to the role) it concerns. */
interface SpecProblem {
  /** Relative to the role: "privileges.contact", "privileges.contact.write", "miscPrivileges[0]". */
  readonly key: string;
  readonly problem: string;
}

interface TableMetadata {
  readonly Privileges?: {
    readonly PrivilegeId: string;
    readonly Name: string;
    readonly PrivilegeType: string;
    readonly CanBeBasic?: boolean;
    readonly CanBeLocal?: boolean;
    readonly CanBeDeep?: boolean;
    readonly CanBeGlobal?: boolean;
  }[];
}

const allowsDepth = (
  privilege: { CanBeBasic?: boolean; CanBeLocal?: boolean; CanBeDeep?: boolean; CanBeGlobal?: boolean },
  depth: PrivilegeDepth,
) =>
  ({ Basic: privilege.CanBeBasic, Local: privilege.CanBeLocal, Deep: privilege.CanBeDeep, Global: privilege.CanBeGlobal })[depth] === true;

/**
 * Resolves a spec in an environment: the privileges (ids, names, depths) to grant, and every
 * problem found. Reads only (one EntityDefinitions GET per table, one privileges query per 20 names).
 */
export async function resolvePrivilegeSpec(
  client: DataverseClient,
  spec: PrivilegeSpec,
): Promise<{ privileges: RolePrivilege[]; problems: SpecProblem[] }> {
  const privileges: RolePrivilege[] = [];
  const problems: SpecProblem[] = [];
  for (const [table, rights] of Object.entries(spec.privileges)) {
    const metadata = await client.tableDefinition<TableMetadata>(table, "LogicalName,Privileges");
    if (!metadata) {
      problems.push({
        key: `privileges.${table}`,
        problem: `there is no table with the logical name '${table}' in ${client.environmentUrl} (Power Apps > Tables > the table's properties show its logical name)`,
      });
      continue;
    }
    for (const [right, depth] of Object.entries(rights) as [AccessRight, PrivilegeDepth][]) {
      const privilege = (metadata.Privileges ?? []).find((candidate) => candidate.PrivilegeType === accessRights[right]);
      if (!privilege) problems.push({ key: `privileges.${table}.${right}`, problem: `the table '${table}' has no ${right} privilege` });
      else if (!allowsDepth(privilege, depth))
        problems.push({
          key: `privileges.${table}.${right}`,
          problem: `${privilege.Name} cannot be granted at ${depth} (it allows ${privilegeDepths.filter((allowed) => allowsDepth(privilege, allowed)).join(", ")})`,
        });
      else privileges.push({ privilegeId: privilege.PrivilegeId.toLowerCase(), name: privilege.Name, depth });
    }
  }
  const found = await client.privilegesByName(spec.miscPrivileges);
  spec.miscPrivileges.forEach((name, index) => {
    const privilege = found.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
    if (!privilege)
      problems.push({ key: `miscPrivileges[${index}]`, problem: `there is no privilege named '${name}' in ${client.environmentUrl}` });
    else if (!privilege.canbeglobal)
      problems.push({ key: `miscPrivileges[${index}]`, problem: `${privilege.name} cannot be granted at Global` });
    else privileges.push({ privilegeId: privilege.privilegeid.toLowerCase(), name: privilege.name, depth: "Global" });
  });
  return { privileges, problems };
}

/** Which of the names given do not exist in the environment (for role.excludePrivileges). */
export async function unknownPrivilegeNames(client: DataverseClient, names: readonly string[]): Promise<string[]> {
  const found = new Set((await client.privilegesByName(names)).map((privilege) => privilege.name.toLowerCase()));
  return names.filter((name) => !found.has(name.toLowerCase()));
}

/** The sorted "name:depth" entries a spec grants once resolved (what the role must hold at least). */
export function grantedEntries(privileges: readonly RolePrivilege[]): string[] {
  return [...new Set(privileges.map((privilege) => `${privilege.name}:${privilege.depth}`))].sort();
}
