/**
 * A preflight of the environment (issue 15): its provider's `check`, which Pulumi runs in every
 * preview and every up before anything is created, looks up what the stack needs (see
 * lib/environment-checks.ts) and fails with one message listing every problem. Every Entra and
 * Dataverse resource of the stack depends on it, so a run whose lookups fail writes nothing.
 *
 *   check          -> the lookups; fails listing every problem (skipped, with a warning from the
 *                     program, in a preview that has no credential for Dataverse)
 *   create/update  -> nothing more: the lookups passed in check
 *   read/delete    -> nothing: it is not an object anywhere
 *
 * This file is the shell; the lookups live in lib/environment-checks.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfiguredName, dataverseCredentialProblem, describeEnvironmentProblems, lookUpEnvironment } from "../lib/environment-checks";
import { isUnknown } from "./provider-support";

export interface EnvironmentCheckArgs {
  readonly environmentUrl: pulumi.Input<string>;
  readonly businessUnit?: pulumi.Input<string>;
  readonly rolesToClone: readonly ConfiguredName[];
  readonly existingRoles: readonly ConfiguredName[];
  readonly metadataHost?: pulumi.Input<string>;
  readonly cloudEnvironment?: pulumi.Input<string>;
}

interface EnvironmentCheckInputs {
  environmentUrl: string;
  businessUnit: string;
  rolesToClone: ConfiguredName[];
  existingRoles: ConfiguredName[];
  metadataHost: string;
  cloudEnvironment: string;
  /** Set by the program in a preview without a Dataverse credential: the lookups are skipped. */
  previewWithoutCredential: string;
}

const names = (value: unknown): ConfiguredName[] =>
  Array.isArray(value) ? value.map((entry: { setting?: unknown; name?: unknown }) => ({ setting: String(entry?.setting ?? ""), name: String(entry?.name ?? "") })) : [];

const recorded = (inputs: EnvironmentCheckInputs) => ({ ...inputs, previewWithoutCredential: "" });

export const environmentCheckProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: EnvironmentCheckInputs, news: Partial<EnvironmentCheckInputs>) {
    const inputs: EnvironmentCheckInputs = {
      environmentUrl: String(news.environmentUrl ?? ""),
      businessUnit: String(news.businessUnit ?? "").trim(),
      rolesToClone: names(news.rolesToClone),
      existingRoles: names(news.existingRoles),
      metadataHost: String(news.metadataHost ?? ""),
      cloudEnvironment: String(news.cloudEnvironment ?? ""),
      previewWithoutCredential: String(news.previewWithoutCredential ?? ""),
    };
    const unknown = [inputs.environmentUrl, inputs.businessUnit, inputs.metadataHost, inputs.cloudEnvironment, inputs.previewWithoutCredential].some(isUnknown);
    if (unknown || inputs.previewWithoutCredential !== "") return { inputs };
    const report = await lookUpEnvironment(inputs);
    if (report.problems.length > 0) throw new Error(describeEnvironmentProblems(inputs.environmentUrl, report.problems));
    return { inputs };
  },

  async diff() {
    // Nothing to change anywhere: the check itself ran in `check`.
    return { changes: false };
  },

  async create(inputs: EnvironmentCheckInputs) {
    return { id: "environment-check", outs: recorded(inputs) };
  },

  async read(id: string, props: EnvironmentCheckInputs) {
    return { id, props };
  },

  async delete() {
    // Nothing was made.
  },
};

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
