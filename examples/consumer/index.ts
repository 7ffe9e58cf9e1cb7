/**
 * A Pulumi program of its own that uses dataverse-s2s as a package (README, "Using it as a package"),
 * as any team's infrastructure project would. The end-to-end test tests/e2e/consumer.test.ts installs
 * the packed package into a copy of this folder and runs it against the emulator.
 *
 * Config: `environmentUrl`, and the azuread provider's own settings (README.md beside this file).
 */
import * as pulumi from "@pulumi/pulumi";
import { ClonedSecurityRole, DataverseIntegration } from "dataverse-s2s";

const config = new pulumi.Config();
const environmentUrl = config.require("environmentUrl");

// The minimal use: everything else has the defaults of the dataverse-s2s stack's configuration. The
// integration gets its own role "API User" copied from System Administrator, a client secret valid
// 180 days that `pulumi up` renews from 30 days before it expires, and a check of the environment
// before anything is written.
const etl = new DataverseIntegration("etl", { environmentUrl, displayName: "ETL" });

// A role several integrations share is declared once and passed to each of them.
const reportingRole = new ClonedSecurityRole("reporting-role", {
  environmentUrl,
  name: "Reporting API User",
  sourceRole: "System Administrator",
});
const reports = new DataverseIntegration("reports", { environmentUrl, displayName: "Reports", role: { roleId: reportingRole.id } });
const dashboards = new DataverseIntegration("dashboards", {
  environmentUrl,
  displayName: "Dashboards",
  role: { roleId: reportingRole.id },
});

// What the ETL connector's connection dialog asks for (the client secret is a Pulumi secret:
// `pulumi stack output --show-secrets clientSecret`), and the ids made.
export const { tenantId, clientId, clientSecret, secretExpiresAt, applicationUserId, securityRoleId } = etl;
export { environmentUrl };
export const sharedRole = {
  roleId: reportingRole.id,
  reports: { clientId: reports.clientId, clientSecret: reports.clientSecret, applicationUserId: reports.applicationUserId },
  dashboards: { clientId: dashboards.clientId, clientSecret: dashboards.clientSecret, applicationUserId: dashboards.applicationUserId },
};
