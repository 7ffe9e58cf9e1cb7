/**
 * Pure checks shared by the config reader and the dynamic providers: each returns what is wrong and
 * what to do, or undefined when the value is fine.
 */

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a GUID in its usual 8-4-4-4-12 hexadecimal form. */
export const isGuid = (value: string): boolean => guidPattern.test(value);

/** True for an object with fields (not null, not an array), as a parsed setting or JSON body may be. */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Checks an environment URL. Only shapes that are certainly wrong are refused, so that sovereign
 * clouds, custom hosts and the offline emulator (https://localhost:<port>) pass.
 */
export function environmentUrlProblem(value: unknown): string | undefined {
  const key = "dataverse-s2s:environmentUrl";
  if (typeof value !== "string" || value.trim() === "") {
    return `${key} is required: the environment URL, e.g. https://contoso.crm.dynamics.com (Power Platform admin center > Environments > Environment URL).`;
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return `${key} '${value}' is not a URL; use the form https://contoso.crm.dynamics.com.`;
  }
  if (url.protocol !== "https:") {
    return `${key} '${value}' must use https (Dataverse only answers on https); use https://${url.host}.`;
  }
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    return `${key} '${value}' must be the environment root without a path (drop '${url.pathname}${url.search}'); use https://${url.host}.`;
  }
  if (url.username || url.password) {
    return `${key} must not carry credentials; give them through the environment (AZURE_CLIENT_ID, ...).`;
  }
  const host = url.hostname.toLowerCase();
  if (
    /(^|\.)(powerapps\.com|powerplatform\.microsoft\.com|portal\.azure\.com|office\.com)$/.test(host) ||
    host === "admin.powerplatform.com"
  ) {
    return `${key} '${value}' is a portal address, not an environment; use the environment URL, e.g. https://contoso.crm.dynamics.com.`;
  }
  if (host.endsWith(".dynamics.com") && !/^[a-z0-9-]+\.(api\.)?crm\d*\.dynamics\.com$/.test(host)) {
    return `${key} '${value}' is not a Dataverse environment host; it should look like https://contoso.crm.dynamics.com (or crm4, crm11, ...).`;
  }
  return undefined;
}
