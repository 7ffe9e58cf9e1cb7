/**
 * dataverse-s2s stack: one server-to-server identity per configured integration, in the environment
 * given by `dataverse-s2s:environmentUrl`. Configuration is read and validated before anything is
 * declared, so a mistake stops the run before any write.
 */
import { readStackConfig } from "./config/stack-config";
import { declareStack } from "./components/stack";

const declared = declareStack(readStackConfig());
const declaredIntegrations = Object.values(declared);
// With one integration its values are top-level outputs too; with several only `integrations` is,
// so that no top-level output silently means "the first one".
const only = declaredIntegrations.length === 1 ? declaredIntegrations[0] : undefined;

export const integrations = declared;
export const environmentUrl = only?.environmentUrl;
export const tenantId = only?.tenantId;
export const clientId = only?.clientId;
export const clientSecret = only?.clientSecret;
export const secretExpiresAt = only?.secretExpiresAt;
export const applicationUserId = only?.applicationUserId;
export const securityRoleId = only?.securityRoleId;
