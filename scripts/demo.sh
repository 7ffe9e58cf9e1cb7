#!/usr/bin/env bash
# `npm run demo`: build or reuse the offline Pulumi toolchain, then run the stack against the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-toolchain.sh
source scripts/toolchain-env.sh
# The demo itself calls the emulator (WhoAmI as the new app): trust its CA from the start.
NODE_EXTRA_CA_CERTS="$(ts-node --transpile-only emulator/cli.ts --ensure-ca)"
export NODE_EXTRA_CA_CERTS
exec ts-node --transpile-only scripts/demo.ts "$@"
