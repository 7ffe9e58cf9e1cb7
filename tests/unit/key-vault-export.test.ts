// Pins the Key Vault export with Pulumi mocks: the client secret lands in the vault parsed from the
// resource id, as a Pulumi secret, with the Entra expiry as the vault's expiry attribute; the ids sit
// beside it as plain secrets; a bad vault id, prefix or date is refused before anything is declared.
import * as pulumi from "@pulumi/pulumi";
import { isSecret, recordResources, valueOf } from "../support/pulumi-mocks";

const vaultUri = "https://kv-integrations.vault.azure.net";
const isSecretMarker = (value: unknown): value is { value: any } =>
  typeof value === "object" && value !== null && (value as any)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;

const { recorded } = recordResources({
  resourceState(args) {
    if (args.type !== "azure-native:keyvault:Secret") return undefined;
    const state: Record<string, any> = { ...args.inputs };
    const secretName = args.inputs.secretName;
    state.name = secretName;
    const uris = { secretUri: `${vaultUri}/secrets/${secretName}`, secretUriWithVersion: `${vaultUri}/secrets/${secretName}/v1` };
    // Like the engine, the state keeps `properties` secret when its input was.
    const properties = args.inputs.properties;
    state.properties = isSecretMarker(properties)
      ? { ...properties, value: { ...(properties.value as object), ...uris } }
      : { ...properties, ...uris };
    return { id: `${args.inputs.vaultName}/${secretName}`, state };
  },
});

// Imported after the mocks are in place.
import { KeyVaultExport, KeyVaultExportArgs, resolveKeyVaultId } from "../../components/key-vault-export";
import {
  epochSeconds,
  keyVaultIdProblem,
  parseKeyVaultId,
  sanitizeSecretNamePrefix,
  secretNamePrefixProblem,
} from "../../lib/key-vault-names";

const vaultId =
  "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-integrations/providers/Microsoft.KeyVault/vaults/kv-integrations";
const expiresAt = "2026-06-30T00:00:00.000Z";
const expiresEpoch = Date.UTC(2026, 5, 30) / 1000;

const secrets = () => recorded.filter((resource) => resource.type === "azure-native:keyvault:Secret");
const secretNamed = (name: string) => secrets().find((resource) => resource.inputs.secretName === name)!;

const baseArgs: KeyVaultExportArgs = {
  keyVaultId: vaultId,
  secretNamePrefix: "etl",
  clientSecret: pulumi.secret("s3cret-value"),
  secretExpiresAt: expiresAt,
  clientId: "client-1",
  environmentUrl: "https://contoso.crm.dynamics.com",
  tenantId: "tenant-1",
};

async function declare(name: string, args: KeyVaultExportArgs): Promise<KeyVaultExport> {
  recorded.length = 0;
  const component = new KeyVaultExport(name, args);
  // Settle every output so that every resource is registered.
  await Promise.all([valueOf(component.secretNames), valueOf(component.secretUris), valueOf(component.secretUrisWithVersion)]);
  return component;
}

describe("export of one integration", () => {
  let component: KeyVaultExport;
  beforeAll(async () => {
    component = await declare("etl-key-vault", baseArgs);
  });

  test("four secrets, children of the component, in the vault and resource group parsed from the id", () => {
    expect(
      secrets()
        .map((secret) => [secret.name, secret.inputs.secretName])
        .sort(),
    ).toEqual([
      ["etl-key-vault-client-id", "etl-client-id"],
      ["etl-key-vault-client-secret", "etl-client-secret"],
      ["etl-key-vault-environment-url", "etl-environment-url"],
      ["etl-key-vault-tenant-id", "etl-tenant-id"],
    ]);
    for (const secret of secrets())
      expect(secret.inputs).toMatchObject({ vaultName: "kv-integrations", resourceGroupName: "rg-integrations" });
    const component = recorded.find((resource) => resource.type === "dataverse-s2s:azure:KeyVaultExport");
    expect(component?.name).toBe("etl-key-vault");
  });

  test("the client secret carries the value as a Pulumi secret, expires with the Entra secret, enabled, text/plain, tagged", () => {
    const { properties: secretProperties, tags } = secretNamed("etl-client-secret").inputs;
    // The SDK sends a top-level property holding a secret as one secret: the whole of `properties`.
    expect(isSecretMarker(secretProperties)).toBe(true);
    const properties = secretProperties.value;
    expect(properties.value).toBe("s3cret-value");
    expect(properties.attributes).toEqual({ enabled: true, expires: expiresEpoch });
    expect(properties.contentType).toBe("text/plain");
    expect(tags).toEqual({
      clientId: "client-1",
      environmentUrl: "https://contoso.crm.dynamics.com",
      tenantId: "tenant-1",
      managedBy: "dataverse-s2s",
    });
  });

  test("client id, environment URL and tenant id are plain, never-expiring secrets", () => {
    const expected = {
      "etl-client-id": "client-1",
      "etl-environment-url": "https://contoso.crm.dynamics.com",
      "etl-tenant-id": "tenant-1",
    };
    for (const [name, value] of Object.entries(expected)) {
      const { properties } = secretNamed(name).inputs;
      expect(isSecretMarker(properties)).toBe(false);
      expect(properties.value).toBe(value);
      expect(properties.attributes).toEqual({ enabled: true });
      expect(properties.contentType).toBe("text/plain");
    }
  });

  test("outputs: names, versionless and versioned URIs, none of them secret; vault and group", async () => {
    expect(await valueOf(component.secretNames)).toEqual({
      clientSecret: "etl-client-secret",
      clientId: "etl-client-id",
      environmentUrl: "etl-environment-url",
      tenantId: "etl-tenant-id",
    });
    const uris = await valueOf(component.secretUris);
    expect(uris.clientSecret).toBe(`${vaultUri}/secrets/etl-client-secret`);
    expect(uris.tenantId).toBe(`${vaultUri}/secrets/etl-tenant-id`);
    expect((await valueOf(component.secretUrisWithVersion)).clientSecret).toBe(`${vaultUri}/secrets/etl-client-secret/v1`);
    expect(await isSecret(component.secretUris)).toBe(false);
    expect(await isSecret(component.secretNames)).toBe(false);
    expect(await valueOf(component.vaultName)).toBe("kv-integrations");
    expect(await valueOf(component.resourceGroupName)).toBe("rg-integrations");
  });
});

