// One error factory per service, each emitting that service's own error body. Handlers throw a
// ServiceError; the server renders it with the emulator clock (bodies carry timestamps).
import { randomUUID } from "node:crypto";

export type Service = "entra" | "graph" | "dataverse" | "admin" | "arm" | "keyvault" | "identity";

export class ServiceError extends Error {
  constructor(
    readonly service: Service,
    readonly status: number,
    readonly code: string,
    message: string,
    private readonly render: (now: Date) => unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  body(now: Date): unknown {
    return this.render(now);
  }
}

/** Entra ID (AADSTS) error: {error, error_description, error_codes, timestamp, trace_id, correlation_id, error_uri}. */
export function entraError(
  status: number,
  error: string,
  aadsts: number,
  description: string,
  headers: Record<string, string> = {},
): ServiceError {
  return new ServiceError(
    "entra",
    status,
    `AADSTS${aadsts}`,
    `AADSTS${aadsts}: ${description}`,
    (now) => {
      const traceId = randomUUID();
      const correlationId = randomUUID();
      const timestamp = now
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z");
      return {
        error,
        error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
        error_codes: [aadsts],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
      };
    },
    headers,
  );
}

/** Microsoft Graph error: {error:{code, message, innerError:{date, request-id, client-request-id}}}. */
export function graphError(status: number, code: string, message: string, headers: Record<string, string> = {}): ServiceError {
  return new ServiceError(
    "graph",
    status,
    code,
    message,
    (now) => {
      const requestId = randomUUID();
      return {
        error: {
          code,
          message,
          innerError: { date: now.toISOString().replace(/\.\d+Z$/, ""), "request-id": requestId, "client-request-id": requestId },
        },
      };
    },
    headers,
  );
}

/** Dataverse Web API error: {error:{code:"0x8004....", message}}. */
export function dataverseError(status: number, code: string, message: string, headers: Record<string, string> = {}): ServiceError {
  return new ServiceError("dataverse", status, code, message, () => ({ error: { code, message } }), headers);
}

/** Azure Resource Manager error: {error:{code, message}} (ARM's common error shape, also used by the resource providers). */
export function armError(status: number, code: string, message: string, headers: Record<string, string> = {}): ServiceError {
  return new ServiceError("arm", status, code, message, () => ({ error: { code, message } }), headers);
}

/** Key Vault data plane error: {error:{code, message, innererror?:{code}}}. */
export function keyVaultError(
  status: number,
  code: string,
  message: string,
  innerCode?: string,
  headers: Record<string, string> = {},
): ServiceError {
  return new ServiceError(
    "keyvault",
    status,
    code,
    message,
    () => ({ error: { code, message, ...(innerCode ? { innererror: { code: innerCode } } : {}) } }),
    headers,
  );
}

/** App Service managed identity endpoint error: {statusCode, message, correlationId}. */
export function identityEndpointError(status: number, message: string): ServiceError {
  return new ServiceError("identity", status, String(status), message, () => ({
    statusCode: status,
    message,
    correlationId: randomUUID(),
  }));
}

/** Admin API error: {error:{code, message}} (emulator-specific, never seen by real clients). */
export function adminError(status: number, message: string): ServiceError {
  return new ServiceError("admin", status, "EmulatorAdminError", message, () => ({ error: { code: "EmulatorAdminError", message } }));
}

/**
 * Dataverse error codes. V = documented (reference/dataverse-web-api.md or Microsoft's error code
 * list); G = the reference is silent, chosen here and listed in emulator/README.md.
 */
export const DataverseErrorCode = {
  /** V: "<entity> With Id = <guid> Does Not Exist" (404). */
  objectDoesNotExist: "0x80040217",
  /** V: duplicate key, 412 "A record with matching key values already exists." */
  duplicateKey: "0x80040237",
  /** V: application user without a business unit. */
  missingBusinessUnit: "0x80040530",
  /** V (brief): caller lacks a privilege, 403 "... is missing prvCreateRole privilege ...". */
  missingPrivilege: "0x80040220",
  /** V: service protection, requests per window. */
  tooManyRequests: "0x80072322",
  /** V: service protection, execution time (not emulated; listed for completeness). */
  executionTimeExceeded: "0x80072321",
  /** V: service protection, concurrent requests. */
  tooManyConcurrent: "0x80072326",
  /** V (Microsoft's list, AccessTokenExpired): 401 "The requested resource requires authentication." */
  authenticationRequired: "0x8005F101",
  /** V (Microsoft's list, AADError): used for "the app has no service principal in the tenant" (G usage). */
  aadError: "0x80072559",
  /** G: the caller's app id has no live application user: 403 "The user is not a member of the organization." */
  notMemberOfOrganization: "0x80072560",
  /** G: the caller's application user is disabled (403). */
  callerDisabled: "0x80040225",
  /** G: DELETE of an application user that is not disabled (400). */
  deleteEnabledUser: "0x80040224",
  /** G: role and user in different business units (400). */
  roleNotInUserBusinessUnit: "0x80040227",
  /** G: invalid argument (bad Depth, missing field, bad body) (400). */
  invalidArgument: "0x80040203",
  /** G: unknown property in $select/$filter/body, or bad query syntax (400). */
  invalidProperty: "0x80060888",
  /** G: request the emulator does not implement (501). */
  notImplemented: "0x8006088a",
  /** G: injected 503. */
  serviceUnavailable: "0x80040216",
} as const;
