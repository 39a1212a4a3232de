#!/usr/bin/env bash
# Runs the browser tests (pages.mjs) from the repository's root, first
# installing what is missing on a fresh machine: Debian's chromium (when
# /usr/bin/chromium is absent) and playwright-core (`npm ci` here, when
# node_modules is absent). Settings are pages.mjs's environment variables
# (see the top of pages.mjs); its exit status is this script's.
#
#   LINE_PROVIDER_ADMIN_TOKEN=... BET_MAKER_BETTOR_TOKEN=... deploy/test/browser/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "browser tests: installing Debian's chromium (apt-get)"
  # Waits for dpkg's lock rather than failing while another install runs.
  apt=(apt-get -o DPkg::Lock::Timeout=300 -qq)
  "${as_root[@]}" "${apt[@]}" update
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y chromium >/dev/null
fi

if ! command -v node >/dev/null; then
  echo "browser tests: node (20 or later) is needed and not installed" >&2
  exit 2
fi

if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "browser tests: installing playwright-core (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

cd "$root"
exec node "$here/pages.mjs"
