/**
 * Starting the provider plugins early, and the one lookup every app registration shares.
 *
 * The Pulumi engine starts a provider's plugin at its first use, one plugin at a time, and a Node.js
 * plugin (the dynamic-provider host) takes most of a second to load @pulumi/pulumi. Left alone, both
 * plugins start only once the program has loaded this package and declared its first resource, so
 * every run waits for the program's load and then for each plugin in turn. `startProviderPlugins`,
 * called first in the program (index.ts, before the package loads), asks the engine for both at once:
 * they start while the program loads.
 *
 * This module loads nothing heavy (the engine's invoke only; @pulumi/pulumi's runtime, which the
 * language host has loaded already), so that the requests leave before the rest of the package loads.
 */
import { invoke } from "@pulumi/pulumi/runtime/invoke";
import { version as azureadVersion } from "@pulumi/azuread/package.json";
import { dynamicsCrmAppId } from "./defaults";
import { cachedLookup } from "./process-lookups";

/** What the app registrations read of the Dynamics CRM service principal: its object id (admin consent) and its delegated scopes' ids by value. */
export interface DynamicsCrmServicePrincipal {
  readonly objectId: string;
  readonly oauth2PermissionScopeIds: Record<string, string>;
}

/** The azuread function the lookup calls (a component with its own azuread provider is asked for it by this token). */
export const getServicePrincipalToken = "azuread:index/getServicePrincipal:getServicePrincipal";

/**
 * The Dynamics CRM service principal as the default azuread provider reads it, looked up once per
 * program (lib/process-lookups.ts: a failure is not kept, whoever asks next asks again): it is the
 * same for every integration of the tenant (twenty integrations make one call, not twenty). An
 * integration given its own azuread provider looks it up through that provider.
 */
export function dynamicsCrmServicePrincipal(): Promise<DynamicsCrmServicePrincipal> {
  // The version @pulumi/azuread passes itself, so that this is the same default provider its resources use.
  return cachedLookup("azuread-default-provider/dynamics-crm-service-principal", () =>
    invoke(getServicePrincipalToken, { clientId: dynamicsCrmAppId }, { version: azureadVersion }),
  );
}

/**
 * Asks the engine for the azuread plugin and the dynamic-provider host now (see the header). The
 * azuread request is the Dynamics CRM lookup the app registrations use anyway; the host is asked for
 * a function it does not have, which starts it and fails at once (the engine reports nothing). Any
 * failure is left to the real use: the environment check names a missing service principal or a
 * missing credential, with the setting to fix.
 */
export function startProviderPlugins(): void {
  dynamicsCrmServicePrincipal().catch(() => undefined);
  invoke("pulumi-nodejs:dynamic:startHost", {}, {}).catch(() => undefined);
}
