# Sourced by the README's two commands (scripts/test.sh, scripts/demo.sh): builds or reuses the
# offline Pulumi toolchain, puts it and Node 22 on PATH, and trusts the emulator's CA in every Node
# process started from here (the test runner and the demo call the emulator themselves).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-toolchain.sh
# The package's compiled build (dist/, linked as node_modules/dataverse-s2s), which the stack program
# and the dynamic-provider host load: rebuilt here so no run uses a build older than the sources
# (incremental: about a second when nothing changed).
npm run --silent build
node scripts/link-package.js >/dev/null
source scripts/toolchain-env.sh
NODE_EXTRA_CA_CERTS="$(ts-node --transpile-only emulator/cli.ts --ensure-ca)"
export NODE_EXTRA_CA_CERTS
