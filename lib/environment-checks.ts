/**
 * What the stack needs from the environment before it writes anything, looked up with the deployer's
 * own tokens: the Dataverse environment answering (WhoAmI), the business unit, every role to clone
 * and every existing role, the privileges to create roles and users, and the Dynamics CRM service
 * principal in the tenant (Graph). Every problem found is listed with the setting it concerns and what
 * to check, so that one failed preview names them all.
 *
 * Plain functions only, no module-level Set, Map or class instance: the EnvironmentCheck dynamic
 * provider that calls them is serialized by Pulumi, and such values do not survive it.
 */
import { graphClient } from "./graph-client";
import { credentialFromEnvironment, defaultScope } from "./credentials";
import {
  BatchOperation,
  businessUnitRequest,
  DataverseClient,
  findRoleByNameRequest,
  RoleRecord,
  rolePrivilegesOf,
  rolePrivilegesRequest,
  rowsOf,
  sourceRoleRequest,
  SystemUserRecord,
  userRequest,
} from "./dataverse-client";
import { dynamicsCrmAppId, roleDefaults, systemAdministratorTemplateId } from "./defaults";
import { PrivilegeSpec, resolvePrivilegeSpec, unknownPrivilegeNames } from "./privilege-spec";
import { RestApiError, type RestResponse } from "./rest-client";
import { currentTime } from "./clock";
import { passwordPolicyProblem, readPasswordPolicy, type SecretSettings } from "./app-management-policies";
import { armClient, identityPrincipalProblem, resourceGroupProblem } from "./managed-identities";

/** A value read from the stack's configuration, with the setting it came from. */
export interface ConfiguredName {
  /** The setting as a user writes it: "dataverse-s2s:integrations[0].role.cloneFrom". */
  readonly setting: string;
  readonly name: string;
}

interface EnvironmentLookups {
  readonly environmentUrl: string;
  /** Business unit name; empty for the root business unit. */
  readonly businessUnit: string;
  /** Roles to copy (names or template ids). */
  readonly rolesToClone: readonly ConfiguredName[];
  /** Roles used as they are. */
  readonly existingRoles: readonly ConfiguredName[];
  /** Roles declared by their privileges; `setting` is the role's ("dataverse-s2s:integrations[0].role"). */
  readonly specRoles?: readonly (PrivilegeSpec & { readonly setting: string })[];
  /**
   * Roles made by hand that a role of the stack takes over (adopt.roleName): `name` is the hand-made
   * role's, `roleName` the stack's role (role.name), which it is called once taken over; one of them must exist.
   */
  readonly adoptedRoles?: readonly (ConfiguredName & { readonly roleName: string })[];
  /** Privileges a clone leaves out (role.excludePrivileges), each with its setting. */
  readonly excludedPrivileges?: readonly ConfiguredName[];
  /** The azuread provider's cloud; empty for the global cloud. */
  readonly metadataHost: string;
  readonly cloudEnvironment: string;
  /** Integrations with a client secret, checked against the tenant's app management policy. */
  readonly secretCredentials?: readonly SecretCredentialCheck[];
  /** Existing managed identities by client id (given, or read from a resource id by the program): each must have its service principal. */
  readonly managedIdentities?: readonly ManagedIdentityCheck[];
  /** Resource groups the stack makes managed identities in: each must exist and be readable by the deployer. */
  readonly identityResourceGroups?: readonly IdentityResourceGroupCheck[];
  /** The azure-native provider's cloud (empty: the azuread provider's, then the public cloud). */
  readonly armMetadataHost?: string;
  readonly armEnvironment?: string;
}

/** An existing managed identity, with the setting that named it. */
export interface ManagedIdentityCheck {
  readonly setting: string;
  readonly clientId: string;
}

/** A resource group a managed identity is made in, with its setting. */
export interface IdentityResourceGroupCheck {
  readonly setting: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
}

/** One integration's client secret settings, with the config keys that set them. */
export interface SecretCredentialSettings extends SecretSettings {
  readonly integration: string;
}

/** An integration's client secret settings, for the tenant's credential policy. */
interface SecretCredentialCheck extends SecretCredentialSettings {
  /**
   * The same lifetime passed this check in an earlier run: a policy tightened since then does not
   * fail the run; the secret's schedule brings the next secret within the policy (SecretSchedule).
   */
  readonly accepted: boolean;
}

