#!/usr/bin/env bash
# Scheduled CI step: `pulumi preview --refresh --expect-no-changes` of one stack. Fails (exit 1) when
# the real world differs from the stack or a secret is due; the job summary names each drifted
# resource and lists the secrets inside their rotation window or expired. See drift-check.ts.
source "$(dirname "$0")/common.sh"
summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT
status=0
ts-node --transpile-only "$CI_SCRIPTS/drift-check.ts" --dir "$PROJECT_DIR" --stack "$STACK" --summary-file "$summary" || status=$?
job_summary <"$summary"
exit "$status"
