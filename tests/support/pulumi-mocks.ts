/**
 * Pulumi mocks for the unit suites: every resource the program registers is recorded (type, name,
 * inputs); a suite gives the ids and states its resources get and answers the invokes it expects, and
 * any other invoke fails the test. Call it before importing the components under test (their module
 * state is made at import time).
 */
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** The id a resource is imported with (the `import` option), if any. */
  importId?: string;
}

export interface PulumiMockOptions {
  /** The id and state of a new resource; by default `<name>-id` and its inputs. */
  readonly resourceState?: (args: pulumi.runtime.MockResourceArgs) => { id: string; state: Record<string, any> } | undefined;
  /** The answer to an invoke; undefined fails the test ("unexpected call"). */
  readonly call?: (args: pulumi.runtime.MockCallArgs) => Record<string, any> | undefined;
  /** Runs as `pulumi preview` does (outputs of new resources may be unknown). */
  readonly preview?: boolean;
  readonly organization?: string;
}

export function recordResources(options: PulumiMockOptions = {}) {
  const recorded: RecordedResource[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs, importId: args.id });
        return options.resourceState?.(args) ?? { id: `${args.name}-id`, state: { ...args.inputs } };
      },
      call(args) {
        const answer = options.call?.(args);
        if (answer === undefined) throw new Error(`unexpected call ${args.token}`);
        return answer;
      },
    },
    "dataverse-s2s",
    "unit",
    options.preview ?? false,
    options.organization,
  );
  return {
    recorded,
    /** The recorded resources whose type ends with `suffix` ("ApplicationUser", "application:Application"). */
    byType: (suffix: string) => recorded.filter((resource) => resource.type.endsWith(suffix)),
  };
}

/** An output's value once settled; a failed chain rejects (an `apply` would never call back). */
export const valueOf = <T>(output: pulumi.Output<T>): Promise<T> => (output as any).promise() as Promise<T>;

/** Whether an output is marked secret. */
export const isSecret = (output: pulumi.Output<unknown>): Promise<boolean> => (output as any).isSecret as Promise<boolean>;
