/**
 * Test support: an HTTPS reverse proxy in front of the emulator that injects the faults the emulator
 * does not make (reset, timeout, 408, 502, 504) as well as drops, 429 and 503, each on the next
 * request(s) matching a rule, before or after the emulator has carried the request out.
 *
 * Clients are pointed at the proxy's port instead of the emulator's: the environment URL
 * https://localhost:<proxy>, the authority host and metadata host 127.0.0.1:<proxy>. The emulator
 * derives token audiences and the addresses in its answers from its own port, so the proxy swaps the
 * two ports in bodies and headers both ways (a token asked for https://localhost:<proxy> is asked for
 * https://localhost:<emulator>; discovery documents name the proxy).
 */
import * as fs from "fs";
import * as https from "https";
import type { AddressInfo, Socket } from "net";
import { ensureCertificates } from "../../emulator/tls";

export type FaultKind = "drop" | "reset" | "timeout" | 408 | 429 | 502 | 503 | 504;

export const allFaultKinds: readonly FaultKind[] = ["drop", "reset", "timeout", 408, 429, 502, 503, 504];

export interface FaultRule {
  readonly method: string;
  /** The request's path (query string included) must contain this. */
  readonly pathIncludes: string;
  readonly fault: FaultKind;
  /** Forward the request first, then fail the answer: the service did the work, the client cannot know. */
  readonly afterForwarding?: boolean;
  /** How many matching requests get the fault (default 1). */
  count?: number;
}

export interface FaultProxy {
  readonly port: number;
  /** Replaces the rules; each rule applies to its next `count` matching requests. */
  setRules(rules: FaultRule[]): void;
  /** Faults injected since the last setRules, as "METHOD path -> fault". */
  injected(): string[];
  /** Rules that have not yet been used up. */
  pendingRules(): FaultRule[];
  stop(): Promise<void>;
}

export async function startFaultProxy(emulatorPort: number, tlsDir?: string): Promise<FaultProxy> {
  const tls = await ensureCertificates(tlsDir);
  const ca = fs.readFileSync(tls.caFile);
  let rules: FaultRule[] = [];
  let injected: string[] = [];
  const sockets = new Set<Socket>();
  let proxyPort = 0;

  const swap = (text: string, from: number, to: number) =>
    text.replace(
      new RegExp(`(localhost|127\\.0\\.0\\.1)(:|%3A)${from}(?!\\d)`, "gi"),
      (_match, host: string, colon: string) => `${host}${colon}${to}`,
    );

  const takeRule = (method: string, path: string): FaultRule | undefined => {
    const rule = rules.find(
      (candidate) => (candidate.count ?? 1) > 0 && candidate.method === method && path.includes(candidate.pathIncludes),
    );
    if (rule) rule.count = (rule.count ?? 1) - 1;
    return rule;
  };

  const fail = (rule: FaultRule, request: import("http").IncomingMessage, response: import("http").ServerResponse) => {
    injected.push(`${request.method} ${request.url} -> ${rule.fault}${rule.afterForwarding ? " (after forwarding)" : ""}`);
    const socket = request.socket;
    if (rule.fault === "drop") socket.destroy();
    else if (rule.fault === "reset") {
      // A TCP reset must come from the TCP socket under the TLS one (TLSSocket cannot send it).
      const tcp = (socket as Socket & { _parent?: Socket })._parent;
      if (tcp) tcp.resetAndDestroy();
      else socket.destroy();
    } else if (rule.fault === "timeout") {
      // Never answer: the client's own timeout must fire. The socket is closed when the client gives up.
    } else {
      const body = JSON.stringify({ error: { code: "InjectedFault", message: `Injected fault: HTTP ${rule.fault}` } });
      response.writeHead(rule.fault, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(body),
        ...(rule.fault === 429 || rule.fault === 503 ? { "Retry-After": "0" } : {}),
      });
      response.end(body);
    }
  };

  const server = https.createServer({ cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const method = request.method ?? "GET";
      const path = request.url ?? "/";
      const rule = takeRule(method, decodeURIComponent(path));
      if (rule && !rule.afterForwarding) return fail(rule, request, response);
      const body = Buffer.from(swap(Buffer.concat(chunks).toString("utf8"), proxyPort, emulatorPort), "utf8");
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (value === undefined || name === "accept-encoding" || name === "content-length" || name === "connection") continue;
        headers[name] = Array.isArray(value)
          ? value.map((item) => swap(item, proxyPort, emulatorPort))
          : swap(value, proxyPort, emulatorPort);
      }
      headers["content-length"] = String(body.length);
      const upstream = https.request(
        { host: "127.0.0.1", port: emulatorPort, method, path: swap(path, proxyPort, emulatorPort), headers, ca, servername: "localhost" },
        (answer) => {
          const answerChunks: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => answerChunks.push(chunk));
          answer.on("end", () => {
            if (rule) return fail(rule, request, response);
            const answerBody = Buffer.from(swap(Buffer.concat(answerChunks).toString("utf8"), emulatorPort, proxyPort), "utf8");
            const answerHeaders: Record<string, string | string[]> = {};
            for (const [name, value] of Object.entries(answer.headers)) {
              if (value === undefined || name === "content-length" || name === "connection" || name === "transfer-encoding") continue;
              answerHeaders[name] = Array.isArray(value)
                ? value.map((item) => swap(item, emulatorPort, proxyPort))
                : swap(value, emulatorPort, proxyPort);
            }
            answerHeaders["content-length"] = String(answerBody.length);
            response.writeHead(answer.statusCode ?? 502, answerHeaders);
            response.end(answerBody);
          });
        },
      );
      upstream.on("error", (error) => {
        response.writeHead(599, { "Content-Type": "text/plain" });
        response.end(`fault proxy: the emulator did not answer: ${error.message}`);
      });
      upstream.end(body);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxyPort = (server.address() as AddressInfo).port;

  return {
    port: proxyPort,
    setRules(next) {
      rules = next.map((rule) => ({ ...rule, count: rule.count ?? 1 }));
      injected = [];
    },
    injected: () => [...injected],
    pendingRules: () => rules.filter((rule) => (rule.count ?? 1) > 0),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
