#!/usr/bin/env bash
# The README's test command (`npm test`): every suite, unit, providers, emulator and end to end.
# The emulator's CA is made (or reused) and trusted before jest starts.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
NODE_EXTRA_CA_CERTS="$(ts-node --transpile-only emulator/cli.ts --ensure-ca)"
export NODE_EXTRA_CA_CERTS
exec jest --runInBand "$@"
