// The Dataverse Web API v9.x request pipeline, in the order a request meets it: the environment
// (by the port the request arrived on), authentication as the real service does it (aud must be the
// environment URL, the token's appid a live, enabled application user), service protection, the
// configured latency, then routing to the handler of the entity set (business-units.ts,
// metadata.ts, roles.ts, system-users.ts, who-am-i.ts) or to $batch, whose parts run through the
// same routes (the wire format is in ../dataverse-batch.ts). Conventions of the answers: common.ts.
import type { IncomingMessage } from "node:http";
import { dataverseError, DataverseErrorCode, ServiceError } from "../errors";
import { bearer, verifyToken } from "../entra";
import { RequestContext, sameId } from "../http";
import { formatBatchAnswer, parseBatch, type BatchAnswer, type BatchItemAnswer, type BatchRequest } from "../dataverse-batch";
import { DataverseStore } from "../dataverse-store";
import { environmentsOf, type SystemUserRow } from "../store";
import { invalid, type DataverseCall } from "./common";
import { admitRequest, admitToWindow, whileInFlight } from "./protection";
import { businessUnits } from "./business-units";
import { entityDefinitions, privileges } from "./metadata";
import { retrieveRolePrivilegesFunction, roles } from "./roles";
import { systemUsers } from "./system-users";
import { whoAmI } from "./who-am-i";

/** The Web API's requests, /api/data/v9.0 to v9.2; anything else is not Dataverse's. */
const PREFIX = /^\/api\/data\/(v9\.[0-2])(?:\/(.*))?$/;

export async function handleDataverse(ctx: RequestContext): Promise<boolean> {
  const match = PREFIX.exec(ctx.path);
  if (!match) return false;
  const version = match[1];
  const resourcePath = match[2] ?? "";
  const { dataverse, url } = selectEnvironment(ctx);
  const caller = authenticate(ctx, dataverse, url);
  admitRequest(ctx, caller.systemuserid);
  return whileInFlight(ctx.core, caller.systemuserid, async () => {
    await ctx.delay();
    const call: DataverseCall = { ctx, dataverse, caller, base: `${url}/api/data/${version}`, version };
    return route(call, resourcePath);
  });
}

/**
 * The environment a request is for: the one whose port it arrived on (each environment listens on
 * its own port; the first one also on the main port). The handlers reach its rows through a
 * DataverseStore; the Entra objects stay the shared ones of the tenant (`core.directory`).
 */
function selectEnvironment(ctx: RequestContext): { dataverse: DataverseStore; url: string } {
  const core = ctx.core;
  const port = ctx.req.socket.localPort;
  const index = Math.max(
    0,
    core.urls.environments.findIndex((address) => address.port === port),
  );
  const environments = environmentsOf(core.store.state);
  const environment = environments[index];
  if (!environment)
    throw new Error(`the state has no environment number ${index + 1} (a state file from a start with fewer environments?)`);
  ctx.environmentName = core.urls.environments[index]?.name;
  const url = index === 0 ? (core.urls.environments[0]?.url ?? core.urls.environmentUrl) : core.urls.environments[index].url;
  return { dataverse: new DataverseStore(core.store, environment), url };
}

function authenticate(ctx: RequestContext, dataverse: DataverseStore, environmentUrl: string): SystemUserRow {
  const core = ctx.core;
  const challenge = {
    "WWW-Authenticate": `Bearer authorization_uri=${core.urls.authorityHost}/${core.directory.tenant.tenantId}/oauth2/authorize, resource_id=${environmentUrl}/`,
  };
  const unauthorized = (detail: string) =>
    dataverseError(401, DataverseErrorCode.authenticationRequired, `The requested resource requires authentication. ${detail}`, challenge);
  const token = bearer(ctx);
  if (!token) throw unauthorized("No bearer token was sent.");
  const verified = verifyToken(core, token);
  if ("reason" in verified) throw unauthorized(`Bearer token rejected: ${verified.reason}.`);
  const audience = verified.claims.aud.replace(/\/+$/, "").toLowerCase();
  if (audience !== environmentUrl.toLowerCase()) {
    throw unauthorized(
      `The token audience '${verified.claims.aud}' is not this environment ('${environmentUrl}'): request a token for scope '${environmentUrl}/.default'.`,
    );
  }
  if (!sameId(verified.claims.tid, core.directory.tenant.tenantId)) throw unauthorized("The token was issued by another tenant.");
  const user = dataverse.liveApplicationUser(verified.claims.appid);
  if (!user) {
    throw dataverseError(
      403,
      DataverseErrorCode.notMemberOfOrganization,
      `The user is not a member of the organization. No application user exists for application id ${verified.claims.appid}.`,
    );
  }
  if (user.isdisabled) {
    throw dataverseError(
      403,
      DataverseErrorCode.callerDisabled,
      `The user with SystemUserId=${user.systemuserid} in OrganizationContext=${dataverse.organizationId} is disabled. Disabled users cannot access the system. Consider enabling this user.`,
    );
  }
  return user;
}

/** Splits "systemusers(<id>)/rest" into collection, key and the rest. */
function parsePath(resourcePath: string): { collection: string; key?: string; args?: string; tail: string[] } {
  const parts = resourcePath
    .split("/")
    .filter((segment) => segment.length > 0)
    .map(decodeURIComponent);
  const first = parts[0] ?? "";
  const match = /^([A-Za-z_.]+)(?:\((.*)\))?$/.exec(first);
  if (!match) return { collection: first, tail: parts.slice(1) };
  const inner = match[2];
  const keyed = inner !== undefined && /^\{?[0-9a-fA-F-]{36}\}?$/.test(inner);
  return {
    collection: match[1],
    key: keyed ? inner.replace(/[{}]/g, "").toLowerCase() : undefined,
    args: !keyed ? inner : undefined,
    tail: parts.slice(1),
  };
}

