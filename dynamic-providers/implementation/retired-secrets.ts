/**
 * Keeps a rotated client secret valid for an overlap, then removes it: the half of rotation that
 * the azuread provider cannot do (replacing an ApplicationPassword deletes the old one in the same
 * run, breaking every consumer that has not moved yet). The ApplicationPassword is declared with
 * `retainOnDelete`, so a replacement leaves the old secret in Entra; this resource notices the
 * change of key and removes the old one once the overlap has passed.
 *
 *   create  -> remember the current key; nothing retired yet
 *   diff    -> changes when the current key changed, or when a retired key's overlap has ended
 *   update  -> retire the previous key (removeAfter = now + overlapDays); POST removePassword for
 *              every retired key whose overlap has ended (404 is done)
 *   read    -> GET the application; forget retired keys that are no longer there
 *   delete  -> removePassword for every retired key
 *
 * "Now" is DATAVERSE_S2S_NOW when set (see lib/clock.ts), else the wall clock.
 */
import type * as pulumi from "@pulumi/pulumi";
import { discoverEndpoints } from "../../lib/cloud-endpoints";
import { RestClient } from "../../lib/rest-client";
import { currentTime, dayMs } from "../../lib/clock";
import { computeDiff, describeFailure, gone, stateOf } from "./provider-support";

export interface RetiredSecretsInputs {
  applicationObjectId: string;
  currentKeyId: string;
  overlapDays: number;
  metadataHost: string;
  cloudEnvironment: string;
}

export interface RetiredKey {
  keyId: string;
  retiredAt: string;
  removeAfter: string;
}

export interface RetiredSecretsOutputs extends RetiredSecretsInputs {
  /** Secrets replaced by a rotation and still valid, each with the time after which it is removed. */
  retired: RetiredKey[];
}

async function graphClient(inputs: RetiredSecretsInputs): Promise<RestClient> {
  const endpoints = await discoverEndpoints({
    metadataHost: inputs.metadataHost || undefined,
    environment: inputs.cloudEnvironment || undefined,
  });
  return new RestClient({ service: "Microsoft Graph", baseUrl: endpoints.graphResource, tokenResource: endpoints.graphResource });
}

async function removeKeys(inputs: RetiredSecretsInputs, keys: readonly RetiredKey[]): Promise<void> {
  if (keys.length === 0) return;
  const graph = await graphClient(inputs);
  for (const key of keys) {
    await graph.request({
      operation: `remove the client secret ${key.keyId} retired at ${key.retiredAt}`,
      method: "POST",
      path: `v1.0/applications/${inputs.applicationObjectId}/removePassword`,
      body: { keyId: key.keyId },
      // Removing a key that is already gone (by hand, or with its application) is done.
      acceptStatus: [400, 404],
      idempotent: true,
    });
  }
}

const overdue = (retired: readonly RetiredKey[], now: Date) => retired.filter((key) => now.getTime() >= Date.parse(key.removeAfter));

export const provider: pulumi.dynamic.ResourceProvider<RetiredSecretsInputs, RetiredSecretsOutputs> = {
  async check(_olds: RetiredSecretsInputs, news: Partial<RetiredSecretsInputs>) {
    const inputs: RetiredSecretsInputs = {
      applicationObjectId: String(news.applicationObjectId ?? ""),
      currentKeyId: String(news.currentKeyId ?? ""),
      overlapDays: Number(news.overlapDays ?? 0),
      metadataHost: String(news.metadataHost ?? ""),
      cloudEnvironment: String(news.cloudEnvironment ?? ""),
    };
    const failures = [];
    if (!Number.isInteger(inputs.overlapDays) || inputs.overlapDays < 0)
      failures.push({ property: "overlapDays", reason: "give the overlap in whole days, 0 or more" });
    return { inputs, failures };
  },

  async diff(_id: string, olds: RetiredSecretsOutputs, news: RetiredSecretsInputs) {
    return computeDiff(olds, news, {
      replaceOn: ["applicationObjectId"],
      updateOn: ["currentKeyId", "overlapDays"],
      // A retired secret whose overlap has passed is removed by the next update.
      otherChange: overdue(olds.retired ?? [], currentTime()).length > 0,
    });
  },

  async create(inputs: RetiredSecretsInputs) {
    const outs: RetiredSecretsOutputs = { ...inputs, retired: [] };
    return { id: `${inputs.applicationObjectId}/retired-secrets`, outs };
  },

  async read(id: string, state?: RetiredSecretsOutputs) {
    const props = stateOf(state, id);
    try {
      const graph = await graphClient(props);
      const response = await graph.request<{ passwordCredentials?: { keyId: string }[] }>({
        operation: "read the application's secrets",
        method: "GET",
        path: `v1.0/applications/${props.applicationObjectId}`,
        acceptStatus: [404],
      });
      if (response.status === 404) return gone<RetiredSecretsOutputs>();
      const present = new Set((response.data.passwordCredentials ?? []).map((credential) => credential.keyId.toLowerCase()));
      return { id, props: { ...props, retired: (props.retired ?? []).filter((key) => present.has(key.keyId.toLowerCase())) } };
    } catch (error) {
      throw describeFailure(error, "read the retired client secrets");
    }
  },

  async update(_id: string, olds: RetiredSecretsOutputs, news: RetiredSecretsInputs) {
    const now = currentTime();
    let retired = [...(olds.retired ?? [])];
    if (olds.currentKeyId && olds.currentKeyId !== news.currentKeyId && !retired.some((key) => key.keyId === olds.currentKeyId)) {
      retired.push({
        keyId: olds.currentKeyId,
        retiredAt: now.toISOString(),
        removeAfter: new Date(now.getTime() + news.overlapDays * dayMs).toISOString(),
      });
    }
    const due = overdue(retired, now);
    try {
      await removeKeys(news, due);
    } catch (error) {
      throw describeFailure(error, "remove client secrets whose overlap has ended");
    }
    retired = retired.filter((key) => !due.includes(key));
    return { outs: { ...news, retired } };
  },

  async delete(_id: string, props: RetiredSecretsOutputs) {
    try {
      await removeKeys(props, props.retired ?? []);
    } catch (error) {
      throw describeFailure(error, "remove retired client secrets");
    }
  },
};
