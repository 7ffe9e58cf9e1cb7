#!/usr/bin/env bash
# The README's test command (`npm test`): every suite, unit, providers, emulator and end to end.
# The end-to-end suites run the real Pulumi engine, so the toolchain comes first (and actionlint).
source "$(dirname "$0")/project-env.sh"
# actionlint for tests/unit/ci-templates.test.ts (built once from the Go module proxy, then cached).
bash scripts/setup-actionlint.sh >/dev/null
exec jest --maxWorkers=2 "$@"
