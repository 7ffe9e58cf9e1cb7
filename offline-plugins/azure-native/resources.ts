/**
 * The resource types the stand-in serves, described as azure-native v3.28.0's metadata describes them
 * (generated from the Azure REST API specs at the API version the SDK names): the ARM path and its
 * parameters (all of which force a replacement: diff.go), the body the inputs become
 * (SdkInputsToRequestBody: `x-ms-client-flatten` properties nested under `properties`, SDK names
 * such as `expires` sent as the wire names such as `exp`), and the outputs a response becomes
 * (ResponseBodyToSdkOutputs: the reverse, read-only properties included).
 *
 * Specs: keyvault `stable/2024-11-01/secrets.json` (the SDK's secret.d.ts: "Uses Azure REST API
 * version 2024-11-01"); msi `stable/2023-01-31/ManagedIdentity.json` (userAssignedIdentity.d.ts,
 * federatedIdentityCredential.d.ts: "2023-01-31").
 */
import { Plain } from "../shared/values";

export interface PathParameter {
  /** The SDK name (also the ARM path parameter's name for these types). */
  readonly name: string;
  readonly pattern?: RegExp;
  readonly minLength?: number;
  readonly maxLength?: number;
  /** The name parameter: optional in the SDK, auto-named from the URN when left out. */
  readonly autoName?: boolean;
}

export interface ResourceSpec {
  readonly token: string;
  readonly apiVersion: string;
  readonly path: string;
  readonly pathParameters: readonly PathParameter[];
  /** The body has a `location` (auto-location applies; location forces a replacement). */
  readonly location: boolean;
  /** Required body inputs by SDK name ("properties", "issuer"...). */
  readonly requiredInputs: readonly string[];
  /** Problems with the body inputs, beyond presence (the spec's types and patterns). */
  validate(inputs: Plain): string[];
  toBody(inputs: Plain): Plain;
  toOutputs(response: Plain): Plain;
  /** The outputs in input shape: read-only properties dropped (SdkOutputsToSdkInputs). */
  outputsToInputs(outputs: Plain): Plain;
  /** Read-only outputs a preview shows as unknown (dotted paths; a path into an absent object is skipped). */
  readonly computedOutputs: readonly string[];
  /** Deleted through Key Vault's data plane (custom_keyvault.go), not ARM. */
  readonly deleteThroughKeyVault?: boolean;
}

const rec = (value: unknown): Plain | undefined =>
  value && typeof value === "object" && !Array.isArray(value) ? (value as Plain) : undefined;

/** Drops undefined fields (and empty objects made only of them). */
function compact(record: Plain): Plain {
  const result: Plain = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) result[key] = value;
  return result;
}

const maybe = (record: Plain | undefined, build: (record: Plain) => Plain): Plain | undefined =>
  record === undefined ? undefined : compact(build(record));

/** The common-types v5 resource group parameter (managedidentity). */
const resourceGroupName: PathParameter = { name: "resourceGroupName", pattern: /^[-\w._()]+$/, minLength: 1, maxLength: 90 };

function typeProblems(inputs: Plain, checks: readonly [string, "string" | "number" | "boolean" | "array" | "object"][]): string[] {
  const problems: string[] = [];
  for (const [path, type] of checks) {
    let value: unknown = inputs;
    for (const key of path.split(".")) value = rec(value)?.[key];
    if (value === undefined || value === null) continue;
    const actual = Array.isArray(value) ? "array" : typeof value === "object" ? "object" : typeof value;
    if (actual !== type) {
      const got = actual === "array" ? "an array" : actual === "object" ? "an object" : `a ${actual}`;
      problems.push(`'${path}' should be of type '${type === "number" ? "integer" : type}' but got ${got}`);
    }
  }
  return problems;
}

/** azure-native:keyvault:Secret (Microsoft.KeyVault/vaults/secrets, 2024-11-01). */
export const keyVaultSecret: ResourceSpec = {
  token: "azure-native:keyvault:Secret",
  apiVersion: "2024-11-01",
  path: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults/{vaultName}/secrets/{secretName}",
  pathParameters: [
    { name: "resourceGroupName" },
    { name: "vaultName", pattern: /^[a-zA-Z0-9-]{3,24}$/ },
    { name: "secretName", pattern: /^[a-zA-Z0-9-]{1,127}$/, autoName: true },
  ],
  location: false,
  requiredInputs: ["properties"],
  computedOutputs: ["location", "properties.secretUri", "properties.secretUriWithVersion"],
  validate: (inputs) =>
    typeProblems(inputs, [
      ["properties", "object"],
      ["properties.value", "string"],
      ["properties.contentType", "string"],
      ["properties.attributes", "object"],
      ["properties.attributes.enabled", "boolean"],
      ["properties.attributes.notBefore", "number"],
      ["properties.attributes.expires", "number"],
      ["tags", "object"],
    ]),
  toBody: (inputs) => {
    const properties = rec(inputs.properties);
    return compact({
      tags: inputs.tags,
      properties: maybe(properties, (p) => ({
        value: p.value,
        contentType: p.contentType,
        attributes: maybe(rec(p.attributes), (a) => ({ enabled: a.enabled, nbf: a.notBefore, exp: a.expires })),
      })),
    });
  },
  toOutputs: (response) => {
    const properties = rec(response.properties);
    return compact({
      id: response.id,
      name: response.name,
      type: response.type,
      location: response.location,
      tags: response.tags,
      properties: maybe(properties, (p) => ({
        value: p.value,
        contentType: p.contentType,
        secretUri: p.secretUri,
        secretUriWithVersion: p.secretUriWithVersion,
        attributes: maybe(rec(p.attributes), (a) => ({
          enabled: a.enabled,
          notBefore: a.nbf,
          expires: a.exp,
          created: a.created,
          updated: a.updated,
        })),
      })),
    });
  },
  outputsToInputs: (outputs) => {
    const properties = rec(outputs.properties);
    return compact({
      tags: outputs.tags,
      properties: maybe(properties, (p) => ({
        value: p.value,
        contentType: p.contentType,
        attributes: maybe(rec(p.attributes), (a) => ({ enabled: a.enabled, notBefore: a.notBefore, expires: a.expires })),
      })),
    });
  },
  deleteThroughKeyVault: true,
};

