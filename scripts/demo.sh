#!/usr/bin/env bash
# `npm run demo`: build or reuse the offline Pulumi toolchain, then run the stack against the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-toolchain.sh
source scripts/toolchain-env.sh
exec ts-node --transpile-only scripts/demo.ts "$@"
