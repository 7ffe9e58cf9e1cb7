/**
 * azuread:index/applicationPassword:ApplicationPassword (a client secret), as the real provider
 * drives Graph. Every input forces a new password; there is no update.
 *
 * - create: GET /v1.0/applications/{id} (it must exist), POST /v1.0/applications/{id}/addPassword
 *   {passwordCredential:{displayName,startDateTime,endDateTime}} -> keyId and secretText, then GET the
 *   application until the key is listed consistently. The id is "<appObjectId>/password/<keyId>".
 * - read: GET /v1.0/applications/{id}; a missing application or key is gone (empty id). Graph never
 *   returns the secret again, so `value` is carried over from state.
 * - delete: POST /v1.0/applications/{id}/removePassword {keyId}, then GET until the key is gone.
 *
 * `value` is always returned wrapped as a secret, on top of the SDK's additionalSecretOutputs.
 */
import type { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { waitUntil } from "../consistency";
import { GraphSession } from "../graph";
import { diffFields, Failures, FieldRule, ProviderContext, ResourceHandler } from "../resource";
import { asRecords, defined, isGuid, isSecretEnvelope, Plain, secretEnvelope, stringOrEmpty, unwrapSecrets } from "../values";
import { applicationObjectId } from "./application";

export const applicationPasswordToken = "azuread:index/applicationPassword:ApplicationPassword";

/** "<appObjectId>/password/<keyId>" -> its parts. */
export function parsePasswordId(id: string): { objectId: string; keyId: string } | undefined {
  const parts = id.split("/");
  if (parts.length !== 3 || parts[1] !== "password" || !isGuid(parts[0]) || !isGuid(parts[2])) return undefined;
  return { objectId: parts[0], keyId: parts[2] };
}

/** Graph writes fractions of seconds; state keeps RFC 3339 to the second, as the real provider does. */
export function rfc3339(value: unknown): string {
  if (typeof value !== "string" || value === "") return "";
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const sameInstant = (a: unknown, b: unknown) => {
  const left = typeof a === "string" ? Date.parse(a) : NaN;
  const right = typeof b === "string" ? Date.parse(b) : NaN;
  return (Number.isNaN(left) && Number.isNaN(right) && (a ?? "") === (b ?? "")) || left === right;
};

/** A Go duration ("240h", "2400h30m", "90m", "1h30m15s") in milliseconds; undefined when malformed. */
export function parseGoDuration(value: string): number | undefined {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  const pattern = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(value)) return undefined;
  let total = 0;
  for (const match of value.matchAll(pattern)) total += Number(match[1]) * units[match[2]];
  return total;
}

const diffRules: FieldRule[] = [
  { name: "applicationId", replace: true },
  { name: "displayName", replace: true, computed: true },
  { name: "startDate", replace: true, computed: true, equal: sameInstant },
  { name: "endDate", replace: true, computed: true, equal: sameInstant },
  { name: "endDateRelative", replace: true },
  { name: "rotateWhenChanged", replace: true },
];

async function listedKeyIds(session: GraphSession, objectId: string): Promise<string[] | undefined> {
  const app = await session.getOrUndefined(`read the passwords of application ${objectId}`, `v1.0/applications/${objectId}`);
  return app ? asRecords(app.passwordCredentials).map((credential) => stringOrEmpty(credential.keyId).toLowerCase()) : undefined;
}

function outputs(objectId: string, credential: Plain, value: unknown, inputs: Plain): Plain {
  return defined({
    id: `${objectId}/password/${credential.keyId}`,
    applicationId: `/applications/${objectId}`,
    keyId: credential.keyId,
    displayName: stringOrEmpty(credential.displayName),
    startDate: rfc3339(credential.startDateTime),
    endDate: rfc3339(credential.endDateTime),
    endDateRelative: inputs.endDateRelative ?? undefined,
    rotateWhenChanged: inputs.rotateWhenChanged ?? undefined,
    value: isSecretEnvelope(value) ? value : secretEnvelope(value ?? ""),
  });
}

export const applicationPassword: ResourceHandler = {
  check(_olds: Plain, news: Plain): CheckResult {
    const failures = new Failures();
    const plain = unwrapSecrets<Plain>(news);
    if (plain.applicationId === undefined || plain.applicationId === null) {
      failures.add("applicationId", "applicationId is required: pass the Application's id output (/applications/<objectId>)");
    } else if (
      failures.known(plain.applicationId) &&
      !(typeof plain.applicationId === "string" && applicationObjectId(plain.applicationId))
    ) {
      failures.add(
        "applicationId",
        `applicationId must be the Application's id output, /applications/<objectId>; got '${plain.applicationId}'`,
      );
    }
    for (const field of ["startDate", "endDate"]) {
      const value = plain[field];
      if (failures.known(value) && (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(Date.parse(value)))) {
        failures.add(field, `${field} must be an RFC 3339 date such as 2027-01-31T00:00:00Z; got '${value}'`);
      }
    }
    if (
      failures.known(plain.endDateRelative) &&
      (typeof plain.endDateRelative !== "string" || parseGoDuration(plain.endDateRelative) === undefined)
    ) {
      failures.add("endDateRelative", `endDateRelative must be a duration such as 8760h (one year); got '${plain.endDateRelative}'`);
    }
    if (failures.known(plain.endDate) && failures.known(plain.endDateRelative)) {
      failures.add("endDateRelative", "set endDate or endDateRelative, not both");
    }
    return { inputs: news, failures: failures.list };
  },

  diff(_id: string, olds: Plain, news: Plain): DiffResult {
    return diffFields(olds, news, diffRules);
  },

  async create(context: ProviderContext, inputs: Plain): Promise<CreateResult> {
    const objectId = applicationObjectId(String(inputs.applicationId))!;
    const session = await context.session();
    const start = typeof inputs.startDate === "string" ? new Date(inputs.startDate) : undefined;
    let end: Date | undefined = typeof inputs.endDate === "string" ? new Date(inputs.endDate) : undefined;
    if (!end && typeof inputs.endDateRelative === "string") {
      end = new Date((start ?? new Date()).getTime() + (parseGoDuration(inputs.endDateRelative) ?? 0));
    }
    return context.applicationLocks.run(objectId, async () => {
      const app = await session.getOrUndefined(`read application ${objectId}`, `v1.0/applications/${objectId}`);
      if (!app) throw new Error(`azuread: application ${objectId} was not found, so no password can be added to it; check applicationId`);
      const added = await session.request({
        operation: `add a password to application ${objectId}`,
        method: "POST",
        path: `v1.0/applications/${objectId}/addPassword`,
        body: {
          passwordCredential: defined({
            displayName: typeof inputs.displayName === "string" ? inputs.displayName : undefined,
            startDateTime: start?.toISOString(),
            endDateTime: end?.toISOString(),
          }),
        },
      });
      const keyId = stringOrEmpty(added.data.keyId);
      const secretText = added.data.secretText;
      if (!isGuid(keyId)) throw new Error(`Microsoft Graph: add a password to application ${objectId} returned no keyId`);
      if (typeof secretText !== "string" || secretText === "")
        throw new Error(`Microsoft Graph: add a password to application ${objectId} returned no secretText`);
      await waitUntil(`add a password to application ${objectId}`, context.timing.update, async () =>
        ((await listedKeyIds(session, objectId)) ?? []).includes(keyId.toLowerCase()),
      );
      const outs = outputs(objectId, added.data, secretText, inputs);
      return { id: String(outs.id), outs };
    });
  },

  async read(context: ProviderContext, id: string, props: Plain): Promise<ReadResult> {
    const parsed = parsePasswordId(id);
    if (!parsed) throw new Error(`azuread: '${id}' is not an application password id; expected <applicationObjectId>/password/<keyId>`);
    const session = await context.session();
    const app = await session.getOrUndefined(`read application ${parsed.objectId}`, `v1.0/applications/${parsed.objectId}`);
    const credential = asRecords(app?.passwordCredentials).find(
      (entry) => stringOrEmpty(entry.keyId).toLowerCase() === parsed.keyId.toLowerCase(),
    );
    if (!app || !credential) return { id: "", props: {}, inputs: {} };
    // Graph never shows a secret again: the value in state (still wrapped as a secret) is kept.
    const outs = outputs(parsed.objectId, credential, props.value, props);
    const inputs = defined({
      applicationId: outs.applicationId,
      displayName: outs.displayName,
      startDate: outs.startDate,
      endDate: outs.endDate,
      rotateWhenChanged: props.rotateWhenChanged ?? undefined,
    });
    return { id, props: outs, inputs };
  },

  async update(_context: ProviderContext, _id: string, olds: Plain): Promise<UpdateResult> {
    // Every input forces a replacement, so the engine never asks for a real update.
    return { outs: { ...olds, value: isSecretEnvelope(olds.value) ? olds.value : secretEnvelope(olds.value ?? "") } };
  },

  async delete(context: ProviderContext, id: string): Promise<void> {
    const parsed = parsePasswordId(id);
    if (!parsed) return;
    const session = await context.session();
    await context.applicationLocks.run(parsed.objectId, async () => {
      const listed = await listedKeyIds(session, parsed.objectId);
      if (!listed || !listed.includes(parsed.keyId.toLowerCase())) return;
      await session.request({
        operation: `remove password ${parsed.keyId} from application ${parsed.objectId}`,
        method: "POST",
        path: `v1.0/applications/${parsed.objectId}/removePassword`,
        body: { keyId: parsed.keyId },
        // Removing is idempotent: a replay finds the key already gone.
        idempotent: true,
        acceptStatus: [404],
      });
      await waitUntil(`remove password ${parsed.keyId} from application ${parsed.objectId}`, context.timing.update, async () => {
        const keys = await listedKeyIds(session, parsed.objectId);
        return !keys || !keys.includes(parsed.keyId.toLowerCase());
      });
    });
  },
};
