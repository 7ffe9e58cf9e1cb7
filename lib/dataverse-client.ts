/**
 * Dataverse Web API v9.2 calls used by the dynamic providers, on top of the project's one HTTP client.
 * Tokens are taken at run time from the environment (see lib/credentials.ts); a client is built
 * inside each provider method and never captured by a serialized provider.
 */
import type { TokenCredential } from "@azure/identity";
import { batchRequestBody, BatchPartAnswer, BatchPartRequest, parseBatchAnswer } from "./dataverse-batch";
import { cachedLookup, forgetLookups, rememberLookup } from "./process-lookups";
import { RestApiError, RestClient, RestResponse } from "./rest-client";
import { isGuid } from "./validators";

/** One request of a $batch, with what a failure of it is called and which statuses are not failures. */
export interface BatchOperation extends BatchPartRequest {
  /** What the request does, in words a user understands (named in errors). */
  readonly operation: string;
  readonly acceptStatus?: readonly number[];
  /** Overrides "every method but POST is idempotent" (a lost $batch answer is resent only when all are). */
  readonly idempotent?: boolean;
}

/** A request of its own, or a change set: requests Dataverse applies all or nothing. */
type BatchItem = BatchOperation | { readonly changeset: readonly BatchOperation[] };

/** Every status is an answer (batchSettled sorts them out). */
const allStatuses = Array.from({ length: 500 }, (_, index) => index + 100);

/** Forgets the lookups of an environment (after a failure that may come from a stale one). */
export function forgetEnvironmentLookups(environmentUrl: string): void {
  forgetLookups(`${environmentUrl.replace(/\/+$/, "").toLowerCase()}|`);
}

export interface RolePrivilege {
  readonly privilegeId: string;
  readonly name: string;
  /** Basic, Local, Deep, Global or RecordFilter. */
  readonly depth: string;
}

/** A row of the `privileges` table. */
interface PrivilegeRecord {
  readonly privilegeid: string;
  readonly name: string;
  readonly canbebasic: boolean;
  readonly canbelocal: boolean;
  readonly canbedeep: boolean;
  readonly canbeglobal: boolean;
}

export interface RoleRecord {
  readonly roleid: string;
  readonly name: string;
  readonly description: string | null;
  readonly _businessunitid_value: string;
  readonly _roletemplateid_value?: string | null;
  /** Set on the copy Dataverse keeps of a role in each child business unit (it cannot be changed itself). */
  readonly _parentroleid_value?: string | null;
}

/** The copy Dataverse keeps in a child business unit of a role made in a parent unit: never made, adopted or changed by the stack. */
export function isInheritedCopy(role: RoleRecord): boolean {
  return Boolean(role._parentroleid_value);
}

export interface SystemUserRecord {
  readonly systemuserid: string;
  readonly applicationid: string | null;
  readonly fullname?: string | null;
  readonly isdisabled: boolean;
  readonly deletedstate?: number | null;
  readonly _businessunitid_value: string;
  readonly systemuserroles_association?: { roleid: string; name: string; _businessunitid_value?: string }[];
}

/**
 * Dataverse's AADError: the app's service principal is not (yet) visible to Dataverse. Right after
 * the principal is created this is replication lag, so creating the application user is retried
 * under the retry policy (bounded); after that the error is final.
 */
const ENTRA_NOT_REPLICATED_YET = "0x80072559";

const depthNames = ["Basic", "Local", "Deep", "Global", "RecordFilter"];

/** Dataverse answers Depth as a name, but a number or numeric string is accepted too. */
function depthName(depth: unknown): string {
  if (typeof depth === "number") return depthNames[depth] ?? String(depth);
  if (typeof depth === "string" && /^\d+$/.test(depth)) return depthNames[Number(depth)] ?? depth;
  return String(depth);
}

/** The role fields the providers read. */
const roleFields = "roleid,name,description,_businessunitid_value,_roletemplateid_value,_parentroleid_value";

