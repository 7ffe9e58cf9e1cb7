// Pins stack configuration validation: every problem is reported at once, each naming its key and
// what to do, and valid shapes (the emulator's https://localhost:<port> included) pass.
import { parseStackConfig, StackConfigError } from "../../config/stack-config";
import { secretDefaults } from "../../lib/defaults";
import { environmentUrlProblem } from "../../lib/validators";

const one = [{ name: "etl", displayName: "ETL connector" }];

function problemsOf(raw: Parameters<typeof parseStackConfig>[0]): readonly string[] {
  try {
    parseStackConfig(raw);
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("environmentUrl", () => {
  test.each([
    "https://contoso.crm.dynamics.com",
    "https://contoso.crm4.dynamics.com",
    "https://contoso.api.crm.dynamics.com",
    "https://contoso.crm.microsoftdynamics.us",
    "https://localhost:8443",
    "https://contoso.crm.dynamics.com/",
  ])("accepts %s", (url) => expect(environmentUrlProblem(url)).toBeUndefined());

  test.each([
    ["http://contoso.crm.dynamics.com", /must use https/],
    ["https://contoso.crm.dynamics.com/api/data/v9.2", /without a path/],
    ["https://make.powerapps.com", /portal address/],
    ["https://admin.powerplatform.microsoft.com", /portal address/],
    ["https://contoso.dynamics.com", /not a Dataverse environment host/],
    ["contoso.crm.dynamics.com", /not a URL/],
    ["", /is required/],
  ])("rejects %s", (url, message) => expect(environmentUrlProblem(url)).toMatch(message));

  test("is normalized to https://host without a trailing slash", () => {
    expect(parseStackConfig({ environmentUrl: "https://Contoso.CRM.dynamics.com/", integrations: one }).environmentUrl).toBe(
      "https://contoso.crm.dynamics.com",
    );
  });
});

describe("integrations", () => {
  test("defaults: a clone of System Administrator named API User, a 180-day secret, no admin consent", () => {
    const config = parseStackConfig({ environmentUrl: "https://localhost:8443", integrations: one });
    expect(config.integrations[0]).toEqual({
      name: "etl",
      formerNames: [],
      displayName: "ETL connector",
      role: { kind: "clone", name: "API User", cloneFrom: "System Administrator", followSource: true, excludePrivileges: [] },
      secret: { lifetimeDays: 180, rotateBeforeDays: 30, overlapDays: 7 },
      credential: { kind: "secret" },
      keyVault: undefined,
      adminConsent: false,
      removeUnmanagedRoles: true,
      keepUserOnDestroy: false,
    });
    expect(secretDefaults.maxLifetimeDays).toBe(730);
  });

  test("every problem is reported at once, each naming its key", () => {
    const problems = problemsOf({
      environmentUrl: "http://x.crm.dynamics.com",
      integrations: [
        { name: "Bad Name", displayName: "x" },
        { name: "ok", displayName: "y", secret: { lifetimeDays: 900 }, role: { existing: "Sales", cloneFrom: "System Administrator" } },
        { name: "ok", displayName: "z", colour: "blue" },
      ],
    });
    expect(problems).toEqual([
      expect.stringMatching(/environmentUrl .* must use https/),
      expect.stringMatching(/integrations\[0\]\.name must be 2 to 40 lower-case/),
      expect.stringMatching(/integrations\[1\]\.role: give either existing .* not both/),
      expect.stringMatching(/integrations\[1\]\.secret\.lifetimeDays must be a whole number of days from 1 to 730/),
      expect.stringMatching(/integrations\[2\]\.colour is not a known setting/),
      expect.stringMatching(/integrations\[2\]\.name 'ok' is used twice/),
    ]);
  });

  test("the error message tells how to fix it", () => {
    expect(() => parseStackConfig({ environmentUrl: "https://localhost:1", integrations: [] })).toThrow(/pulumi config set/);
  });

  test("two integrations may share a cloned role only if they clone the same source", () => {
    const shared = parseStackConfig({
      environmentUrl: "https://localhost:1",
      integrations: [
        { name: "app-a", displayName: "A" },
        { name: "app-b", displayName: "B", role: { name: "API User" } },
      ],
    });
    expect(shared.integrations.map((integration) => integration.role)).toEqual([
      { kind: "clone", name: "API User", cloneFrom: "System Administrator", followSource: true, excludePrivileges: [] },
      { kind: "clone", name: "API User", cloneFrom: "System Administrator", followSource: true, excludePrivileges: [] },
    ]);
    expect(
      problemsOf({
        environmentUrl: "https://localhost:1",
        integrations: [
          { name: "app-a", displayName: "A" },
          { name: "app-b", displayName: "B", role: { name: "API User", cloneFrom: "Basic User" } },
        ],
      }),
    ).toEqual([expect.stringMatching(/clones 'Basic User' into 'API User', but integrations\[0\] clones 'System Administrator'/)]);
  });

  test("rotateBeforeDays must be shorter than the lifetime", () => {
    expect(
      problemsOf({
        environmentUrl: "https://localhost:1",
        integrations: [{ name: "app-a", displayName: "A", secret: { lifetimeDays: 10, rotateBeforeDays: 10 } }],
      }),
    ).toEqual([expect.stringMatching(/rotateBeforeDays must be a whole number of days from 0 to less than lifetimeDays \(10\)/)]);
  });
});

describe("secret rotation, credentials and Key Vault export", () => {
  const withIntegration = (extra: Record<string, unknown>) => ({
    environmentUrl: "https://localhost:1",
    integrations: [{ name: "etl", displayName: "ETL", ...extra }],
  });

  test("the overlap cannot outlast the previous secret", () => {
    expect(
      parseStackConfig(withIntegration({ secret: { lifetimeDays: 90, rotateBeforeDays: 20, overlapDays: 20 } })).integrations[0].secret,
    ).toEqual({
      lifetimeDays: 90,
      rotateBeforeDays: 20,
      overlapDays: 20,
    });
    expect(problemsOf(withIntegration({ secret: { lifetimeDays: 90, rotateBeforeDays: 20, overlapDays: 21 } }))).toEqual([
      expect.stringMatching(/overlapDays must be a whole number of days from 0 to rotateBeforeDays \(20\)/),
    ]);
  });

  test("a GitHub Actions federated credential becomes issuer and subject", () => {
    const config = parseStackConfig(
      withIntegration({ credential: { type: "federated", github: { owner: "contoso", repo: "etl-jobs", environment: "prod" } } }),
    );
    expect(config.integrations[0].credential).toMatchObject({
      kind: "federated",
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:contoso/etl-jobs:environment:prod",
      audiences: ["api://AzureADTokenExchange"],
    });
  });

  test("a certificate's endDate is checked once, here, against the certificate", async () => {
    const { generate } = await import("selfsigned");
    const certificatePem = (
      await generate([{ name: "commonName", value: "etl" }], {
        keyType: "ec",
        notBeforeDate: new Date("2026-01-01T00:00:00Z"),
        notAfterDate: new Date("2027-01-01T00:00:00Z"),
      })
    ).cert;
    const withEndDate = (endDate: string) => withIntegration({ credential: { type: "certificate", certificatePem, endDate } });
    expect(problemsOf(withEndDate("2027-06-01T00:00:00Z"))).toEqual([
      expect.stringMatching(/integrations\[0\]\.credential: endDate 2027-06-01T00:00:00Z is after the certificate expires/),
    ]);
    expect(problemsOf(withEndDate("next year"))).toEqual([expect.stringMatching(/endDate 'next year' is not an RFC 3339 date/)]);
    expect(parseStackConfig(withEndDate("2026-12-01T00:00:00Z")).integrations[0].credential).toMatchObject({
      kind: "certificate",
      endDate: "2026-12-01T00:00:00Z",
    });
  });

  test("credential and Key Vault mistakes are reported with the key to fix", () => {
    const problems = problemsOf(
      withIntegration({
        credential: { type: "certificate", certificatePem: "not a pem" },
        keyVault: { id: "https://contoso.vault.azure.net/", secretNamePrefix: "bad prefix!" },
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/integrations\[0\]\.credential\.certificatePem: .*pulumi config set --secret/),
      expect.stringMatching(/integrations\[0\]\.keyVault\.id: /),
      expect.stringMatching(/integrations\[0\]\.keyVault\.secretNamePrefix: /),
    ]);
    expect(problemsOf(withIntegration({ credential: { type: "federated" } }))).toEqual([
      expect.stringMatching(/needs exactly one of federated/),
    ]);
    expect(problemsOf(withIntegration({ credential: { type: "password" } }))).toEqual([
      expect.stringMatching(/type must be secret, certificate, federated or managedIdentity/),
    ]);
  });

  test("a Key Vault export defaults its secret names to the integration's name", () => {
    const id =
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-dataverse/providers/Microsoft.KeyVault/vaults/kv-dataverse";
    expect(parseStackConfig(withIntegration({ keyVault: { id } })).integrations[0].keyVault).toEqual({ id, secretNamePrefix: "etl" });
  });

  test("the azuread provider's cloud is read for the Graph calls of rotation", () => {
    expect(parseStackConfig({ ...withIntegration({}), entraMetadataHost: "127.0.0.1:8443" }).entraCloud).toEqual({
      metadataHost: "127.0.0.1:8443",
      environment: undefined,
    });
  });
});
