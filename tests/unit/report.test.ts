// The expiry report's rules: days left and rotation state from the expiry and rotateBeforeDays, the
// last drift check from history and the drift-check tags, the backend it reads, and its renderings.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { UpdateSummary } from "@pulumi/pulumi/automation";
import {
  driftCheckedAtTag,
  driftResultTag,
  IntegrationReport,
  lastDriftCheckOf,
  pickBackend,
  renderMarkdown,
  renderTable,
  rotationOf,
} from "../../scripts/report";
import { fileBackendUrl } from "../../scripts/state-backend";

const now = new Date("2027-01-01T00:00:00Z");

test.each([
  ["2027-03-01T00:00:00Z", 30, 59, "ok"],
  ["2027-01-31T00:00:00Z", 30, 30, "in rotation window"],
  ["2027-01-31T00:00:01Z", 30, 30, "ok"],
  ["2027-01-01T12:00:00Z", 0, 0, "ok"],
  ["2026-12-31T00:00:00Z", 30, -1, "expired"],
  ["2027-01-01T00:00:00Z", 30, 0, "expired"],
])("expiry %s with rotateBeforeDays %d: %d days left, %s", (expiresAt, rotateBeforeDays, daysLeft, state) => {
  expect(rotationOf(expiresAt, rotateBeforeDays, now)).toEqual({ daysLeft, state });
});

test("no secret, or an unknown window, are said as such", () => {
  expect(rotationOf(null, 30, now)).toEqual({ daysLeft: null, state: "no secret" });
  expect(rotationOf("2027-03-01T00:00:00Z", null, now)).toEqual({ daysLeft: 59, state: "unknown" });
  expect(rotationOf("2026-03-01T00:00:00Z", null, now).state).toBe("expired");
});

const entry = (kind: string, endTime: string, environment: Record<string, string> = {}, result = "succeeded") =>
  ({
    kind,
    startTime: new Date(endTime),
    endTime: new Date(endTime),
    environment,
    result,
    message: "",
    config: {},
  }) as unknown as UpdateSummary;

test("last drift check: the latest refresh, up --refresh or drift-check stamp", () => {
  expect(lastDriftCheckOf([entry("update", "2027-01-01T00:00:00Z")], {})).toBeUndefined();
  const history = [
    entry("update", "2027-01-05T00:00:00Z"),
    entry("refresh", "2027-01-02T00:00:00Z"),
    entry("update", "2027-01-03T00:00:00Z", { "pulumi.flag.refresh": "true" }),
    entry("refresh", "2027-01-04T00:00:00Z", {}, "in-progress"),
  ];
  expect(lastDriftCheckOf(history, {})).toEqual({ at: "2027-01-03T00:00:00.000Z", by: "up --refresh" });
  expect(lastDriftCheckOf(history, { [driftCheckedAtTag]: "2027-01-06T00:00:00Z", [driftResultTag]: "drift" })).toEqual({
    at: "2027-01-06T00:00:00.000Z",
    by: "drift-check: drift",
  });
  expect(lastDriftCheckOf(history, { [driftCheckedAtTag]: "not a date" })?.by).toBe("up --refresh");
});

test("backend: PULUMI_BACKEND_URL, else the demo's file backend with its passphrase, else the CLI's login", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-backend-"));
  try {
    expect(pickBackend(dir, { PULUMI_BACKEND_URL: "azblob://state" })).toEqual({ PULUMI_BACKEND_URL: "azblob://state" });
    expect(pickBackend(dir, {})).toEqual({});
    fs.mkdirSync(path.join(dir, ".pulumi-local", "state"), { recursive: true });
    expect(pickBackend(dir, {})).toEqual({
      PULUMI_BACKEND_URL: fileBackendUrl(`${dir}/.pulumi-local/state`),
      PULUMI_CONFIG_PASSPHRASE: expect.any(String),
    });
    expect(pickBackend(dir, { PULUMI_CONFIG_PASSPHRASE: "mine" })).toEqual({
      PULUMI_BACKEND_URL: fileBackendUrl(`${dir}/.pulumi-local/state`),
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("table and Markdown carry every column and the problems", () => {
  const row: IntegrationReport = {
    stack: "prod",
    integration: "etl",
    clientId: "11111111-2222-3333-4444-555555555555",
    environmentUrl: "https://contoso.crm.dynamics.com",
    secretExpiresAt: "2027-01-20T00:00:00Z",
    daysLeft: 19,
    rotateBeforeDays: 30,
    rotationState: "in rotation window",
    lastDriftCheck: "never",
    lastDriftCheckBy: null,
  };
  const reports = [{ stack: "prod", deployed: true, integrations: [row], problems: ["a | problem"] }];
  const table = renderTable(reports).split("\n");
  expect(table[0]).toMatch(/^Stack\s+Integration\s+Client id\s+Environment\s+Secret expires\s+Days left\s+Rotation\s+Last drift check$/);
  expect(table[2]).toMatch(
    /^prod\s+etl\s+11111111-2222-3333-4444-555555555555\s+https:\/\/contoso\.crm\.dynamics\.com\s+2027-01-20T00:00:00Z\s+19\s+in rotation window\s+never$/,
  );
  expect(table[3]).toBe("! stack prod: a | problem");
  const markdown = renderMarkdown(reports).split("\n");
  expect(markdown[0]).toBe("| Stack | Integration | Client id | Environment | Secret expires | Days left | Rotation | Last drift check |");
  expect(markdown[2]).toBe(
    "| prod | etl | 11111111-2222-3333-4444-555555555555 | https://contoso.crm.dynamics.com | 2027-01-20T00:00:00Z | 19 | ⚠️ in rotation window | never |",
  );
  expect(markdown.at(-1)).toBe("- stack prod: a \\| problem");
});
