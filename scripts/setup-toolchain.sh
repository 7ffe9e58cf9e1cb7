#!/usr/bin/env bash
# Sets up the Pulumi toolchain this project runs with, without any installer download:
#   - `pulumi` at the version of node_modules/@pulumi/pulumi (a matching `pulumi` on PATH is reused,
#     otherwise it is built from the Go module proxy);
#   - our own Node.js language host `pulumi-language-nodejs` (offline-plugins/language-nodejs/);
#   - next to them, a wrapper running the dynamic-provider launcher offline-plugins/bin/pulumi-resource-pulumi-nodejs;
#   - the offline stand-in plugins (STAND_INS: offline-plugins/bin/pulumi-resource-<name>) installed
#     into $PULUMI_HOME at the version of their npm package (node_modules/@pulumi/<name>), each
#     compiled to JavaScript in this checkout (.offline-build/<name>/).
# Binaries are cached by version under ${XDG_CACHE_HOME:-$HOME/.cache}/dataverse-s2s/toolchain/ and
# reused. Idempotent; concurrent runs serialize on a lock file. Prints the bin dir on its last line.
# Afterwards: `source scripts/toolchain-env.sh`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/.bin:$PATH"
export GOTOOLCHAIN=local
case " ${GOFLAGS:-} " in *" -buildvcs="*) ;; *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;; esac
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# step_done <start-seconds> <message>
step_done() { log "$2 ($(( SECONDS - $1 ))s)"; }

command -v go >/dev/null || die "go is not on PATH (needed to build pulumi and the language host)"
command -v node >/dev/null || die "node is not on PATH: run 'npm ci' first"
[ -f "$ROOT/node_modules/@pulumi/pulumi/package.json" ] || die "node_modules/@pulumi/pulumi is missing: run 'npm ci' first"

pkg_version() { node -p 'require(process.argv[1]).version' "$ROOT/node_modules/$1/package.json"; }
PULUMI_VERSION="$(pkg_version @pulumi/pulumi)"

CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/dataverse-s2s/toolchain"
VERSION_DIR="$CACHE_ROOT/pulumi-v$PULUMI_VERSION"
BIN="$VERSION_DIR/bin"
mkdir -p "$BIN"

# One setup at a time (a second concurrent run waits, then finds everything cached).
exec 9>"$CACHE_ROOT/.lock"
if ! flock -n 9; then
  log "another toolchain setup is running; waiting for it..."
  flock 9
fi

# Build dirs left by an interrupted run (we hold the lock: no other run is using them).
rm -rf "$CACHE_ROOT"/.build.*
TMP_DIRS=()
cleanup() { local d; for d in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do rm -rf "$d"; done; }
trap cleanup EXIT
# new_tmp VAR: makes a build dir (removed on exit) and stores its path in VAR.
new_tmp() { local d; d="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"; TMP_DIRS+=("$d"); printf -v "$1" '%s' "$d"; }

# Prints the version a pulumi executable reports (empty when it does not run).
pulumi_version_of() { "$1" version 2>/dev/null | head -n1 | tr -d '[:space:]' || true; }

TOTAL_START=$SECONDS

