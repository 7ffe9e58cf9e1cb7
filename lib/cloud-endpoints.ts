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
 * Discovered endpoints by metadata host, once per process: every resource that reads Graph (the
 * environment check, each RetiredSecrets) asks for the same document, which does not change during
 * a run. A failed discovery is not kept.
 */
const discovered: Record<string, Promise<GraphEndpoints>> = {};

export async function discoverEndpoints(config: CloudSelection, log?: (message: string) => void): Promise<GraphEndpoints> {
  if (!config.metadataHost) return wellKnownEndpoints(config);
  const key = config.metadataHost.toLowerCase();
  discovered[key] ??= fetchEndpoints(config.metadataHost, log).catch((error: unknown) => {
    delete discovered[key];
    throw error;
  });
  return discovered[key];
}

function wellKnownEndpoints(config: CloudSelection): GraphEndpoints {
  const environment = (config.environment ?? "global").toLowerCase();
  const known = wellKnownEnvironments[environment];
  if (!known) {
    throw new Error(`azuread: unknown environment '${config.environment}'; use global, usgovernment or china, or set azuread:metadataHost`);
  }
  return known;
}

async function fetchEndpoints(metadataHost: string, log?: (message: string) => void): Promise<GraphEndpoints> {
  // https is forced for this call, as in the real provider; the host carries its port if any.
  const metadata = new RestClient({ service: "Azure metadata", baseUrl: `https://${metadataHost}/`, log });
  const response = await metadata.request<Record<string, unknown>>({
    operation: "discover the cloud endpoints",
    method: "GET",
    path: "metadata/endpoints?api-version=2022-09-01",
  });
  const body = response.data ?? {};
  const authentication = (body.authentication ?? {}) as Record<string, unknown>;
  const loginEndpoint = authentication.loginEndpoint;
  const graphResource = body.microsoftGraphResourceId;
  if (typeof loginEndpoint !== "string" || typeof graphResource !== "string" || !loginEndpoint || !graphResource) {
    throw new Error(
      `azuread: the metadata of https://${metadataHost} has no authentication.loginEndpoint or microsoftGraphResourceId; ` +
        `check azuread:metadataHost`,
    );
  }
  return { loginEndpoint, graphResource: withSlash(graphResource) };
}
