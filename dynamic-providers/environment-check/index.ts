/**
 * A preflight of the environment (issue 15): its provider's `check`, which Pulumi runs in every
 * preview and every up before anything is created, looks up what the stack needs (see
 * lib/environment-checks.ts; client secrets against the tenant's app management policy, issue 17,
 * lib/app-management-policies.ts) and fails with one message listing every problem. Every Entra and
 * Dataverse resource of the stack depends on it, so a run whose lookups fail writes nothing.
 *
 *   check          -> the lookups; fails listing every problem (skipped, with a warning from the
 *                     program, in a preview that has no credential for Dataverse)
 *   create/update  -> nothing more: the lookups passed in check
 *   read/delete    -> nothing: it is not an object anywhere
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts, the
 * lookups live in lib/environment-checks.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfiguredName, dataverseCredentialProblem, type SecretCredentialSettings } from "../../lib/environment-checks";
import type { PrivilegeSpec } from "../../lib/privilege-spec";
import type { EnvironmentCheckInputs } from "./provider";
import { providerShell } from "../provider-shell";

export interface EnvironmentCheckArgs {
  readonly environmentUrl: pulumi.Input<string>;
  readonly businessUnit?: pulumi.Input<string>;
  readonly rolesToClone: readonly ConfiguredName[];
  readonly existingRoles: readonly ConfiguredName[];
  /** Roles declared by their privileges, each with the role's setting. */
  readonly specRoles?: readonly (PrivilegeSpec & { readonly setting: string })[];
  /** Roles made by hand that a role of the stack takes over (adopt.roleName), with the stack's role name. */
  readonly adoptedRoles?: readonly (ConfiguredName & { readonly roleName: string })[];
  /** Privileges clones leave out, each with its setting. */
  readonly excludedPrivileges?: readonly ConfiguredName[];
  readonly metadataHost?: pulumi.Input<string>;
  readonly cloudEnvironment?: pulumi.Input<string>;
  /** Integrations with a client secret: checked against the tenant's app management policy. */
  readonly secretCredentials?: readonly SecretCredentialSettings[];
  /** Existing managed identities by client id, each with its setting: their service principals must exist. */
  readonly managedIdentities?: readonly { readonly setting: string; readonly clientId: pulumi.Input<string> }[];
  /** Resource groups managed identities are made in, each with its setting: they must exist and be readable. */
  readonly identityResourceGroups?: readonly {
    readonly setting: string;
    readonly subscriptionId: string;
    readonly resourceGroup: pulumi.Input<string>;
  }[];
  /** The azure-native provider's cloud (default: the azuread provider's, above). */
  readonly armMetadataHost?: pulumi.Input<string>;
  readonly armEnvironment?: pulumi.Input<string>;
}

const environmentCheckProvider = providerShell<EnvironmentCheckInputs, EnvironmentCheckInputs>("environment-check", [
  "check",
  "diff",
  "read",
  "delete",
]);

/** Fails preview and up, before any write, when the environment lacks what the stack needs. */
export class EnvironmentCheck extends pulumi.dynamic.Resource {
  constructor(name: string, args: EnvironmentCheckArgs, opts?: pulumi.CustomResourceOptions) {
    const previewWithoutCredential = pulumi.runtime.isDryRun()
      ? pulumi.output(args.environmentUrl).apply(async (url) => {
          const problem = await dataverseCredentialProblem(url);
          if (problem) {
            await pulumi.log.warn(
              `No credential for Dataverse in this preview (${problem}), so the environment was not checked: ` +
                "the business unit, the roles and the deployer's privileges are checked by 'pulumi up'. " +
                "Set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID to check them in preview.",
            );
          }
          return problem ?? "";
        })
      : "";
    super(environmentCheckProvider, name, { ...args, previewWithoutCredential }, opts, "dataverse-s2s", "EnvironmentCheck");
  }
}
