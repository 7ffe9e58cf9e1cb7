#!/usr/bin/env bash
# The README's test command (`npm test`): every suite, unit, providers, emulator and end to end.
# The end-to-end suites run the real Pulumi engine, so the offline toolchain is built (or reused)
# first, and the emulator's CA is made (or reused) and trusted before jest starts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-toolchain.sh
source scripts/toolchain-env.sh
NODE_EXTRA_CA_CERTS="$(ts-node --transpile-only emulator/cli.ts --ensure-ca)"
export NODE_EXTRA_CA_CERTS
exec jest --runInBand "$@"
