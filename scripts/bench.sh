#!/usr/bin/env bash
# `npm run bench`: build or reuse the offline Pulumi toolchain, then measure the stack against the
# emulator with latency (scripts/bench.ts). Prints a table, then one JSON line.
source "$(dirname "$0")/project-env.sh"
exec ts-node --transpile-only scripts/bench.ts "$@"
