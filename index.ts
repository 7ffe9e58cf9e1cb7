/**
 * dataverse-s2s stack: one server-to-server identity per configured integration, in the environment
 * given by `dataverse-s2s:environmentUrl`. Configuration is read and validated before anything is
 * declared, so a mistake stops the run before any write.
 */
import { readStackConfig } from "./config/stack-config";
import { declareStack, lookUpAdoptions } from "./components/stack";

// An async program: integrations that adopt objects made by hand need them looked up before they are declared.
export = async () => {
  const config = readStackConfig();
  const declared = declareStack(config, await lookUpAdoptions(config));
  const declaredIntegrations = Object.values(declared);
  // With one integration its values are top-level outputs too; with several only `integrations` is,
  // so that no top-level output silently means "the first one".
  const only = declaredIntegrations.length === 1 ? declaredIntegrations[0] : undefined;
  return {
    integrations: declared,
    environmentUrl: only?.environmentUrl,
    tenantId: only?.tenantId,
    clientId: only?.clientId,
    clientSecret: only?.clientSecret,
    secretExpiresAt: only?.secretExpiresAt,
    applicationUserId: only?.applicationUserId,
    securityRoleId: only?.securityRoleId,
    // Present only while a client secret made before adoption is kept (README, "Adopting a manual setup").
    secretNote: only?.secretNote,
  };
};
