// Per-environment overrides of the integrations declared once in Pulumi.yaml: objects merge field
// by field, other values replace, and an override that fits no integration is refused by name.
import { applyIntegrationOverrides } from "../../config/overrides";
import { parseStackConfig, StackConfigError } from "../../config/stack-config";

const declared = [
  { name: "etl", displayName: "ETL", role: { name: "API User" }, secret: { lifetimeDays: 180, rotateBeforeDays: 30 } },
  { name: "tests", displayName: "Tests" },
];

function problemsOf(overrides: unknown): readonly string[] {
  try {
    applyIntegrationOverrides(declared, overrides);
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems;
    throw error;
  }
  return [];
}

test("no overrides leave the declared list as it is", () => {
  expect(applyIntegrationOverrides(declared, undefined)).toBe(declared);
});

test("nested fields merge, scalars replace, other integrations are untouched", () => {
  const merged = applyIntegrationOverrides(declared, { etl: { displayName: "ETL (prod)", secret: { lifetimeDays: 90 } } });
  expect(merged).toEqual([
    { name: "etl", displayName: "ETL (prod)", role: { name: "API User" }, secret: { lifetimeDays: 90, rotateBeforeDays: 30 } },
    { name: "tests", displayName: "Tests" },
  ]);
  // The declared list is not modified (the same project value serves every stack).
  expect(declared[0].secret?.lifetimeDays).toBe(180);
});

test("the merged list is validated like one written out in full", () => {
  const merged = applyIntegrationOverrides(declared, { tests: { secret: { lifetimeDays: 10, rotateBeforeDays: 20 } } });
  expect(() => parseStackConfig({ environmentUrl: "https://contoso.crm.dynamics.com", integrations: merged })).toThrow(
    /integrations\[1\]\.secret\.rotateBeforeDays must be a whole number of days from 0 to less than lifetimeDays \(10\)/,
  );
});

test("overrides that fit no integration are refused, each by name", () => {
  expect(problemsOf(["etl"])).toEqual([expect.stringMatching(/integrationOverrides must map integration names/)]);
  expect(problemsOf({ etll: { displayName: "x" }, tests: "Tests 2", etl: { name: "other" } })).toEqual([
    expect.stringMatching(/integrationOverrides\.etll overrides an integration that is not declared \(declared: etl, tests\)/),
    expect.stringMatching(/integrationOverrides\.tests must be an object/),
    expect.stringMatching(/integrationOverrides\.etl\.name cannot be overridden/),
  ]);
});