interface EnvironmentProblem {
  readonly setting: string;
  readonly problem: string;
  /** What the user should check or change. */
  readonly check: string;
}

interface EnvironmentReport {
  readonly problems: EnvironmentProblem[];
  /** Set when no credential for Dataverse was found at all (a pull-request job without secrets). */
  readonly noCredential?: string;
}

const environmentUrlSetting = "dataverse-s2s:environmentUrl";
const businessUnitSetting = "dataverse-s2s:businessUnit";

/** Privileges the stack's own writes need; the role ones only when a role is cloned. */
function requiredPrivileges(clonesRoles: boolean): string[] {
  const always = ["prvReadBusinessUnit", "prvReadRole", "prvReadUser", "prvCreateUser", "prvWriteUser", "prvAssignRole"];
  return clonesRoles ? [...always, "prvCreateRole", "prvWriteRole", "prvDeleteRole"] : always;
}

/** True when the credential chain found no credential at all (as opposed to a wrong one). */
export function isMissingCredential(error: unknown): boolean {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  return /CredentialUnavailableError|credential(s)? (is |are )?unavailable|EnvironmentCredential is unavailable/i.test(text);
}

/**
 * Gets a Dataverse token with the environment's credential; resolves to the reason when there is no
 * credential at all. The shared credential (lib/credentials.ts) keeps the token, so the lookups
 * that follow, and the providers in the same process, do not ask Entra again.
 */
export async function dataverseCredentialProblem(environmentUrl: string): Promise<string | undefined> {
  const credential = credentialFromEnvironment();
  try {
    const token = await credential.getToken(defaultScope(environmentUrl));
    return token ? undefined : "the credential returned no token";
  } catch (error) {
    if (!isMissingCredential(error)) return undefined; // a wrong credential is reported by the lookups
    return (error instanceof Error ? error.message : String(error)).split("\n")[0];
  }
}

const unreachableCheck =
  "check the org name in the URL (https://<org>.crm<N>.dynamics.com, from the Power Platform admin center), " +
  "that its host name resolves (DNS) and is reachable from this machine, and that the deploying identity " +
  "(AZURE_CLIENT_ID) is an enabled application user of that environment";

function reason(error: unknown): string {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === "string" && message !== "" ? message.split("\n")[0] : `unexpected failure: ${String(error)}`;
}

/**
 * Looks up everything; never throws for what the environment lacks, only lists it. Once a credential
 * is there, the Entra and Azure lookups run beside the Dataverse round trips (they need nothing from
 * Dataverse), so a check costs the longer of the two chains, not their sum. The problems keep one
 * order whatever answers first.
 */
export async function lookUpEnvironment(lookups: EnvironmentLookups): Promise<EnvironmentReport> {
  const credentialProblem = await dataverseCredentialProblem(lookups.environmentUrl);
  if (credentialProblem) {
    const problem = {
      setting: environmentUrlSetting,
      problem: `no credential for Dataverse: ${credentialProblem}`,
      check:
        "set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID (or workload identity, or 'az login') for the deploying identity",
    };
    return { problems: [problem], noCredential: credentialProblem };
  }
  const whoAmIProblems: EnvironmentProblem[] = [];
  const [tenant, dataverse] = await Promise.all([
    // Entra: Dataverse makes application users only for tenants where Dynamics CRM is present.
    Promise.all([dynamicsCrmProblems(lookups), credentialPolicyProblems(lookups), managedIdentityProblems(lookups)]),
    dataverseProblems(lookups, whoAmIProblems),
  ]);
  return { problems: [...whoAmIProblems, ...tenant.flat(), ...dataverse] };
}

