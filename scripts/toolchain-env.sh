# Source this file (`source scripts/toolchain-env.sh`) to use the project's offline Pulumi toolchain
# in the current shell. It only sets variables: run `npm run toolchain` (scripts/setup-toolchain.sh)
# first, which builds and caches the binaries.
#
# PATH gets, in this order and before anything else:
#   <repo>/node_modules/.bin      Node.js 22 (the `node` npm package), ts-node, tsc
#   <repo>/offline-plugins/bin    plugin launchers (pulumi-resource-pulumi-nodejs, pulumi-resource-azuread)
#   <cache>/pulumi-v<ver>/bin     pulumi and pulumi-language-nodejs, <ver> from node_modules/@pulumi/pulumi

_dss_repo="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_dss_pkg="$_dss_repo/node_modules/@pulumi/pulumi/package.json"
if [ ! -f "$_dss_pkg" ]; then
  echo "toolchain-env: $_dss_pkg is missing: run 'npm ci' then 'npm run toolchain'" >&2
  unset _dss_repo _dss_pkg
  return 1 2>/dev/null || exit 1
fi
# The first "version" key of @pulumi/pulumi's package.json is its own (read without starting node).
_dss_ver="$(sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$_dss_pkg" | head -n1)"
DATAVERSE_S2S_TOOLCHAIN_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/dataverse-s2s/toolchain/pulumi-v$_dss_ver/bin"
export DATAVERSE_S2S_TOOLCHAIN_BIN
# The plugin wrappers in the shared cache and $PULUMI_HOME run the launchers of this checkout.
DATAVERSE_S2S_OFFLINE_PLUGINS="$_dss_repo/offline-plugins/bin"
export DATAVERSE_S2S_OFFLINE_PLUGINS

# Prepend, dropping earlier copies of the same entries so that sourcing twice changes nothing.
_dss_path=":$PATH:"
for _dss_dir in "$DATAVERSE_S2S_TOOLCHAIN_BIN" "$_dss_repo/offline-plugins/bin" "$_dss_repo/node_modules/.bin"; do
  while case "$_dss_path" in *":$_dss_dir:"*) true ;; *) false ;; esac; do
    _dss_path="${_dss_path%%":$_dss_dir:"*}:${_dss_path#*":$_dss_dir:"}"
  done
done
_dss_path="${_dss_path#:}"
_dss_path="${_dss_path%:}"
PATH="$_dss_repo/node_modules/.bin:$_dss_repo/offline-plugins/bin:$DATAVERSE_S2S_TOOLCHAIN_BIN${_dss_path:+:$_dss_path}"
export PATH

export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# Plugins come from next to `pulumi` (language host, dynamic-provider launcher) and from
# $PULUMI_HOME/plugins (azuread, installed by the setup script), not from PATH: an "ambient" plugin
# on PATH would win over the installed one, and the engine warns "using ... from $PATH" on every
# run. Both routes run the same launchers. Set it to false before sourcing to use PATH plugins.
export PULUMI_IGNORE_AMBIENT_PLUGINS="${PULUMI_IGNORE_AMBIENT_PLUGINS:-true}"

if [ ! -x "$DATAVERSE_S2S_TOOLCHAIN_BIN/pulumi" ] || [ ! -x "$DATAVERSE_S2S_TOOLCHAIN_BIN/pulumi-language-nodejs" ]; then
  echo "toolchain-env: no toolchain for @pulumi/pulumi $_dss_ver in $DATAVERSE_S2S_TOOLCHAIN_BIN: run 'npm run toolchain'" >&2
  unset _dss_repo _dss_pkg _dss_ver _dss_path _dss_dir
  return 1 2>/dev/null || exit 1
fi
unset _dss_repo _dss_pkg _dss_ver _dss_path _dss_dir
