/**
 * The Microsoft Graph calls of retired secrets: an application's secrets, read, and one removed.
 */
import type { RestClient } from "../../lib/rest-client";

export interface PasswordCredential {
  keyId: string;
  displayName?: string | null;
}

/** The application's secrets, or undefined when the application is gone. */
export async function readSecrets(graph: RestClient, applicationObjectId: string): Promise<PasswordCredential[] | undefined> {
  const response = await graph.request<{ passwordCredentials?: PasswordCredential[] }>({
    operation: "read the application's secrets",
    method: "GET",
    path: `v1.0/applications/${applicationObjectId}`,
    acceptStatus: [404],
  });
  return response.status === 404 ? undefined : (response.data.passwordCredentials ?? []);
}

/** POSTs removePassword for one secret; `why` ends the operation's name ("retired at ...") in errors. */
export async function removeSecret(graph: RestClient, applicationObjectId: string, keyId: string, why: string): Promise<void> {
  await graph.request({
    operation: `remove the client secret ${keyId} ${why}`,
    method: "POST",
    path: `v1.0/applications/${applicationObjectId}/removePassword`,
    body: { keyId },
    // Removing a key that is already gone (by hand, or with its application) is done.
    acceptStatus: [400, 404],
    idempotent: true,
  });
}
