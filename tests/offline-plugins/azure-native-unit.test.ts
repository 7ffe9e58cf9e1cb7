// The offline azure-native stand-in's rules, one by one, each naming the pulumi-azure-native v3 (or
// azcore / azsecrets) source it follows; no network. offline-plugins/azure-native/README.md lists them.
import { RestApiError } from "../../lib/rest-client";
import { ArmClient, azcoreBackoffMs, azcoreRetryAfter, azcoreRetryRule, goPathEscape } from "../../offline-plugins/azure-native/arm";
import { cloudByName, cloudFromMetadata } from "../../offline-plugins/azure-native/cloud";
import { resolveConfig } from "../../offline-plugins/azure-native/config";
import { parseChallenge, vaultAddress } from "../../offline-plugins/azure-native/keyvault-data-plane";
import {
  checkFailures,
  createAzureNativeProvider,
  diffInputs,
  previewOutputs,
  randomName,
  refreshedInputs,
  typeOfUrn,
} from "../../offline-plugins/azure-native/provider";
import { withRequestExtras } from "../../offline-plugins/azure-native/request-extras";
import {
  federatedIdentityCredential,
  keyVaultSecret,
  parseResourceId,
  resourceId,
  userAssignedIdentity,
} from "../../offline-plugins/azure-native/resources";
import { secretEnvelope, unknownValue } from "../../offline-plugins/shared/values";

const secretUrn = "urn:pulumi:dev::proj::dataverse-s2s:azure:KeyVaultExport$azure-native:keyvault:Secret::kv-client-id";
const identityUrn = "urn:pulumi:dev::proj::azure-native:managedidentity:UserAssignedIdentity::etl";

function apiError(status: number | undefined, extra: Partial<RestApiError> = {}): RestApiError {
  return new RestApiError({
    service: "Azure Resource Manager",
    host: "management.azure.com",
    operation: "op",
    method: "PUT",
    path: "/x",
    status,
    code: extra.code,
    serviceMessage: "m",
    attempts: 1,
    retryAfterSeconds: extra.retryAfterSeconds,
    network: extra.network,
  });
}

describe("types and ids (provider.go lookupResourceFromURN; crud.go PrepareAzureRESTIdAndQuery)", () => {
  test("the type token is the URN's last type, a parent's type skipped", () => {
    expect(typeOfUrn(secretUrn)).toBe("azure-native:keyvault:Secret");
  });

  test("an unknown type fails naming what the stand-in serves", async () => {
    const provider = createAzureNativeProvider({ config: () => ({}) });
    await expect(provider.check!("urn:pulumi:d::p::azure-native:storage:StorageAccount::s", {}, {})).rejects.toThrow(
      /Resource type azure-native:storage:StorageAccount not found.*keyvault:Secret/,
    );
  });

  test("ids are the ARM path with each parameter path-escaped as Go's url.PathEscape does", () => {
    expect(goPathEscape("rg (prod)")).toBe("rg%20%28prod%29");
    expect(goPathEscape("a:b@c")).toBe("a:b@c");
    const id = resourceId(keyVaultSecret, "sub", { resourceGroupName: "rg", vaultName: "kv1", secretName: "s-1" }, goPathEscape);
    expect(id).toBe("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/secrets/s-1");
    expect(parseResourceId(keyVaultSecret, id.replace("resourceGroups", "resourcegroups"))).toEqual({
      subscriptionId: "sub",
      resourceGroupName: "rg",
      vaultName: "kv1",
      secretName: "s-1",
    });
    expect(parseResourceId(userAssignedIdentity, id)).toBeUndefined();
  });
});