# Resolves with `go get` the module graph of pulumi's CLI into a new go.mod/go.sum in $1. Slow (it
# fetches thousands of go.mod files): used only when offline-plugins/pulumi-cli/ pins another
# version. The result is kept in the cache, to be committed there.
resolve_pulumi_modules() {
  local tmp="$1" gomod replaces s=$SECONDS
  log "  offline-plugins/pulumi-cli/ does not pin v$PULUMI_VERSION: resolving modules (go get; 10 to 20 minutes)..."
  # Copy the non-local replace directives of pkg's go.mod (its local ones point into the pulumi repo).
  gomod="$(cd "$tmp" && go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).GoMod))')"
  replaces="$(awk '
    /^replace[ \t]*\(/ { inblock=1; next }
    inblock && /^\)/ { inblock=0; next }
    { line=$0; sub(/^replace[ \t]+/, "", line) }
    (inblock || /^replace[ \t]/) && line ~ /=>/ {
      split(line, parts, "=>"); target=parts[2]; gsub(/^[ \t]+/, "", target)
      if (target !~ /^\.|^\//) print "replace " line
    }' "$gomod")"
  {
    printf 'module dataverse-s2s.local/toolchain/pulumi-cli\n\n'
    printf 'require (\n\tgithub.com/pulumi/pulumi/pkg/v3 v%s\n\tgithub.com/pulumi/pulumi/sdk/v3 v%s\n)\n\n' \
      "$PULUMI_VERSION" "$PULUMI_VERSION"
    printf '%s\n' "$replaces"
  } >"$tmp/go.mod"
  (cd "$tmp" && go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION" >&2)
  cp "$tmp/go.mod" "$VERSION_DIR/pulumi-cli.go.mod"
  cp "$tmp/go.sum" "$VERSION_DIR/pulumi-cli.go.sum"
  step_done "$s" "  modules resolved"
  log "  to make the next cold build fast, commit the resolved module list:"
  log "    cp $VERSION_DIR/pulumi-cli.go.mod $ROOT/offline-plugins/pulumi-cli/go.mod"
  log "    cp $VERSION_DIR/pulumi-cli.go.sum $ROOT/offline-plugins/pulumi-cli/go.sum"
}

# --- 1. the pulumi CLI --------------------------------------------------------------------------
setup_pulumi() {
  local start=$SECONDS cached="$BIN/pulumi" ambient
  if [ -x "$cached" ] && [ "$(pulumi_version_of "$cached")" = "v$PULUMI_VERSION" ]; then
    log "pulumi v$PULUMI_VERSION: cached ($cached)"
    return
  fi
  ambient="$(command -v pulumi || true)"
  if [ -n "$ambient" ] && [ "$ambient" != "$cached" ] &&
     [ "$(pulumi_version_of "$ambient")" = "v$PULUMI_VERSION" ]; then
    ln -sfn "$ambient" "$BIN/.pulumi.tmp" && mv -f "$BIN/.pulumi.tmp" "$cached"
    log "pulumi v$PULUMI_VERSION: using $ambient from PATH"
    return
  fi

  log "building pulumi v$PULUMI_VERSION from Go modules (first time: several minutes)..."
  local tmp pin="$ROOT/offline-plugins/pulumi-cli"
  new_tmp tmp
  if grep -Eq "^[[:space:]]*github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION\$" "$pin/go.mod" 2>/dev/null; then
    # The committed, fully resolved go.mod/go.sum: only the modules the build needs are fetched.
    cp "$pin/go.mod" "$pin/go.sum" "$tmp/"
    log "  using the module list pinned in offline-plugins/pulumi-cli/"
  else
    resolve_pulumi_modules "$tmp"
  fi
  (
    cd "$tmp"
    local s=$SECONDS
    log "  downloading the modules the build needs..."
    go list -mod=readonly -deps "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi" >/dev/null
    step_done "$s" "  modules ready"
    s=$SECONDS
    log "  compiling (go build; 5 to 10 minutes on 2 cores)..."
    go build -mod=readonly -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$tmp/pulumi" "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
    step_done "$s" "  compiled"
  )
  [ "$(pulumi_version_of "$tmp/pulumi")" = "v$PULUMI_VERSION" ] || die "the pulumi we built does not report v$PULUMI_VERSION"
  mv -f "$tmp/pulumi" "$cached"
  step_done "$start" "built pulumi v$PULUMI_VERSION"
}

# --- 2. our Node.js language host ---------------------------------------------------------------
setup_language_host() {
  local start=$SECONDS src="$ROOT/offline-plugins/language-nodejs" hash stamp="$BIN/.pulumi-language-nodejs.hash"
  [ -f "$src/go.mod" ] || die "$src/go.mod is missing"
  hash="$(cd "$src" && { go version; find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort |
    while read -r f; do printf '%s\n' "$f"; cat "$f"; done; } | sha256sum | cut -c1-16)"
  if [ -x "$BIN/pulumi-language-nodejs" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
    log "pulumi-language-nodejs: cached (source $hash)"
    return
  fi
  log "building pulumi-language-nodejs (source $hash)..."
  local tmp
  new_tmp tmp
  (cd "$src" && go build -trimpath -ldflags "-s -w -X main.version=v$PULUMI_VERSION+dataverse-s2s" \
    -o "$tmp/pulumi-language-nodejs" .)
  mv -f "$tmp/pulumi-language-nodejs" "$BIN/pulumi-language-nodejs"
  printf '%s\n' "$hash" >"$tmp/hash" && mv -f "$tmp/hash" "$stamp"
  step_done "$start" "built pulumi-language-nodejs"
}

# Writes to $1 a wrapper script that runs the launcher named $2 of the checkout whose
# scripts/toolchain-env.sh was sourced (DATAVERSE_S2S_OFFLINE_PLUGINS). The wrapper names no
# checkout: the cache and $PULUMI_HOME are shared by every checkout on the machine (clones, CI jobs,
# worktrees), and each run must use its own launchers, not those of whichever checkout ran the setup last.
write_wrapper() {
  {
    printf '#!/bin/sh\n'
    printf '# Written by dataverse-s2s scripts/setup-toolchain.sh: runs %s of the checkout whose\n' "$2"
    printf '# scripts/toolchain-env.sh set DATAVERSE_S2S_OFFLINE_PLUGINS (the same wrapper serves every checkout).\n'
    printf 'dir="${DATAVERSE_S2S_OFFLINE_PLUGINS:-}"\n'
    printf '[ -n "$dir" ] || { echo "$0: DATAVERSE_S2S_OFFLINE_PLUGINS is not set: source scripts/toolchain-env.sh of your dataverse-s2s checkout (npm test, npm run demo do)" >&2; exit 1; }\n'
    printf '[ -x "$dir/%s" ] || { echo "$0: $dir/%s is missing: is DATAVERSE_S2S_OFFLINE_PLUGINS the offline-plugins/bin of a checkout?" >&2; exit 1; }\n' "$2" "$2"
    printf 'exec "$dir/%s" "$@"\n' "$2"
  } >"$1"
  chmod 755 "$1"
}

# --- 3. the dynamic-provider plugin, next to pulumi -------------------------------------------------
# pulumi-resource-pulumi-nodejs is a "bundled" plugin: with PULUMI_IGNORE_AMBIENT_PLUGINS=true (see
# toolchain-env.sh) the engine looks for it next to the pulumi executable only.
setup_dynamic_provider_plugin() {
  local launcher="$ROOT/offline-plugins/bin/pulumi-resource-pulumi-nodejs" tmp
  [ -x "$launcher" ] || die "$launcher is missing or not executable"
  new_tmp tmp
  write_wrapper "$tmp/pulumi-resource-pulumi-nodejs" pulumi-resource-pulumi-nodejs
  if cmp -s "$tmp/pulumi-resource-pulumi-nodejs" "$BIN/pulumi-resource-pulumi-nodejs"; then
    log "pulumi-resource-pulumi-nodejs: in place"
  else
    mv -f "$tmp/pulumi-resource-pulumi-nodejs" "$BIN/pulumi-resource-pulumi-nodejs"
    log "pulumi-resource-pulumi-nodejs: wrapper written (runs \$DATAVERSE_S2S_OFFLINE_PLUGINS/pulumi-resource-pulumi-nodejs)"
  fi
}

# The offline stand-in plugins: <plugin package name>:<npm package whose version it answers for>.
# Each is offline-plugins/<name>/, launched by offline-plugins/bin/pulumi-resource-<name>.
STAND_INS=(azuread:@pulumi/azuread azure-native:@pulumi/azure-native)

# --- 4. an offline stand-in plugin, installed into $PULUMI_HOME -------------------------------------
# setup_stand_in_plugin <name> <version>: `pulumi plugin install --file` copies the file into
# $PULUMI_HOME/plugins/resource-<name>-v<ver>/, away from the repo, so what we install is a small
# wrapper that finds the launcher through the environment (write_wrapper).
setup_stand_in_plugin() {
  local name="$1" version="$2" start=$SECONDS
  local launcher="$ROOT/offline-plugins/bin/pulumi-resource-$name"
  local home="${PULUMI_HOME:-$HOME/.pulumi}"
  local installed="$home/plugins/resource-$name-v$version/pulumi-resource-$name"
  [ -x "$launcher" ] || die "$launcher is missing or not executable"
  local tmp wrapper
  new_tmp tmp
  wrapper="$tmp/pulumi-resource-$name"
  write_wrapper "$wrapper" "pulumi-resource-$name"
  if [ -f "$installed" ] && cmp -s "$wrapper" "$installed"; then
    log "$name plugin v$version: installed ($installed)"
    return
  fi
  PULUMI_DISABLE_REGISTRY_RESOLVE=true "$BIN/pulumi" plugin install resource "$name" "$version" \
    --file "$wrapper" --reinstall >&2
  cmp -s "$wrapper" "$installed" || die "pulumi plugin install did not put the $name wrapper at $installed"
  step_done "$start" "installed the $name plugin v$version into $home/plugins"
}

# --- 5. a stand-in compiled to JavaScript, in this checkout -----------------------------------------
# setup_compiled_stand_in <name>: the launcher runs the build instead of transpiling the TypeScript at
# every plugin start (about 3 s each, twice per engine run). It is built from this checkout's sources,
# so it lives in the checkout (.offline-build/<name>/, git-ignored), where Node finds node_modules,
# stamped with stand-in-source-hash.
setup_compiled_stand_in() {
  local name="$1" start=$SECONDS out="$ROOT/.offline-build/$1" hash tmp
  hash="$("$ROOT/offline-plugins/bin/stand-in-source-hash" "$name")"
  if "$ROOT/offline-plugins/bin/stand-in-source-hash" "$name" --current "$out"; then
    log "$name stand-in: compiled (source $hash)"
    return
  fi
  mkdir -p "$ROOT/.offline-build"
  tmp="$(mktemp -d "$ROOT/.offline-build/.$name.XXXXXX")"
  TMP_DIRS+=("$tmp")
  "$ROOT/node_modules/.bin/tsc" -p "$ROOT/offline-plugins/$name/tsconfig.build.json" --outDir "$tmp" >&2 ||
    die "compiling the $name stand-in failed (tsc -p offline-plugins/$name/tsconfig.build.json)"
  printf '%s\n' "$hash" >"$tmp/.source-hash"
  rm -rf "$out" && mv "$tmp" "$out"
  step_done "$start" "compiled the $name stand-in (source $hash) into .offline-build/$name"
}

# Every stand-in whose npm package is installed: compiled, then installed at that package's version.
setup_stand_ins() {
  local entry name package version
  for entry in "${STAND_INS[@]}"; do
    name="${entry%%:*}"
    package="${entry#*:}"
    if [ ! -f "$ROOT/node_modules/$package/package.json" ]; then
      log "no $package in node_modules: skipping the $name plugin"
      continue
    fi
    version="$(pkg_version "$package")"
    setup_compiled_stand_in "$name"
    setup_stand_in_plugin "$name" "$version"
  done
}

setup_pulumi
setup_language_host
setup_dynamic_provider_plugin
setup_stand_ins
step_done "$TOTAL_START" "toolchain ready"
printf '%s\n' "$BIN"
