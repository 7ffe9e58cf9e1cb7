/**
 * dataverse-s2s stack: one server-to-server identity per configured integration, in the environment
 * given by `dataverse-s2s:environmentUrl`. Configuration is read and validated before anything is
 * declared, so a mistake stops the run before any write.
 */
import { readStackConfig } from "./config/stack-config";
import { declareStack } from "./components/stack";

const declared = declareStack(readStackConfig());
const first = Object.values(declared)[0];

export const integrations = declared;
export const environmentUrl = first.environmentUrl;
export const tenantId = first.tenantId;
export const clientId = first.clientId;
export const clientSecret = first.clientSecret;
export const secretExpiresAt = first.secretExpiresAt;
export const applicationUserId = first.applicationUserId;
export const securityRoleId = first.securityRoleId;
