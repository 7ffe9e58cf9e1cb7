#!/usr/bin/env bash
# `npm run report`: the Pulumi toolchain on PATH (built or reused), then scripts/report.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-toolchain.sh >/dev/null
source scripts/toolchain-env.sh
exec ts-node --transpile-only scripts/report.ts "$@"
