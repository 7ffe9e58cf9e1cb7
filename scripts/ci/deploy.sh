#!/usr/bin/env bash
# CI step for the main branch: `pulumi up` of one stack, then the expiry report of that stack in
# the job summary. Exits non-zero when up fails.
source "$(dirname "$0")/common.sh"
pulumi up --cwd "$PROJECT_DIR" --stack "$STACK" --yes --diff --non-interactive --color never
{
  printf '## Deployed stack `%s`\n\n' "$STACK"
  ts-node --transpile-only "$REPO_ROOT/scripts/report.ts" --dir "$PROJECT_DIR" --stack "$STACK" --markdown
} | job_summary
