// Pins the role settings of issue 10 as the config reader validates them offline: a role declared by
// its privileges (tables by logical name, rights, depths, privileges by name), clone-minus
// (excludePrivileges), and every mistake reported at once naming its key, before anything runs.
import { parseStackConfig, StackConfigError } from "../../config/stack-config";

function problemsOf(role: unknown, more: Record<string, unknown>[] = []): readonly string[] {
  try {
    parseStackConfig({ environmentUrl: "https://localhost:1", integrations: [{ name: "etl", displayName: "ETL", role }, ...more] });
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems;
    throw error;
  }
  return [];
}

const roleOf = (role: unknown) =>
  parseStackConfig({ environmentUrl: "https://localhost:1", integrations: [{ name: "etl", displayName: "ETL", role }] }).integrations[0]
    .role;

describe("a role declared by its privileges", () => {
  test("rights as a list take role.depth (default Global); a map gives each right its depth", () => {
    expect(
      roleOf({
        name: "Contact Sync",
        privileges: { contact: ["create", "read", "write"], account: { read: "Global", write: "local" } },
        miscPrivileges: ["prvReadSdkMessage"],
      }),
    ).toEqual({
      kind: "spec",
      name: "Contact Sync",
      privileges: { account: { read: "Global", write: "Local" }, contact: { create: "Global", read: "Global", write: "Global" } },
      miscPrivileges: ["prvReadSdkMessage"],
    });
    expect(roleOf({ name: "Readers", depth: "Basic", privileges: { contact: ["read", "appendTo"] } })).toEqual({
      kind: "spec",
      name: "Readers",
      privileges: { contact: { appendTo: "Basic", read: "Basic" } },
      miscPrivileges: [],
    });
  });

  test("an unknown right, depth or malformed table or privilege name is named by its key", () => {
    const problems = problemsOf({
      name: "Bad",
      depth: "Everywhere",
      privileges: { contact: ["reed"], account: { write: "Planet" }, "Bad Table": ["read"], lead: [] },
      miscPrivileges: ["ReadSdkMessage"],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/integrations\[0\]\.role\.depth 'Everywhere' is not a depth; use one of Basic, Local, Deep, Global/),
        expect.stringMatching(/integrations\[0\]\.role\.privileges\.contact: 'reed' is not an access right; use create, read, write/),
        expect.stringMatching(/integrations\[0\]\.role\.privileges\.account\.write: 'Planet' is not a depth/),
        expect.stringMatching(/integrations\[0\]\.role\.privileges\.Bad Table: 'Bad Table' is not a table's logical name/),
        expect.stringMatching(/integrations\[0\]\.role\.privileges\.lead grants no right/),
        expect.stringMatching(/integrations\[0\]\.role\.miscPrivileges\[0\]: 'ReadSdkMessage' is not a privilege name/),
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  test("a spec needs a name and cannot be mixed with cloneFrom", () => {
    expect(problemsOf({ privileges: { contact: ["read"] }, cloneFrom: "System Administrator" })).toEqual([
      expect.stringMatching(/role: a role declared by its privileges is not a copy; drop cloneFrom/),
      expect.stringMatching(/role\.name is required with privileges/),
    ]);
  });

  test("two integrations share a spec role only when they declare it alike", () => {
    const role = { name: "Contact Sync", privileges: { contact: ["read"] } };
    expect(problemsOf(role, [{ name: "other", displayName: "Other", role }])).toEqual([]);
    expect(
      problemsOf(role, [{ name: "other", displayName: "Other", role: { name: "contact sync", privileges: { contact: ["write"] } } }]),
    ).toEqual([expect.stringMatching(/integrations\[1\]\.role declares 'contact sync' differently from integrations\[0\]\.role/)]);
    expect(problemsOf(role, [{ name: "other", displayName: "Other", role: { name: "Contact Sync" } }])).toEqual([
      expect.stringMatching(/integrations\[1\]\.role declares 'Contact Sync' differently/),
    ]);
  });
});

describe("clone minus", () => {
  test("excludePrivileges lists privilege names left out of the copy", () => {
    expect(roleOf({ name: "API User", excludePrivileges: ["prvAssignRole", "prvWriteRole"] })).toEqual({
      kind: "clone",
      name: "API User",
      cloneFrom: "System Administrator",
      followSource: true,
      excludePrivileges: ["prvAssignRole", "prvWriteRole"],
    });
  });

  test("a malformed name or a non-list is named by its key", () => {
    expect(problemsOf({ name: "API User", excludePrivileges: ["prvAssignRole", "Assign Role"] })).toEqual([
      expect.stringMatching(/role\.excludePrivileges\[1\]: 'Assign Role' is not a privilege name/),
    ]);
    expect(problemsOf({ name: "API User", excludePrivileges: "prvAssignRole" })).toEqual([
      expect.stringMatching(/role\.excludePrivileges must be a list of privilege names/),
    ]);
  });

  test("namesakes must exclude the same privileges", () => {
    expect(
      problemsOf({ name: "API User", excludePrivileges: ["prvAssignRole"] }, [
        { name: "other", displayName: "Other", role: { name: "API User" } },
      ]),
    ).toEqual([expect.stringMatching(/integrations\[1\]\.role declares 'API User' differently .*without prvassignrole/)]);
  });
});