/** Quotes a string literal for $filter. */
const odataString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** Reads the id out of the OData-EntityId header of a create: <base>/roles(<guid>). */
function idFromEntityHeader(response: RestResponse<unknown>, operation: string): string {
  const header = response.headers["odata-entityid"];
  const match = header ? /\(([0-9a-fA-F-]{36})\)\s*$/.exec(header) : null;
  if (!match) throw new Error(`Dataverse: ${operation}: the answer had no OData-EntityId header with the new id.`);
  return match[1].toLowerCase();
}

/** Privileges are written in batches: one ReplacePrivilegesRole, then AddPrivilegesRole for the rest. */
const privilegeBatchSize = 300;

export class DataverseClient {
  private readonly rest: RestClient;
  readonly apiBase: string;

  constructor(
    readonly environmentUrl: string,
    options: { credential?: TokenCredential; log?: (message: string) => void; sleep?: (ms: number) => Promise<void> } = {},
  ) {
    const root = environmentUrl.replace(/\/+$/, "");
    this.apiBase = `${root}/api/data/v9.2/`;
    this.rest = new RestClient({
      service: "Dataverse",
      baseUrl: this.apiBase,
      tokenResource: root,
      credential: options.credential,
      defaultHeaders: { Accept: "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0" },
      log: options.log,
      sleep: options.sleep,
    });
  }

  async whoAmI(): Promise<{ UserId: string; BusinessUnitId: string; OrganizationId: string }> {
    return (
      await this.rest.request<{ UserId: string; BusinessUnitId: string; OrganizationId: string }>({
        operation: "check the connection (WhoAmI)",
        method: "GET",
        path: "WhoAmI",
      })
    ).data;
  }

  /** The root business unit, or the one named (looked up once per process, see cachedLookup). */
  async businessUnitId(name?: string): Promise<string> {
    return cachedLookup(this.lookupKey(`business unit|${name ?? ""}`), () => this.lookUpBusinessUnitId(name));
  }

  private lookupKey(what: string): string {
    return `${this.environmentUrl.replace(/\/+$/, "").toLowerCase()}|${what}`;
  }

  private async lookUpBusinessUnitId(name?: string): Promise<string> {
    return this.businessUnitIdOf(name, (await this.rest.request<unknown>(businessUnitRequest(name))).data);
  }

  /**
   * The id in an answer to businessUnitRequest(name), remembered for the process like a lookup;
   * an error that says what to fix when there is not exactly one.
   */
  businessUnitIdOf(name: string | undefined, data: unknown): string {
    const rows = rowsOf<{ businessunitid: string; name: string }>(data);
    if (rows.length !== 1) {
      throw new Error(
        name
          ? `Dataverse: no business unit named '${name}' in ${this.environmentUrl} (found ${rows.length}); check dataverse-s2s:businessUnit or leave it out for the root business unit.`
          : `Dataverse: expected exactly one root business unit in ${this.environmentUrl}, found ${rows.length}.`,
      );
    }
    const id = rows[0].businessunitid.toLowerCase();
    rememberLookup(this.lookupKey(`business unit|${name ?? ""}`), id);
    return id;
  }

  /** The first role in an answer to sourceRoleRequest, remembered for the process like a lookup. */
  sourceRoleOf(nameOrTemplateId: string, businessUnitId: string, data: unknown): RoleRecord | undefined {
    const role = rowsOf<RoleRecord>(data)[0];
    if (role) rememberLookup(this.lookupKey(`source role|${nameOrTemplateId.toLowerCase()}|${businessUnitId}`), role);
    return role;
  }

  /**
   * Like batch, with continue-on-error, but every request settles on its own: its answer, or the
   * RestApiError it would have thrown alone. A failure of the $batch itself is thrown.
   */
  async batchSettled(operation: string, requests: readonly BatchOperation[]): Promise<(RestResponse<unknown> | RestApiError)[]> {
    const settled = requests.map((request) => ({ ...request, acceptStatus: allStatuses }));
    const answers = await this.batch(operation, settled, { continueOnError: true });
    return answers.map((answer, index) =>
      answer.status >= 200 && answer.status < 300
        ? answer
        : this.batchFailure(requests[index], { status: answer.status, headers: answer.headers, data: answer.data }),
    );
  }

