/**
 * Ids of earlier versions: they declared the grant with azuread's resource, whose id is
 * "/oauth2PermissionGrants/<id>"; the alias (index.ts) carries that state over, id included.
 */

/** The grant's Graph id from the resource id: the grant's own id, or azuread's form of it. */
export function grantIdOf(id: string): string {
  return id.replace(/^\/oauth2PermissionGrants\//, "");
}
