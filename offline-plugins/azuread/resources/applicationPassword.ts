/**
 * azuread:index/applicationPassword:ApplicationPassword (a client secret), as the real provider
 * (terraform-provider-azuread v3.8.0, internal/services/applications/application_password_resource.go
 * and internal/helpers/credentials/credentials.go) drives Graph. Every input forces a new password.
 *
 * - create: GET /v1.0/applications/{id} (404: "was not found"), POST .../addPassword with
 *   {passwordCredential:{displayName,startDateTime,endDateTime}}, the dates re-formatted as Go's
 *   time.RFC3339 does (whole seconds, "Z" for UTC); then GET the application until the new key is
 *   listed five times in a row (any failed GET fails the create), then read. The id is
 *   "<appObjectId>/password/<keyId>". `endDateRelative` is not sent, as in v3.8.0 (Graph's default end applies).
 * - read: GET /v1.0/applications/{id}; a missing application or key is gone (empty id). startDate and
 *   endDate are stored exactly as Graph returns them. Graph never returns the secret again, so
 *   `value` is carried over from state.
 * - delete: POST .../removePassword {keyId} (any error fails), then GET the application until the key
 *   is absent five times in a row.
 *
 * `value` is always returned wrapped as a secret, on top of the SDK's additionalSecretOutputs.
 */
