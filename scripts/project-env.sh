# Sourced by the README's two commands (scripts/test.sh, scripts/demo.sh): builds or reuses the
# offline Pulumi toolchain, puts it and Node 22 on PATH, and trusts the emulator's CA in every Node
# process started from here (the test runner and the demo call the emulator themselves).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-toolchain.sh
# The package's compiled build (dist/, linked as node_modules/dataverse-s2s), which the stack program
# and the dynamic-provider host load: rebuilt here so no run uses a build older than the sources
# (incremental: about a second when nothing changed).
npm run --silent build
node scripts/link-package.js >/dev/null
source scripts/toolchain-env.sh
emulator_ca="$(ts-node --transpile-only emulator/cli.ts --ensure-ca)"
# The CAs the machine already trusts this way stay trusted (a TLS-inspecting proxy's, say): without
# them npm, which the consumer suite runs, could no longer reach the registry.
machine_ca_bundle="$(dirname "$emulator_ca")/emulator-and-machine-ca.pem"
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ] &&
  [ "$NODE_EXTRA_CA_CERTS" != "$emulator_ca" ] && [ "$NODE_EXTRA_CA_CERTS" != "$machine_ca_bundle" ]; then
  cat "$NODE_EXTRA_CA_CERTS" "$emulator_ca" >"$machine_ca_bundle.$$"
  mv "$machine_ca_bundle.$$" "$machine_ca_bundle"
  NODE_EXTRA_CA_CERTS="$machine_ca_bundle"
elif [ "${NODE_EXTRA_CA_CERTS:-}" != "$machine_ca_bundle" ]; then
  NODE_EXTRA_CA_CERTS="$emulator_ca"
fi
export NODE_EXTRA_CA_CERTS
