/**
 * Where Entra ID and Microsoft Graph are for a cloud, found as the azuread provider finds them:
 * with `metadataHost`, GET https://<metadataHost>/metadata/endpoints?api-version=2022-09-01 (no token)
 * gives the login endpoint and Graph's resource id (also its base URL); without it, the well-known
 * endpoints of `environment` (default global) are used.
 */
import { RestClient } from "./rest-client";

/** The azuread provider settings that select a cloud. */
interface CloudSelection {
  readonly metadataHost?: string;
  readonly environment?: string;
}

export interface GraphEndpoints {
  /** Where tokens come from, e.g. https://login.microsoftonline.com/ (kept as given). */
  readonly loginEndpoint: string;
  /** Graph's resource id and base URL, e.g. https://graph.microsoft.com/ (always ends in a slash here). */
  readonly graphResource: string;
}

const wellKnownEnvironments: Record<string, GraphEndpoints> = {
  global: { loginEndpoint: "https://login.microsoftonline.com/", graphResource: "https://graph.microsoft.com/" },
  public: { loginEndpoint: "https://login.microsoftonline.com/", graphResource: "https://graph.microsoft.com/" },
  usgovernment: { loginEndpoint: "https://login.microsoftonline.us/", graphResource: "https://graph.microsoft.us/" },
  china: { loginEndpoint: "https://login.chinacloudapi.cn/", graphResource: "https://microsoftgraph.chinacloudapi.cn/" },
};

const withSlash = (url: string) => (url.endsWith("/") ? url : `${url}/`);

/**
 * The metadata document of each metadata host, fetched once per process: the environment check, each
 * RetiredSecrets and the ARM lookups all read the same document, which does not change during a
 * run. A failed fetch is not kept.
 */
const metadataDocuments: Record<string, Promise<Record<string, unknown>>> = {};

/** GET <base>metadata/endpoints?api-version=2022-09-01 (no token), once per base URL. */
function metadataDocument(baseUrl: string, log?: (message: string) => void): Promise<Record<string, unknown>> {
  const key = baseUrl.toLowerCase();
  metadataDocuments[key] ??= new RestClient({ service: "Azure metadata", baseUrl, log })
    .request<Record<string, unknown>>({
      operation: "discover the cloud endpoints",
      method: "GET",
      path: "metadata/endpoints?api-version=2022-09-01",
    })
    .then((response) => response.data ?? {})
    .catch((error: unknown) => {
      delete metadataDocuments[key];
      throw error;
    });
  return metadataDocuments[key];
}

export async function discoverEndpoints(config: CloudSelection, log?: (message: string) => void): Promise<GraphEndpoints> {
  if (!config.metadataHost) return wellKnownEndpoints(config);
  // https is forced for this call, as in the real provider; the host carries its port if any.
  const body = await metadataDocument(`https://${config.metadataHost}/`, log);
  const authentication = (body.authentication ?? {}) as Record<string, unknown>;
  const loginEndpoint = authentication.loginEndpoint;
  const graphResource = body.microsoftGraphResourceId;
  if (typeof loginEndpoint !== "string" || typeof graphResource !== "string" || !loginEndpoint || !graphResource) {
    throw new Error(
      `azuread: the metadata of https://${config.metadataHost} has no authentication.loginEndpoint or microsoftGraphResourceId; ` +
        `check azuread:metadataHost`,
    );
  }
  return { loginEndpoint, graphResource: withSlash(graphResource) };
}

function wellKnownEndpoints(config: CloudSelection): GraphEndpoints {
  const environment = (config.environment ?? "global").toLowerCase();
  const known = wellKnownEnvironments[environment];
  if (!known) {
    throw new Error(`azuread: unknown environment '${config.environment}'; use global, usgovernment or china, or set azuread:metadataHost`);
  }
  return known;
}

/** Azure Resource Manager for a cloud: its base URL and the resource id its tokens are for. */
export interface ArmEndpoints {
  /** e.g. https://management.azure.com/ (always ends in a slash here). */
  readonly resourceManager: string;
  /** ARM's resource id, the token audience: `authentication.audiences[0]` of the metadata, as azure-native takes it. */
  readonly audience: string;
}

const wellKnownArm: Record<string, ArmEndpoints> = {
  public: { resourceManager: "https://management.azure.com/", audience: "https://management.core.windows.net/" },
  usgovernment: { resourceManager: "https://management.usgovcloudapi.net/", audience: "https://management.core.usgovcloudapi.net/" },
  china: { resourceManager: "https://management.chinacloudapi.cn/", audience: "https://management.core.chinacloudapi.cn/" },
};

/**
 * Where ARM is, found as pulumi-azure-native finds it (provider/pkg/azure/cloud): with `metadataHost`,
 * the metadata document's `resourceManager` and `authentication.audiences[0]`; otherwise the cloud
 * named by `environment` (public, usgovernment, china; azuread's `global` is public).
 */
export async function discoverArmEndpoints(config: CloudSelection): Promise<ArmEndpoints> {
  if (!config.metadataHost) {
    const name = (config.environment ?? "public").toLowerCase();
    const known = wellKnownArm[name === "global" ? "public" : name];
    if (!known)
      throw new Error(
        `azure-native: unknown environment '${config.environment}'; use public, usgovernment or china, or set a metadata host`,
      );
    return known;
  }
  const base = config.metadataHost.includes("://") ? withSlash(config.metadataHost) : `https://${config.metadataHost}/`;
  const body = await metadataDocument(base);
  const audiences = ((body.authentication ?? {}) as Record<string, unknown>).audiences;
  const audience = Array.isArray(audiences) ? audiences[0] : undefined;
  if (typeof body.resourceManager !== "string" || typeof audience !== "string") {
    throw new Error(`the metadata of ${base} has no resourceManager or authentication.audiences; check azure-native:metadataHost`);
  }
  return { resourceManager: withSlash(body.resourceManager), audience };
}
