/**
 * azuread:index/applicationCertificate:ApplicationCertificate (an uploaded public certificate), as the
 * real provider (terraform-provider-azuread v3.8.0, internal/services/applications/application_certificate_resource.go
 * and internal/helpers/credentials/credentials.go) drives Graph. Every input forces a new certificate.
 *
 * - create: a key id (the program's, or a new UUID); GET /v1.0/applications/{id} (any failure fails;
 *   the key id already listed is the "already exists" error); PATCH the application with its own `id`
 *   and its key credentials as read plus the new one {keyId, type, usage: "Verify", key,
 *   startDateTime?, endDateTime?} where `key` is the base64 of the PEM text (encoding "pem"; "base64"
 *   and "hex" are DER, turned into PEM first) and `type` is the input as given ("" when not set);
 *   `endDateRelative` (a Go duration) makes endDateTime = now + duration when no startDate is set, and
 *   fails as v3.8.0 does when one is; then GET until the key is listed five times in a row. The id is
 *   "<appObjectId>/certificate/<keyId>".
 * - read: GET the application; a missing key is gone (empty id). The certificate value is not
 *   returned by Graph and is carried over from state.
 * - delete: GET the application, PATCH its `id` and key credentials without this one, then GET until the key is
 *   absent five times in a row.
 */
import { randomUUID } from "node:crypto";
import type { CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import { waitUntil } from "../consistency";
import { GraphSession } from "../graph";
import { diffFields, Failures, FieldRule, ProviderContext, ResourceHandler } from "../resource";
import { asRecords, defined, isGuid, Plain, stringOrEmpty, typedBody, unwrapSecrets } from "../values";
import { applicationObjectId, checkApplicationIdInput } from "./application";
import { goRfc3339 } from "./applicationPassword";

export const applicationCertificateToken = "azuread:index/applicationCertificate:ApplicationCertificate";

/** "<appObjectId>/certificate/<keyId>" -> its parts. */
function parseCertificateId(id: string): { objectId: string; keyId: string } | undefined {
  const parts = id.split("/");
  if (parts.length !== 3 || parts[1] !== "certificate" || !isGuid(parts[0]) || !isGuid(parts[2])) return undefined;
  return { objectId: parts[0], keyId: parts[2] };
}

const diffRules: FieldRule[] = [
  { name: "applicationId", replace: true },
  { name: "encoding", replace: true },
  { name: "type", replace: true },
  { name: "value", replace: true },
  { name: "keyId", replace: true, computed: true },
  { name: "startDate", replace: true, computed: true },
  { name: "endDate", replace: true, computed: true },
  { name: "endDateRelative", replace: true },
];

/**
 * The `key` sent to Graph: base64 of PEM text, as v3.8.0's KeyCredentialForResource
 * (internal/helpers/credentials/credentials.go) makes it. A value that Go's decoders refuse fails
 * with its message before any Graph call.
 */
export function encodedKey(value: string, encoding: string): string {
  if (encoding === "pem") return Buffer.from(value, "utf8").toString("base64");
  const der = encoding === "hex" ? goHexDecode(value.trim()) : goStdBase64Decode(value.trim());
  const body = der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "");
  return Buffer.from(`-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`, "utf8").toString("base64");
}

/**
 * Go's base64.StdEncoding.DecodeString: the standard alphabet with padding; carriage returns and
 * newlines are ignored, anything else outside the alphabet (spaces, "-", "_", missing or misplaced
 * "=") is an error, reported as KeyCredentialForResource reports it.
 */
function goStdBase64Decode(value: string): Buffer {
  const text = value.replace(/[\r\n]/g, "");
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text))
    throw new Error("failed to decode base64 certificate data");
  return Buffer.from(text, "base64");
}

/**
 * Go's hex.Decode on the value's bytes: pairs of hex digits of either case; the first invalid byte
 * (checked pair by pair, then the last odd one) or an odd length is an error, with Go's message.
 */
