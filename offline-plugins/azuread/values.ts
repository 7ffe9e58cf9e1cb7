/**
 * The azuread stand-in's values: the shared wire helpers (../shared/values.ts) and what is Graph's own.
 */
export * from "../shared/values";
import type { Plain } from "../shared/values";

/**
 * The type annotations go-azure-sdk's stable models add in MarshalJSON (microsoft-graph/common-types/
 * stable/model_*.go: `decoded["@odata.type"] = ...` unless OmitDiscriminatedValue), so every request
 * body v3.8.0 builds from them carries one.
 */
const odataTypes = {
  application: "#microsoft.graph.application",
  servicePrincipal: "#microsoft.graph.servicePrincipal",
  federatedIdentityCredential: "#microsoft.graph.federatedIdentityCredential",
  oAuth2PermissionGrant: "#microsoft.graph.oAuth2PermissionGrant",
} as const;

/** A request body as go-azure-sdk marshals its stable model: with the entity's `@odata.type`. */
export function typedBody(type: keyof typeof odataTypes, body: Plain): Plain {
  return { "@odata.type": odataTypes[type], ...body };
}

/** Escapes a value for a single-quoted OData string literal. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
