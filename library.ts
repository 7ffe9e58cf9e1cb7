/**
 * The dataverse-s2s package: what another Pulumi program imports (`import { DataverseIntegration }
 * from "dataverse-s2s"`). Its smallest use is one line per integration:
 *
 *   new DataverseIntegration("etl", { environmentUrl, displayName: "ETL" });
 *
 * which makes the app registration, its service principal and client secret, a role "API User"
 * copied from System Administrator, and the application user holding it, after checking the
 * environment. Everything else has the defaults of the stack's configuration (lib/defaults.ts).
 *
 * This repository's own stack (index.ts) is a consumer of this entry point too: `stackFromConfig`
 * declares the integrations its `dataverse-s2s:*` configuration lists.
 */
export {
  DataverseIntegration,
  type DataverseIntegrationArgs,
  type IntegrationCredential,
  type IntegrationKeyVault,
  type IntegrationRole,
} from "./components/integration";
export {
  AppRegistration,
  type AppRegistrationArgs,
  type AppCredential,
  type AdoptedEntraObjects,
  type AppMarker,
} from "./components/app-registration";
export {
  certificateCredential,
  federatedCredential,
  aksWorkloadIdentityFederation,
  type CertificateCredentialArgs,
  type FederatedCredentialArgs,
  type FederatedIdentity,
  type FederatedIdentityPreset,
  type AksWorkloadIdentityFederationArgs,
} from "./components/alternative-credentials";
export { type IntegrationManagedIdentity, type ManagedIdentityCreateArgs } from "./components/managed-identity";
export { KeyVaultExport, type KeyVaultExportArgs } from "./components/key-vault-export";
export { declareSecurityRole, type SecurityRoleArgs } from "./components/security-role";
export { ClonedSecurityRole, type ClonedSecurityRoleArgs } from "./dynamic-providers/cloned-security-role";
export { SpecSecurityRole, type SpecSecurityRoleArgs } from "./dynamic-providers/spec-security-role";
export { ExistingSecurityRole, type ExistingSecurityRoleArgs } from "./dynamic-providers/existing-security-role";
export { ApplicationUser, type ApplicationUserArgs } from "./dynamic-providers/application-user";
export { AdminConsentGrant, type AdminConsentGrantArgs } from "./dynamic-providers/admin-consent-grant";
export { EnvironmentCheck, type EnvironmentCheckArgs } from "./dynamic-providers/environment-check";
export { secretDefaults, roleDefaults, applicationUserDefaults, integrationDefaults } from "./lib/defaults";
export { stackFromConfig } from "./components/stack";
export { startProviderPlugins } from "./lib/provider-plugins";
export { stackIdentity } from "./lib/stack-identity";
export { readStackConfig, parseStackConfig, StackConfigError, type StackConfig } from "./config/stack-config";
