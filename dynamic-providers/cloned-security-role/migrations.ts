/**
 * Outputs of earlier versions of the cloned role, read as the current version writes them. Versions
 * before the packed form kept what was read back after an apply as a plain list, `appliedPrivileges`
 * (about 34 KB for a copy of System Administrator); they are packed on the next read.
 */
import { packPrivileges, unpackPrivileges } from "../shared/privileges";
import type { ClonedSecurityRoleOutputs } from "./provider";

type EarlierOutputs = ClonedSecurityRoleOutputs & { appliedPrivileges?: string[] };

/** The privileges read after the last apply, from the outputs of any version. */
export function appliedEntries(props: ClonedSecurityRoleOutputs): string[] {
  if (props.appliedPrivilegeSet) return unpackPrivileges(props.appliedPrivilegeSet);
  return (props as EarlierOutputs).appliedPrivileges ?? [];
}

/** The outputs without a plain list of an older state (it is packed instead). */
export function withPackedPrivileges(props: ClonedSecurityRoleOutputs): ClonedSecurityRoleOutputs {
  const { appliedPrivileges: legacy, ...rest } = props as EarlierOutputs;
  return legacy === undefined ? props : { ...rest, appliedPrivilegeSet: packPrivileges(legacy) };
}
