// Run by `npm run build` after the compiler: removes from dist/ the compiled files whose source is gone
// (moved or deleted since an earlier build). tsc never deletes an output, so without this a checkout
// that built before a move would keep the old files, and `npm pack` (files: dist/**/*.js) would ship them.
// Plain JavaScript: it runs before anything else is built.
const fs = require("fs");
const path = require("path");

const repositoryRoot = path.resolve(__dirname, "..");
const dist = path.join(repositoryRoot, "dist");
const compiled = /(\.d\.ts|\.js)(\.map)?$/;

if (fs.existsSync(dist)) {
  for (const entry of fs.readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !compiled.test(entry.name)) continue;
    const file = path.join(entry.parentPath, entry.name);
    const source = path.join(repositoryRoot, path.relative(dist, file)).replace(compiled, ".ts");
    if (fs.existsSync(source)) continue;
    fs.rmSync(file);
    console.log(`removed ${path.relative(repositoryRoot, file)}: its source is gone`);
  }
}
