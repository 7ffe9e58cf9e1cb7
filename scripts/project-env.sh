# Sourced by the README's two commands (scripts/test.sh, scripts/demo.sh): builds or reuses the
# offline Pulumi toolchain, puts it and Node 22 on PATH, and trusts the emulator's CA in every Node
# process started from here (the test runner and the demo call the emulator themselves).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-toolchain.sh
source scripts/toolchain-env.sh
NODE_EXTRA_CA_CERTS="$(ts-node --transpile-only emulator/cli.ts --ensure-ca)"
export NODE_EXTRA_CA_CERTS
