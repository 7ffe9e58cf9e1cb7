#!/usr/bin/env bash
# The README's test command (`npm test`): every suite, unit, providers, emulator and end to end.
# The end-to-end suites run the real Pulumi engine, so the toolchain comes first.
source "$(dirname "$0")/project-env.sh"
exec jest --runInBand "$@"