import type { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { waitUntil } from "../consistency";
import { GraphSession } from "../graph";
import { diffFields, Failures, FieldRule, ProviderContext, ResourceHandler } from "../resource";
import { asRecords, defined, isGuid, isSecretEnvelope, Plain, secretEnvelope, stringOrEmpty, unwrapSecrets } from "../values";
import { applicationObjectId, checkApplicationIdInput } from "./application";

export const applicationPasswordToken = "azuread:index/applicationPassword:ApplicationPassword";

/** "<appObjectId>/password/<keyId>" -> its parts. */
export function parsePasswordId(id: string): { objectId: string; keyId: string } | undefined {
  const parts = id.split("/");
  if (parts.length !== 3 || parts[1] !== "password" || !isGuid(parts[0]) || !isGuid(parts[2])) return undefined;
  return { objectId: parts[0], keyId: parts[2] };
}

/**
 * A date as Go's time.Parse(time.RFC3339) then Format(time.RFC3339) would send it: fractions of a
 * second dropped, a zero offset written "Z", any other offset kept. Undefined when not RFC 3339.
 */
export function goRfc3339(value: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.exec(value);
  if (!match || Number.isNaN(Date.parse(value))) return undefined;
  const zone = match[3].toUpperCase() === "Z" || /^[+-]00:00$/.test(match[3]) ? "Z" : match[3];
  return `${match[1]}${zone}`;
}

// Strings compare as strings, as Terraform compares them: a date Graph writes differently from the
// program's input is a change, and every change is a replacement.
const diffRules: FieldRule[] = [
  { name: "applicationId", replace: true },
  { name: "displayName", replace: true, computed: true },
  { name: "startDate", replace: true, computed: true },
  { name: "endDate", replace: true, computed: true },
  { name: "endDateRelative", replace: true },
  { name: "rotateWhenChanged", replace: true },
];

/** The application's password credential with this key id; a failed GET (404 included) throws. */
async function listedCredential(session: GraphSession, objectId: string, keyId: string): Promise<Plain | undefined> {
  const app = await session.request({
    operation: `read the passwords of application ${objectId}`,
    method: "GET",
    path: `v1.0/applications/${objectId}`,
  });
  return findCredential(app.data, keyId);
}

function findCredential(app: Plain | undefined, keyId: string): Plain | undefined {
  return asRecords(app?.passwordCredentials).find((credential) => stringOrEmpty(credential.keyId).toLowerCase() === keyId.toLowerCase());
}

/** Graph's own strings, unchanged; a display name only in customKeyIdentifier (base64) is decoded. */
function credentialDisplayName(credential: Plain): string {
  if (typeof credential.displayName === "string") return credential.displayName;
  if (typeof credential.customKeyIdentifier === "string") return Buffer.from(credential.customKeyIdentifier, "base64").toString("utf8");
  return "";
}

/** The addPassword body: only what the program set, dates as Go formats them. */
export function passwordCredentialBody(inputs: Plain): Plain {
  const date = (value: unknown) => (typeof value === "string" && value !== "" ? goRfc3339(value) : undefined);
  return defined({
    displayName: typeof inputs.displayName === "string" ? inputs.displayName : undefined,
    startDateTime: date(inputs.startDate),
    endDateTime: date(inputs.endDate),
  });
}

function outputs(objectId: string, credential: Plain, value: unknown, inputs: Plain): Plain {
  return defined({
    id: `${objectId}/password/${credential.keyId}`,
    applicationId: `/applications/${objectId}`,
    keyId: credential.keyId,
    displayName: credentialDisplayName(credential),
    startDate: stringOrEmpty(credential.startDateTime),
    endDate: stringOrEmpty(credential.endDateTime),
    endDateRelative: inputs.endDateRelative ?? undefined,
    rotateWhenChanged: inputs.rotateWhenChanged ?? undefined,
    value: isSecretEnvelope(value) ? value : secretEnvelope(value ?? ""),
  });
}

export const applicationPassword: ResourceHandler = {
  check(_olds: Plain, news: Plain): CheckResult {
    const failures = new Failures();
    const plain = unwrapSecrets<Plain>(news);
    checkApplicationIdInput(failures, plain.applicationId);
    for (const field of ["startDate", "endDate"]) {
      const value = plain[field];
      if (failures.known(value) && (typeof value !== "string" || goRfc3339(value) === undefined)) {
        failures.add(field, `${field} must be an RFC 3339 date such as 2027-01-31T00:00:00Z; got '${value}'`);
      }
    }
    // v3.8.0 only checks that it is not empty, and then does not send it.
    if (failures.known(plain.endDateRelative) && (typeof plain.endDateRelative !== "string" || plain.endDateRelative === "")) {
      failures.add("endDateRelative", `endDateRelative must not be empty; got '${plain.endDateRelative}'`);
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
    return context.applicationLocks.run(objectId, async () => {
      const app = await session.getOrUndefined(`read application ${objectId}`, `v1.0/applications/${objectId}`);
      if (!app) throw new Error(`azuread: application ${objectId} was not found, so no password can be added to it; check applicationId`);
      const added = await session.request({
        operation: `add a password to application ${objectId}`,
        method: "POST",
        path: `v1.0/applications/${objectId}/addPassword`,
        body: { passwordCredential: passwordCredentialBody(inputs) },
      });
      const keyId = stringOrEmpty(added.data.keyId);
      const secretText = added.data.secretText;
      if (!isGuid(keyId)) throw new Error(`Microsoft Graph: add a password to application ${objectId} returned no keyId`);
      if (typeof secretText !== "string" || secretText === "")
        throw new Error(`Microsoft Graph: add a password to application ${objectId} returned no secretText`);
      let credential: Plain | undefined;
      await waitUntil(`add a password to application ${objectId}`, context.timing.update, async () => {
        credential = await listedCredential(session, objectId, keyId);
        return credential !== undefined;
      });
      // The state is what the last consistent read shows, not the addPassword answer.
      const outs = outputs(objectId, credential!, secretText, inputs);
      return { id: String(outs.id), outs };
    });
  },

  async read(context: ProviderContext, id: string, props: Plain): Promise<ReadResult> {
    const parsed = parsePasswordId(id);
    if (!parsed) throw new Error(`azuread: '${id}' is not an application password id; expected <applicationObjectId>/password/<keyId>`);
    const session = await context.session();
    const app = await session.getOrUndefined(`read application ${parsed.objectId}`, `v1.0/applications/${parsed.objectId}`);
    const credential = findCredential(app, parsed.keyId);
    if (!app || !credential) return { id: "", props: {}, inputs: {} };
    // Graph never shows a secret again: the value in state (still wrapped as a secret) is kept.
    const outs = outputs(parsed.objectId, credential, props.value, props);
    const inputs = defined({
      applicationId: outs.applicationId,
      displayName: outs.displayName,
      startDate: outs.startDate,
      endDate: outs.endDate,
      endDateRelative: props.endDateRelative ?? undefined,
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
    if (!parsed) throw new Error(`azuread: '${id}' is not an application password id; expected <applicationObjectId>/password/<keyId>`);
    const session = await context.session();
    await context.applicationLocks.run(parsed.objectId, async () => {
      // As the real provider: no look first, and a failed removal (an unknown key included) is an error.
      await session.request({
        operation: `remove password ${parsed.keyId} from application ${parsed.objectId}`,
        method: "POST",
        path: `v1.0/applications/${parsed.objectId}/removePassword`,
        body: { keyId: parsed.keyId },
      });
      await waitUntil(
        `remove password ${parsed.keyId} from application ${parsed.objectId}`,
        context.timing.deletion,
        async () => (await listedCredential(session, parsed.objectId, parsed.keyId)) === undefined,
      );
    });
  },
};