/** azure-native:managedidentity:UserAssignedIdentity (Microsoft.ManagedIdentity/userAssignedIdentities, 2023-01-31). */
export const userAssignedIdentity: ResourceSpec = {
  token: "azure-native:managedidentity:UserAssignedIdentity",
  apiVersion: "2023-01-31",
  path: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
  pathParameters: [resourceGroupName, { name: "resourceName", autoName: true }],
  location: true,
  requiredInputs: ["location"],
  computedOutputs: ["clientId", "principalId", "tenantId", "systemData"],
  validate: (inputs) =>
    typeProblems(inputs, [
      ["location", "string"],
      ["tags", "object"],
    ]),
  toBody: (inputs) => compact({ location: inputs.location, tags: inputs.tags }),
  toOutputs: (response) => {
    const properties = rec(response.properties) ?? {};
    return compact({
      id: response.id,
      name: response.name,
      type: response.type,
      location: response.location,
      tags: response.tags,
      systemData: response.systemData,
      clientId: properties.clientId,
      principalId: properties.principalId,
      tenantId: properties.tenantId,
    });
  },
  outputsToInputs: (outputs) => compact({ location: outputs.location, tags: outputs.tags }),
};

/** azure-native:managedidentity:FederatedIdentityCredential (.../userAssignedIdentities/{}/federatedIdentityCredentials, 2023-01-31). */
export const federatedIdentityCredential: ResourceSpec = {
  token: "azure-native:managedidentity:FederatedIdentityCredential",
  apiVersion: "2023-01-31",
  path:
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}" +
    "/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}",
  pathParameters: [
    resourceGroupName,
    { name: "resourceName" },
    { name: "federatedIdentityCredentialResourceName", pattern: /^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$/, autoName: true },
  ],
  location: false,
  requiredInputs: ["issuer", "subject", "audiences"],
  computedOutputs: ["systemData"],
  validate: (inputs) =>
    typeProblems(inputs, [
      ["issuer", "string"],
      ["subject", "string"],
      ["audiences", "array"],
    ]),
  toBody: (inputs) => ({ properties: compact({ issuer: inputs.issuer, subject: inputs.subject, audiences: inputs.audiences }) }),
  toOutputs: (response) => {
    const properties = rec(response.properties) ?? {};
    return compact({
      id: response.id,
      name: response.name,
      type: response.type,
      systemData: response.systemData,
      issuer: properties.issuer,
      subject: properties.subject,
      audiences: properties.audiences,
    });
  },
  outputsToInputs: (outputs) => compact({ issuer: outputs.issuer, subject: outputs.subject, audiences: outputs.audiences }),
};

export const resourceSpecs: Readonly<Record<string, ResourceSpec>> = Object.fromEntries(
  [keyVaultSecret, userAssignedIdentity, federatedIdentityCredential].map((spec) => [spec.token, spec]),
);

/** PrepareAzureRESTIdAndQuery: the path with each parameter path-escaped (url.PathEscape). */
export function resourceId(spec: ResourceSpec, subscriptionId: string, inputs: Plain, escape: (segment: string) => string): string {
  let id = spec.path.replace("{subscriptionId}", escape(subscriptionId));
  for (const parameter of spec.pathParameters) {
    const value = inputs[parameter.name];
    if (typeof value !== "string") throw new Error(`expected string value for path parameter '${parameter.name}', got ${typeof value}`);
    id = id.replace(`{${parameter.name}}`, escape(value));
  }
  return id;
}

/** ParseResourceID: the path parameters of an id (case-insensitive segments, as ARM ids are). */
export function parseResourceId(spec: ResourceSpec, id: string): Plain | undefined {
  const names: string[] = [];
  const pattern = spec.path
    .split("/")
    .map((segment) => {
      const match = /^\{(.+)\}$/.exec(segment);
      if (!match) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(match[1]);
      return "([^/]+)";
    })
    .join("/");
  const match = new RegExp(`^${pattern}$`, "i").exec(id);
  if (!match) return undefined;
  const values: Plain = {};
  names.forEach((name, index) => (values[name] = decodeURIComponent(match[index + 1])));
  return values;
}
