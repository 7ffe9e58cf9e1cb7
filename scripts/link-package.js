// Run by `npm ci` / `npm install` in this repository (package.json "prepare", after the build):
// links node_modules/dataverse-s2s to the repository itself, so that the stack program (index.ts)
// and the dynamic-provider host resolve `dataverse-s2s` exactly as in a project that installed the
// package. Node resolves a package by name only through node_modules: the host evaluates each
// provider shell with no file name, so even a package's self-reference would not apply there.
// Plain JavaScript on purpose: it runs before anything is compiled.
const fs = require("fs");
const path = require("path");

const repositoryRoot = path.resolve(__dirname, "..");
const link = path.join(repositoryRoot, "node_modules", "dataverse-s2s");
const target = path.relative(path.dirname(link), repositoryRoot);

fs.mkdirSync(path.dirname(link), { recursive: true });
let current;
try {
  current = fs.lstatSync(link);
} catch {
  current = undefined;
}
if (current && current.isSymbolicLink() && fs.readlinkSync(link) === target) process.exit(0);
if (current) fs.rmSync(link, { recursive: true, force: true });
fs.symlinkSync(target, link, "dir");
console.log(`linked node_modules/dataverse-s2s -> ${target}`);
