// Dataverse Web API $batch (OData 4.0 multipart/mixed batches, reference/dataverse-web-api.md):
// the wire format only. Parsing a batch body into requests and change sets, and writing the
// multipart answer. Running the parts (in order, change sets atomically) is dataverse/pipeline.ts's job.
//
// V = Microsoft's "Execute batch operations using the Web API"; G = chosen here (emulator/README.md):
//   V  POST [org]/api/data/v9.2/$batch, Content-Type: multipart/mixed; boundary=batch_<id>
//   V  a part is `Content-Type: application/http` + `Content-Transfer-Encoding: binary`, then a
//      request line (absolute URL, or relative to the service root), headers, a blank line, a body
//   V  a change set is a part `Content-Type: multipart/mixed; boundary=changeset_<id>` holding
//      application/http parts; it may not hold a GET (400 for the whole batch)
//   V  at most 1000 requests in one batch (400 above)
//   V  the answer is multipart/mixed; boundary=batchresponse_<id>, one part per request, in order;
//      a change set answers changesetresponse_<id> parts, with each part's Content-ID echoed
//   V  a failed change set is rolled back and answers the failed request's error alone
//   V  the batch stops at the first failed request unless `Prefer: odata.continue-on-error`
//   G  the batch itself answers 200 whatever its parts answered
import { randomUUID } from "node:crypto";
import { dataverseError, DataverseErrorCode, type ServiceError } from "./errors";

/** Dataverse's limit of requests in one batch. */
const MAX_BATCH_REQUESTS = 1000;

export interface BatchRequest {
  method: string;
  /** Path from the host's root with the query string: /api/data/v9.2/roles(<id>)?$select=name. */
  target: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

type BatchItem = { kind: "request"; request: BatchRequest } | { kind: "changeset"; requests: BatchRequest[] };

export interface BatchAnswer {
  status: number;
  headers: Record<string, string>;
  /** JSON body, or undefined for none. */
  body?: unknown;
  contentId?: string;
}

/** What a batch item answered: one answer, or a change set's answers (one per request when it succeeded). */
export type BatchItemAnswer = { kind: "request"; answer: BatchAnswer } | { kind: "changeset"; answers: BatchAnswer[] };

function badBatch(message: string): ServiceError {
  return dataverseError(400, DataverseErrorCode.invalidArgument, `The batch request is malformed: ${message}`);
}

/** The boundary parameter of a multipart/mixed content type; undefined for another type. */
function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary=("([^"]+)"|[^;\s]+)/i.exec(contentType);
  return match ? (match[2] ?? match[1]) : undefined;
}

/** Splits "headers CRLF CRLF rest" (LF alone is accepted too). */
function splitHead(text: string): { head: string[]; rest: string } {
  const match = /\r?\n\r?\n/.exec(text);
  const head = match ? text.slice(0, match.index) : text;
  const rest = match ? text.slice(match.index + match[0].length) : "";
  return { head: head.split(/\r?\n/).filter((line) => line.length > 0), rest };
}

function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw badBatch(`'${line.slice(0, 60)}' is not a header line`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The parts between `--boundary` lines, up to `--boundary--`. */
function multipartParts(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const sections = body.split(delimiter);
  if (sections.length < 2) throw badBatch(`no part starts with '${delimiter}'`);
  const parts: string[] = [];
  for (const section of sections.slice(1)) {
    if (section.startsWith("--")) return parts;
    parts.push(section.replace(/^[ \t]*\r?\n/, "").replace(/\r?\n$/, ""));
  }
  throw badBatch(`the closing '${delimiter}--' is missing`);
}

/** Turns a part's request URL into a path from the host's root, like the one the server routes. */
function targetOf(url: string, serviceRoot: string): string {
  if (/^https?:\/\//i.test(url)) {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  }
  if (url.startsWith("/")) return url;
  return `${serviceRoot}/${url}`;
}

function parseRequestPart(part: string, serviceRoot: string, insideChangeset: boolean): BatchRequest {
  const { head, rest } = splitHead(part);
  const partHeaders = parseHeaders(head);
  if (!/^application\/http\b/i.test(partHeaders["content-type"] ?? "")) {
    throw badBatch(`a part has Content-Type '${partHeaders["content-type"] ?? ""}', expected application/http or multipart/mixed`);
  }
  const inner = splitHead(rest);
  const requestLine = inner.head.shift() ?? "";
  const match = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/1\.[01])?$/.exec(requestLine.trim());
  if (!match) throw badBatch(`'${requestLine.slice(0, 80)}' is not a request line`);
  const method = match[1];
  if (insideChangeset && method === "GET") throw badBatch("a change set may not contain a GET request; put it outside the change set");
  return {
    method,
    target: targetOf(match[2], serviceRoot),
    headers: parseHeaders(inner.head),
    body: inner.rest.replace(/\r?\n$/, ""),
    contentId: partHeaders["content-id"],
  };
}

/** Parses a $batch body. `serviceRoot` is /api/data/v9.2, for request URLs relative to it. */
export function parseBatch(contentType: string | undefined, body: string, serviceRoot: string): BatchItem[] {
  const boundary = multipartBoundary(contentType);
  if (!boundary) throw badBatch("the Content-Type must be multipart/mixed with a boundary");
  const items: BatchItem[] = [];
  for (const part of multipartParts(body, boundary)) {
    const { head, rest } = splitHead(part);
    const changesetBoundary = multipartBoundary(parseHeaders(head)["content-type"]);
    if (changesetBoundary) {
      const requests = multipartParts(rest, changesetBoundary).map((inner) => parseRequestPart(inner, serviceRoot, true));
      if (requests.length === 0) throw badBatch("a change set holds no request");
      items.push({ kind: "changeset", requests });
    } else {
      items.push({ kind: "request", request: parseRequestPart(part, serviceRoot, false) });
    }
  }
  const count = items.reduce((sum, item) => sum + (item.kind === "request" ? 1 : item.requests.length), 0);
  if (count > MAX_BATCH_REQUESTS) {
    throw dataverseError(
      400,
      DataverseErrorCode.invalidArgument,
      `The number of requests in a batch must not exceed ${MAX_BATCH_REQUESTS}; this one holds ${count}.`,
    );
  }
  return items;
}

const reasons: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  412: "Precondition Failed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

function answerPart(answer: BatchAnswer): string {
  const lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"];
  if (answer.contentId !== undefined) lines.push(`Content-ID: ${answer.contentId}`);
  lines.push("", `HTTP/1.1 ${answer.status} ${reasons[answer.status] ?? ""}`.trimEnd());
  for (const [name, value] of Object.entries(answer.headers)) lines.push(`${name}: ${value}`);
  // The blank line after the headers is always there, even before an empty body.
  lines.push("", answer.body !== undefined ? JSON.stringify(answer.body) : "");
  return lines.join("\r\n");
}

/** Writes the multipart answer of a batch. */
export function formatBatchAnswer(items: readonly BatchItemAnswer[]): { contentType: string; body: string } {
  const boundary = `batchresponse_${randomUUID()}`;
  const chunks: string[] = [];
  for (const item of items) {
    chunks.push(`--${boundary}`);
    if (item.kind === "request") {
      chunks.push(answerPart(item.answer));
      continue;
    }
    const changeset = `changesetresponse_${randomUUID()}`;
    chunks.push(`Content-Type: multipart/mixed; boundary=${changeset}`, "");
    for (const answer of item.answers) chunks.push(`--${changeset}`, answerPart(answer));
    chunks.push(`--${changeset}--`);
  }
  chunks.push(`--${boundary}--`, "");
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: chunks.join("\r\n") };
}