describe("secrecy", () => {
  test("a client secret given as a plain string is still written as a Pulumi secret", async () => {
    await declare("plain", { ...baseArgs, secretNamePrefix: "plain", clientSecret: "plain-value" });
    const properties = secretNamed("plain-client-secret").inputs.properties;
    expect(isSecretMarker(properties)).toBe(true);
    expect(properties.value.value).toBe("plain-value");
  });
});

describe("inputs still to be resolved", () => {
  test("an expiry and a vault id given as outputs are converted inside the output chain", async () => {
    const component = await declare("later", {
      ...baseArgs,
      secretNamePrefix: pulumi.output("later"),
      keyVaultId: pulumi.output(vaultId.replace("kv-integrations", "kv-later")),
      secretExpiresAt: pulumi.output("2027-01-15T12:30:00Z"),
    });
    const { properties, vaultName } = secretNamed("later-client-secret").inputs;
    expect(properties.value.attributes.expires).toBe(Date.UTC(2027, 0, 15, 12, 30) / 1000);
    expect(vaultName).toBe("kv-later");
    expect(await valueOf(component.vaultName)).toBe("kv-later");
  });

  test("a bad vault id given as an output fails its chain with the same message; a plain one throws at once", async () => {
    // (Through the component, the failed chain would also reject the children's registrations, which
    // fails `pulumi up` in a real run but cannot be caught in jest; so the resolver is tested alone.)
    const later = pulumi.output(resolveKeyVaultId(pulumi.output("kv-integrations"), "bad-later"));
    // An output keeps several promises of the same chain; all of them reject.
    for (const promise of [(later as any).isKnown, (later as any).isSecret]) (promise as Promise<unknown>).catch(() => undefined);
    await expect(valueOf(later)).rejects.toThrow(/^bad-later: 'kv-integrations' looks like a vault name; use the whole resource id/);
    expect(() => resolveKeyVaultId("kv-integrations", "bad-now")).toThrow(/^bad-now: 'kv-integrations' looks like a vault name/);
    expect(await valueOf(pulumi.output(resolveKeyVaultId(pulumi.output(vaultId), "good")))).toMatchObject({ vaultName: "kv-integrations" });
  });
});

describe("without a client secret (certificate or federated credential)", () => {
  test("only the ids are written", async () => {
    const component = await declare("cert", { ...baseArgs, secretNamePrefix: "cert", clientSecret: undefined, secretExpiresAt: undefined });
    expect(
      secrets()
        .map((secret) => secret.inputs.secretName)
        .sort(),
    ).toEqual(["cert-client-id", "cert-environment-url", "cert-tenant-id"]);
    expect(await valueOf(component.secretNames)).toEqual({
      clientId: "cert-client-id",
      environmentUrl: "cert-environment-url",
      tenantId: "cert-tenant-id",
    });
  });

  test("a client secret without its expiry is refused", () => {
    expect(() => new KeyVaultExport("half", { ...baseArgs, secretExpiresAt: undefined })).toThrow(
      /half: give clientSecret and secretExpiresAt together/,
    );
  });
});

