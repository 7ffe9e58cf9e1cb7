/**
 * Implementation of the CredentialPolicyGate provider (see index.ts): judges a
 * client secret about to be made against the application's app management policy, reading the
 * policy when allowed and otherwise asking Graph by trying.
 */
import type * as pulumi from "@pulumi/pulumi";
import { graphClient } from "../../lib/graph-client";
import {
  describePolicyProblem,
  lifetimeRefusedCode,
  passwordPolicyProblem,
  readPasswordPolicy,
  refusalProblem,
  typeRefusedCode,
  type SecretSettings,
} from "../../lib/app-management-policies";
import { RestApiError, type RestClient } from "../../lib/rest-client";
import { windowDays } from "../../lib/secret-lifecycle";
import { computeDiff, stateOf } from "../shared/provider-support";

export interface CredentialPolicyGateInputs {
  applicationObjectId: string;
  startDate: string;
  endDate: string;
  lifetimeDays: number;
  lifetimeSetting: string;
  credentialSetting: string;
  metadataHost: string;
  cloudEnvironment: string;
}

/** The display name of the probe secret, so that one left behind by a crash is recognisable. */
export const probeDisplayName = "dataverse-s2s policy probe (removed at once)";

function settingsOf(inputs: CredentialPolicyGateInputs): SecretSettings {
  // The lifetime Graph judges is the window's own (end - start), which is what the ApplicationPassword sends.
  return {
    lifetimeSetting: inputs.lifetimeSetting,
    credentialSetting: inputs.credentialSetting,
    lifetimeDays: windowDays(inputs.startDate, inputs.endDate) ?? Number(inputs.lifetimeDays),
  };
}

/**
 * Asks Graph by trying: a secret with the same dates, removed at once. Returns Graph's refusal
 * (code and message) or undefined when the secret was accepted. Other failures are not this gate's
 * to judge: the ApplicationPassword meets them and reports them itself.
 */
async function probe(graph: RestClient, inputs: CredentialPolicyGateInputs): Promise<{ code: string; message: string } | undefined> {
  let keyId: string | undefined;
  try {
    const added = await graph.request<{ keyId?: string }>({
      operation: `try a client secret on application ${inputs.applicationObjectId} against its app management policy`,
      method: "POST",
      path: `v1.0/applications/${inputs.applicationObjectId}/addPassword`,
      body: { passwordCredential: { displayName: probeDisplayName, startDateTime: inputs.startDate, endDateTime: inputs.endDate } },
    });
    // Only the key id is kept: the secret text in the answer is dropped here and never stored or logged.
    keyId = added.data.keyId;
  } catch (error) {
    if (error instanceof RestApiError && (error.code === lifetimeRefusedCode || error.code === typeRefusedCode)) {
      return { code: error.code, message: error.serviceMessage };
    }
    // An answer lost in transit may have left a probe behind (a POST is never replayed blindly).
    await removeProbes(graph, inputs.applicationObjectId).catch(() => undefined);
    return undefined;
  }
  if (keyId) await removeProbe(graph, inputs.applicationObjectId, keyId);
  return undefined;
}

async function removeProbe(graph: RestClient, applicationObjectId: string, keyId: string): Promise<void> {
  await graph.request({
    operation: `remove the policy probe secret ${keyId} from application ${applicationObjectId}`,
    method: "POST",
    path: `v1.0/applications/${applicationObjectId}/removePassword`,
    body: { keyId },
    // Already gone is done.
    acceptStatus: [404],
    idempotent: true,
  });
}

/** Removes every probe secret of the application (one a lost answer or a killed run left behind). */
async function removeProbes(graph: RestClient, applicationObjectId: string): Promise<void> {
  const application = await graph.request<{ passwordCredentials?: Array<{ keyId?: string; displayName?: string | null }> }>({
    operation: `read the client secrets of application ${applicationObjectId}`,
    method: "GET",
    path: `v1.0/applications/${applicationObjectId}?$select=id,passwordCredentials`,
  });
  for (const credential of application.data.passwordCredentials ?? []) {
    if (credential.displayName === probeDisplayName && credential.keyId) await removeProbe(graph, applicationObjectId, credential.keyId);
  }
}

async function judge(inputs: CredentialPolicyGateInputs): Promise<void> {
  const graph = await graphClient(inputs);
  const settings = settingsOf(inputs);
  const policy = await readPasswordPolicy(graph, inputs.applicationObjectId, Date.parse(inputs.startDate));
  const problem = policy.readable ? passwordPolicyProblem(settings, policy) : await probeProblem(graph, inputs, settings);
  if (problem) throw new Error(`The client secret was not made; nothing else is left half-made. ${describePolicyProblem(problem)}`);
}

/** Without the policy: Graph's own refusal of a probe secret, as guidance. */
async function probeProblem(graph: RestClient, inputs: CredentialPolicyGateInputs, settings: SecretSettings) {
  await removeProbes(graph, inputs.applicationObjectId);
  const refusal = await probe(graph, inputs);
  return refusal && refusalProblem(settings, refusal.code, refusal.message);
}

export const provider: pulumi.dynamic.ResourceProvider<CredentialPolicyGateInputs, CredentialPolicyGateInputs> = {
  async diff(_id: string, olds: CredentialPolicyGateInputs, news: CredentialPolicyGateInputs) {
    return computeDiff(olds, news, { updateOn: ["applicationObjectId", "startDate", "endDate"] });
  },

  async create(inputs: CredentialPolicyGateInputs) {
    await judge(inputs);
    return { id: `credential-policy-gate-${inputs.applicationObjectId}`, outs: inputs };
  },

  async update(_id: string, _olds: CredentialPolicyGateInputs, news: CredentialPolicyGateInputs) {
    await judge(news);
    return { outs: news };
  },

  async read(id: string, props?: CredentialPolicyGateInputs) {
    return { id, props: stateOf(props, id) };
  },

  async delete() {
    // Nothing was made.
  },
};