function goHexDecode(value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  const isHex = (byte: number) => (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
  const fail = (reason: string): never => {
    throw new Error(`failed to decode hexadecimal certificate data: encoding/hex: ${reason}`);
  };
  for (let index = 0; index < bytes.length; index++) {
    if (!isHex(bytes[index])) fail(`invalid byte: ${goQuotedRune(bytes[index])}`);
  }
  if (bytes.length % 2 === 1) fail("odd length hex string");
  return Buffer.from(bytes.toString("latin1"), "hex");
}

/** Go's %#U of a byte taken as a rune: U+0067 'g' (the character only when Go deems it printable). */
function goQuotedRune(byte: number): string {
  const code = `U+${byte.toString(16).toUpperCase().padStart(4, "0")}`;
  const printable = (byte >= 0x21 && byte <= 0x7e) || byte === 0x20 || (byte >= 0xa1 && byte !== 0xad);
  return printable ? `${code} '${String.fromCharCode(byte)}'` : code;
}

async function readKeyCredentials(session: GraphSession, objectId: string): Promise<Plain[]> {
  const app = await session.request({
    operation: `read the certificates of application ${objectId}`,
    method: "GET",
    path: `v1.0/applications/${objectId}`,
  });
  return asRecords(app.data.keyCredentials);
}

const sameKey = (credential: Plain, keyId: string) => stringOrEmpty(credential.keyId).toLowerCase() === keyId.toLowerCase();

/**
 * An existing key credential as the real provider sends it back: decoded into go-azure-sdk's
 * stable.KeyCredential and encoded again, so each of its properties present in the GET is sent as
 * read (nulls included: `key` is null on a GET), and anything else is dropped.
 */
const keyCredentialProperties = [
  "@odata.id",
  "@odata.type",
  "customKeyIdentifier",
  "displayName",
  "endDateTime",
  "key",
  "keyId",
  "startDateTime",
  "type",
  "usage",
];
export function keptCredential(credential: Plain): Plain {
  const kept: Plain = {};
  for (const property of keyCredentialProperties) if (property in credential) kept[property] = credential[property];
  return kept;
}

/**
 * Go's time.ParseDuration: a sequence of decimal numbers, each with a unit (ns, us, µs, ms, s, m, h),
 * optionally signed; milliseconds, or undefined when Go would refuse it.
 */
export function goDurationMs(value: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const match = /^([-+]?)(.*)$/.exec(value)!;
  if (match[2] === "0") return 0;
  if (match[2] === "") return undefined;
  let total = 0;
  let rest = match[2];
  while (rest !== "") {
    const part = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!part) return undefined;
    total += Number(part[1]) * units[part[2]];
    rest = rest.slice(part[0].length);
  }
  return match[1] === "-" ? -total : total;
}

