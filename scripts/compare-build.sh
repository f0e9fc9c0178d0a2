#!/usr/bin/env bash
# `npm run build` must emit exactly what n8n's own `n8n-node build` (@n8n/node-cli) emits. Both run
# here on a copy of the tracked files (plus untracked, not ignored ones), and the two dist/ trees must
# be identical. Exit code 1 on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
	[ -e "$file" ] && cp --parents -- "$file" "$work/"
done
ln -s "$root/node_modules" "$work/node_modules"
# The pinned n8n too, when installed: its 500+ SVGs must stay out of both builds.
[ -d .n8n-runtime/node_modules ] && ln -s "$root/.n8n-runtime/node_modules" "$work/.n8n-runtime/node_modules"
cd "$work"
export PATH="$root/node_modules/.bin:$PATH"
n8n-node build >/dev/null
mv dist "$work.n8n-node-dist"
trap 'rm -rf "$work" "$work.n8n-node-dist"' EXIT
npm run build --silent >/dev/null
if diff -r "$work.n8n-node-dist" dist; then
	echo "compare-build: npm run build = n8n-node build ($(find dist -type f | wc -l) files, $(find dist -name '*.svg' | wc -l) SVGs)"
else
	echo "compare-build: npm run build differs from n8n-node build (diff above)" >&2
	exit 1
fi
