/**
 * Thin dynamic providers: what Pulumi serializes into state is a shell whose methods load the real
 * implementation, the compiled module `dataverse-s2s/providers/<name>`, when they are called.
 *
 * Why a shell: Pulumi serializes a dynamic provider with everything it captures, by value for modules
 * outside node_modules (runtime/closure/createClosure.js). A captured `Set`, `Map`, class instance or
 * module state does not survive that copy ("Method Set.prototype.has called on incompatible
 * receiver"), and every captured helper makes the state larger. The shell captures only its module
 * name and the small loader below, so nothing the implementation relies on passes through
 * serialization, and an upgrade of the package changes the code a stack runs without changing state.
 *
 * How the implementation is found: the dynamic-provider host (`pulumi-resource-pulumi-nodejs`)
 * evaluates the serialized text with require-from-string, so `require` resolves a package name as
 * Node does from the project the engine runs in: its `node_modules/dataverse-s2s` (in this repository,
 * the self-link `npm ci` makes). The package's `exports` map `providers/<name>` to the compiled
 * implementation (dist/dynamic-providers/<name>/provider.js): plain JavaScript, no TypeScript at run
 * time, and a name that stays when files move inside the package.
 */
import type * as pulumi from "@pulumi/pulumi";

/** The optional methods a shell passes on (create always exists). */
type ProviderMethod = "check" | "diff" | "read" | "update" | "delete";

/**
 * Loads `dataverse-s2s/providers/<moduleName>` and returns its `provider`. Runs in the provider host.
 * (No comments inside: Pulumi copies the function's text into the state.)
 */
/* eslint-disable @typescript-eslint/no-require-imports -- resolved at run time in the provider host, on purpose */
function loadImplementation<Inputs, Outputs>(moduleName: string): Required<pulumi.dynamic.ResourceProvider<Inputs, Outputs>> {
  const specifier = "dataverse-s2s/providers/" + moduleName;
  let implementation: { provider?: Required<pulumi.dynamic.ResourceProvider<Inputs, Outputs>> };
  try {
    implementation = require(specifier);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new Error(
      `dataverse-s2s: could not load the dynamic provider '${specifier}': ${reason}. ` +
        `Install the package in the Pulumi project ('npm install dataverse-s2s'; in its own repository, 'npm ci' builds and links it).`,
    );
  }
  if (!implementation.provider) throw new Error(`dataverse-s2s: ${specifier} exports no provider.`);
  return implementation.provider;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The serialized form of a provider: each listed method loads the implementation and calls it.
 * Only create and the listed methods exist, so the host's defaults apply to the others as they would.
 *
 * Pulumi keeps each resource's shell in its state and uses that stored one for read and delete. A
 * resource whose stored shell is another one (an earlier form, e.g. the ts-node loader of releases
 * before the package) is moved to this one by the next `up`: its diff reports a change, and the
 * update, when the implementation's diff finds nothing else to do, only keeps the outputs it has (no
 * call to any service), so that the engine stores them with this shell.
 */
export function providerShell<Inputs, Outputs>(
  moduleName: string,
  methods: readonly ProviderMethod[],
): pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
  const load = () => loadImplementation<Inputs, Outputs>(moduleName);
  const shell: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = { create: (inputs) => load().create(inputs) };
  if (methods.includes("check")) shell.check = (olds, news) => load().check(olds, news);
  if (methods.includes("diff")) {
    const implementationUpdates = methods.includes("update");
    const shellMoveOnly = async (id: string, olds: Outputs, news: Inputs) => {
      const result = await load().diff(id, olds, news);
      return result.changes === false && !(result.replaces ?? []).length ? result : undefined;
    };
    shell.diff = async (id, olds, news) => {
      const result = await load().diff(id, olds, news);
      const storedShell = (olds as { __provider?: unknown }).__provider;
      const newShell = (news as { __provider?: unknown }).__provider;
      const otherShell = typeof storedShell === "string" && typeof newShell === "string" && storedShell !== newShell;
      return otherShell && result.changes === false && !(result.replaces ?? []).length ? { ...result, changes: true } : result;
    };
    shell.update = async (id, olds, news) => {
      if (await shellMoveOnly(id, olds, news)) {
        const { __provider: _storedShell, ...outputs } = olds as Outputs & { __provider?: unknown };
        return { outs: outputs as Outputs };
      }
      if (!implementationUpdates) throw new Error(`dataverse-s2s: ${moduleName} changes only by replacement.`);
      return load().update(id, olds, news);
    };
  } else if (methods.includes("update")) {
    shell.update = (id, olds, news) => load().update(id, olds, news);
  }
  if (methods.includes("read")) shell.read = (id, props) => load().read(id, props);
  if (methods.includes("delete")) shell.delete = (id, props) => load().delete(id, props);
  return shell;
}
