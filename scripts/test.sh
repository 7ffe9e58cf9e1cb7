#!/usr/bin/env bash
# The README's test command (`npm test`): every suite, unit, providers, emulator and end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
exec jest --runInBand "$@"
