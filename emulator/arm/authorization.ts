// Microsoft.Authorization: role assignments at any scope (PUT, GET, DELETE, GET the list with
// $filter=atScope() or principalId eq '...') and the built-in role definitions (GET, GET the list
// with $filter=roleName eq '...'). Which roles exist and what they allow: roles.ts.
// V: azure-rest-api-specs specification/authorization/resource-manager/Microsoft.Authorization/stable/
// 2022-04-01 (RoleAssignments_Create 200/201, _Get, _Delete 200/204, _ListForScope; RoleDefinitions_Get,
// _List), learn.microsoft.com/azure/role-based-access-control/troubleshooting (RoleAssignmentExists,
// PrincipalNotFound and the advice to set principalType, RoleAssignmentUpdateNotPermitted,
// InvalidRoleAssignmentId, RoleDefinitionDoesNotExist), .../role-assignments-rest (the
// Microsoft.Authorization/roleAssignments/write permission).
import { armError } from "../errors";
import { isGuid } from "../http";
import { armBody, armErrors, authorize, type ArmCall } from "./pipeline";
import { BUILT_IN_ROLES, roleAssignmentDoc, roleDefinition, roleDefinitionDoc, scopeCovers } from "./roles";

/** api-versions of roleAssignments: those @pulumi/azure-native 3.28.0 lists (default 2022-04-01). */
export const ROLE_ASSIGNMENT_API_VERSIONS = ["2020-08-01-preview", "2020-10-01-preview", "2022-04-01"] as const;
/** api-versions of roleDefinitions: those @pulumi/azure-native 3.28.0 lists (default 2022-05-01-preview). */
export const ROLE_DEFINITION_API_VERSIONS = ["2022-04-01", "2022-05-01-preview"] as const;

const PRINCIPAL_TYPES = ["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"];

/** Routes {scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}]. */
export async function authorizationRequest(call: ArmCall): Promise<boolean> {
  const type = call.target.types[0]?.toLowerCase();
  if (type === "roleassignments") return roleAssignments(call);
  if (type === "roledefinitions") return roleDefinitions(call);
  return false;
}

/** The scope must exist where the emulator models it (subscription, resource group). */
function checkScope(call: ArmCall): string {
  const { target, azure } = call;
  const scope = target.scope ?? "";
  if (
    target.resourceGroup !== undefined &&
    call.subscription &&
    !azure.resourceGroup(call.subscription.subscriptionId, target.resourceGroup)
  ) {
    throw armErrors.resourceGroupNotFound(target.resourceGroup);
  }
  return scope;
}

async function roleAssignments(call: ArmCall): Promise<boolean> {
  const { ctx, azure, target } = call;
  const scope = checkScope(call);
  const name = target.names[0];
  if (name === undefined) {
    if (ctx.method !== "GET") return false;
    authorize(call, "Microsoft.Authorization/roleAssignments/read", scope || "/");
    ctx.send(200, { value: listAssignments(call, scope) });
    return true;
  }
  const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
  const existing = azure.roleAssignment(id);
  switch (ctx.method) {
    case "GET":
      authorize(call, "Microsoft.Authorization/roleAssignments/read", id);
      if (!existing) throw armError(404, "RoleAssignmentNotFound", `The role assignment '${name}' is not found.`);
      ctx.send(200, existing);
      return true;
    case "PUT":
      authorize(call, "Microsoft.Authorization/roleAssignments/write", id);
      await putAssignment(call, scope, name);
      return true;
    case "DELETE":
      authorize(call, "Microsoft.Authorization/roleAssignments/delete", id);
      if (!existing) {
        ctx.send(204, undefined);
        return true;
      }
      azure.deleteRoleAssignment(id);
      ctx.send(200, existing);
      return true;
    default:
      return false;
  }
}

/** Assignments that apply at the scope (at it or above) and, unless atScope(), those below it; optionally one principal's. */
function listAssignments(call: ArmCall, scope: string): unknown[] {
  const filter = call.ctx.query.get("$filter") ?? "";
  const atScopeOnly = /atScope\(\)/i.test(filter);
  const principal = /principalId\s+eq\s+'([^']+)'/i.exec(filter)?.[1];
  return call.azure.roleAssignments().filter((assignment) => {
    const properties = assignment.properties as Record<string, string>;
    if (principal && properties.principalId.toLowerCase() !== principal.toLowerCase()) return false;
    return scopeCovers(properties.scope === "/" ? "" : properties.scope, scope) || (!atScopeOnly && scopeCovers(scope, properties.scope));
  });
}

