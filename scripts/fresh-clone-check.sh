#!/usr/bin/env bash
# The fresh-clone check: the README's first commands, in the README's order, on a clean clone.
#
#   bash scripts/fresh-clone-check.sh           clones this repository's HEAD into a temporary folder
#                                               and runs them there (the set-up included: minutes)
#   bash scripts/fresh-clone-check.sh --here    runs them in this checkout, which must be a clean
#                                               clone (no node_modules/, no dist/): CI's own clone
#   … --log FILE                                 also appends the commands' output to FILE
#
# The commands are read from README.md: the first ```sh block after the line
# `<!-- fresh-clone-check -->` (without that line: the README's first ```sh block). `git clone` and
# `cd` lines are skipped (this is the clone). `npm start` serves n8n until stopped: it runs until it
# says "n8n is running on", then it is stopped (Ctrl+C, as a person would); it must get there
# within 40 minutes, set-up included. Every other command must exit 0.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here=
log=/dev/null
while [ $# -gt 0 ]; do
	case "$1" in
		--here) here=1 ;;
		--log) log=$2; shift ;;
		*) echo "fresh-clone-check: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

if [ -n "$here" ]; then
	clone=$root
	leftovers=$(git -C "$clone" status --porcelain --ignored)
	if [ -n "$leftovers" ]; then
		echo "fresh-clone-check: --here needs a clean clone; this checkout has:" >&2
		echo "$leftovers" | head -20 >&2
		exit 1
	fi
else
	clone=$(mktemp -d)/n8n-nodes-pretix-matrix
	trap 'rm -rf "$(dirname "$clone")"' EXIT
	git clone --quiet --no-local "$root" "$clone"
	echo "fresh-clone-check: cloned $(git -C "$clone" rev-parse --short HEAD) into $clone"
fi
cd "$clone"

# The README's commands, one per line, comments stripped.
mapfile -t commands < <(awk '
	/<!-- fresh-clone-check -->/ { marked = 1 }
	/^```(sh|bash|shell)$/ && !done && (marked || !hasmarker) { inblock = 1; next }
	/^```/ && inblock { inblock = 0; done = 1; next }
	inblock { sub(/[[:space:]]+#.*$/, ""); sub(/^#.*$/, ""); if ($0 ~ /[^[:space:]]/) print }
' hasmarker="$(grep -c -- '<!-- fresh-clone-check -->' README.md || true)" README.md)
if [ ${#commands[@]} -eq 0 ]; then
	echo "fresh-clone-check: found no \`\`\`sh block in README.md" >&2
	exit 1
fi
echo "fresh-clone-check: the README's commands: $(printf '%s; ' "${commands[@]}")"

free_port() {
	node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# `npm start` in its own process group, stopped with SIGINT once n8n is up.
run_start() {
	local command=$1 out port pid deadline
	out=$(mktemp)
	port=$(free_port)
	echo "fresh-clone-check: \$ $command   (N8N_PORT=$port; stopped once n8n is up)"
	N8N_PORT=$port N8N_DEV_FOLDER="$clone/.n8n-dev" setsid bash -c "$command" > >(tee -a "$out" "$log") 2>&1 &
	pid=$!
	deadline=$(( $(date +%s) + 2400 ))
	until grep -q 'n8n is running on' "$out"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" || true
			echo "fresh-clone-check: \`$command\` ended before n8n was up" >&2
			return 1
		fi
		if [ "$(date +%s)" -gt "$deadline" ]; then
			kill -INT -- "-$pid" 2>/dev/null || true
			echo "fresh-clone-check: \`$command\` did not get n8n up within 40 minutes" >&2
			return 1
		fi
		sleep 2
	done
	curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" || {
		echo "fresh-clone-check: n8n said it runs but http://127.0.0.1:$port/healthz does not answer" >&2
		kill -INT -- "-$pid" 2>/dev/null || true
		return 1
	}
	echo "fresh-clone-check: n8n answered on port $port; stopping it"
	kill -INT -- "-$pid" 2>/dev/null || true
	for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$out"
}

start=$(date +%s)
for command in "${commands[@]}"; do
	case "$command" in
		git\ clone*|cd\ *) echo "fresh-clone-check: skipping \`$command\` (this is the clone)"; continue ;;
		npm\ start*) run_start "$command" ;;
		*)
			echo "fresh-clone-check: \$ $command"
			bash -c "$command" 2>&1 | tee -a "$log"
			;;
	esac
done
echo "fresh-clone-check: ${#commands[@]} commands passed on a clean clone in $(( $(date +%s) - start )) s"