  async findRoles(filter: string, operation: string): Promise<RoleRecord[]> {
    return this.list<RoleRecord>(operation, `roles?$select=${roleFields}&$filter=${encodeURIComponent(filter)}`);
  }

  async findRoleByName(name: string, businessUnitId: string): Promise<RoleRecord[]> {
    return rowsOf<RoleRecord>((await this.rest.request<unknown>(findRoleByNameRequest(name, businessUnitId))).data);
  }

  /** A role given by name or by template id, in a business unit (looked up once per process when found). */
  async findSourceRole(nameOrTemplateId: string, businessUnitId: string): Promise<RoleRecord | undefined> {
    return cachedLookup(this.lookupKey(`source role|${nameOrTemplateId.toLowerCase()}|${businessUnitId}`), async () => {
      const response = await this.rest.request<unknown>(sourceRoleRequest(nameOrTemplateId, businessUnitId));
      return rowsOf<RoleRecord>(response.data)[0];
    });
  }

  async getRole(roleId: string): Promise<RoleRecord | undefined> {
    const response = await this.rest.request<RoleRecord>(roleRequest(roleId));
    return response.status === 404 ? undefined : response.data;
  }

  /** Creates a role; if the answer is lost, looks for it by name before trying again. */
  async createRole(name: string, description: string, businessUnitId: string): Promise<string> {
    const operation = `create security role '${name}'`;
    const response = await this.rest.request<unknown>({
      operation,
      method: "POST",
      path: "roles",
      body: { name, description, "businessunitid@odata.bind": `/businessunits(${businessUnitId})` },
      reconcile: async () => {
        const [existing] = (await this.findRoleByName(name, businessUnitId)).filter(
          (role) => role.description === description && !isInheritedCopy(role),
        );
        return existing
          ? { status: 204, data: undefined, headers: { "odata-entityid": `${this.apiBase}roles(${existing.roleid})` } }
          : undefined;
      },
    });
    return idFromEntityHeader(response, operation);
  }

  async updateRole(roleId: string, changes: { name?: string; description?: string }): Promise<void> {
    await this.rest.request({ operation: "update security role", method: "PATCH", path: `roles(${roleId})`, body: changes });
  }

  async deleteRole(roleId: string): Promise<void> {
    await this.rest.request({ operation: "delete security role", method: "DELETE", path: `roles(${roleId})`, acceptStatus: [404] });
  }

  async rolePrivileges(roleId: string): Promise<RolePrivilege[]> {
    const response = await this.rest.request<unknown>(rolePrivilegesRequest(roleId));
    return rolePrivilegesOf(response.data);
  }

  /**
   * Makes the role hold exactly `privileges` (as far as Dataverse allows) and returns what it holds
   * afterwards, in one round trip: a $batch whose change set is ReplacePrivilegesRole then
   * AddPrivilegesRole for the rest (all or nothing, so a failure never leaves a half-copied role),
   * followed by RetrieveRolePrivilegesRole.
   */
  async replacePrivileges(roleId: string, businessUnitId: string, privileges: readonly RolePrivilege[]): Promise<RolePrivilege[]> {
    const body = (batch: readonly RolePrivilege[]) => ({
      Privileges: batch.map((privilege) => ({
        PrivilegeId: privilege.privilegeId,
        Depth: privilege.depth,
        BusinessUnitId: businessUnitId,
      })),
    });
    const [first, ...rest] = chunks(privileges, privilegeBatchSize);
    const writes: BatchOperation[] = [
      {
        operation: "replace role privileges",
        method: "POST",
        path: `roles(${roleId})/Microsoft.Dynamics.CRM.ReplacePrivilegesRole`,
        body: body(first ?? []),
        idempotent: true,
      },
      ...rest.map((batch): BatchOperation => ({
        operation: "add role privileges",
        method: "POST",
        path: `roles(${roleId})/Microsoft.Dynamics.CRM.AddPrivilegesRole`,
        body: body(batch),
        idempotent: true,
      })),
    ];
    const answers = await this.batch("copy role privileges", [{ changeset: writes }, rolePrivilegesRequest(roleId)]);
    return rolePrivilegesOf(answers[answers.length - 1].data);
  }