describe("request bodies and outputs (convert SdkInputsToRequestBody / ResponseBodyToSdkOutputs; keyvault 2024-11-01, msi 2023-01-31)", () => {
  test("a Secret is PUT with the wire names of its attributes (exp, nbf) and its value; outputs use the SDK names", () => {
    const body = keyVaultSecret.toBody({
      tags: { a: "b" },
      properties: { value: "s3cr3t", contentType: "text/plain", attributes: { enabled: true, expires: 1800000000, notBefore: 1700000000 } },
    });
    expect(body).toEqual({
      tags: { a: "b" },
      properties: { value: "s3cr3t", contentType: "text/plain", attributes: { enabled: true, exp: 1800000000, nbf: 1700000000 } },
    });
    const outputs = keyVaultSecret.toOutputs({
      id: "/x",
      name: "s",
      type: "Microsoft.KeyVault/vaults/secrets",
      location: "westeurope",
      properties: {
        secretUri: "https://kv.vault.azure.net/secrets/s",
        attributes: { exp: 1800000000, created: 1, updated: 2, enabled: true },
      },
    });
    expect(outputs.properties).toEqual({
      secretUri: "https://kv.vault.azure.net/secrets/s",
      attributes: { enabled: true, expires: 1800000000, created: 1, updated: 2 },
    });
    expect(outputs.properties).not.toHaveProperty("value");
  });

  test("UserAssignedIdentity and FederatedIdentityCredential flatten `properties` (x-ms-client-flatten)", () => {
    expect(userAssignedIdentity.toBody({ location: "westeurope", tags: { t: "1" }, resourceGroupName: "rg" })).toEqual({
      location: "westeurope",
      tags: { t: "1" },
    });
    expect(userAssignedIdentity.toOutputs({ id: "/i", properties: { clientId: "c", principalId: "p", tenantId: "t" } })).toEqual({
      id: "/i",
      clientId: "c",
      principalId: "p",
      tenantId: "t",
    });
    expect(federatedIdentityCredential.toBody({ issuer: "https://i", subject: "s", audiences: ["api://AzureADTokenExchange"] })).toEqual({
      properties: { issuer: "https://i", subject: "s", audiences: ["api://AzureADTokenExchange"] },
    });
  });
});

describe("Check (provider.go Check, applyDefaults, getDefaultName, validateType/validateProperty)", () => {
  const provider = createAzureNativeProvider({ config: () => ({ location: "westeurope" }) });

  test("azureApiVersion defaults to the type's API version; the name parameter is auto-named from the URN with __createBeforeDelete", async () => {
    const result = await withRequestExtras({ randomSeed: Buffer.from("seed") }, () =>
      provider.check!(secretUrn, {}, { resourceGroupName: "rg", vaultName: "kv1", properties: { value: "v" } }),
    );
    expect(result.failures).toEqual([]);
    expect(result.inputs!.azureApiVersion).toBe("2024-11-01");
    expect(result.inputs!.secretName).toBe(randomName("kv-client-id", Buffer.from("seed")));
    expect(result.inputs!.secretName).toMatch(/^kv-client-id[0-9a-f]{8}$/);
    expect(result.inputs!.__createBeforeDelete).toBe(true);
  });

  test("an auto-name is kept from the old inputs, with its flag", async () => {
    const result = await provider.check!(
      secretUrn,
      { secretName: "kept1234", __createBeforeDelete: true },
      { resourceGroupName: "rg", vaultName: "kv1", properties: {} },
    );
    expect(result.inputs!.secretName).toBe("kept1234");
    expect(result.inputs!.__createBeforeDelete).toBe(true);
  });

  test("location: the old inputs' first, then azure-native:location", async () => {
    const fromOld = await provider.check!(identityUrn, { location: "northeurope" }, { resourceGroupName: "rg", resourceName: "id1" });
    expect(fromOld.inputs!.location).toBe("northeurope");
    const fromConfig = await provider.check!(identityUrn, {}, { resourceGroupName: "rg", resourceName: "id1" });
    expect(fromConfig.inputs!.location).toBe("westeurope");
  });

  test("failures name the property and the spec's rule, and unknowns are not checked", () => {
    const reasons = (inputs: Record<string, unknown>) => checkFailures(keyVaultSecret, inputs).map((failure) => failure.reason);
    expect(reasons({ resourceGroupName: "rg", vaultName: "k", secretName: "a_b", properties: {} })).toEqual([
      "'vaultName' does not match expression '^[a-zA-Z0-9-]{3,24}$'",
      "'secretName' does not match expression '^[a-zA-Z0-9-]{1,127}$'",
    ]);
    expect(reasons({ resourceGroupName: "rg", vaultName: unknownValue, secretName: "ok" })).toEqual([
      "missing required property 'properties'",
    ]);
    expect(
      reasons({ resourceGroupName: "rg", vaultName: "kv1", secretName: "ok", properties: { attributes: { expires: "soon" } } }),
    ).toEqual(["'properties.attributes.expires' should be of type 'integer' but got a string"]);
    expect(checkFailures(userAssignedIdentity, { resourceGroupName: "rg!", resourceName: "i" }).map((f) => f.reason)).toEqual([
      "'resourceGroupName' does not match expression '^[-\\w._()]+$'",
      "missing required property 'location'. Either set it explicitly or configure it with 'pulumi config set azure-native:location <value>'.",
    ]);
  });
});

