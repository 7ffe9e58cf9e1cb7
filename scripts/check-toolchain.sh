#!/usr/bin/env bash
# Smoke test of the offline Pulumi toolchain (run scripts/setup-toolchain.sh first).
# Makes a throwaway TypeScript program with a dynamic provider in a temp dir (node_modules linked
# to this checkout's), then runs it with the cached binaries and our launchers only:
#   1. the CLI: login file://, stack init, up, preview --refresh --expect-no-changes, destroy;
#   2. the same through the Automation API (LocalWorkspace) from a node script.
# Uses its own PULUMI_HOME and backend in the temp dir; leaves nothing behind unless KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=toolchain-env.sh
source "$ROOT/scripts/toolchain-env.sh"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/dataverse-s2s-toolchain-check.XXXXXX")"
if [ "${KEEP:-}" = 1 ]; then echo "keeping $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi
PROG="$TMP/program"
mkdir -p "$PROG" "$TMP/state" "$TMP/files"
ln -s "$ROOT/node_modules" "$PROG/node_modules"
export PULUMI_HOME="$TMP/pulumi-home"
export PULUMI_CONFIG_PASSPHRASE=check
export PULUMI_BACKEND_URL="file://$TMP/state"

cat >"$PROG/Pulumi.yaml" <<'EOF'
name: toolchain-check
runtime:
  name: nodejs
  options:
    typescript: true
EOF
cat >"$PROG/package.json" <<'EOF'
{ "name": "toolchain-check", "private": true, "main": "index.ts",
  "devDependencies": { "typescript": "*" } }
EOF
cat >"$PROG/tsconfig.json" <<'EOF'
{ "compilerOptions": { "strict": true, "target": "ES2022", "module": "commonjs",
    "moduleResolution": "node", "types": ["node"], "skipLibCheck": true },
  "files": ["index.ts"] }
EOF
cat >"$PROG/index.ts" <<'EOF'
import * as pulumi from "@pulumi/pulumi";

// A file on disk, managed by a dynamic provider: read() makes drift visible to refresh.
interface FileInputs { path: string; content: string }
const fileProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: FileInputs) {
    require("fs").writeFileSync(inputs.path, inputs.content);
    return { id: inputs.path, outs: { path: inputs.path, content: inputs.content } };
  },
  async read(id: string, props: FileInputs) {
    const fs = require("fs");
    const content = fs.existsSync(id) ? fs.readFileSync(id, "utf8") : "";
    return { id, props: { ...props, content }, inputs: { path: props.path, content } };
  },
  async diff(_id: string, olds: FileInputs, news: FileInputs) {
    const replaces = olds.path !== news.path ? ["path"] : [];
    return { changes: replaces.length > 0 || olds.content !== news.content, replaces };
  },
  async update(_id: string, _olds: FileInputs, news: FileInputs) {
    require("fs").writeFileSync(news.path, news.content);
    return { outs: { path: news.path, content: news.content } };
  },
  async delete(id: string) {
    require("fs").rmSync(id, { force: true });
  },
};

class File extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  declare readonly content: pulumi.Output<string>;
  constructor(name: string, args: { path: pulumi.Input<string>; content: pulumi.Input<string> }) {
    super(fileProvider, name, args);
  }
}

const config = new pulumi.Config();
const file = new File("greeting", {
  path: `${config.require("dir")}/greeting.txt`,
  content: `${config.require("greeting")}, ${pulumi.getStack()}`,
});
export const path = file.path;
export const content = file.content;
export const token = config.requireSecret("token");
EOF
cat >"$PROG/automation.js" <<'EOF'
// The same lifecycle through the Automation API.
const { LocalWorkspace } = require("@pulumi/pulumi/automation");
const fs = require("fs");

async function main() {
  const [workDir, dir] = process.argv.slice(2);
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: "auto", workDir });
  await stack.setConfig("dir", { value: dir });
  await stack.setConfig("greeting", { value: "hello" });
  await stack.setConfig("token", { value: "s3cr3t", secret: true });
  const up = await stack.up();
  if (up.summary.result !== "succeeded") throw new Error(`up: ${up.summary.result}`);
  if (up.outputs.content.value !== "hello, auto") throw new Error(`unexpected output ${up.outputs.content.value}`);
  if (!up.outputs.token.secret) throw new Error("token output is not secret");
  if (fs.readFileSync(`${dir}/greeting.txt`, "utf8") !== "hello, auto") throw new Error("file not written");
  await stack.preview({ refresh: true, expectNoChanges: true });
  // Drift: the file changes behind Pulumi's back; preview --refresh must see it, up must repair it.
  fs.writeFileSync(`${dir}/greeting.txt`, "tampered");
  const drift = await stack.preview({ refresh: true });
  if (!drift.changeSummary.update) throw new Error(`drift not seen: ${JSON.stringify(drift.changeSummary)}`);
  await stack.up({ refresh: true });
  if (fs.readFileSync(`${dir}/greeting.txt`, "utf8") !== "hello, auto") throw new Error("drift not repaired");
  await stack.preview({ refresh: true, expectNoChanges: true });
  const destroy = await stack.destroy();
  if (destroy.summary.result !== "succeeded") throw new Error(`destroy: ${destroy.summary.result}`);
  if (fs.existsSync(`${dir}/greeting.txt`)) throw new Error("file left after destroy");
  await stack.workspace.removeStack("auto");
  console.log("automation API: up, preview --refresh (clean), drift seen and repaired, destroy: ok");
}
main().catch((e) => { console.error(e); process.exit(1); });
EOF

step() { printf '\n== %s\n' "$*"; }
cd "$PROG"
step "pulumi $(pulumi version) from $(command -v pulumi)"
pulumi login "file://$TMP/state"
pulumi stack init dev
pulumi config set dir "$TMP/files"
pulumi config set greeting hi
pulumi config set --secret token s3cr3t
step "pulumi up"
pulumi up --yes --skip-preview
[ "$(cat "$TMP/files/greeting.txt")" = "hi, dev" ] || { echo "the program did not write the file" >&2; exit 1; }
step "pulumi preview --refresh --expect-no-changes"
pulumi preview --refresh --expect-no-changes
if grep -q s3cr3t "$TMP/state/.pulumi/stacks/toolchain-check/dev.json"; then
  echo "the secret is in clear text in the state file" >&2; exit 1
fi
step "pulumi destroy"
pulumi destroy --yes --skip-preview
[ ! -e "$TMP/files/greeting.txt" ] || { echo "destroy left the file" >&2; exit 1; }
pulumi stack rm --yes dev

step "Automation API"
node automation.js "$PROG" "$TMP/files"
echo
echo "toolchain check: ok"
