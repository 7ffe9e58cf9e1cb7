/**
 * The apply-time half of the credential policy check (issue 17). The client secret itself is made by
 * the azuread provider (real plugin or the offline stand-in), whose Graph error reaches the user
 * as Graph wrote it; this resource runs just before it, once the application exists, and stops the
 * run with the same guidance as the preview's pre-check (the config key, the policy, the allowed
 * value, the way out) when the tenant's app management policy would refuse the secret:
 *
 *   create/update (a new secret is about to be made: first run, rotation, new application)
 *            -> read the application's policy (its own, else the tenant default; Policy.Read.All) and
 *               judge the secret's start and end dates; when the policies cannot be read, ask Graph
 *               by trying: addPassword with the same dates, then removePassword at once. A refusal
 *               (CredentialInvalidLifetimeAsPerAppPolicy, CredentialTypeNotAllowedAsPerAppPolicy)
 *               fails this step, so the ApplicationPassword (which depends on it) is not attempted.
 *               A probe a lost answer or a killed run left behind is removed before the next try.
 *   diff     -> an update when the secret's dates or the application change
 *   read/delete -> nothing: it is not an object anywhere
 *
 * Nothing is recorded when it fails, so after the config is fixed the next `pulumi up` runs it again
 * and then makes the secret in the same run: the application already made is kept, no orphan.
 *
 * The provider is a thin shell (see ../provider-shell.ts); its implementation is provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CredentialPolicyGateInputs } from "./provider";
import { providerShell } from "../provider-shell";

export interface CredentialPolicyGateArgs {
  /** The application's object id. */
  readonly applicationObjectId: pulumi.Input<string>;
  /** The secret's window, as the ApplicationPassword will send it. */
  readonly startDate: pulumi.Input<string>;
  readonly endDate: pulumi.Input<string>;
  /** The configured lifetime, and the config keys named in the guidance. */
  readonly lifetimeDays: pulumi.Input<number>;
  readonly lifetimeSetting: string;
  readonly credentialSetting: string;
  /** The azuread provider's cloud. */
  readonly metadataHost: string;
  readonly cloudEnvironment: string;
}

const credentialPolicyGateProvider = providerShell<CredentialPolicyGateInputs, CredentialPolicyGateInputs>("credential-policy-gate", [
  "diff",
  "read",
  "update",
  "delete",
]);

/** Stops the run with guidance, before the client secret is attempted, when a credential policy would refuse it. */
export class CredentialPolicyGate extends pulumi.dynamic.Resource {
  constructor(name: string, args: CredentialPolicyGateArgs, opts?: pulumi.CustomResourceOptions) {
    super(credentialPolicyGateProvider, name, { ...args }, opts, "dataverse-s2s", "CredentialPolicyGate");
  }
}