/** The Dataverse lookups after WhoAmI (whose problem goes to `whoAmIProblems`, listed first); none when WhoAmI failed. */
async function dataverseProblems(lookups: EnvironmentLookups, whoAmIProblems: EnvironmentProblem[]): Promise<EnvironmentProblem[]> {
  const dataverse = new DataverseClient(lookups.environmentUrl);
  const whoAmI = await answeredWhoAmI(dataverse, lookups, whoAmIProblems);
  if (!whoAmI) return [];
  const problems: EnvironmentProblem[] = [];
  // Two round trips ($batch) instead of one request per lookup: the business units and the
  // deployer's user, then the roles and the deployer's privileges. What is found fills the
  // per-process lookups of lib/dataverse-client.ts, so the role and the users do not ask again.
  const { units, deployer } = await lookUpUnitsAndDeployer(dataverse, lookups, whoAmI.UserId, problems);
  const deployerRoles = deployer instanceof Error ? [] : (deployer.systemuserroles_association ?? []).map((role) => role.roleid);
  const roleRequests = units ? roleLookupRequests(lookups, units) : [];
  const answers = await settledBatch(dataverse, "look up the roles and the deployer's privileges", [
    ...roleRequests,
    ...deployerRoles.map((roleId) => rolePrivilegesRequest(roleId)),
  ]);
  if (units) problems.push(...roleProblems(dataverse, lookups, units, answers));

  problems.push(...(await privilegeSpecProblems(dataverse, lookups)));
  const makesRoles = lookups.rolesToClone.length > 0 || (lookups.specRoles ?? []).length > 0;
  problems.push(...privilegeProblems(deployer, answers.slice(roleRequests.length), makesRoles));
  return problems;
}

/** The deployer's WhoAmI, or undefined with the problem listed (a wrong URL, host or credential). */
async function answeredWhoAmI(
  dataverse: DataverseClient,
  lookups: EnvironmentLookups,
  problems: EnvironmentProblem[],
): Promise<{ UserId: string } | undefined> {
  try {
    return await dataverse.whoAmI();
  } catch (error) {
    const authentication = error instanceof RestApiError && (error.status === 401 || error.status === 403 || error.code === "TOKEN");
    problems.push({
      setting: environmentUrlSetting,
      problem: `${lookups.environmentUrl} did not answer WhoAmI with the deployer's token (${reason(error)})`,
      // A token refused for a mistyped host looks like an authentication failure: name both causes.
      check: authentication ? `${unreachableCheck}, with the System Administrator role and a current secret` : unreachableCheck,
    });
    return undefined;
  }
}

/** The business unit the stack works in and the root one, when both were found. */
interface BusinessUnits {
  businessUnitId: string;
  rootBusinessUnitId: string;
}

/** The first round trip: the root and the named business unit, and the deployer's user (or why it could not be read). */
async function lookUpUnitsAndDeployer(
  dataverse: DataverseClient,
  lookups: EnvironmentLookups,
  deployerId: string,
  problems: EnvironmentProblem[],
): Promise<{ units: BusinessUnits | undefined; deployer: SystemUserRecord | Error }> {
  const [rootAnswer, namedAnswer, deployerAnswer] = await settledBatch(dataverse, "look up the business units and the deployer", [
    businessUnitRequest(),
    lookups.businessUnit ? businessUnitRequest(lookups.businessUnit) : undefined,
    userRequest(deployerId),
  ]);
  let businessUnitId: string | undefined;
  let rootBusinessUnitId: string | undefined;
  try {
    rootBusinessUnitId = dataverse.businessUnitIdOf(undefined, answered(rootAnswer));
    businessUnitId = lookups.businessUnit ? dataverse.businessUnitIdOf(lookups.businessUnit, answered(namedAnswer)) : rootBusinessUnitId;
  } catch (error) {
    problems.push({
      setting: businessUnitSetting,
      problem: lookups.businessUnit
        ? `no business unit named '${lookups.businessUnit}' could be found (${reason(error)})`
        : `the root business unit could not be read (${reason(error)})`,
      check:
        "the business unit's name in Settings > Users + permissions > Business units, or leave dataverse-s2s:businessUnit out for the root business unit",
    });
  }
  let deployer: SystemUserRecord | Error;
  try {
    deployer = answered(deployerAnswer) as SystemUserRecord;
  } catch (error) {
    deployer = error instanceof Error ? error : new Error(String(error));
  }
  const units = businessUnitId && rootBusinessUnitId ? { businessUnitId, rootBusinessUnitId } : undefined;
  return { units, deployer };
}

/**
 * Each role to clone, in the business unit and (two slots each) in the root one when they differ;
 * then each existing role; then each adopted role, by its hand-made name and by the stack's name.
 * roleProblems reads the answers in this order.
 */