  /**
   * Several requests in one HTTP round trip (`$batch`): answers in the order of the requests (a
   * change set's requests in place). The first request that failed (a status not accepted) is thrown
   * as the RestApiError it would have been alone. With `continueOnError`, Dataverse runs every
   * request even after a failure (for independent reads whose 404 is an answer).
   */
  async batch(
    operation: string,
    items: readonly BatchItem[],
    options: { continueOnError?: boolean } = {},
  ): Promise<RestResponse<unknown>[]> {
    const operations = items.flatMap((item) => ("changeset" in item ? item.changeset : [item]));
    const { contentType, body } = batchRequestBody(
      this.apiBase,
      items.map((item) => ("changeset" in item ? { changeset: item.changeset } : { request: item })),
    );
    const response = await this.rest.request<unknown>({
      operation,
      method: "POST",
      path: "$batch",
      body,
      headers: { "Content-Type": contentType, ...(options.continueOnError ? { Prefer: "odata.continue-on-error" } : {}) },
      idempotent: operations.every((entry) => entry.idempotent ?? entry.method !== "POST"),
    });
    const answers = parseBatchAnswer(response.headers["content-type"], typeof response.data === "string" ? response.data : "");
    const results: RestResponse<unknown>[] = [];
    items.forEach((item, index) => {
      const answer = answers[index];
      const requests = "changeset" in item ? item.changeset : [item];
      if (!answer) {
        throw new Error(
          `Dataverse at ${this.host()}: ${operation}: the $batch answer holds ${answers.length} parts for ${items.length} entries.`,
        );
      }
      if ("changeset" in answer) {
        answer.changeset.forEach((part, partIndex) => results.push(this.batchResult(requests[partIndex] ?? requests[0], part)));
      } else if (requests.length > 1) {
        // A change set that failed answers its failed request alone; its Content-ID names which.
        const failed = requests[Number(answer.answer.headers["content-id"] ?? 1) - 1] ?? requests[0];
        throw this.batchFailure(failed, answer.answer);
      } else {
        results.push(this.batchResult(requests[0], answer.answer));
      }
    });
    return results;
  }

  private host(): string {
    return new URL(this.apiBase).host;
  }

  private batchResult(request: BatchOperation, answer: BatchPartAnswer): RestResponse<unknown> {
    if ((answer.status >= 200 && answer.status < 300) || request.acceptStatus?.includes(answer.status)) {
      return { status: answer.status, data: answer.data, headers: answer.headers };
    }
    throw this.batchFailure(request, answer);
  }

