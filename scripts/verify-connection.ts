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

/** The stack outputs of one integration, in the order a connection dialog asks for them. */
export const connectionOutputNames = [
  "environmentUrl",
  "tenantId",
  "clientId",
  "clientSecret",
  "secretExpiresAt",
  "applicationUserId",
  "securityRoleId",
] as const;

/** The token service does not know the secret (yet): a new secret takes a while to replicate. */
export const isUnknownSecretError = (error: unknown): boolean => /AADSTS7000215/.test(String(error));

export interface WhoAmIOptions {
  /**
   * How long a secret the token service does not know yet (AADSTS7000215) is tried again, as a
   * consumer of a just-published secret must: Entra takes a while to replicate a new secret.
   * 0 (the default) tries once.
   */
  readonly newSecretWaitMs?: number;
  readonly retryIntervalMs?: number;
}

export async function whoAmIAs(
  values: ConnectionValues,
  authorityHost = process.env.AZURE_AUTHORITY_HOST ?? "https://login.microsoftonline.com",
  options: WhoAmIOptions = {},
) {
  const deadline = Date.now() + (options.newSecretWaitMs ?? 0);
  for (;;) {
    // A new credential each attempt: a refused token is not cached, but a fresh start is simplest to reason about.
    const credential = new ClientSecretCredential(values.tenantId, values.clientId, values.clientSecret, {
      authorityHost,
      disableInstanceDiscovery: !isMicrosoftAuthorityHost(authorityHost),
    });
    try {
      return await new DataverseClient(values.environmentUrl, { credential }).whoAmI();
    } catch (error) {
      if (!isUnknownSecretError(error) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, options.retryIntervalMs ?? 500));
    }
  }
}
