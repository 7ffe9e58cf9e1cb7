// Errors of the HTTP layer name the service, the host, the operation, the number of attempts and the
// last status or network code, and never carry a header, a token or a JavaScript internal.
import * as http from "http";
import type { AddressInfo } from "net";
import type { TokenCredential } from "@azure/identity";
import { RestApiError, RestClient } from "../../lib/rest-client";

let server: http.Server;
let baseUrl: string;
const answers: ((request: http.IncomingMessage, response: http.ServerResponse) => void)[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const answer = answers.shift();
    if (answer) answer(request, response);
    else response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/data/v9.2/`;
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => (answers.length = 0));

const secretToken = "eyJ-secret-token-value";
const credential: TokenCredential = { getToken: async () => ({ token: secretToken, expiresOnTimestamp: Date.now() + 3600_000 }) };

function client(maxAttempts: number) {
  return new RestClient({
    service: "Dataverse",
    baseUrl,
    tokenResource: baseUrl,
    credential,
    retryPolicy: { maxAttempts, baseDelayMs: 1, maxDelayMs: 1 },
    sleep: async () => undefined,
  });
}

async function failure(promise: Promise<unknown>): Promise<RestApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RestApiError);
  const apiError = error as RestApiError;
  expect(apiError.message).not.toContain(secretToken);
  expect(apiError.message).not.toMatch(/Bearer|Authorization|TypeError|prototype|undefined/);
  return apiError;
}

const throttled = (_request: http.IncomingMessage, response: http.ServerResponse) =>
  response
    .writeHead(503, { "Content-Type": "application/json", "Retry-After": "0" })
    .end(JSON.stringify({ error: { code: "0x80072322", message: "Number of requests exceeded the limit." } }));

test("a status that stays retryable: service, host, operation, attempts, status and service code", async () => {
  answers.push(throttled, throttled, throttled);
  const error = await failure(client(3).request({ operation: "read security roles", method: "GET", path: "roles?$filter=name eq 'x'" }));
  const host = new URL(baseUrl).host;
  expect(error.message).toBe(
    `Dataverse at ${host}: read security roles failed after 3 attempts: GET /api/data/v9.2/roles -> HTTP 503 0x80072322: Number of requests exceeded the limit.`,
  );
  expect({ attempts: error.attempts, status: error.status, code: error.code, host: error.host }).toEqual({
    attempts: 3,
    status: 503,
    code: "0x80072322",
    host,
  });
});

test("a final status is reported after one attempt, the query string left out", async () => {
  answers.push((_request, response) =>
    response
      .writeHead(404, { "Content-Type": "application/json" })
      .end(JSON.stringify({ error: { code: "0x80040217", message: "role Does Not Exist" } })),
  );
  const error = await failure(client(3).request({ operation: "read security role", method: "GET", path: "roles(1)?$select=name" }));
  expect(error.message).toContain(
    "read security role failed after 1 attempt: GET /api/data/v9.2/roles(1) -> HTTP 404 0x80040217: role Does Not Exist",
  );
});

test("a connection that keeps dropping names the network code", async () => {
  const drop = (request: http.IncomingMessage) => request.socket.destroy();
  answers.push(drop, drop);
  const error = await failure(client(2).request({ operation: "read business units", method: "GET", path: "businessunits" }));
  expect(error.status).toBeUndefined();
  expect(error.code).toBe("ECONNRESET");
  expect(error.message).toMatch(
    /read business units failed after 2 attempts: GET \/api\/data\/v9\.2\/businessunits -> no response \(ECONNRESET\)/,
  );
});

test("an unreachable host names the host and the network code", async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const unreachable = new RestClient({
    service: "Dataverse",
    baseUrl: `http://127.0.0.1:${port}/api/data/v9.2/`,
    retryPolicy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    sleep: async () => undefined,
  });
  const error = await failure(unreachable.request({ operation: "who am I", method: "GET", path: "WhoAmI" }));
  expect(error.message).toContain(`Dataverse at 127.0.0.1:${port}: who am I failed after 2 attempts`);
  expect(error.code).toBe("ECONNREFUSED");
});

test("a failure that is not an HTTP error (here a broken reconcile) is described the same way", async () => {
  answers.push((request) => request.socket.destroy());
  const error = await failure(
    client(3).request({
      operation: "create security role 'API User'",
      method: "POST",
      path: "roles",
      body: {},
      reconcile: async () => {
        throw new TypeError("Method Set.prototype.has called on incompatible receiver #<Object>");
      },
    }),
  );
  expect(error.code).toBe("CLIENT_ERROR");
  expect(error.message).toMatch(/^Dataverse at 127\.0\.0\.1:\d+: create security role 'API User' failed after 1 attempt/);
});