async function putAssignment(call: ArmCall, scope: string, name: string): Promise<void> {
  const { ctx, azure } = call;
  if (!isGuid(name)) {
    throw armErrors.badRequest(
      "InvalidRoleAssignmentId",
      `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
    );
  }
  const body = await armBody(ctx);
  const properties = body.properties as Record<string, unknown> | undefined;
  if (!properties || typeof properties !== "object") throw armErrors.invalidContent("properties is required");
  const { roleDefinitionId, principalId, principalType, description } = properties;
  const roleId = typeof roleDefinitionId === "string" ? (/\/roleDefinitions\/([^/]+)$/i.exec(roleDefinitionId)?.[1] ?? "") : "";
  const role = roleDefinition(roleId);
  if (!role) {
    throw armErrors.badRequest(
      "RoleDefinitionDoesNotExist",
      `The specified role definition with ID '${roleId || String(roleDefinitionId)}' does not exist.`,
    );
  }
  if (typeof principalId !== "string" || !isGuid(principalId)) {
    throw armErrors.badRequest("InvalidPrincipalId", "A valid principal ID must be provided for role assignment.");
  }
  if (principalType !== undefined && (typeof principalType !== "string" || !PRINCIPAL_TYPES.includes(principalType))) {
    throw armErrors.badRequest(
      "InvalidPrincipalType",
      `The principal type '${String(principalType)}' is not valid. It must be one of ${PRINCIPAL_TYPES.join(", ")}.`,
    );
  }
  // Without principalType ARM looks the principal up in the directory; with it, it trusts the caller
  // (the documented way around replication delay).
  const principal = azure.directory.servicePrincipalById(principalId);
  if (!principal && principalType === undefined) {
    throw armErrors.badRequest(
      "PrincipalNotFound",
      `Principal ${principalId.replace(/-/g, "")} does not exist in the directory ${ctx.core.store.state.tenant.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
    );
  }
  const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
  const existing = azure.roleAssignment(id);
  const sameGrant = (properties: Record<string, string>) =>
    properties.principalId.toLowerCase() === principalId.toLowerCase() &&
    properties.roleDefinitionId.toLowerCase().endsWith(`/${role.id}`) &&
    properties.scope.toLowerCase() === (scope || "/").toLowerCase();
  if (existing) {
    if (!sameGrant(existing.properties as Record<string, string>)) {
      throw armErrors.conflict(
        "RoleAssignmentUpdateNotPermitted",
        "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
      );
    }
    ctx.send(200, existing);
    return;
  }
  if (azure.roleAssignments().some((assignment) => sameGrant(assignment.properties as Record<string, string>))) {
    throw armErrors.conflict("RoleAssignmentExists", "The role assignment already exists.");
  }
  const doc = roleAssignmentDoc({
    scope,
    name: name.toLowerCase(),
    subscriptionId: call.target.subscriptionId || (call.subscription?.subscriptionId ?? ""),
    roleId: role.id,
    principalId: principalId.toLowerCase(),
    principalType: (principalType as string | undefined) ?? (principal ? "ServicePrincipal" : "User"),
    createdBy: call.caller.objectId,
    now: ctx.core.now().toISOString(),
    description: typeof description === "string" ? description : null,
  });
  azure.addRoleAssignment(doc);
  ctx.send(201, doc);
}

function roleDefinitions(call: ArmCall): boolean {
  const { ctx, target } = call;
  if (ctx.method !== "GET") return false;
  const subscriptionId = call.subscription?.subscriptionId;
  const name = target.names[0];
  if (name === undefined) {
    const roleName = /roleName\s+eq\s+'([^']+)'/i.exec(ctx.query.get("$filter") ?? "")?.[1];
    const roles = BUILT_IN_ROLES.filter((role) => !roleName || role.roleName.toLowerCase() === roleName.toLowerCase());
    ctx.send(200, { value: roles.map((role) => roleDefinitionDoc(role, subscriptionId)) });
    return true;
  }
  const role = roleDefinition(name);
  if (!role) throw armError(404, "RoleDefinitionDoesNotExist", `The specified role definition with ID '${name}' does not exist.`);
  ctx.send(200, roleDefinitionDoc(role, subscriptionId));
  return true;
}