function roleLookupRequests(lookups: EnvironmentLookups, units: BusinessUnits): (BatchOperation | undefined)[] {
  return [
    ...lookups.rolesToClone.flatMap((role) => [
      sourceRoleRequest(role.name, units.businessUnitId),
      units.businessUnitId === units.rootBusinessUnitId ? undefined : sourceRoleRequest(role.name, units.rootBusinessUnitId),
    ]),
    ...lookups.existingRoles.map((role) => findRoleByNameRequest(role.name, units.businessUnitId)),
    ...(lookups.adoptedRoles ?? []).flatMap((role) => [
      findRoleByNameRequest(role.name, units.businessUnitId),
      findRoleByNameRequest(role.roleName, units.businessUnitId),
    ]),
  ];
}

/** Roles to clone and existing roles that the environment lacks (or that could not be looked up). */
function roleProblems(
  dataverse: DataverseClient,
  lookups: EnvironmentLookups,
  units: BusinessUnits,
  answers: Settled[],
): EnvironmentProblem[] {
  const problems: EnvironmentProblem[] = [];
  lookups.rolesToClone.forEach((role, index) => {
    const [inUnit, inRoot] = [answers[2 * index], answers[2 * index + 1]];
    const found = findRole(
      role,
      problems,
      () =>
        dataverse.sourceRoleOf(role.name, units.businessUnitId, answered(inUnit)) ??
        (inRoot === undefined ? undefined : dataverse.sourceRoleOf(role.name, units.rootBusinessUnitId, answered(inRoot))),
    );
    if (found === null) {
      problems.push({
        setting: role.setting,
        problem: `there is no security role '${role.name}' to copy in ${lookups.environmentUrl}`,
        check: `the role's name as shown in Settings > Security > Security roles, or a role template id (${roleDefaults.cloneFrom} is ${systemAdministratorTemplateId})`,
      });
    }
  });
  lookups.existingRoles.forEach((role, index) => {
    const answer = answers[2 * lookups.rolesToClone.length + index];
    const found = findRole(role, problems, () => rowsOf<RoleRecord>(answered(answer))[0]);
    if (found === null) {
      problems.push({
        setting: role.setting,
        problem: `there is no security role named '${role.name}' in ${lookups.environmentUrl}${lookups.businessUnit ? ` (business unit '${lookups.businessUnit}')` : ""}`,
        check: "the role's name as shown in Settings > Security > Security roles, or clone a role instead with role.cloneFrom",
      });
    }
  });
  const adoptedAnswersFrom = 2 * lookups.rolesToClone.length + lookups.existingRoles.length;
  (lookups.adoptedRoles ?? []).forEach((role, index) => {
    const [handMade, taken] = [answers[adoptedAnswersFrom + 2 * index], answers[adoptedAnswersFrom + 2 * index + 1]];
    // Once taken over, the role goes by the stack's name: either is fine.
    const found = findRole(role, problems, () => rowsOf<RoleRecord>(answered(handMade))[0] ?? rowsOf<RoleRecord>(answered(taken))[0]);
    if (found === null) {
      problems.push({
        setting: role.setting,
        problem: `there is no security role named '${role.name}' to take over in ${lookups.environmentUrl}${lookups.businessUnit ? ` (business unit '${lookups.businessUnit}')` : ""}`,
        check: `the hand-made role's name as shown in Settings > Security > Security roles, or drop adopt.roleName to make the role '${role.roleName}'`,
      });
    }
  });
  return problems;
}

