/**
 * The one Microsoft Graph client: the stack's lookups, the environment checks and every provider
 * that calls Graph build it here, for the azuread provider's cloud. Also the one reader of paged
 * collections (Graph's, and Azure Resource Manager's for the ARM client of lib/managed-identities.ts).
 */
import { discoverEndpoints } from "./cloud-endpoints";
import { RestClient } from "./rest-client";

/** The azuread provider's cloud as resources carry it (an empty string is unset). */
interface GraphCloud {
  readonly metadataHost?: string;
  readonly cloudEnvironment?: string;
}

/** A Graph client for the azuread provider's cloud (metadataHost or environment; global by default). */
export async function graphClient(cloud: GraphCloud): Promise<RestClient> {
  const endpoints = await discoverEndpoints({
    metadataHost: cloud.metadataHost || undefined,
    environment: cloud.cloudEnvironment || undefined,
  });
  return new RestClient({ service: "Microsoft Graph", baseUrl: endpoints.graphResource, tokenResource: endpoints.graphResource });
}

/**
 * Every item of a paged collection, following its next link: Graph's `@odata.nextLink` (Graph pages
 * lists; a page may be small) or, with `nextLinkKey: "nextLink"`, Azure Resource Manager's.
 */
export async function listAll<T>(
  client: RestClient,
  operation: string,
  path: string,
  nextLinkKey: "@odata.nextLink" | "nextLink" = "@odata.nextLink",
): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined = path;
  while (next) {
    const page: { data: { value?: T[] } & Partial<Record<typeof nextLinkKey, string | null>> } = await client.request({
      operation,
      method: "GET",
      path: next,
    });
    items.push(...(page.data.value ?? []));
    next = page.data[nextLinkKey] ?? undefined;
  }
  return items;
}
