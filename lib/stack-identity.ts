import * as pulumi from "@pulumi/pulumi";

/**
 * "<organization>/<project>/<stack>": names the running stack in the markers of the objects it makes
 * (app registrations' tags, roles' descriptions), so that a run takes over or removes only its own.
 */
export function stackIdentity(): string {
  return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}