/** Tables, rights, depths and privilege names of spec roles and clone exclusions that the environment lacks. */
async function privilegeSpecProblems(dataverse: DataverseClient, lookups: EnvironmentLookups): Promise<EnvironmentProblem[]> {
  const problems: EnvironmentProblem[] = [];
  const lookupFailed = (setting: string, error: unknown) =>
    problems.push({
      setting,
      problem: `the privileges could not be looked up (${reason(error)})`,
      check: "that the deploying identity may read table definitions and privileges (System Administrator has both)",
    });
  for (const spec of lookups.specRoles ?? []) {
    try {
      for (const found of (await resolvePrivilegeSpec(dataverse, spec)).problems) {
        problems.push({
          setting: `${spec.setting}.${found.key}`,
          problem: found.problem,
          check:
            "the table's logical name (Power Apps > Tables > Properties), the right (create, read, write, delete, append, appendTo, assign, share), the depth (Basic, Local, Deep, Global) and the privilege's name (Settings > Security roles)",
        });
      }
    } catch (error) {
      lookupFailed(spec.setting, error);
    }
  }
  const excluded = lookups.excludedPrivileges ?? [];
  if (excluded.length > 0) {
    try {
      const unknown = new Set(
        (
          await unknownPrivilegeNames(
            dataverse,
            excluded.map((entry) => entry.name),
          )
        ).map((name) => name.toLowerCase()),
      );
      for (const entry of excluded.filter((candidate) => unknown.has(candidate.name.toLowerCase()))) {
        problems.push({
          setting: entry.setting,
          problem: `there is no privilege named '${entry.name}' in ${lookups.environmentUrl}, so it cannot be left out of the copy`,
          check: "the privilege's name, e.g. prvAssignRole (Settings > Security roles lists them)",
        });
      }
    } catch (error) {
      lookupFailed(excluded[0].setting, error);
    }
  }
  return problems;
}

/** An answer of a settled batch, or undefined for a request that was not asked. */
type Settled = RestResponse<unknown> | Error | undefined;

/**
 * Runs the requests (the undefined ones are not asked, their answer is undefined) as one $batch,
 * each settled on its own; a failure of the whole batch is every request's answer.
 */
async function settledBatch(dataverse: DataverseClient, operation: string, requests: (BatchOperation | undefined)[]): Promise<Settled[]> {
  const asked = requests.filter((request): request is BatchOperation => request !== undefined);
  if (asked.length === 0) return requests.map(() => undefined);
  let answers: (RestResponse<unknown> | Error)[];
  try {
    answers = await dataverse.batchSettled(operation, asked);
  } catch (error) {
    answers = asked.map(() => (error instanceof Error ? error : new Error(String(error))));
  }
  let next = 0;
  return requests.map((request) => (request === undefined ? undefined : answers[next++]));
}

/** The data of an answer; its error thrown. */
function answered(answer: Settled): unknown {
  if (answer === undefined) throw new Error("the request was not made");
  if (answer instanceof Error) throw answer;
  return answer.data;
}

/** The role, null when it does not exist, undefined when the lookup itself failed (listed then). */
function findRole(role: ConfiguredName, problems: EnvironmentProblem[], find: () => RoleRecord | undefined): RoleRecord | null | undefined {
  try {
    return find() ?? null;
  } catch (error) {
    problems.push({
      setting: role.setting,
      problem: `the role '${role.name}' could not be looked up (${reason(error)})`,
      check: "that the deploying identity may read security roles (prvReadRole)",
    });
    return undefined;
  }
}

/** Whether the deployer's own roles hold what the stack's writes need. */
function privilegeProblems(deployer: SystemUserRecord | Error, privilegeAnswers: Settled[], clonesRoles: boolean): EnvironmentProblem[] {
  const check = "give the deploying identity's application user the System Administrator security role in this environment";
  try {
    if (deployer instanceof Error) throw deployer;
    const held = privilegeAnswers.flatMap((answer) => rolePrivilegesOf(answered(answer)).map((privilege) => privilege.name.toLowerCase()));
    const missing = requiredPrivileges(clonesRoles).filter((name) => !held.includes(name.toLowerCase()));
    if (missing.length === 0) return [];
    return [
      {
        setting: environmentUrlSetting,
        problem: `the deploying identity lacks ${missing.join(", ")} in this environment (it cannot create the stack's roles and users)`,
        check,
      },
    ];
  } catch (error) {
    return [{ setting: environmentUrlSetting, problem: `the deploying identity's privileges could not be read (${reason(error)})`, check }];
  }
}

