/**
 * Pure rules for user-assigned managed identities: an identity's ARM resource id, the resource group,
 * location and name of one the stack makes. Used by the config reader, the components and the lookups
 * (lib/managed-identities.ts); each returns what is wrong and what to do, or undefined when fine.
 */

/** The parts of a user-assigned identity's ARM resource id. */
export interface ManagedIdentityId {
  readonly subscriptionId: string;
  readonly resourceGroupName: string;
  readonly name: string;
}

const identityIdExample =
  "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/my-function-identity";
const identityIdHowTo =
  "find it in the Azure portal (Managed Identities > the identity > Properties > Resource ID) or with 'az identity show -g <group> -n <name> --query id -o tsv'";

// Resource groups: 1-90 of letters, digits, _ . ( ) -, not ending with a dot (Azure's naming rules).
const resourceGroupPattern = /^[\p{L}\p{N}_.()-]{0,89}[\p{L}\p{N}_()-]$/u;
// User-assigned identities: 3-128 of letters, digits, - and _, starting with a letter or digit
// (azure-rest-api-specs msi ManagedIdentity.json 2023-01-31 and Azure's naming rules).
const identityNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/;
// ARM segment names are case-insensitive.
const identityIdPattern =
  /^\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/([^/]+)$/i;
// A location's programmatic name (westeurope) or its display name (West Europe).
const locationPattern = /^[A-Za-z][A-Za-z0-9 ]{1,49}$/;

/** Why `value` is not a user-assigned identity's resource id, or undefined when it is one. */
export function managedIdentityIdProblem(value: unknown): string | undefined {
  const expected = `a user-assigned managed identity's resource id such as '${identityIdExample}'; ${identityIdHowTo}`;
  if (typeof value !== "string" || value.trim() === "") return `the identity's resource id is required: ${expected}.`;
  const id = value.trim();
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
    return `'${id}' is a GUID (a client or principal id), not a resource id; give a client id as credential.clientId instead, or ${expected}.`;
  if (/\/providers\/Microsoft\.Web\/sites\//i.test(id))
    return `'${id}' is an App Service or Function app, not its identity; give the user-assigned identity the app uses, ${expected}.`;
  const match = identityIdPattern.exec(id);
  if (!match) return `'${id}' is not ${expected}.`;
  if (!resourceGroupPattern.test(match[2])) return `'${id}' names the resource group '${match[2]}', which is not a resource group name.`;
  if (!identityNamePattern.test(match[3]))
    return `'${id}' names the identity '${match[3]}', which is not a managed identity name (3 to 128 letters, digits, dashes and underscores).`;
  return undefined;
}

/** Splits an identity's resource id; throws an error saying what a correct id looks like. */
export function parseManagedIdentityId(value: string): ManagedIdentityId {
  const problem = managedIdentityIdProblem(value);
  if (problem) throw new Error(problem);
  const [, subscriptionId, resourceGroupName, name] = identityIdPattern.exec(value.trim())!;
  return { subscriptionId: subscriptionId.toLowerCase(), resourceGroupName, name };
}

export function resourceGroupNameProblem(value: unknown): string | undefined {
  if (typeof value === "string" && resourceGroupPattern.test(value.trim())) return undefined;
  return `must be the name of an existing resource group (1 to 90 letters, digits, underscores, dots, parentheses and dashes, not ending with a dot), not '${String(value)}'`;
}

export function locationProblem(value: unknown): string | undefined {
  if (typeof value === "string" && locationPattern.test(value.trim())) return undefined;
  return `must be an Azure location such as westeurope ('az account list-locations --query [].name -o tsv'), not '${String(value)}'`;
}

export function managedIdentityNameProblem(value: unknown): string | undefined {
  if (typeof value === "string" && identityNamePattern.test(value.trim())) return undefined;
  return `must be 3 to 128 letters, digits, dashes and underscores, starting with a letter or digit, not '${String(value)}'`;
}

/** The ARM id of a resource group. */
export const resourceGroupId = (subscriptionId: string, resourceGroup: string): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
