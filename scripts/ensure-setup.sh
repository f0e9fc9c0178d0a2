#!/usr/bin/env bash
# Run by `npm start` and `npm test` before anything else: when what they need is missing (a fresh
# clone), it runs the set-up first (scripts/setup.sh), so either works as the very first command.
# A set-up made from other lockfiles than today's is only reported, never redone behind your back.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x node_modules/.bin/node ] && [ -x node_modules/.bin/tsc ] || missing+=("the package toolchain (node_modules/)")
[ -f .n8n-runtime/node_modules/n8n/bin/n8n ] || missing+=("the pinned n8n (.n8n-runtime/)")
if [ ${#missing[@]} -gt 0 ]; then
	printf 'setup: missing %s: running `npm run setup` first (a few minutes, once)\n' "$(printf '%s and ' "${missing[@]}" | sed 's/ and $//')"
	# The caller builds right after this.
	PRETIX_MATRIX_SETUP_SKIP_BUILD=1 bash scripts/setup.sh
	exit 0
fi
if [ -f node_modules/.setup-lockfiles ] && ! sha256sum --check --status node_modules/.setup-lockfiles 2>/dev/null; then
	echo 'setup: package-lock.json or .n8n-runtime/package-lock.json changed since the last set-up: run `npm run setup` to install what they name now'
fi