async function dynamicsCrmProblems(lookups: EnvironmentLookups): Promise<EnvironmentProblem[]> {
  const setting = lookups.metadataHost ? "azuread:metadataHost" : "azuread:tenantId";
  try {
    const graph = await graphClient(lookups);
    const response = await graph.request<{ value: unknown[] }>({
      operation: "find the Dynamics CRM service principal",
      method: "GET",
      path: `v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${dynamicsCrmAppId}'`)}&$select=id,appId`,
    });
    if ((response.data.value ?? []).length > 0) return [];
    return [
      {
        setting,
        problem: `the tenant has no service principal for Dynamics CRM (appId ${dynamicsCrmAppId})`,
        check: `that this is the tenant of the Dataverse environment (azuread:tenantId); a tenant with Dataverse has it, an admin can add it with 'az ad sp create --id ${dynamicsCrmAppId}'`,
      },
    ];
  } catch (error) {
    return [
      {
        setting,
        problem: `Microsoft Graph could not be asked for the Dynamics CRM service principal (${reason(error)})`,
        check:
          "the azuread provider's tenant and cloud settings, and that the deploying identity may read service principals (Application.Read.All)",
      },
    ];
  }
}

/**
 * Client secrets the tenant's default app management policy would refuse for the applications this
 * run creates (a maximum lifetime, or no client secrets at all). Needs Policy.Read.All; without it
 * nothing is reported here and the apply-time gate (CredentialPolicyGate) gives the same guidance.
 */
async function credentialPolicyProblems(lookups: EnvironmentLookups): Promise<EnvironmentProblem[]> {
  const secrets = (lookups.secretCredentials ?? []).filter((secret) => !secret.accepted);
  if (secrets.length === 0) return [];
  try {
    const graph = await graphClient(lookups);
    const policy = await readPasswordPolicy(graph, undefined, currentTime().getTime());
    return secrets.flatMap((secret) => {
      const problem = passwordPolicyProblem(secret, policy);
      return problem ? [problem] : [];
    });
  } catch (error) {
    return [
      {
        setting: lookups.metadataHost ? "azuread:metadataHost" : "azuread:tenantId",
        problem: `Microsoft Graph could not be asked for the tenant's app management policy (${reason(error)})`,
        check: "the azuread provider's tenant and cloud settings, and that the deploying identity may read policies (Policy.Read.All)",
      },
    ];
  }
}

/**
 * Managed identities: each existing one's service principal in Graph (an unknown client id, or one
 * that is an app registration's), each resource group an identity is made in (missing, or not
 * readable by the deployer) through ARM.
 */
async function managedIdentityProblems(lookups: EnvironmentLookups): Promise<EnvironmentProblem[]> {
  const problems: EnvironmentProblem[] = [];
  const identities = lookups.managedIdentities ?? [];
  if (identities.length > 0) {
    try {
      const graph = await graphClient(lookups);
      for (const identity of identities) {
        const problem = await identityPrincipalProblem(graph, identity.setting, identity.clientId);
        if (problem) problems.push(problem);
      }
    } catch (error) {
      problems.push({
        setting: identities[0].setting,
        problem: `Microsoft Graph could not be asked for the managed identity's service principal (${reason(error)})`,
        check:
          "the azuread provider's tenant and cloud settings, and that the deploying identity may read service principals (Application.Read.All)",
      });
    }
  }
  const groups = lookups.identityResourceGroups ?? [];
  if (groups.length > 0) {
    try {
      const arm = await armClient({
        metadataHost: lookups.armMetadataHost || lookups.metadataHost,
        environment: lookups.armEnvironment || lookups.cloudEnvironment,
      });
      for (const group of groups) {
        const problem = await resourceGroupProblem(arm, group.setting, group.subscriptionId, group.resourceGroup);
        if (problem) problems.push(problem);
      }
    } catch (error) {
      problems.push({
        setting: groups[0].setting,
        problem: `Azure Resource Manager could not be asked for the resource group (${reason(error)})`,
        check:
          "azure-native:subscriptionId, azure-native:metadataHost or environment, and the deploying identity's access to the subscription",
      });
    }
  }
  return problems;
}

/** One message for every problem, each with its setting and what to check. */
export function describeEnvironmentProblems(environmentUrl: string, problems: readonly EnvironmentProblem[]): string {
  const lines = problems.map((problem, index) => `  ${index + 1}. ${problem.setting}: ${problem.problem}. Check ${problem.check}.`);
  return (
    `The environment ${environmentUrl} is not ready for this stack; nothing was written. ` +
    `${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${lines.join("\n")}`
  );
}
