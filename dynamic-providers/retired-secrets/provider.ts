/**
 * Keeps a rotated client secret valid for an overlap, then removes it: the half of rotation that
 * the azuread provider cannot do (replacing an ApplicationPassword deletes the old one in the same
 * run, breaking every consumer that has not moved yet). The ApplicationPassword is declared with
 * `retainOnDelete`, so a replacement leaves the old secret in Entra; this resource notices the
 * change of key and removes the old one once the overlap has passed.
 *
 *   create  -> remember the current key; nothing retired yet; remove stray secrets (below)
 *   diff    -> changes when the current key changed, when a retired key's overlap has ended, or when
 *              stray secrets were read
 *   update  -> retire the previous key (removeAfter = now + overlapDays); POST removePassword for
 *              every retired key whose overlap has ended (404 is done), and for every stray secret
 *   read    -> GET the application; forget retired keys that are no longer there; list stray secrets
 *
 * A stray secret is one named as the stack names its secrets (managedSecretDisplayName) that is
 * neither the current one nor a retired one: a run killed right after Graph made it, before Pulumi
 * recorded it, left it valid and unknown. It was never published, so it is removed at once.
 *   delete  -> removePassword for every retired key
 *
 * "Now" is DATAVERSE_S2S_NOW when set (see lib/clock.ts), else the wall clock. The Graph calls are in web-api.ts.
 */
import type * as pulumi from "@pulumi/pulumi";
import { graphClient } from "../../lib/graph-client";
import { currentTime } from "../../lib/clock";
import { managedSecretDisplayName } from "../../lib/defaults";
import { hasPassed, isOverlapDays, overlapEnd } from "../../lib/secret-lifecycle";
import { computeDiff, describeFailure, gone, stateOf } from "../shared/provider-support";
import { PasswordCredential, readSecrets, removeSecret } from "./web-api";

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
  /** Key ids of stray secrets (made by an interrupted run, never published), as last read. */
  strays?: string[];
}

async function removeKeys(inputs: RetiredSecretsInputs, keys: readonly RetiredKey[]): Promise<void> {
  if (keys.length === 0) return;
  const graph = await graphClient(inputs);
  for (const key of keys) await removeSecret(graph, inputs.applicationObjectId, key.keyId, `retired at ${key.retiredAt}`);
}

function strayKeys(secrets: readonly PasswordCredential[], currentKeyId: string, retired: readonly RetiredKey[]): string[] {
  const known = new Set([currentKeyId, ...retired.map((key) => key.keyId)].map((keyId) => keyId.toLowerCase()));
  return secrets
    .filter((secret) => secret.displayName === managedSecretDisplayName && !known.has(secret.keyId.toLowerCase()))
    .map((secret) => secret.keyId);
}

/** Removes the stray secrets there are now; "now" because a refresh may be older than the run. */
async function removeStrays(inputs: RetiredSecretsInputs, retired: readonly RetiredKey[]): Promise<void> {
  const graph = await graphClient(inputs);
  const secrets = (await readSecrets(graph, inputs.applicationObjectId)) ?? [];
  const at = currentTime().toISOString();
  await removeKeys(
    inputs,
    strayKeys(secrets, inputs.currentKeyId, retired).map((keyId) => ({ keyId, retiredAt: at, removeAfter: at })),
  );
}

const overdue = (retired: readonly RetiredKey[], now: Date) => retired.filter((key) => hasPassed(key.removeAfter, now.getTime()));

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
    if (!isOverlapDays(inputs.overlapDays)) failures.push({ property: "overlapDays", reason: "give the overlap in whole days, 0 or more" });
    return { inputs, failures };
  },

  async diff(_id: string, olds: RetiredSecretsOutputs, news: RetiredSecretsInputs) {
    return computeDiff(olds, news, {
      replaceOn: ["applicationObjectId"],
      updateOn: ["currentKeyId", "overlapDays"],
      // A retired secret whose overlap has passed, or a stray one, is removed by the next update.
      otherChange: overdue(olds.retired ?? [], currentTime()).length > 0 || (olds.strays ?? []).length > 0,
    });
  },

  async create(inputs: RetiredSecretsInputs) {
    try {
      await removeStrays(inputs, []);
    } catch (error) {
      throw describeFailure(error, "remove client secrets left by an interrupted run");
    }
    const outs: RetiredSecretsOutputs = { ...inputs, retired: [], strays: [] };
    return { id: `${inputs.applicationObjectId}/retired-secrets`, outs };
  },

  async read(id: string, state?: RetiredSecretsOutputs) {
    const props = stateOf(state, id);
    try {
      const secrets = await readSecrets(await graphClient(props), props.applicationObjectId);
      if (!secrets) return gone<RetiredSecretsOutputs>();
      const present = new Set(secrets.map((credential) => credential.keyId.toLowerCase()));
      const retired = (props.retired ?? []).filter((key) => present.has(key.keyId.toLowerCase()));
      return { id, props: { ...props, retired, strays: strayKeys(secrets, props.currentKeyId, retired) } };
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
        removeAfter: overlapEnd(now, news.overlapDays),
      });
    }
    const due = overdue(retired, now);
    try {
      await removeKeys(news, due);
    } catch (error) {
      throw describeFailure(error, "remove client secrets whose overlap has ended");
    }
    retired = retired.filter((key) => !due.includes(key));
    try {
      await removeStrays(news, retired);
    } catch (error) {
      throw describeFailure(error, "remove client secrets left by an interrupted run");
    }
    return { outs: { ...news, retired, strays: [] } };
  },

  async delete(_id: string, props: RetiredSecretsOutputs) {
    try {
      await removeKeys(props, props.retired ?? []);
    } catch (error) {
      throw describeFailure(error, "remove retired client secrets");
    }
  },
};
