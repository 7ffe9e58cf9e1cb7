/**
 * Legacy path, kept loadable on purpose: stacks deployed before the package change store provider
 * shells that load <project>/dynamic-providers/implementation/cloned-security-role through ts-node, and Pulumi runs
 * the shell stored in state for read and delete. Nothing else may import this file.
 */
export { provider } from "../cloned-security-role/provider";
