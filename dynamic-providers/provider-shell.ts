/**
 * Thin dynamic providers: what Pulumi serializes into state is a shell whose methods load the real
 * implementation (dynamic-providers/implementation/<name>.ts) when they are called.
 *
 * Why: Pulumi serializes a dynamic provider with everything it captures, by value for the project's
 * own modules (runtime/closure/createClosure.js). A captured `Set`, `Map`, class instance or module
 * state does not survive that copy ("Method Set.prototype.has called on incompatible receiver"), and
 * every captured helper makes the state larger. The shell captures only its module name and the small
 * loader below, so nothing the implementation relies on passes through serialization: the
 * implementation is loaded by Node's own `require`, exactly as in a test.
 *
 * How the implementation is found: the dynamic-provider host (`pulumi-resource-pulumi-nodejs`)
 * evaluates the serialized text with require-from-string and runs in the project directory (the
 * engine starts plugins there), so the path is built from `process.cwd()` at call time. Nothing of
 * this machine's file system goes into the state, and a state made on one machine works on another
 * that has the same project checked out. The host is plain Node, so the loader registers ts-node
 * (transpile-only: the program itself was type-checked) before the first `.ts` require; where `.ts`
 * already loads (jest, a ts-node process) it registers nothing.
 */
import type * as pulumi from "@pulumi/pulumi";

/** The optional methods a shell passes on (create always exists). */
type ProviderMethod = "check" | "diff" | "read" | "update" | "delete";

/**
 * Loads dynamic-providers/implementation/<moduleName>.ts and returns its `provider`. Runs in the
 * provider host. (No comments inside: Pulumi copies the function's text into the state.)
 */
/* eslint-disable @typescript-eslint/no-require-imports -- resolved at run time in the provider host, on purpose */
function loadImplementation<Inputs, Outputs>(moduleName: string): Required<pulumi.dynamic.ResourceProvider<Inputs, Outputs>> {
  const path: typeof import("path") = require("path");
  const projectDirectory = process.cwd();
  if (!require.extensions[".ts"]) {
    const tsNode: typeof import("ts-node") = require(require.resolve("ts-node", { paths: [projectDirectory] }));
    tsNode.register({ transpileOnly: true, project: path.join(projectDirectory, "tsconfig.json") });
  }
  const modulePath = path.join(projectDirectory, "dynamic-providers", "implementation", moduleName);
  let implementation: { provider?: Required<pulumi.dynamic.ResourceProvider<Inputs, Outputs>> };
  try {
    implementation = require(modulePath);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new Error(
      `dataverse-s2s: could not load the dynamic provider '${moduleName}' from ${projectDirectory}: ${reason}. ` +
        `Run Pulumi from the project directory (where Pulumi.yaml is) after 'npm ci'.`,
    );
  }
  if (!implementation.provider) throw new Error(`dataverse-s2s: dynamic-providers/implementation/${moduleName} exports no provider.`);
  return implementation.provider;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The serialized form of a provider: each listed method loads the implementation and calls it.
 * Only create and the listed methods exist, so the host's defaults apply to the others as they would.
 */
export function providerShell<Inputs, Outputs>(
  moduleName: string,
  methods: readonly ProviderMethod[],
): pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
  const load = () => loadImplementation<Inputs, Outputs>(moduleName);
  const shell: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = { create: (inputs) => load().create(inputs) };
  if (methods.includes("check")) shell.check = (olds, news) => load().check(olds, news);
  if (methods.includes("diff")) shell.diff = (id, olds, news) => load().diff(id, olds, news);
  if (methods.includes("read")) shell.read = (id, props) => load().read(id, props);
  if (methods.includes("update")) shell.update = (id, olds, news) => load().update(id, olds, news);
  if (methods.includes("delete")) shell.delete = (id, props) => load().delete(id, props);
  return shell;
}
