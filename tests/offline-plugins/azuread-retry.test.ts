// The stand-in's Graph calls follow go-azure-sdk's retry rules, not the project's: what is sent again
// after a dropped connection or an error status, for which methods, and after how long. Upstream:
// go-azure-sdk sdk/client/client.go (Execute's CheckRetry, extendedRetryPolicy, isResourceManagerHost,
// retryableClient) and go-retryablehttp v0.7.7 client.go (baseRetryPolicy), as vendored in
// terraform-provider-azuread v3.8.0 (vendor/github.com/hashicorp/go-azure-sdk/sdk/client/client.go).
// The product's own clients keep the project's rules (a dropped idempotent request is sent again).
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { HttpMethod, networkFailure, RestApiError, RestClient } from "../../lib/rest-client";
import { goAzureSdkClientOptions, goAzureSdkRetryAfter } from "../../offline-plugins/azuread/graph";

type Behaviour = "close" | "reset" | number;

/** A server that answers each path from its script, in order (the last one repeats), and counts requests. */
class ScriptedServer {
  readonly counts = new Map<string, number>();
  private readonly scripts = new Map<string, { behaviours: Behaviour[]; retryAfter?: string }>();
  private readonly sockets = new Set<Socket>();
  private readonly server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0];
      const seen = this.counts.get(path) ?? 0;
      this.counts.set(path, seen + 1);
      const script = this.scripts.get(path);
      const behaviours = script?.behaviours ?? [404];
      const behaviour = behaviours[Math.min(seen, behaviours.length - 1)];
      if (behaviour === "close") {
        req.socket.destroy();
        return;
      }
      if (behaviour === "reset") {
        req.socket.resetAndDestroy();
        return;
      }
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (script?.retryAfter !== undefined && behaviour >= 400) headers["Retry-After"] = script.retryAfter;
      res.writeHead(behaviour, headers);
      res.end(behaviour >= 400 ? JSON.stringify({ error: { code: `E${behaviour}`, message: `status ${behaviour}` } }) : "{}");
    });
  });

  async start(): Promise<string> {
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  on(path: string, behaviours: Behaviour[], retryAfter?: string): this {
    this.scripts.set(`/${path}`, { behaviours, retryAfter });
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let server: ScriptedServer;
let baseUrl: string;
let waits: number[];

beforeEach(async () => {
  server = new ScriptedServer();
  baseUrl = await server.start();
  waits = [];
});
afterEach(() => server.stop());

const sleep = async (ms: number) => {
  waits.push(ms);
};
/** The Graph client as graph.ts makes it (go-azure-sdk's rules), without a token. */
const graphClient = () => new RestClient({ service: "Microsoft Graph", baseUrl, ...goAzureSdkClient() });
/** A product client: the project's default rules. */
const productClient = () => new RestClient({ service: "Dataverse", baseUrl, sleep });

async function outcome(client: RestClient, method: HttpMethod, path: string): Promise<{ status?: number; attempts: number }> {
  try {
    const response = await client.request({ operation: `test ${path}`, method, path, body: method === "GET" ? undefined : {} });
    return { status: response.status, attempts: server.counts.get(`/${path}`) ?? 0 };
  } catch (error) {
    if (!(error instanceof RestApiError)) throw error;
    expect(error.attempts).toBe(server.counts.get(`/${path}`) ?? error.attempts);
    return { status: error.status, attempts: error.attempts };
  }
}

describe("dropped connections (extendedRetryPolicy, isResourceManagerHost: Graph is not an ARM host)", () => {
  test("a GET whose connection is closed with no answer (Go's EOF) is not sent again; the product's client sends it again", async () => {
    server.on("closed", ["close", 200]);
    expect(await outcome(graphClient(), "GET", "closed")).toEqual({ status: undefined, attempts: 1 });
    server.on("closed-product", ["close", 200]);
    expect(await outcome(productClient(), "GET", "closed-product")).toEqual({ status: 200, attempts: 2 });
  });

  // Go's net/http transport.go (persistConn.shouldRetryRequest): a replayable request is sent again
  // once, by the transport, when a reused keep-alive connection fails before any answer.
  test("a GET closed with no answer on a reused connection (the try before got an answer) is sent again once, not counted as an attempt", async () => {
    server.on("reused", [503, "close", 200]);
    const response = await graphClient().request({ operation: "test reused", method: "GET", path: "reused" });
    expect(response.status).toBe(200);
    expect(server.counts.get("/reused")).toBe(3);
    expect(waits).toEqual([1000]);
  });

  test("the transport's resend happens once: closed again (on the fresh connection) is Go's EOF, and attempts count without the resend", async () => {
    server.on("reused-twice", [503, "close", "close", 200]);
    await expect(graphClient().request({ operation: "test", method: "GET", path: "reused-twice" })).rejects.toMatchObject({
      attempts: 2,
      network: "closed",
    });
    expect(server.counts.get("/reused-twice")).toBe(3);
    // Not for other methods (go-azure-sdk does not retry them without an answer either).
    server.on("reused-patch", [503, "close", 204]);
    await expect(graphClient().request({ operation: "test", method: "PATCH", path: "reused-patch", body: {} })).rejects.toMatchObject({
      attempts: 2,
      network: "closed",
    });
  });

  test("a GET whose connection is reset is sent again (the error is neither EOF nor dial tcp)", async () => {
    server.on("reset", ["reset", 200]);
    expect(await outcome(graphClient(), "GET", "reset")).toEqual({ status: 200, attempts: 2 });
  });

  test("no other method is sent again after a dropped connection (IsIdempotent is GET, HEAD, OPTIONS), PATCH and DELETE included", async () => {
    for (const method of ["PATCH", "DELETE", "POST"] as const) {
      server.on(`reset-${method}`, ["reset", 204]);
      expect(await outcome(graphClient(), method, `reset-${method}`)).toEqual({ status: undefined, attempts: 1 });
    }
    // The project's rule replays an idempotent PATCH.
    server.on("reset-product", ["reset", 204]);
    expect(await outcome(productClient(), "PATCH", "reset-product")).toEqual({ status: 204, attempts: 2 });
  });

  test("a connection never made (dial tcp) is not retried", async () => {
    const closed = new ScriptedServer();
    const url = await closed.start();
    await closed.stop();
    const client = new RestClient({ service: "Microsoft Graph", baseUrl: url, ...goAzureSdkClient() });
    await expect(client.request({ operation: "test", method: "GET", path: "x" })).rejects.toMatchObject({
      attempts: 1,
      network: "connect",
    });
  });

  test("a GET whose token cannot be had is not sent (go-azure-sdk fails when its authorizer does): one attempt, no wait", async () => {
    const client = new RestClient({
      service: "Microsoft Graph",
      baseUrl,
      tokenResource: "https://graph.example/",
      credential: {
        getToken: async () => {
          throw new Error("AADSTS7000215: Invalid client secret provided.");
        },
      },
      ...goAzureSdkClient(),
    });
    await expect(client.request({ operation: "test", method: "GET", path: "token" })).rejects.toMatchObject({ attempts: 1, code: "TOKEN" });
    expect(waits).toEqual([]);
    expect(server.counts.get("/token")).toBeUndefined();
  });

  test("Node's errors map to how the connection failed", () => {
    expect(networkFailure("ECONNRESET", "socket hang up")).toBe("closed");
    expect(networkFailure("ECONNRESET", "read ECONNRESET")).toBe("reset");
    expect(networkFailure("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1")).toBe("connect");
    expect(networkFailure("ECONNABORTED", "timeout of 10ms exceeded")).toBe("timeout");
    expect(networkFailure("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate")).toBe("tls");
  });
});

describe("statuses (Execute's CheckRetry: 424, 408; retryablehttp's baseRetryPolicy: 429, 5xx but 501)", () => {
  test("408, 424, 429, 500, 502, 503 and 504 are sent again, POST included", async () => {
    for (const status of [408, 424, 429, 500, 502, 503, 504]) {
      server.on(`status-${status}`, [status, 201]);
      expect(await outcome(graphClient(), "POST", `status-${status}`)).toEqual({ status: 201, attempts: 2 });
    }
  });

  test("501, 400, 404 and 409 are not (a 404 or 409 is retried only where an operation asks, as the resources do)", async () => {
    for (const status of [501, 400, 404, 409]) {
      server.on(`final-${status}`, [status, 200]);
      expect(await outcome(graphClient(), "GET", `final-${status}`)).toEqual({ status, attempts: 1 });
    }
  });

  test("up to RetryMax 16 retries: 17 attempts in all, then the last answer's error", async () => {
    server.on("always-503", [503]);
    expect(await outcome(graphClient(), "GET", "always-503")).toEqual({ status: 503, attempts: 17 });
    expect(waits).toHaveLength(16);
  });

  test("Retry-After in whole seconds is the wait, not capped; otherwise 1 s doubling, at most 61 s, no jitter (retryableClient's Backoff)", async () => {
    server.on("after-2", [429, 200], "2");
    await outcome(graphClient(), "GET", "after-2");
    expect(waits).toEqual([2000]);
    waits = [];
    server.on("after-long", [503, 200], "300");
    await outcome(graphClient(), "GET", "after-long");
    expect(waits).toEqual([300_000]);
    waits = [];
    server.on("after-fraction", [503, 503, 200], "1.5");
    await outcome(graphClient(), "GET", "after-fraction");
    expect(waits).toEqual([1000, 2000]);
    waits = [];
    server.on("always-500", [500]);
    await outcome(graphClient(), "GET", "always-500");
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, ...Array(10).fill(61_000)]);
  });

  test("Retry-After is read as strconv.ParseInt reads it: sign and digits only, a negative one waits nothing", () => {
    expect(goAzureSdkRetryAfter("5")).toBe(5);
    expect(goAzureSdkRetryAfter("+7")).toBe(7);
    expect(goAzureSdkRetryAfter("-3")).toBe(0);
    for (const refused of ["", " 5", "5 ", "1.0", "1e3", "0x10", "Wed, 21 Oct 2015 07:28:00 GMT", "9223372036854775808"])
      expect(goAzureSdkRetryAfter(refused)).toBeUndefined();
  });
});

function goAzureSdkClient() {
  return { ...goAzureSdkClientOptions, sleep };
}
