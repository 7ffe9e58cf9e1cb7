// Microsoft Graph application permissions, as each route requires them (the `roles` claim of an
// app-only token). Sources (V): the "Permissions" table of each Graph API page on
// learn.microsoft.com/graph/api (application-post-applications, application-update,
// application-addpassword, serviceprincipal-post-serviceprincipals, oauth2permissiongrant-post, ...)
// and learn.microsoft.com/graph/permissions-reference (Application.ReadWrite.OwnedBy: "manage
// applications it owns"). The emulator's simplification (G): Directory.* permissions stand in for
// the Application.* ones as Graph's tables list them.
import { graphError } from "./errors";
import type { GraphCall } from "./graph";

/** What a route does. */
type GraphAction = "read" | "write" | "create" | "readGrants" | "writeGrants";

/** "all": every object; "owned": only objects the caller owns (Application.ReadWrite.OwnedBy). */
export type GraphAccess = "all" | "owned";

const READ_ALL = ["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
const WRITE_ALL = ["Application.ReadWrite.All", "Directory.ReadWrite.All"];
const OWNED_BY = "Application.ReadWrite.OwnedBy";
const READ_GRANTS = [
  "DelegatedPermissionGrant.Read.All",
  "DelegatedPermissionGrant.ReadWrite.All",
  "Directory.Read.All",
  "Directory.ReadWrite.All",
];
const WRITE_GRANTS = ["DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"];

function denied(): Error {
  return graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
}

/**
 * Throws 403 Authorization_RequestDenied unless the caller's token carries a permission the
 * action needs. With OwnedBy only, an existing object must be owned by the caller; a list is
 * then limited to owned objects (the answer says which).
 */
export function requirePermission(call: GraphCall, action: GraphAction, target?: { owners: string[] }): GraphAccess {
  if (!call.ctx.core.config.strict.graphPermissions) return "all";
  const roles = new Set(call.claims.roles ?? []);
  const hasAny = (names: string[]) => names.some((name) => roles.has(name));
  switch (action) {
    case "readGrants":
      if (hasAny(READ_GRANTS)) return "all";
      throw denied();
    case "writeGrants":
      if (hasAny(WRITE_GRANTS)) return "all";
      throw denied();
    case "read":
      if (hasAny(READ_ALL)) return "all";
      break;
    case "write":
    case "create":
      if (hasAny(WRITE_ALL)) return "all";
      break;
  }
  if (!roles.has(OWNED_BY)) throw denied();
  // A new application needs no owner check: the caller becomes its owner.
  if (action === "create" && target === undefined) return "owned";
  if (target === undefined) return "owned";
  if (!target.owners.includes(call.claims.oid)) throw denied();
  return "owned";
}

const POLICY_READ = ["Policy.Read.All", "Policy.Read.ApplicationConfiguration", "Policy.ReadWrite.ApplicationConfiguration"];
const POLICY_WRITE = ["Policy.ReadWrite.ApplicationConfiguration"];

/**
 * App management policies (V: tenantappmanagementpolicy-get / -update): reading needs
 * Policy.Read.All (or Policy.Read.ApplicationConfiguration, or the write permission); writing needs
 * Policy.ReadWrite.ApplicationConfiguration. Else 403 Authorization_RequestDenied.
 */
export function requirePolicyPermission(call: GraphCall, action: "read" | "write"): void {
  if (!call.ctx.core.config.strict.graphPermissions) return;
  const roles = new Set(call.claims.roles ?? []);
  if (!(action === "read" ? POLICY_READ : POLICY_WRITE).some((name) => roles.has(name))) throw denied();
}
