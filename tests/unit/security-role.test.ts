// Pins how the stack picks an integration's role resource (issue 10) with Pulumi mocks: a spec role
// becomes a SpecSecurityRole with the declared privileges, namesakes share it, clone-minus passes
// its exclusions on, and only a copy of System Administrator (by name or template id) warns.
import * as pulumi from "@pulumi/pulumi";
import { recordResources, valueOf } from "../support/pulumi-mocks";

const { recorded, byType } = recordResources({
  resourceState: (args) => ({
    id: `${args.type.split(":").pop()}-${args.name}`,
    state: { ...args.inputs, clientId: `client-of-${args.name}` },
  }),
  call: (args) =>
    args.token === "azuread:index/getServicePrincipal:getServicePrincipal"
      ? { objectId: "crm-sp", clientId: args.inputs.clientId, oauth2PermissionScopeIds: { user_impersonation: "scope" } }
      : undefined,
  preview: true,
  organization: "organization",
});

import { declareStack } from "../../components/stack";
import { parseStackConfig } from "../../config/stack-config";
import { systemAdministratorTemplateId } from "../../lib/defaults";

async function declare(integrations: Record<string, unknown>[]) {
  recorded.length = 0;
  const warnings: string[] = [];
  const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => {
    warnings.push(message);
  });
  try {
    const outputs = declareStack(parseStackConfig({ environmentUrl: "https://localhost:8443", integrations }));
    // The roles are registered once their ids settle (the other outputs need states these mocks leave out).
    await Promise.all(Object.values(outputs).map((values) => valueOf(values.securityRoleId)));
    // Only the role warnings: the environment check warns too, in a preview without a Dataverse credential.
    return { outputs, warnings: warnings.filter((warning) => warning.startsWith("The security role")) };
  } finally {
    warn.mockRestore();
  }
}

const contactSync = { name: "Contact Sync", privileges: { contact: ["read", "write"] }, miscPrivileges: ["prvExportToExcel"] };

test("a spec role is a SpecSecurityRole with the declared privileges, shared by namesakes, and warns nothing", async () => {
  const { outputs, warnings } = await declare([
    { name: "sync", displayName: "Sync", role: contactSync },
    { name: "sync-two", displayName: "Sync two", role: contactSync },
  ]);
  const specs = byType("SpecSecurityRole");
  expect(specs.map((role) => role.name)).toEqual(["role-contact-sync"]);
  expect(specs[0].inputs).toMatchObject({
    name: "Contact Sync",
    privileges: { contact: { read: "Global", write: "Global" } },
    miscPrivileges: ["prvExportToExcel"],
  });
  expect(byType("ClonedSecurityRole")).toEqual([]);
  expect(await valueOf(outputs["sync-two"].securityRoleId)).toBe(await valueOf(outputs.sync.securityRoleId));
  expect(warnings).toEqual([]);
});

test("a clone of System Administrator, by name or template id, warns naming the elevation risk and the spec form", async () => {
  const { warnings } = await declare([
    { name: "etl", displayName: "ETL", role: { name: "API User", excludePrivileges: ["prvAssignRole"] } },
    { name: "other", displayName: "Other", role: { name: "Other copy", cloneFrom: systemAdministratorTemplateId } },
    { name: "basic", displayName: "Basic", role: { name: "Basic copy", cloneFrom: "Basic User" } },
  ]);
  // Registration order is not declaration order (ids settle asynchronously): compare by name.
  const clones = byType("ClonedSecurityRole").map((role) => [role.name, role.inputs.excludePrivileges]);
  expect(clones.sort(([a], [b]) => String(a).localeCompare(String(b)))).toEqual([
    ["role-api-user", ["prvAssignRole"]],
    ["role-basic-copy", []],
    ["role-other-copy", []],
  ]);
  expect(warnings).toHaveLength(2);
  warnings.sort();
  expect(warnings[0]).toMatch(/'API User' is a copy of System Administrator.*elevation of privilege.*role\.privileges/s);
  expect(warnings[1]).toMatch(/'Other copy' is a copy of System Administrator/);
});
