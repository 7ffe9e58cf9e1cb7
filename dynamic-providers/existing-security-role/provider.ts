/**
 * A reference to a security role that exists in the environment and is not managed by this stack
 * (an integration configured with `role.existing`). It never writes anything.
 *
 *   create/read -> GET roles?$filter=name eq '<name>' and _businessunitid_value eq <bu>
 *   delete      -> nothing: the role is not ours
 */
import type * as pulumi from "@pulumi/pulumi";
import { DataverseClient } from "../../lib/dataverse-client";
import { computeDiff, describeFailure, gone, inputProblems, stateOf } from "../shared/provider-support";

export interface ExistingSecurityRoleInputs {
  environmentUrl: string;
  name: string;
  businessUnit: string;
}

export interface ExistingSecurityRoleOutputs extends ExistingSecurityRoleInputs {
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

export const provider: pulumi.dynamic.ResourceProvider<ExistingSecurityRoleInputs, ExistingSecurityRoleOutputs> = {
  async check(_olds: ExistingSecurityRoleInputs, news: Partial<ExistingSecurityRoleInputs>) {
    const inputs = {
      environmentUrl: String(news.environmentUrl ?? ""),
      name: String(news.name ?? "").trim(),
      businessUnit: String(news.businessUnit ?? "").trim(),
    };
    return {
      inputs,
      failures: inputProblems(inputs.environmentUrl, [[inputs.name === "", "name", "give the name of an existing security role"]]),
    };
  },

  async diff(_id: string, olds: ExistingSecurityRoleOutputs, news: ExistingSecurityRoleInputs) {
    return computeDiff(olds, news, { replaceOn: ["environmentUrl", "name", "businessUnit"] });
  },

  async create(inputs: ExistingSecurityRoleInputs) {
    try {
      const outs = await lookUp(inputs);
      return { id: outs.roleId, outs };
    } catch (error) {
      throw describeFailure(error, `find security role '${inputs.name}'`);
    }
  },

  async read(id: string, state?: ExistingSecurityRoleOutputs) {
    const props = stateOf(state, id);
    const client = new DataverseClient(props.environmentUrl);
    try {
      return (await client.getRole(id)) ? { id, props } : gone<ExistingSecurityRoleOutputs>();
    } catch (error) {
      throw describeFailure(error, `read security role '${props.name}'`);
    }
  },

  async delete() {
    // The role belongs to the environment, not to this stack.
  },
};
