// Azure Resource Manager (subscriptions, resource groups, Key Vault vaults and secrets, managed
// identities, role assignments), the Key Vault data plane and the managed identity endpoint: what
// the server and the admin API import.
export { AzureStore } from "./azure-store";
export { handleArm } from "./router";
export { handleKeyVault } from "./keyvault-data";
export { handleIdentityEndpoint, identityHeader } from "./identity-endpoint";
export { ROLE_IDS } from "./roles";
