// The product (index.ts, config/, components/, dynamic-providers/, lib/) never imports the tool
// folders, and a dynamic provider's shell loads nothing of its implementation at program time (only
// types): every import and require of every .ts file is read.
import * as fs from "fs";
import * as path from "path";

const repoRoot = path.resolve(__dirname, "../..");
const productRoots = ["index.ts", "config", "components", "dynamic-providers", "lib"];
const toolFolders = ["emulator", "offline-plugins", "scripts", "tests"];

function typeScriptFiles(entry: string): string[] {
  const full = path.join(repoRoot, entry);
  if (fs.statSync(full).isFile()) return entry.endsWith(".ts") ? [entry] : [];
  return fs.readdirSync(full).flatMap((name) => typeScriptFiles(path.join(entry, name)));
}

interface Import {
  readonly specifier: string;
  /** `import type` / `export type`: erased, nothing is loaded at run time. */
  readonly typeOnly: boolean;
}

/** Every module a file names: import/export ... from, side-effect imports, import(), require(). */
export function importsOf(source: string): Import[] {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const found: Import[] = [];
  for (const match of withoutComments.matchAll(/\b(import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?["']([^"']+)["']/g)) {
    found.push({ specifier: match[3], typeOnly: match[2] !== undefined });
  }
  for (const match of withoutComments.matchAll(/\b(?:require|import)\s*\(\s*["']([^"']+)["']\s*\)/g)) {
    found.push({ specifier: match[1], typeOnly: /typeof\s*$/.test(withoutComments.slice(0, match.index)) });
  }
  return found;
}

/** Repository-relative folder a relative import lands in ("" for a package). */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith(".")) return "";
  return path.relative(repoRoot, path.resolve(repoRoot, path.dirname(file), specifier));
}

const productFiles = productRoots.flatMap(typeScriptFiles);

test("the import reader sees every form of import", () => {
  const sample = `import a from "./a";\nimport type { B } from "./b";\nexport { c } from "../c";\nimport "./d";\nconst e = require("./e");\nconst f: typeof import("./f") = g;\n// import x from "./commented";\n`;
  expect(importsOf(sample)).toEqual([
    { specifier: "./a", typeOnly: false },
    { specifier: "./b", typeOnly: true },
    { specifier: "../c", typeOnly: false },
    { specifier: "./d", typeOnly: false },
    { specifier: "./e", typeOnly: false },
    { specifier: "./f", typeOnly: true },
  ]);
});

test("there are product files to check", () => {
  expect(productFiles.length).toBeGreaterThan(15);
});

test("no product file imports from emulator/, offline-plugins/, scripts/ or tests/", () => {
  const offending = productFiles.flatMap((file) =>
    importsOf(fs.readFileSync(path.join(repoRoot, file), "utf8"))
      .map((entry) => ({ file, to: target(file, entry.specifier) }))
      .filter(({ to }) => toolFolders.some((folder) => to === folder || to.startsWith(`${folder}${path.sep}`))),
  );
  expect(offending).toEqual([]);
});

/** The resource folders: dynamic-providers/<name>/ with the shell in index.ts and the implementation in provider.ts. */
const resourceFolders = fs
  .readdirSync(path.join(repoRoot, "dynamic-providers"), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !["shared", "implementation"].includes(entry.name))
  .map((entry) => entry.name);

test("dynamic-provider shells load their implementation only at run time", () => {
  expect(resourceFolders.length).toBeGreaterThanOrEqual(5);
  // A shell (index.ts) may load the shell loader and packages; the implementation only through it, at run time.
  const loaded = resourceFolders.flatMap((name) => {
    const shell = path.join("dynamic-providers", name, "index.ts");
    return importsOf(fs.readFileSync(path.join(repoRoot, shell), "utf8"))
      .filter((entry) => !entry.typeOnly)
      .map((entry) => target(shell, entry.specifier))
      .filter((to) => to.startsWith(`dynamic-providers${path.sep}`) && to !== path.join("dynamic-providers", "provider-shell"))
      .map((to) => `${shell} -> ${to}`);
  });
  expect(loaded).toEqual([]);
});

test("every resource folder has a provider.ts exporting `provider`, and every legacy path forwards to one", () => {
  for (const name of resourceFolders) {
    expect(fs.readFileSync(path.join(repoRoot, "dynamic-providers", name, "provider.ts"), "utf8")).toMatch(/^export const provider\b/m);
  }
  // Stacks deployed earlier load dynamic-providers/implementation/<name> (their stored shells); each forwards, nothing more.
  const legacy = fs.readdirSync(path.join(repoRoot, "dynamic-providers", "implementation"));
  for (const file of legacy) {
    const name = file.replace(/\.ts$/, "");
    expect(resourceFolders).toContain(name);
    const code = importsOf(fs.readFileSync(path.join(repoRoot, "dynamic-providers", "implementation", file), "utf8"));
    expect(code).toEqual([{ specifier: `../${name}/provider`, typeOnly: false }]);
  }
});

test("no file imports a legacy path dynamic-providers/implementation/", () => {
  const everyFile = [...productRoots, ...toolFolders]
    .filter((root) => fs.existsSync(path.join(repoRoot, root)))
    .flatMap(typeScriptFiles)
    .filter((file) => !file.startsWith(path.join("dynamic-providers", "implementation")) && !file.includes("node_modules"));
  const offending = everyFile.flatMap((file) =>
    importsOf(fs.readFileSync(path.join(repoRoot, file), "utf8"))
      .filter((entry) => target(file, entry.specifier).startsWith(path.join("dynamic-providers", "implementation")))
      .map((entry) => `${file} -> ${entry.specifier}`),
  );
  expect(offending).toEqual([]);
});

/** The product folder a product file belongs to ("index.ts" for the program). */
function productFolder(file: string): string {
  return file.split(path.sep)[0];
}

/** Which product folders each product folder loads or names (type imports included). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>(productRoots.map((root) => [root, new Set<string>()]));
  for (const file of productFiles) {
    for (const entry of importsOf(fs.readFileSync(path.join(repoRoot, file), "utf8"))) {
      const to = target(file, entry.specifier);
      if (to === "") continue;
      const toFolder = productFolder(to);
      if (toFolder !== productFolder(file) && graph.has(toFolder)) graph.get(productFolder(file))!.add(toFolder);
    }
  }
  return graph;
}

test("config/ imports nothing from components/: components own their args and the config maps onto them", () => {
  const offending = productFiles
    .filter((file) => productFolder(file) === "config")
    .flatMap((file) =>
      importsOf(fs.readFileSync(path.join(repoRoot, file), "utf8"))
        .filter((entry) => productFolder(target(file, entry.specifier)) === "components")
        .map((entry) => `${file} -> ${entry.specifier}`),
    );
  expect(offending).toEqual([]);
});

test("the product folders import each other without a cycle", () => {
  const graph = folderGraph();
  // Depth-first search; a folder met again while still on the path closes a cycle.
  const cycles: string[] = [];
  const visit = (folder: string, trail: string[]) => {
    if (trail.includes(folder)) {
      cycles.push([...trail.slice(trail.indexOf(folder)), folder].join(" -> "));
      return;
    }
    for (const next of graph.get(folder) ?? []) visit(next, [...trail, folder]);
  };
  for (const folder of graph.keys()) visit(folder, []);
  expect(cycles).toEqual([]);
  // The graph is the layering the README describes: lib/ at the bottom, imports nothing of the product.
  expect([...graph.get("lib")!]).toEqual([]);
  expect(graph.get("components")!.has("config")).toBe(true);
});
