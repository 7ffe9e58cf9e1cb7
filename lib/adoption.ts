/**
 * Finds the Entra objects an integration adopts (config `adopt: { clientId }`): the app registration
 * of that client id, its service principal and its client secrets (their dates and key ids: a secret's
 * text cannot be read back). The program needs them before it declares anything, because Pulumi's
 * `import` option takes the object's id as a plain string ("/applications/<object id>").
 *
 * Plain functions, no module-level state; the Graph client comes from the caller.
 */
import { RestApiError, RestClient } from "./rest-client";
import { managedSecretDisplayName } from "./defaults";
import { rotationDue, rotationStartMs } from "./secret-lifecycle";

/** A client secret of the adopted app registration, without its text (Graph never returns it). */
export interface AdoptedSecret {
  readonly keyId: string;
  readonly displayName: string;
  /** ISO date. */
  readonly endDateTime: string;
}

export interface AdoptedApp {
  readonly clientId: string;
  /** The application's object id: its azuread id is "/applications/<object id>". */
  readonly applicationObjectId: string;
  readonly displayName: string;
  /** Absent when the app registration has no service principal yet (the stack then makes one). */
  readonly servicePrincipalObjectId?: string;
  readonly secrets: readonly AdoptedSecret[];
}

/** Thrown when an adopted object is not there: the message names the setting and what to check. */
export class AdoptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdoptionError";
  }
}

async function getOrUndefined<T>(graph: RestClient, operation: string, path: string): Promise<T | undefined> {
  try {
    return (await graph.request<T>({ operation, method: "GET", path })).data;
  } catch (error) {
    if (error instanceof RestApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** Looks up the app registration of `clientId`, its service principal and its secrets; `setting` names the config key. */
export async function lookUpAdoptedApp(graph: RestClient, clientId: string, setting: string): Promise<AdoptedApp> {
  const app = await getOrUndefined<{ id: string; appId: string; displayName?: string; passwordCredentials?: Record<string, unknown>[] }>(
    graph,
    `find the app registration to adopt (client id ${clientId})`,
    `v1.0/applications(appId='${clientId}')?$select=id,appId,displayName,passwordCredentials`,
  );
  if (!app) {
    throw new AdoptionError(
      `${setting}: there is no app registration with the client id ${clientId} in this tenant (or the deploying identity may not read it). ` +
        `Check the Application (client) ID in Entra admin center > App registrations, and that the deployer can read and write applications ` +
        `(Application Administrator, or an owner of that app with Application.ReadWrite.OwnedBy).`,
    );
  }
  const servicePrincipal = await getOrUndefined<{ id: string }>(
    graph,
    `find the service principal of the app registration to adopt (client id ${clientId})`,
    `v1.0/servicePrincipals(appId='${clientId}')?$select=id`,
  );
  return {
    clientId: app.appId.toLowerCase(),
    applicationObjectId: app.id.toLowerCase(),
    displayName: app.displayName ?? "",
    ...(servicePrincipal ? { servicePrincipalObjectId: servicePrincipal.id.toLowerCase() } : {}),
    secrets: (app.passwordCredentials ?? []).map((credential) => ({
      keyId: String(credential.keyId ?? "").toLowerCase(),
      displayName: String(credential.displayName ?? ""),
      endDateTime: String(credential.endDateTime ?? ""),
    })),
  };
}

/**
 * The secret made before adoption that the integration keeps using, while the stack makes none of its
 * own: the valid one that lasts longest, as long as the app holds no secret the stack made (named
 * managedSecretDisplayName) and it is not yet inside its rotation window. Undefined otherwise: then the
 * stack makes (or keeps) its own secret as usual, and the hand-made one simply runs out at its end date.
 */
export function keptSecret(app: AdoptedApp, rotateBeforeDays: number, nowMs: number): AdoptedSecret | undefined {
  if (app.secrets.some((secret) => secret.displayName === managedSecretDisplayName)) return undefined;
  const lasting = app.secrets
    .filter((secret) => !rotationDue(rotationStartMs(Date.parse(secret.endDateTime), rotateBeforeDays), nowMs))
    .sort((a, b) => Date.parse(b.endDateTime) - Date.parse(a.endDateTime));
  return lasting[0];
}

/** The note published instead of the client secret while the secret made before adoption is kept. */
export function keptSecretNote(secret: AdoptedSecret, rotateBeforeDays: number): string {
  const rotation = new Date(rotationStartMs(Date.parse(secret.endDateTime), rotateBeforeDays)).toISOString();
  return (
    `The client secret made before adoption (key id ${secret.keyId}, '${secret.displayName}', valid until ${secret.endDateTime}) is kept ` +
    `and stays valid; Entra never returns a secret's text, so it is not published here: the integration keeps the value it has. ` +
    `From ${rotation} (secret.rotateBeforeDays before its end), 'pulumi up' makes the stack's own secret and publishes it as clientSecret.`
  );
}
