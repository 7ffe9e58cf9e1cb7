#!/usr/bin/env bash
# `npm run demo`: build or reuse the offline Pulumi toolchain, then run the stack against the emulator.
source "$(dirname "$0")/project-env.sh"
exec ts-node --transpile-only scripts/demo.ts "$@"
