// Small raw-HTTP helpers for tests that drive the emulator (axios, trusting the emulator's CA
// explicitly, so that a missing NODE_EXTRA_CA_CERTS only affects third-party clients).
import axios, { type AxiosResponse, type Method } from "axios";
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import type { RunningEmulator } from "./server";

export interface Answer<T = any> {
  status: number;
  data: T;
  headers: Record<string, string>;
}

export interface EmulatorClient {
  /** Raw request to any URL of the emulator; never throws on an HTTP status. */
  request<T = any>(method: Method, url: string, body?: unknown, headers?: Record<string, string>): Promise<Answer<T>>;
  /** POST to the token endpoint (client credentials). */
  token(scope: string, clientId?: string, clientSecret?: string, tenant?: string): Promise<Answer>;
  /** A bearer token for scope, failing the test when Entra refuses. */
  accessToken(scope: string, clientId?: string, clientSecret?: string): Promise<string>;
  graph<T = any>(method: Method, path: string, body?: unknown, token?: string, headers?: Record<string, string>): Promise<Answer<T>>;
  dataverse<T = any>(method: Method, path: string, body?: unknown, token?: string, headers?: Record<string, string>): Promise<Answer<T>>;
  admin<T = any>(method: Method, path: string, body?: unknown): Promise<Answer<T>>;
  /** An ARM request: `path` starts with /subscriptions/...; the api-version is the caller's to add. */
  arm<T = any>(method: Method, path: string, body?: unknown, token?: string): Promise<Answer<T>>;
  /** A Key Vault data plane request to a URL under a vault URI (the deployer's token unless one is given). */
  keyVault<T = any>(method: Method, url: string, body?: unknown, token?: string): Promise<Answer<T>>;
  /** Graph and Dataverse scopes of this emulator. */
  readonly graphScope: string;
  readonly dataverseScope: string;
  /** https://management.azure.com/.default and https://vault.azure.net/.default (Azure's own ids, also offline). */
  readonly armScope: string;
  readonly keyVaultScope: string;
}

export function emulatorClient(emu: RunningEmulator): EmulatorClient {
  const agent = new Agent({ ca: readFileSync(emu.caFile), keepAlive: false });
  const tokens = new Map<string, string>();
  const request = async <T>(method: Method, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> => {
    const response: AxiosResponse<T> = await axios.request<T>({
      method,
      url,
      data: body,
      headers,
      httpsAgent: agent,
      validateStatus: () => true,
      maxRedirects: 0,
      proxy: false,
    });
    const answerHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers))
      if (value !== undefined && value !== null) answerHeaders[name.toLowerCase()] = String(value);
    return { status: response.status, data: response.data, headers: answerHeaders };
  };
  const graphScope = `${emu.authorityHost}/.default`;
  const dataverseScope = `${emu.environmentUrl}/.default`;
  const client: EmulatorClient = {
    request,
    graphScope,
    dataverseScope,
    token(scope, clientId = emu.deployer.clientId, clientSecret = emu.deployer.clientSecret, tenant = emu.tenantId) {
      const form = new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret, scope });
      return request("POST", `${emu.authorityHost}/${tenant}/oauth2/v2.0/token`, form.toString(), {
        "Content-Type": "application/x-www-form-urlencoded",
      });
    },
    async accessToken(scope, clientId = emu.deployer.clientId, clientSecret = emu.deployer.clientSecret) {
      const key = `${scope}|${clientId}|${clientSecret}`;
      const cached = tokens.get(key);
      if (cached) return cached;
      const answer = await client.token(scope, clientId, clientSecret);
      if (answer.status !== 200) throw new Error(`token for ${scope} failed: ${answer.status} ${JSON.stringify(answer.data)}`);
      tokens.set(key, answer.data.access_token);
      return answer.data.access_token as string;
    },
    async graph(method, path, body, token, headers = {}) {
      const accessToken = token ?? (await client.accessToken(graphScope));
      const url = path.startsWith("/beta") ? `${emu.url}${path}` : `${emu.graphUrl}${path}`;
      return request(method, url, body, { Authorization: `Bearer ${accessToken}`, ...headers });
    },
    async dataverse(method, path, body, token, headers = {}) {
      const accessToken = token ?? (await client.accessToken(dataverseScope));
      return request(method, `${emu.environmentUrl}/api/data/v9.2/${path.replace(/^\//, "")}`, body, {
        Authorization: `Bearer ${accessToken}`,
        Accept: "application/json",
        "OData-MaxVersion": "4.0",
        "OData-Version": "4.0",
        ...headers,
      });
    },
    admin(method, path, body) {
      return request(method, `${emu.url}/_emulator/${path.replace(/^\//, "")}`, body);
    },
    armScope: "https://management.azure.com/.default",
    keyVaultScope: "https://vault.azure.net/.default",
    async arm(method, path, body, token) {
      const accessToken = token ?? (await client.accessToken(client.armScope));
      return request(method, `${emu.resourceManagerUrl}${path}`, body, { Authorization: `Bearer ${accessToken}` });
    },
    async keyVault(method, url, body, token) {
      const accessToken = token ?? (await client.accessToken(client.keyVaultScope));
      return request(method, url, body, { Authorization: `Bearer ${accessToken}` });
    },
  };
  return client;
}

/** Creates an app registration, its service principal and a secret through Graph; returns what a client needs. */
export async function createAppWithSecret(
  client: EmulatorClient,
  displayName: string,
  endDateTime?: string,
): Promise<{ id: string; appId: string; spId: string; secret: string; keyId: string }> {
  const app = await client.graph("POST", "/applications", { displayName });
  if (app.status !== 201) throw new Error(`create application: ${app.status} ${JSON.stringify(app.data)}`);
  const servicePrincipal = await client.graph("POST", "/servicePrincipals", { appId: app.data.appId });
  if (servicePrincipal.status !== 201)
    throw new Error(`create service principal: ${servicePrincipal.status} ${JSON.stringify(servicePrincipal.data)}`);
  const password = await client.graph("POST", `/applications/${app.data.id}/addPassword`, {
    passwordCredential: { displayName: "test", ...(endDateTime ? { endDateTime } : {}) },
  });
  if (password.status !== 200) throw new Error(`addPassword: ${password.status} ${JSON.stringify(password.data)}`);
  return {
    id: app.data.id,
    appId: app.data.appId,
    spId: servicePrincipal.data.id,
    secret: password.data.secretText,
    keyId: password.data.keyId,
  };
}

/** The id inside an OData-EntityId header (".../roles(<id>)"). */
export function entityId(headers: Record<string, string>): string {
  const match = /\(([0-9a-f-]{36})\)$/i.exec(headers["odata-entityid"] ?? "");
  if (!match) throw new Error(`no OData-EntityId in answer: ${JSON.stringify(headers)}`);
  return match[1];
}