describe("the secret name prefix", () => {
  test("defaults to the component's name, made valid", async () => {
    const component = await declare("etl_prod", { ...baseArgs, secretNamePrefix: undefined });
    expect((await valueOf(component.secretNames)).clientSecret).toBe("etl-prod-client-secret");
  });

  test("an explicit prefix with characters Key Vault refuses is rejected with a suggestion, before anything is declared", () => {
    recorded.length = 0;
    expect(() => new KeyVaultExport("bad-prefix", { ...baseArgs, secretNamePrefix: "etl_prod.v2" })).toThrow(
      "bad-prefix: The Key Vault secret name prefix 'etl_prod.v2' may only hold letters, digits and dashes (Key Vault's rule for secret names); use e.g. 'etl-prod-v2'.",
    );
    expect(recorded).toHaveLength(0);
  });

  test("a prefix too long for the longest secret name is rejected", () => {
    expect(secretNamePrefixProblem("a".repeat(111))).toBeUndefined();
    expect(secretNamePrefixProblem("a".repeat(112))).toMatch(
      /is 112 characters; shorten it to at most 111 so that '<prefix>-environment-url' fits Key Vault's 127/,
    );
    expect(secretNamePrefixProblem("")).toMatch(/must be 1 to 111 letters, digits or dashes/);
  });

  test("sanitizing collapses runs of other characters and trims dashes", () => {
    expect(sanitizeSecretNamePrefix("  My App / PROD  ")).toBe("My-App-PROD");
    expect(sanitizeSecretNamePrefix("___")).toBeUndefined();
  });
});

describe("the vault id", () => {
  test("is parsed case-insensitively into subscription, resource group and vault", () => {
    expect(
      parseKeyVaultId(
        vaultId.replace("/providers/Microsoft.KeyVault/", "/providers/microsoft.keyvault/").replace("resourceGroups", "resourcegroups"),
      ),
    ).toEqual({
      subscriptionId: "11111111-2222-3333-4444-555555555555",
      resourceGroupName: "rg-integrations",
      vaultName: "kv-integrations",
    });
    expect(
      parseKeyVaultId(
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/My.RG_(1)/providers/Microsoft.KeyVault/vaults/Kv1",
      ).resourceGroupName,
    ).toBe("My.RG_(1)");
  });

  test("a plain bad id is refused at once with what a correct id looks like, before anything is declared", () => {
    recorded.length = 0;
    expect(() => new KeyVaultExport("bad-id", { ...baseArgs, keyVaultId: "/subscriptions/x/resourceGroups/rg" })).toThrow(
      /^bad-id: '\/subscriptions\/x\/resourceGroups\/rg' is not a Key Vault resource id such as '\/subscriptions\/00000000-0000-0000-0000-000000000000\/resourceGroups\/my-rg\/providers\/Microsoft.KeyVault\/vaults\/my-vault'; find it in the Azure portal/,
    );
    expect(recorded).toHaveLength(0);
  });

  test("common mistakes get their own message", () => {
    expect(keyVaultIdProblem("https://kv-integrations.vault.azure.net/")).toMatch(/is the vault's URI, not its resource id/);
    expect(keyVaultIdProblem("kv-integrations")).toMatch(/looks like a vault name; use the whole resource id/);
    expect(keyVaultIdProblem(undefined)).toMatch(/^The Key Vault id is required/);
    expect(keyVaultIdProblem(vaultId.replace("vaults/kv-integrations", "managedHSMs/hsm1"))).toMatch(/is a Managed HSM/);
    expect(keyVaultIdProblem(vaultId.replace("kv-integrations", "kv--bad"))).toMatch(
      /names the vault 'kv--bad', which is not a Key Vault name/,
    );
    expect(keyVaultIdProblem(`${vaultId}/secrets/x`)).toMatch(/is not a Key Vault resource id/);
    expect(keyVaultIdProblem(vaultId.replace("11111111-2222-3333-4444-555555555555", "my-subscription"))).toMatch(
      /is not a Key Vault resource id/,
    );
  });
});

describe("the expiry", () => {
  test("is converted to epoch seconds", () => {
    expect(epochSeconds("1970-01-01T00:01:00Z")).toBe(60);
    expect(epochSeconds("2026-06-30")).toBe(expiresEpoch);
    expect(epochSeconds("2026-06-30T00:00:00.999Z")).toBe(expiresEpoch);
  });

  test("a date that is not ISO 8601 is refused with the component's name", () => {
    expect(() => new KeyVaultExport("bad-date", { ...baseArgs, secretExpiresAt: "30/06/2026" })).toThrow(
      "bad-date: The client secret's expiry '30/06/2026' is not an ISO 8601 date such as 2026-06-30T00:00:00Z.",
    );
  });
});