describe("Diff (provider.go Diff, diff.go calculateDetailedDiff, applyAzureSpecificDiff)", () => {
  const olds = { resourceGroupName: "rg", vaultName: "kv1", secretName: "s", properties: { value: "a" }, azureApiVersion: "2024-11-01" };

  test("no change: nothing to do", () => {
    expect(diffInputs(keyVaultSecret, olds, { ...olds, properties: secretEnvelope({ value: "a" }) })).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  test("a body property is an update; a path parameter a replacement, deleted first unless auto-named", () => {
    expect(diffInputs(keyVaultSecret, olds, { ...olds, properties: { value: "b" } })).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(diffInputs(keyVaultSecret, olds, { ...olds, vaultName: "kv2" })).toEqual({
      changes: true,
      replaces: ["vaultName"],
      deleteBeforeReplace: true,
    });
    expect(
      diffInputs(keyVaultSecret, { ...olds, __createBeforeDelete: true }, { ...olds, secretName: "t", __createBeforeDelete: true })
        .deleteBeforeReplace,
    ).toBe(false);
  });

  test("an unknown is a change; locations compare without case and spaces, and a location change replaces", () => {
    expect(diffInputs(keyVaultSecret, olds, { ...olds, properties: unknownValue }).changes).toBe(true);
    const identity = { resourceGroupName: "rg", resourceName: "i", location: "West Europe" };
    expect(diffInputs(userAssignedIdentity, identity, { ...identity, location: "westeurope" }).changes).toBe(false);
    expect(diffInputs(userAssignedIdentity, identity, { ...identity, location: "northeurope" }).replaces).toEqual(["location"]);
  });
});

describe("Read's inputs (provider.go Read, diff.go applyDiff)", () => {
  test("only what changed in Azure replaces the old inputs; the never-returned secret value stays", () => {
    const oldInputs = { vaultName: "kv1", properties: { value: "v", contentType: "text/plain", attributes: { enabled: true } } };
    const before = keyVaultSecret.outputsToInputs({ properties: { contentType: "text/plain", attributes: { enabled: true, created: 1 } } });
    const after = keyVaultSecret.outputsToInputs({ properties: { contentType: "text/plain", attributes: { enabled: false, created: 1 } } });
    expect(refreshedInputs(oldInputs, before, after)).toEqual({
      vaultName: "kv1",
      properties: { value: "v", contentType: "text/plain", attributes: { enabled: false } },
    });
  });
});

describe("previews (provider.go Create/Update with preview, convert PreviewOutputs)", () => {
  test("a previewed create answers the inputs with the response's outputs unknown", () => {
    const outs = previewOutputs(keyVaultSecret, { resourceGroupName: "rg", vaultName: "kv", secretName: "s", properties: { value: "v" } });
    expect(outs).toMatchObject({
      id: unknownValue,
      name: unknownValue,
      properties: { value: "v", secretUri: unknownValue },
      azureApiVersion: "2024-11-01",
    });
    expect(outs).not.toHaveProperty("vaultName");
  });
});

describe("ARM retries (client_azcore.go initPipelineOpts; azcore runtime/policy_retry.go, internal/shared RetryAfter)", () => {
  test("408, 429, 500, 502, 503, 504 and 409 AnotherOperationInProgress are sent again; other statuses are not", () => {
    for (const status of [408, 429, 500, 502, 503, 504]) expect(azcoreRetryRule(apiError(status)).kind).toBe("refused");
    expect(azcoreRetryRule(apiError(409, { code: "AnotherOperationInProgress" })).kind).toBe("refused");
    for (const status of [400, 401, 404, 409, 501]) expect(azcoreRetryRule(apiError(status)).kind).toBe("final");
  });

  test("no answer is retried for any method; a failed token is not; Retry-After over 120 s ends the retries", () => {
    expect(azcoreRetryRule(apiError(undefined, { network: "closed" })).kind).toBe("refused");
    expect(azcoreRetryRule(apiError(undefined)).kind).toBe("final");
    expect(azcoreRetryRule(apiError(429, { retryAfterSeconds: 121 })).kind).toBe("final");
    expect(azcoreRetryRule(apiError(429, { retryAfterSeconds: 120 }))).toEqual({ kind: "refused", retryAfterSeconds: 120 });
  });

  test("back-off: (2^n - 1) x 20 s x [0.8, 1.3), at most 120 s; Retry-After in seconds or as an HTTP date", () => {
    expect(azcoreBackoffMs(1, () => 0)).toBe(16_000);
    expect(azcoreBackoffMs(2, () => 0.999)).toBeCloseTo(60_000 * 1.2995, -1);
    expect(azcoreBackoffMs(3, () => 0)).toBe(112_000);
    expect(azcoreBackoffMs(4, () => 0)).toBe(120_000);
    expect(azcoreRetryAfter("7")).toBe(7);
    expect(azcoreRetryAfter("0")).toBeUndefined();
    expect(azcoreRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", () => Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(10);
  });

  test("a relative Location is made absolute and given the api-version (normalizeLocationHeader)", () => {
    const arm = new ArmClient({
      endpoint: "https://management.azure.com/",
      scope: "s",
      credential: { getToken: async () => null },
      userAgent: "u",
    });
    expect(arm.normalizeLocation("/subscriptions/s/operationResults/1", "2023-01-31")).toBe(
      "https://management.azure.com/subscriptions/s/operationResults/1?api-version=2023-01-31",
    );
    expect(arm.normalizeLocation("https://other/op?api-version=1", "2")).toBe("https://other/op?api-version=1");
  });
});

describe("configuration and cloud (auth_azidentity.go readAuthConfig/getCloud; azure/cloud/cloud.go)", () => {
  test("azure-native:<key> wins over the ARM_* variable; the environment falls back to AZURE_ENVIRONMENT", () => {
    const record = { variables: { "azure-native:config:subscriptionId": "from-config" }, args: {} };
    expect(resolveConfig(record, { ARM_SUBSCRIPTION_ID: "from-env", AZURE_ENVIRONMENT: "china", ARM_METADATA_HOSTNAME: "h" })).toEqual({
      subscriptionId: "from-config",
      environment: "china",
      metadataHost: "h",
    });
  });

  test("named clouds (unknown names are public); a metadata document gives ARM, its audience and the Key Vault suffix", () => {
    expect(cloudByName("usgovernment").resourceManager).toBe("https://management.usgovcloudapi.net");
    expect(cloudByName("nowhere").audience).toBe("https://management.core.windows.net/");
    const cloud = cloudFromMetadata(
      {
        name: "Local",
        resourceManager: "https://localhost:8443/",
        authentication: { loginEndpoint: "https://localhost:8443", audiences: ["https://management.azure.com/"] },
        suffixes: { keyVaultDns: "vault.localhost" },
      },
      "localhost:8443",
    );
    expect(cloud).toMatchObject({
      resourceManager: "https://localhost:8443/",
      audience: "https://management.azure.com/",
      keyVaultDnsSuffix: ".vault.localhost",
    });
    expect(() => cloudFromMetadata({}, "h")).toThrow(/no authentication.loginEndpoint/);
    // A document without a Key Vault suffix (the offline emulator's) keeps none.
    const bare = cloudFromMetadata(
      { resourceManager: "https://r/", authentication: { loginEndpoint: "https://l/", audiences: ["a"] } },
      "h",
    );
    expect(bare.keyVaultDnsSuffix).toBe("");
  });
});

describe("Key Vault's challenge (security/keyvault/internal challenge_policy.go)", () => {
  test("the resource must be a parent domain of the vault; the tenant comes from the authority", () => {
    const header =
      'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"';
    expect(parseChallenge(header, "kv1.vault.azure.net")).toEqual({
      scope: "https://vault.azure.net/.default",
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    });
    expect(() => parseChallenge(header, "kv1.vault.example")).toThrow(/doesn't match the requested domain/);
    expect(() => parseChallenge(undefined, "kv1.vault.azure.net")).toThrow(/no WWW-Authenticate/);
  });
});

describe("where a vault's data plane is (custom_keyvault.go; departure, offline only, without a Key Vault suffix)", () => {
  test("with a Key Vault suffix: https://<vault><suffix>, the challenge checked, ARM not asked", async () => {
    const lookups: string[] = [];
    const address = await vaultAddress(".vault.azure.net", "kv1", async () => {
      lookups.push("kv1");
      return "https://elsewhere/";
    });
    expect(address).toEqual({ url: "https://kv1.vault.azure.net", verifyChallengeResource: true });
    expect(lookups).toEqual([]);
    expect(await vaultAddress(cloudByName("china").keyVaultDnsSuffix, "kv1", async () => undefined)).toEqual({
      url: "https://kv1.vault.azure.cn",
      verifyChallengeResource: true,
    });
  });

  test("without one: the vault's vaultUri from ARM, the challenge's host not checked; no vault in ARM, nothing to delete", async () => {
    const address = await vaultAddress("", "emulator-kv", async () => "https://127.0.0.1:40123/");
    expect(address).toEqual({ url: "https://127.0.0.1:40123", verifyChallengeResource: false });
    const header = 'Bearer authorization="https://127.0.0.1:8443/tenant-1", resource="https://vault.azure.net"';
    expect(() => parseChallenge(header, "127.0.0.1:40123")).toThrow(/doesn't match the requested domain/);
    expect(parseChallenge(header, "127.0.0.1:40123", address!.verifyChallengeResource)).toEqual({
      scope: "https://vault.azure.net/.default",
      tenantId: "tenant-1",
    });
    expect(await vaultAddress("", "gone-kv", async () => undefined)).toBeUndefined();
  });
});
