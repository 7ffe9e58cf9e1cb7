/**
 * The Dataverse Web API's `$batch` wire format (OData 4.0 multipart/mixed), for DataverseClient.batch:
 * several requests in one HTTP round trip, and change sets applied all or nothing.
 *
 *   request: --batch_<id> parts, each `Content-Type: application/http` with a request line and JSON
 *            body, or `multipart/mixed; boundary=changeset_<id>` holding such parts (no GET inside)
 *   answer:  one part per request in order (`HTTP/1.1 <status>` + headers + body); a change set that
 *            succeeded answers a changesetresponse part per request, one that failed its error alone
 */
import { randomUUID } from "crypto";

type BatchMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface BatchPartRequest {
  readonly method: BatchMethod;
  /** Relative to the Web API's base URL, query string included: roles(<id>)?$select=name. */
  readonly path: string;
  readonly body?: unknown;
}

/** One request of its own, or a change set (all or nothing). */
type BatchEntry = { readonly request: BatchPartRequest } | { readonly changeset: readonly BatchPartRequest[] };

export interface BatchPartAnswer {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON, the raw text when it is not JSON, undefined when empty. */
  readonly data: unknown;
}

/** A change set's answers when it succeeded; the one failed request's answer when it did not. */
type BatchEntryAnswer = { readonly answer: BatchPartAnswer } | { readonly changeset: readonly BatchPartAnswer[] };

function requestPart(apiBase: string, request: BatchPartRequest, contentId?: number): string {
  const lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"];
  if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
  lines.push("", `${request.method} ${apiBase}${request.path} HTTP/1.1`, "Accept: application/json");
  if (request.body !== undefined) lines.push("Content-Type: application/json; type=entry", "", JSON.stringify(request.body));
  else lines.push("");
  return lines.join("\r\n");
}

/** The body and content type of a $batch request. `apiBase` ends with a slash. */
export function batchRequestBody(apiBase: string, entries: readonly BatchEntry[]): { contentType: string; body: string } {
  const boundary = `batch_${randomUUID()}`;
  const chunks: string[] = [];
  for (const entry of entries) {
    chunks.push(`--${boundary}`);
    if ("request" in entry) {
      chunks.push(requestPart(apiBase, entry.request));
      continue;
    }
    const changeset = `changeset_${randomUUID()}`;
    chunks.push(`Content-Type: multipart/mixed; boundary=${changeset}`, "");
    entry.changeset.forEach((request, index) => chunks.push(`--${changeset}`, requestPart(apiBase, request, index + 1)));
    chunks.push(`--${changeset}--`);
  }
  chunks.push(`--${boundary}--`, "");
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: chunks.join("\r\n") };
}

function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed/i.test(contentType)) return undefined;
  const match = /;\s*boundary=("([^"]+)"|[^;\s]+)/i.exec(contentType);
  return match ? (match[2] ?? match[1]) : undefined;
}

function splitHead(text: string): { head: string[]; rest: string } {
  const match = /\r?\n\r?\n/.exec(text);
  const head = match ? text.slice(0, match.index) : text;
  return { head: head.split(/\r?\n/).filter((line) => line.length > 0), rest: match ? text.slice(match.index + match[0].length) : "" };
}

function headerMap(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function parts(body: string, boundary: string): string[] {
  const sections = body.split(`--${boundary}`).slice(1);
  const result: string[] = [];
  for (const section of sections) {
    if (section.startsWith("--")) break;
    result.push(section.replace(/^[ \t]*\r?\n/, "").replace(/\r?\n$/, ""));
  }
  return result;
}

function answerOf(part: string): BatchPartAnswer {
  const inner = splitHead(splitHead(part).rest);
  const statusLine = inner.head.shift() ?? "";
  const match = /^HTTP\/1\.[01]\s+(\d{3})/.exec(statusLine);
  if (!match) throw new Error(`the $batch answer has a part without a status line ('${statusLine.slice(0, 60)}')`);
  const text = inner.rest.trim();
  let data: unknown = undefined;
  if (text !== "") {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  return { status: Number(match[1]), headers: headerMap(inner.head), data };
}

/** Reads a $batch answer: one entry answer per part, in order. */
export function parseBatchAnswer(contentType: string | undefined, body: string): BatchEntryAnswer[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new Error(`the $batch answer is not multipart/mixed (Content-Type '${contentType ?? ""}')`);
  return parts(body, boundary).map((part) => {
    const changeset = boundaryOf(headerMap(splitHead(part).head)["content-type"]);
    return changeset ? { changeset: parts(splitHead(part).rest, changeset).map(answerOf) } : { answer: answerOf(part) };
  });
}
