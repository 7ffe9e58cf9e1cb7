// Pins the validation of `adopt` (issue 10, adopting a manual setup): each mistake is reported with
// its key and what to do, by the config reader, before any resource is declared (so nothing is written).
import { adoptedRoleName, parseStackConfig, StackConfigError } from "../../config/stack-config";

const environmentUrl = "https://contoso.crm.dynamics.com";
const clientId = "11111111-2222-4333-8444-555555555555";

function problemsOf(integrations: unknown[]): readonly string[] {
  try {
    parseStackConfig({ environmentUrl, integrations });
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems;
    throw error;
  }
  return [];
}

test("a valid adopt is kept, the client id normalised; the role taken over defaults to role.name", () => {
  const config = parseStackConfig({
    environmentUrl,
    integrations: [
      { name: "etl", adopt: { clientId: clientId.toUpperCase() } },
      {
        name: "sync",
        role: { name: "Contact Sync", privileges: { contact: ["read"] } },
        adopt: { clientId: clientId.replace(/^1/, "2"), roleName: "Sync (by hand)" },
      },
      { name: "plain" },
    ],
  });
  expect(config.integrations[0].adopt).toEqual({ clientId });
  expect(adoptedRoleName(config.integrations[0])).toBe("API User");
  expect(adoptedRoleName(config.integrations[1])).toBe("Sync (by hand)");
  expect(config.integrations[2].adopt).toBeUndefined();
  expect(adoptedRoleName(config.integrations[2])).toBeUndefined();
});

test.each([
  ["not an object", "yes", /integrations\[0\]\.adopt must be an object: \{ clientId, roleName\? \}/],
  ["no client id", {}, /integrations\[0\]\.adopt\.clientId must be the application \(client\) id of the existing app registration, a GUID/],
  ["a client id that is no GUID", { clientId: "etl-app" }, /integrations\[0\]\.adopt\.clientId .*not 'etl-app'/],
  [
    "an unknown field",
    { clientId, objectId: clientId },
    /integrations\[0\]\.adopt\.objectId is not a known setting \(use clientId and roleName\)/,
  ],
  ["an empty role name", { clientId, roleName: " " }, /integrations\[0\]\.adopt\.roleName must be the name of the existing security role/],
  ["a role name too long", { clientId, roleName: "x".repeat(101) }, /integrations\[0\]\.adopt\.roleName must be .*1 to 100 characters/],
])("refused: %s", (_title, adopt, expected) => {
  const problems = problemsOf([{ name: "etl", adopt }]);
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(expected);
});

test("roleName with role.existing is refused: an existing role is never taken over", () => {
  expect(problemsOf([{ name: "etl", role: { existing: "Sales Manager" }, adopt: { clientId, roleName: "API User" } }])).toEqual([
    expect.stringMatching(/integrations\[0\]\.adopt\.roleName does not apply with role\.existing/),
  ]);
});

test("two integrations cannot adopt one app registration, nor take over two roles for one role", () => {
  const problems = problemsOf([
    { name: "etl", adopt: { clientId, roleName: "Copy A" } },
    { name: "etl2", adopt: { clientId: clientId.toUpperCase(), roleName: "Copy B" } },
  ]);
  expect(problems).toEqual([
    expect.stringMatching(/integrations\[1\]\.adopt\.clientId '11111111-2222-4333-8444-555555555555' is adopted by integrations\[0\] too/),
    expect.stringMatching(
      /integrations\[1\]\.adopt\.roleName: the role 'API User' would take over 'Copy B', but integrations\[0\] adopts 'Copy A'/,
    ),
  ]);
});
