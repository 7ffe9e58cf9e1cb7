#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter that tests/unit/ci-templates.test.ts runs
# over ci-templates/github-actions/) from the Go module proxy, once per version, into the toolchain
# cache next to pulumi: ${XDG_CACHE_HOME:-$HOME/.cache}/dataverse-s2s/toolchain/actionlint-<version>/.
# Nothing is committed. Idempotent; concurrent runs serialize on a lock. Prints the binary's path.
set -euo pipefail
ACTIONLINT_VERSION=v1.7.12
export GOTOOLCHAIN=local
case " ${GOFLAGS:-} " in *" -buildvcs="*) ;; *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;; esac
log() { printf '[actionlint] %s\n' "$*" >&2; }

CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/dataverse-s2s/toolchain"
BIN_DIR="$CACHE_ROOT/actionlint-$ACTIONLINT_VERSION"
BINARY="$BIN_DIR/actionlint"
mkdir -p "$CACHE_ROOT"
exec 8>"$CACHE_ROOT/.actionlint.lock"
flock 8
if [ -x "$BINARY" ] && "$BINARY" -version >/dev/null 2>&1; then
  log "$ACTIONLINT_VERSION: cached ($BINARY)"
else
  command -v go >/dev/null || { log "error: go is not on PATH (needed to build actionlint)"; exit 1; }
  start=$SECONDS
  log "building $ACTIONLINT_VERSION from the Go module proxy..."
  mkdir -p "$BIN_DIR"
  GOBIN="$BIN_DIR" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  log "built in $(( SECONDS - start ))s ($BINARY)"
fi
printf '%s\n' "$BINARY"
