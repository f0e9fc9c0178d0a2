#!/usr/bin/env bash
# The set-up (`npm run setup`; `npm start` and `npm test` run it themselves when it is missing):
# installs everything the project needs on a machine that has only Node 20 + npm, then builds.
#   1. the package's dev toolchain, including Node 24 from the npm package `node@24`;
#   2. the pinned real n8n (.n8n-runtime) used by `npm start`, the e2e suite and benchmarks.
# Everything is installed with --ignore-scripts (as n8n installs community packages); only the
# Node 24 binary package and n8n's SQLite driver are rebuilt explicitly.
set -euo pipefail
cd "$(dirname "$0")/.."

# Use the machine's own node/npm here: node_modules/.bin is being replaced underneath us.
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'node_modules/.bin' | paste -sd: -)
export PATH

# `npm install` from the lockfile rather than `npm ci`: our registry lacks some platform-only optional
# packages (e.g. @unrs/resolver-binding-android-*), which `npm ci` counts as "lockfile out of sync".
# --no-save: the lockfiles are read, never rewritten (npm would prune the entries it skipped).
echo "setup: installing the package toolchain (from package-lock.json)"
npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error
npm rebuild node --loglevel=error
echo "setup: Node for npm scripts is $(node_modules/.bin/node --version)"

echo "setup: installing n8n into .n8n-runtime (from its package-lock.json)"
npm --prefix .n8n-runtime install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error
npm --prefix .n8n-runtime rebuild node sqlite3 --loglevel=error

# What this set-up was made from, so scripts/ensure-setup.sh can tell when the lockfiles moved on.
sha256sum package-lock.json .n8n-runtime/package-lock.json > node_modules/.setup-lockfiles

if [ -z "${PRETIX_MATRIX_SETUP_SKIP_BUILD:-}" ]; then
	echo "setup: building the package"
	PATH="$PWD/node_modules/.bin:$PATH" npm run build --silent
fi
echo "setup: done"