  private batchFailure(request: BatchOperation, answer: BatchPartAnswer): RestApiError {
    const error = (answer.data as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    return new RestApiError({
      service: "Dataverse",
      host: this.host(),
      operation: request.operation,
      method: request.method,
      path: new URL(request.path.split("?")[0], this.apiBase).pathname,
      status: answer.status,
      code: typeof error?.code === "string" ? error.code : undefined,
      serviceMessage: typeof error?.message === "string" ? error.message : `HTTP ${answer.status}`,
      attempts: 1,
    });
  }

  /** EntityDefinitions(LogicalName='<table>') with the properties named; undefined when there is no such table. */
  async tableDefinition<T>(logicalName: string, select: string): Promise<T | undefined> {
    const response = await this.rest.request<T>({
      operation: `read the definition of table '${logicalName}'`,
      method: "GET",
      path: `EntityDefinitions(LogicalName=${odataString(logicalName)})?$select=${select}`,
      acceptStatus: [404],
    });
    return response.status === 404 ? undefined : response.data;
  }

  /** The privileges of those names (Dataverse compares names without case); unknown names are absent. */
  async privilegesByName(names: readonly string[]): Promise<PrivilegeRecord[]> {
    const found: PrivilegeRecord[] = [];
    for (const batch of chunks(names, 20)) {
      const filter = batch.map((name) => `name eq ${odataString(name)}`).join(" or ");
      found.push(
        ...(await this.list<PrivilegeRecord>(
          `find privileges ${batch.join(", ")}`,
          `privileges?$select=privilegeid,name,canbebasic,canbelocal,canbedeep,canbeglobal&$filter=${encodeURIComponent(filter)}`,
        )),
      );
    }
    return found;
  }

  async findApplicationUsers(applicationId: string): Promise<SystemUserRecord[]> {
    return this.list<SystemUserRecord>(
      `find the application user of app ${applicationId}`,
      "systemusers?$select=systemuserid,applicationid,fullname,isdisabled,deletedstate,_businessunitid_value" +
        "&$expand=systemuserroles_association($select=roleid,name,_businessunitid_value)" +
        `&$filter=${encodeURIComponent(`applicationid eq ${applicationId}`)}`,
    );
  }

  async getUser(userId: string): Promise<SystemUserRecord | undefined> {
    const response = await this.rest.request<SystemUserRecord>(userRequest(userId));
    return response.status === 404 ? undefined : response.data;
  }

  async createApplicationUser(applicationId: string, businessUnitId: string): Promise<string> {
    const operation = `create application user for app ${applicationId}`;
    const response = await this.rest.request<unknown>({
      operation,
      method: "POST",
      path: "systemusers",
      body: {
        applicationid: applicationId,
        accessmode: 4,
        isdisabled: false,
        "businessunitid@odata.bind": `/businessunits(${businessUnitId})`,
      },
      // Dataverse cannot see a service principal Entra has not replicated to it yet.
      retryOnCodes: [ENTRA_NOT_REPLICATED_YET],
      reconcile: async () => {
        const live = (await this.findApplicationUsers(applicationId)).find((user) => !user.deletedstate);
        return live
          ? { status: 204, data: undefined, headers: { "odata-entityid": `${this.apiBase}systemusers(${live.systemuserid})` } }
          : undefined;
      },
    });
    return idFromEntityHeader(response, operation);
  }

  async updateUser(userId: string, changes: Record<string, unknown>, operation: string): Promise<void> {
    await this.rest.request(updateUserRequest(userId, changes, operation));
  }

  /** DELETE once soft-deletes an application user, twice purges it; 404 counts as done. */
  async deleteUser(userId: string, operation: string): Promise<number> {
    return (await this.rest.request(deleteUserRequest(userId, operation))).status;
  }

  async assignRole(userId: string, roleId: string): Promise<void> {
    await this.rest.request(this.assignRoleRequest(userId, roleId));
  }

  async unassignRole(userId: string, roleId: string): Promise<void> {
    await this.rest.request(this.unassignRoleRequest(userId, roleId));
  }

  assignRoleRequest(userId: string, roleId: string): BatchOperation {
    return {
      operation: `assign role ${roleId}`,
      method: "POST",
      path: `systemusers(${userId})/systemuserroles_association/$ref`,
      body: { "@odata.id": `${this.apiBase}roles(${roleId})` },
      // Associating twice is harmless, so a lost answer may simply be resent.
      idempotent: true,
    };
  }

  unassignRoleRequest(userId: string, roleId: string): BatchOperation {
    return {
      operation: `remove role ${roleId}`,
      method: "DELETE",
      path: `systemusers(${userId})/systemuserroles_association/$ref?$id=${encodeURIComponent(`${this.apiBase}roles(${roleId})`)}`,
      acceptStatus: [404],
    };
  }

  private async list<T>(operation: string, path: string): Promise<T[]> {
    const response = await this.rest.request<{ value: T[] }>({ operation, method: "GET", path });
    return response.data.value ?? [];
  }
}

/** RetrieveRolePrivilegesRole of a role, as a request (alone or in a $batch). */
export function rolePrivilegesRequest(roleId: string): BatchOperation {
  return { operation: "read role privileges", method: "GET", path: `RetrieveRolePrivilegesRole(RoleId=${roleId})` };
}

/** The privileges in a RetrieveRolePrivilegesRole answer. */
export function rolePrivilegesOf(data: unknown): RolePrivilege[] {
  const rows = (data as { RolePrivileges?: { PrivilegeId: string; PrivilegeName?: string; Depth: unknown }[] } | undefined)?.RolePrivileges;
  return (rows ?? []).map((privilege) => ({
    privilegeId: privilege.PrivilegeId.toLowerCase(),
    name: privilege.PrivilegeName ?? privilege.PrivilegeId.toLowerCase(),
    depth: depthName(privilege.Depth),
  }));
}

/** The root business unit, or the one named, as a request (alone or in a $batch). */
export function businessUnitRequest(name?: string): BatchOperation {
  const filter = name ? `name eq ${odataString(name)}` : "parentbusinessunitid eq null";
  return {
    operation: name ? `find business unit '${name}'` : "find the root business unit",
    method: "GET",
    path: `businessunits?$select=businessunitid,name&$filter=${encodeURIComponent(filter)}`,
  };
}

/** A role given by name or by template id in a business unit, as a request (alone or in a $batch). */
export function sourceRoleRequest(nameOrTemplateId: string, businessUnitId: string): BatchOperation {
  const filter = isGuid(nameOrTemplateId)
    ? `(_roletemplateid_value eq ${nameOrTemplateId} or roleid eq ${nameOrTemplateId}) and _businessunitid_value eq ${businessUnitId}`
    : `name eq ${odataString(nameOrTemplateId)} and _businessunitid_value eq ${businessUnitId}`;
  return {
    operation: `find source role '${nameOrTemplateId}'`,
    method: "GET",
    path: `roles?$select=${roleFields}&$filter=${encodeURIComponent(filter)}`,
  };
}

/** The roles of a name in a business unit, as a request (alone or in a $batch). */
export function findRoleByNameRequest(name: string, businessUnitId: string): BatchOperation {
  const filter = `name eq ${odataString(name)} and _businessunitid_value eq ${businessUnitId}`;
  return {
    operation: `find security role '${name}'`,
    method: "GET",
    path: `roles?$select=${roleFields}&$filter=${encodeURIComponent(filter)}`,
  };
}

/** The rows of a collection answer ({ value: [...] }). */
export function rowsOf<T>(data: unknown): T[] {
  return ((data as { value?: T[] } | undefined)?.value ?? []) as T[];
}

/** GET systemusers(<id>) with its roles, as a request (404 is an answer: the user is gone). */
export function userRequest(userId: string): BatchOperation {
  return {
    operation: "read application user",
    method: "GET",
    path:
      `systemusers(${userId})?$select=systemuserid,applicationid,fullname,isdisabled,deletedstate,_businessunitid_value` +
      "&$expand=systemuserroles_association($select=roleid,name,_businessunitid_value)",
    acceptStatus: [404],
  };
}

export function updateUserRequest(userId: string, changes: Record<string, unknown>, operation: string): BatchOperation {
  return { operation, method: "PATCH", path: `systemusers(${userId})`, body: changes };
}

export function deleteUserRequest(userId: string, operation: string): BatchOperation {
  return { operation, method: "DELETE", path: `systemusers(${userId})`, acceptStatus: [404] };
}

/** GET roles(<id>) with the fields the providers use, as a request (404 is an answer: the role is gone). */
export function roleRequest(roleId: string): BatchOperation {
  return {
    operation: "read security role",
    method: "GET",
    path: `roles(${roleId})?$select=${roleFields}`,
    acceptStatus: [404],
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}
