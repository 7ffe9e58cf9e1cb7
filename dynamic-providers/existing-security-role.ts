/**
 * A reference to a security role that exists in the environment and is not managed by this stack
 * (an integration configured with `role.existing`). It never writes anything.
 *
 *   create/read -> GET roles?$filter=name eq '<name>' and _businessunitid_value eq <bu>
 *   delete      -> nothing: the role is not ours
 */
import * as pulumi from "@pulumi/pulumi";
import { DataverseClient } from "../lib/dataverse-client";
import { describeFailure, inputProblems, isUnknown } from "./provider-support";

export interface ExistingSecurityRoleArgs {
  readonly environmentUrl: pulumi.Input<string>;
  /** The role's name as shown in Settings > Security > Security roles. */
  readonly name: pulumi.Input<string>;
  /** Business unit name; empty or absent for the root business unit. */
  readonly businessUnit?: pulumi.Input<string>;
}

interface ExistingSecurityRoleInputs {
  environmentUrl: string;
  name: string;
  businessUnit: string;
}

interface ExistingSecurityRoleOutputs extends ExistingSecurityRoleInputs {
  roleId: string;
  businessUnitId: string;
}

async function lookUp(inputs: ExistingSecurityRoleInputs): Promise<ExistingSecurityRoleOutputs> {
  const client = new DataverseClient(inputs.environmentUrl);
  const businessUnitId = await client.businessUnitId(inputs.businessUnit === "" ? undefined : inputs.businessUnit);
  const [role] = await client.findRoleByName(inputs.name, businessUnitId);
  if (!role) {
    throw new Error(
      `Dataverse: there is no security role named '${inputs.name}' in ${inputs.environmentUrl}` +
        `${inputs.businessUnit ? ` (business unit '${inputs.businessUnit}')` : ""}. ` +
        `Check the integration's role.existing, or clone a role instead with role.cloneFrom.`,
    );
  }
  return { ...inputs, roleId: role.roleid.toLowerCase(), businessUnitId };
}

export const existingSecurityRoleProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: ExistingSecurityRoleInputs, news: Partial<ExistingSecurityRoleInputs>) {
    const inputs = {
      environmentUrl: String(news.environmentUrl ?? ""),
      name: String(news.name ?? "").trim(),
      businessUnit: String(news.businessUnit ?? "").trim(),
    };
    return { inputs, failures: inputProblems(inputs.environmentUrl, [[inputs.name === "", "name", "give the name of an existing security role"]]) };
  },

  async diff(_id: string, olds: ExistingSecurityRoleOutputs, news: ExistingSecurityRoleInputs) {
    const replaces = (["environmentUrl", "name", "businessUnit"] as const).filter((key) => isUnknown(news[key]) || olds[key] !== news[key]);
    return { changes: replaces.length > 0, replaces };
  },

  async create(inputs: ExistingSecurityRoleInputs) {
    try {
      const outs = await lookUp(inputs);
      return { id: outs.roleId, outs };
    } catch (error) {
      throw describeFailure(error, `find security role '${inputs.name}'`);
    }
  },

  async read(id: string, props: ExistingSecurityRoleOutputs) {
    const client = new DataverseClient(props.environmentUrl);
    try {
      return (await client.getRole(id)) ? { id, props } : { id: "", props: {} };
    } catch (error) {
      throw describeFailure(error, `read security role '${props.name}'`);
    }
  },

  async delete() {
    // The role belongs to the environment, not to this stack.
  },
};

/** Looks up a security role by name; deleting this resource leaves the role alone. */
export class ExistingSecurityRole extends pulumi.dynamic.Resource {
  declare readonly roleId: pulumi.Output<string>;
  declare readonly businessUnitId: pulumi.Output<string>;

  constructor(name: string, args: ExistingSecurityRoleArgs, opts?: pulumi.CustomResourceOptions) {
    super(existingSecurityRoleProvider, name, { ...args, roleId: undefined, businessUnitId: undefined }, opts, "dataverse-s2s", "ExistingSecurityRole");
  }
}
