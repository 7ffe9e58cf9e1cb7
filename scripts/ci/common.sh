# Sourced by the CI step scripts (preview.sh, deploy.sh, drift-check.sh), locally and in the
# pipelines of ci-templates/. Usage: <script> <stack>. The Pulumi project is PROJECT_DIR (default:
# this repository); `pulumi` comes from PATH (in CI, the pipeline installs it; here the offline
# toolchain is used when it is built). Credentials come from the environment (OIDC in CI).
set -euo pipefail
STACK="${1:-}"
[ -n "$STACK" ] || { echo "usage: $(basename "$0") <stack>   (e.g. dev, test, prod)" >&2; exit 2; }
CI_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CI_SCRIPTS/../.." && pwd)"
PROJECT_DIR="${PROJECT_DIR:-$REPO_ROOT}"
export PATH="$REPO_ROOT/node_modules/.bin:$PATH"
if [ -f "$REPO_ROOT/scripts/toolchain-env.sh" ] && ! command -v pulumi >/dev/null; then
  bash "$REPO_ROOT/scripts/setup-toolchain.sh" >/dev/null
  source "$REPO_ROOT/scripts/toolchain-env.sh"
fi
export PULUMI_SKIP_UPDATE_CHECK=true

# Appends Markdown (stdin) to the job summary: GitHub's GITHUB_STEP_SUMMARY, or on Azure DevOps
# (TF_BUILD) a file published with ##vso[task.uploadsummary]; elsewhere it is printed.
job_summary() {
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat >>"$GITHUB_STEP_SUMMARY"
  elif [ -n "${TF_BUILD:-}" ]; then
    local file="${AGENT_TEMPDIRECTORY:-${TMPDIR:-/tmp}}/dataverse-s2s-summary-$STACK-$(basename "$0" .sh).md"
    cat >>"$file"
    echo "##vso[task.uploadsummary]$file"
  else
    cat
  fi
}