async function route(call: DataverseCall, resourcePath: string): Promise<boolean> {
  const { ctx } = call;
  const method = ctx.method;
  const path = parsePath(resourcePath);
  const keyPart = path.key ? "(<id>)" : "";
  const tailPart = path.tail
    .map((segment) => segment.replace(/\([0-9a-fA-F-]{36}\)/, "(<id>)").replace(/^Microsoft\.Dynamics\.CRM\./, ""))
    .join("/");
  ctx.op(`${method} ${path.collection}${keyPart}${tailPart ? "/" + tailPart : ""}`);

  if (path.collection === "WhoAmI" && method === "GET" && path.tail.length === 0) {
    whoAmI(call);
    return true;
  }
  if (path.collection === "$batch" && method === "POST" && path.tail.length === 0 && !path.key && path.args === undefined) {
    await batch(call);
    return true;
  }
  if (path.collection === "RetrieveRolePrivilegesRole" && method === "GET" && path.tail.length === 0) {
    retrieveRolePrivilegesFunction(call, path.args);
    return true;
  }
  switch (path.collection) {
    case "businessunits":
      return businessUnits(call, path.key, path.tail);
    case "roles":
      return roles(call, path.key, path.tail);
    case "systemusers":
      return systemUsers(call, path.key, path.tail);
    case "privileges":
      return privileges(call, path.key, path.tail);
    case "EntityDefinitions":
      return entityDefinitions(call, path.args, path.tail);
    default:
      return false;
  }
}

/** One request of a batch, run through the same routes as a request of its own; its answer is kept. */
class BatchPartContext extends RequestContext {
  answer: BatchAnswer | undefined;

  constructor(
    parent: RequestContext,
    private readonly part: BatchRequest,
  ) {
    // The parts carry no credentials: the batch's token (already verified) and socket stand for them.
    const req = { method: part.method, url: part.target, headers: part.headers, socket: parent.req.socket } as unknown as IncomingMessage;
    super(req, parent.res, parent.core, "dataverse", () => Promise.resolve());
  }

  override header(name: string): string | undefined {
    return this.part.headers[name.toLowerCase()];
  }

  override body(): Promise<Buffer> {
    return Promise.resolve(Buffer.from(this.part.body, "utf8"));
  }

  override send(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.answer ??= { status, headers, body };
  }
}

async function runBatchPart(call: DataverseCall, request: BatchRequest): Promise<BatchAnswer> {
  const partCtx = new BatchPartContext(call.ctx, request);
  try {
    const match = PREFIX.exec(partCtx.path);
    if (!match) throw invalid(`A request in a batch must address this environment's Web API (/api/data/v9.x/...), not ${partCtx.path}.`);
    admitToWindow(partCtx, call.caller.systemuserid);
    const handled = await route({ ...call, ctx: partCtx, version: match[1] }, match[2] ?? "");
    if (!handled) {
      partCtx.op("unsupported");
      throw dataverseError(
        501,
        DataverseErrorCode.notImplemented,
        `The emulator does not support ${request.method} ${partCtx.path}. It was logged as UNSUPPORTED; see emulator/README.md.`,
      );
    }
  } catch (err) {
    const error =
      err instanceof ServiceError ? err : dataverseError(500, "0x80040216", `An unexpected error occurred: ${(err as Error).message}`);
    partCtx.send(error.status, error.body(call.ctx.core.now()), error.headers);
  }
  call.ctx.batchOperations.push(partCtx.operation ?? "dataverse unsupported");
  const answer = partCtx.answer ?? { status: 500, headers: {}, body: { error: { code: "0x80040216", message: "no answer" } } };
  return { ...answer, contentId: request.contentId };
}

/**
 * POST $batch: the requests in order; a change set all or nothing (the environment is put back as
 * it was before the change set when one of its requests fails); the batch stops at the first
 * failure unless the caller prefers odata.continue-on-error. See dataverse-batch.ts for the format.
 */
async function batch(call: DataverseCall): Promise<void> {
  const { ctx } = call;
  const items = parseBatch(ctx.header("content-type"), (await ctx.body()).toString("utf8"), `/api/data/${call.version}`);
  const continueOnError = /odata\.continue-on-error(?!\s*=\s*false)/i.test(ctx.header("prefer") ?? "");
  const answers: BatchItemAnswer[] = [];
  let failed = false;
  for (const item of items) {
    const answer =
      item.kind === "request"
        ? { kind: "request" as const, answer: await runBatchPart(call, item.request) }
        : await runChangeSet(call, item.requests);
    answers.push(answer);
    failed ||= answer.kind === "request" && answer.answer.status >= 400;
    if (failed && !continueOnError) break;
  }
  const { contentType, body } = formatBatchAnswer(answers);
  ctx.sendText(200, body, {
    "OData-Version": "4.0",
    "Content-Type": contentType,
    ...(continueOnError && failed ? { "Preference-Applied": "odata.continue-on-error" } : {}),
  });
}

/** A change set, all or nothing: its answers, or the answer of the request that failed (the environment put back). */
async function runChangeSet(call: DataverseCall, requests: BatchRequest[]): Promise<BatchItemAnswer> {
  const before = call.dataverse.snapshot();
  const answers: BatchAnswer[] = [];
  for (const request of requests) {
    const answer = await runBatchPart(call, request);
    if (answer.status >= 400) {
      call.dataverse.restore(before);
      return { kind: "request", answer };
    }
    answers.push(answer);
  }
  return { kind: "changeset", answers };
}
