/**
 * Proves an integration's connection values work: a token taken as the new app with its new secret,
 * then WhoAmI in the environment, which answers only for an enabled application user.
 */
import { ClientSecretCredential } from "@azure/identity";
import { isMicrosoftAuthorityHost } from "../lib/credentials";
import { DataverseClient } from "../lib/dataverse-client";

export interface ConnectionValues {
  readonly environmentUrl: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export async function whoAmIAs(
  values: ConnectionValues,
  authorityHost = process.env.AZURE_AUTHORITY_HOST ?? "https://login.microsoftonline.com",
) {
  const credential = new ClientSecretCredential(values.tenantId, values.clientId, values.clientSecret, {
    authorityHost,
    disableInstanceDiscovery: !isMicrosoftAuthorityHost(authorityHost),
  });
  return new DataverseClient(values.environmentUrl, { credential }).whoAmI();
}
