#!/usr/bin/env bash
# CI step for pull requests: `pulumi preview --diff` of one stack, the diff in the job summary.
# Exits with pulumi's status.
source "$(dirname "$0")/common.sh"
output="$(mktemp)"
trap 'rm -f "$output"' EXIT
status=0
pulumi preview --cwd "$PROJECT_DIR" --stack "$STACK" --diff --non-interactive --color never 2>&1 | tee "$output" || status=$?
{
  printf '## Preview of stack `%s`%s\n\n```diff\n' "$STACK" "$([ "$status" -eq 0 ] || echo ' (failed)')"
  # Keep the summary readable (GitHub caps it at 1 MiB): the last 400 lines hold the plan and totals.
  tail -n 400 "$output"
  printf '```\n'
} | job_summary
exit "$status"