/** Go's time.Time.Format(time.RFC3339) of a UTC instant: whole seconds, "Z". */
function goRfc3339Utc(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * endDateTime of a new certificate, as v3.8.0's KeyCredentialForResource computes it: endDate as
 * given; else endDateRelative after now. With a startDate too, v3.8.0 parses the duration text as an
 * RFC 3339 date and fails with "Unable to parse the provided start date": so does this.
 */
export function certificateEndDateTime(inputs: Plain, nowMs: number = Date.now()): string | undefined {
  if (typeof inputs.endDate === "string" && inputs.endDate !== "") return goRfc3339(inputs.endDate);
  const relative = inputs.endDateRelative;
  if (typeof relative !== "string" || relative === "") return undefined;
  const durationMs = goDurationMs(relative);
  if (durationMs === undefined) throw new Error(`Unable to parse \`end_date_relative\` (${JSON.stringify(relative)}) as a duration`);
  // v3.8.0 parses the duration text as the start date; a duration is never RFC 3339, so this always fails.
  if (typeof inputs.startDate === "string" && inputs.startDate !== "")
    throw new Error(
      `Unable to parse the provided start date ${JSON.stringify(relative)}: parsing time ${JSON.stringify(relative)} as RFC 3339`,
    );
  return goRfc3339Utc(nowMs + durationMs);
}

function outputs(objectId: string, credential: Plain, inputs: Plain): Plain {
  return defined({
    id: `${objectId}/certificate/${credential.keyId}`,
    applicationId: `/applications/${objectId}`,
    keyId: credential.keyId,
    type: stringOrEmpty(credential.type),
    startDate: stringOrEmpty(credential.startDateTime),
    endDate: stringOrEmpty(credential.endDateTime),
    encoding: inputs.encoding ?? "pem",
    value: inputs.value,
    endDateRelative: inputs.endDateRelative ?? undefined,
  });
}

export const applicationCertificate: ResourceHandler = {
  check(_olds: Plain, news: Plain): CheckResult {
    const failures = new Failures();
    const plain = unwrapSecrets<Plain>(news);
    checkApplicationIdInput(failures, plain.applicationId);
    if (plain.value === undefined || plain.value === null || plain.value === "")
      failures.add("value", "value (the certificate) is required");
    const encoding = plain.encoding ?? "pem";
    if (failures.known(encoding) && !["pem", "base64", "hex"].includes(String(encoding)))
      failures.add("encoding", `encoding must be pem, base64 or hex; got '${encoding}'`);
    if (failures.known(plain.type) && !["AsymmetricX509Cert", "Symmetric"].includes(String(plain.type)))
      failures.add("type", `type must be AsymmetricX509Cert or Symmetric; got '${plain.type}'`);
    if (failures.known(plain.keyId) && !isGuid(plain.keyId)) failures.add("keyId", `keyId must be a GUID; got '${plain.keyId}'`);
    for (const field of ["startDate", "endDate"]) {
      const value = plain[field];
      if (failures.known(value) && (typeof value !== "string" || goRfc3339(value) === undefined))
        failures.add(field, `${field} must be an RFC 3339 date such as 2027-01-31T00:00:00Z; got '${value}'`);
    }
    // Schema: end_date_relative is StringIsNotEmpty and ConflictsWith end_date.
    if (failures.known(plain.endDateRelative) && (typeof plain.endDateRelative !== "string" || plain.endDateRelative === ""))
      failures.add("endDateRelative", `endDateRelative must not be empty; got '${plain.endDateRelative}'`);
    if (failures.known(plain.endDate) && failures.known(plain.endDateRelative))
      failures.add("endDateRelative", "set endDate or endDateRelative, not both");
    return { inputs: news, failures: failures.list };
  },

  diff(_id: string, olds: Plain, news: Plain): DiffResult {
    return diffFields(olds, news, diffRules);
  },

  async create(context: ProviderContext, inputs: Plain): Promise<CreateResult> {
    const objectId = applicationObjectId(String(inputs.applicationId))!;
    const keyId = typeof inputs.keyId === "string" && inputs.keyId ? inputs.keyId : randomUUID();
    const id = `${objectId}/certificate/${keyId}`;
    const session = await context.session();
    // The credential is built before any call, as v3.8.0 does: a bad endDateRelative fails first.
    const date = (value: unknown) => (typeof value === "string" && value !== "" ? goRfc3339(value) : undefined);
    const added = defined({
      keyId,
      // d.Get("type"): the schema has no default, so an unset type is sent as "".
      type: typeof inputs.type === "string" ? inputs.type : "",
      usage: "Verify",
      key: encodedKey(String(inputs.value), String(inputs.encoding ?? "pem")),
      startDateTime: date(inputs.startDate),
      endDateTime: certificateEndDateTime(inputs),
    });
    return context.applicationLocks.run(objectId, async () => {
      const existing = await readKeyCredentials(session, objectId);
      if (existing.some((credential) => sameKey(credential, keyId)))
        throw new Error(
          `A resource with the ID "${id}" already exists - to be managed via Terraform this resource needs to be imported into the State.`,
        );
      await session.request({
        operation: `add a certificate to application ${objectId}`,
        method: "PATCH",
        path: `v1.0/applications/${objectId}`,
        // The application's own id rides along, as v3.8.0 sends it (stable.Application{Id, KeyCredentials}),
        // and so does the model's type annotation.
        body: typedBody("application", { id: objectId, keyCredentials: [...existing.map(keptCredential), added] }),
      });
      let credential: Plain | undefined;
      await waitUntil(`add a certificate to application ${objectId}`, context.timing.update, async () => {
        credential = (await readKeyCredentials(session, objectId)).find((listed) => sameKey(listed, keyId));
        return credential !== undefined;
      });
      const outs = outputs(objectId, credential!, inputs);
      return { id, outs };
    });
  },

  async read(context: ProviderContext, id: string, props: Plain): Promise<ReadResult> {
    const parsed = parseCertificateId(id);
    if (!parsed)
      throw new Error(`azuread: '${id}' is not an application certificate id; expected <applicationObjectId>/certificate/<keyId>`);
    const session = await context.session();
    const credential = (await readKeyCredentials(session, parsed.objectId)).find((listed) => sameKey(listed, parsed.keyId));
    if (!credential) return { id: "", props: {}, inputs: {} };
    const outs = outputs(parsed.objectId, credential, props);
    const inputs = defined({
      applicationId: outs.applicationId,
      type: outs.type,
      encoding: outs.encoding,
      value: outs.value,
      keyId: outs.keyId,
      startDate: outs.startDate,
      endDate: outs.endDate,
      endDateRelative: props.endDateRelative ?? undefined,
    });
    return { id, props: outs, inputs };
  },

  async update(_context: ProviderContext, _id: string, olds: Plain): Promise<UpdateResult> {
    // Every input forces a replacement, so the engine never asks for a real update.
    return { outs: olds };
  },

  async delete(context: ProviderContext, id: string): Promise<void> {
    const parsed = parseCertificateId(id);
    if (!parsed)
      throw new Error(`azuread: '${id}' is not an application certificate id; expected <applicationObjectId>/certificate/<keyId>`);
    const session = await context.session();
    await context.applicationLocks.run(parsed.objectId, async () => {
      const existing = await readKeyCredentials(session, parsed.objectId);
      await session.request({
        operation: `remove certificate ${parsed.keyId} from application ${parsed.objectId}`,
        method: "PATCH",
        path: `v1.0/applications/${parsed.objectId}`,
        body: typedBody("application", {
          id: parsed.objectId,
          keyCredentials: existing.filter((credential) => !sameKey(credential, parsed.keyId)).map(keptCredential),
        }),
      });
      await waitUntil(
        `remove certificate ${parsed.keyId} from application ${parsed.objectId}`,
        context.timing.deletion,
        async () => !(await readKeyCredentials(session, parsed.objectId)).some((listed) => sameKey(listed, parsed.keyId)),
      );
    });
  },
};
