/**
 * Which cloud the stand-in talks to, found as azure-native v3 finds it
 * (provider/pkg/azure/cloud/cloud.go, provider/pkg/azure/cloud/metadata/client.go):
 * - with a metadata host: GET <host>/metadata/endpoints?api-version=2022-09-01 (https:// unless the
 *   host names a scheme; no token) gives the login endpoint, the ARM endpoint (`resourceManager`),
 *   ARM's token audience (`authentication.audiences[0]`) and the Key Vault DNS suffix
 *   (`suffixes.keyVaultDns`);
 * - otherwise the well-known cloud of `environment` (public when unset or unknown: FromName).
 */
import { RestClient } from "../../lib/rest-client";

export interface ArmCloud {
  readonly name: string;
  /** Where tokens come from, e.g. https://login.microsoftonline.com/. */
  readonly loginEndpoint: string;
  /** ARM's base URL, e.g. https://management.azure.com/. */
  readonly resourceManager: string;
  /** ARM's token audience; the scope is the audience + "/.default", as azcore's ARM bearer policy makes it. */
  readonly audience: string;
  /**
   * Key Vault host suffix with its leading dot, e.g. ".vault.azure.net"; empty when the cloud's
   * metadata names none (only the offline emulator's does that: see keyvault-data-plane.ts).
   */
  readonly keyVaultDnsSuffix: string;
}

/** azcore/cloud AzurePublic, AzureChina, AzureGovernment with cloud.go's suffixes. */
const publicCloud: ArmCloud = {
  name: "AzureCloud",
  loginEndpoint: "https://login.microsoftonline.com/",
  resourceManager: "https://management.azure.com",
  audience: "https://management.core.windows.net/",
  keyVaultDnsSuffix: ".vault.azure.net",
};
const chinaCloud: ArmCloud = {
  name: "AzureChinaCloud",
  loginEndpoint: "https://login.chinacloudapi.cn/",
  resourceManager: "https://management.chinacloudapi.cn",
  audience: "https://management.core.chinacloudapi.cn",
  keyVaultDnsSuffix: ".vault.azure.cn",
};
const governmentCloud: ArmCloud = {
  name: "AzureUSGovernment",
  loginEndpoint: "https://login.microsoftonline.us/",
  resourceManager: "https://management.usgovcloudapi.net",
  audience: "https://management.core.usgovcloudapi.net",
  keyVaultDnsSuffix: ".vault.usgovcloudapi.net",
};

/** cloud.go FromName: unknown names fall back to the public cloud. */
export function cloudByName(name: string | undefined): ArmCloud {
  switch ((name ?? "").toLowerCase()) {
    case "china":
    case "azurechinacloud":
      return chinaCloud;
    case "usgov":
    case "usgovernment":
    case "azureusgovernment":
    case "azureusgovernmentcloud":
    case "usgovernmentl4":
      return governmentCloud;
    default:
      return publicCloud;
  }
}

/** The metadata document's fields this stand-in reads (metaDataResponse in metadata/client.go). */
export function cloudFromMetadata(body: Record<string, unknown>, metadataHost: string): ArmCloud {
  const authentication = (body.authentication ?? {}) as Record<string, unknown>;
  const audiences = Array.isArray(authentication.audiences) ? authentication.audiences : [];
  const suffixes = (body.suffixes ?? {}) as Record<string, unknown>;
  const loginEndpoint = authentication.loginEndpoint;
  const resourceManager = body.resourceManager;
  if (typeof loginEndpoint !== "string" || typeof resourceManager !== "string" || typeof audiences[0] !== "string") {
    throw new Error(
      `azure-native (offline stand-in): the metadata of ${metadataHost} has no authentication.loginEndpoint, ` +
        `authentication.audiences or resourceManager; check azure-native:metadataHost`,
    );
  }
  const keyVaultDns = typeof suffixes.keyVaultDns === "string" && suffixes.keyVaultDns ? suffixes.keyVaultDns : "";
  return {
    name: typeof body.name === "string" ? body.name : "",
    loginEndpoint,
    resourceManager,
    audience: audiences[0],
    // FromMetadataEndpoint keeps the document's suffix as it is, an empty one included.
    keyVaultDnsSuffix: keyVaultDns === "" || keyVaultDns.startsWith(".") ? keyVaultDns : `.${keyVaultDns}`,
  };
}

export async function resolveCloud(config: { metadataHost?: string; environment?: string }): Promise<ArmCloud> {
  if (!config.metadataHost) return cloudByName(config.environment);
  const endpoint = config.metadataHost.includes("://") ? config.metadataHost : `https://${config.metadataHost}`;
  // A plain client: the metadata client of cloud.go has no retry policy of its own.
  const client = new RestClient({
    service: "Azure metadata",
    baseUrl: endpoint.endsWith("/") ? endpoint : `${endpoint}/`,
    retryPolicy: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
  });
  const response = await client.request<Record<string, unknown>>({
    operation: "get the Azure environment metadata",
    method: "GET",
    path: "metadata/endpoints?api-version=2022-09-01",
  });
  if (response.status !== 200) {
    throw new Error(`azure-native (offline stand-in): metadata of ${endpoint}: expected 200 OK but got ${response.status}`);
  }
  return cloudFromMetadata(response.data ?? {}, endpoint);
}
