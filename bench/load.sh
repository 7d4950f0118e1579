#!/usr/bin/env bash
# ironstar:needs todo
# Load scenarios for the production binary, measured with cmd/sseload, one
# freshly started server with empty data per run. Prints a markdown table.
#
#   bench/load.sh                 # bin/app, every scenario once
#   REPS=3 SCENARIOS="sessions overload" bench/load.sh
#   NORTHSTAR=/tmp/northstar BASE=/tmp/app-old bench/load.sh   # side by side
#
# APP is the binary to measure (bin/app); BASE, another Ironstar binary to
# compare with; NORTHSTAR, a northstar checkout holding bin/main (see
# docs/10-performance.md). Runs alternate which app goes first. The load
# comes from one address, so the per-client write quota is lifted
# (CLIENT_WRITE_RATE=0), and the fan-out opens 1,000 streams of one session,
# so the per-session stream cap is too; every other limit keeps its default.
set -uo pipefail
cd "$(dirname "$0")/.."
APP=$(realpath "${APP:-bin/app}")
SSELOAD=$(realpath "${SSELOAD:-bin/sseload}")
OUT=$(realpath -m "${OUT:-bin/bench.jsonl}")
REPS=${REPS:-1}
SCENARIOS=${SCENARIOS:-idle fanout sessions overload million}
PORT=${PORT:-18090}
B=http://127.0.0.1:$PORT
W=$(mktemp -d /tmp/ironstar-bench.XXXX)
ulimit -n 20000 2>/dev/null || true

apps=(ironstar)
[ -n "${BASE:-}" ] && apps+=(base)
[ -n "${NORTHSTAR:-}" ] && apps+=(northstar)

PID=
start() { # start APP
	local data=$W/data
	case $1 in
	northstar)
		(cd "$NORTHSTAR" && rm -rf data && PORT=$PORT HOST=127.0.0.1 exec ./bin/main >>"$W/northstar.log" 2>&1) & ;;
	*)
		local bin=$APP; [ "$1" = base ] && bin=$(realpath "$BASE")
		rm -rf "$data" && mkdir -p "$data"
		HOST=127.0.0.1 PORT=$PORT DATA_DIR=$data CLIENT_WRITE_RATE=0 HTTP_MAX_STREAMS_PER_SESSION=100000 "$bin" >>"$W/$1.log" 2>&1 & ;;
	esac
	PID=$!
	for _ in $(seq 1200); do curl -sf -o /dev/null "$B/" && return 0; sleep 0.05; done
	echo "$1 did not start; see $W/$1.log" >&2; return 1
}
stop() {
	[ -n "$PID" ] || return 0
	kill -INT "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=
}
trap stop EXIT

load() { # load APP LABEL MODE FLAGS...
	local app=$1 label=$2 mode=$3; shift 3
	local a=(-H 'Datastar-Request: true' -page "$B/")
	if [ "$app" = northstar ]; then
		a+=(-sse "$B/api/todos")
		[ "$mode" = idle ] || a+=(-cmd "PUT $B/api/todos/0/edit" -body '{"input":"{token}"}' -match token)
	else
		a+=(-sse "$B/todos/updates")
		[ "$mode" = idle ] || a+=(-cmd "POST $B/todos" -body '{"title":"{token}"}' -match token)
	fi
	start "$app" || return
	"$SSELOAD" "$mode" "${a[@]}" -pid "$PID" -json "$OUT" -label "$app $label" "$@" >>"$W/sseload.log" 2>&1
	echo "$(date +%T) $app $label: exit $?" >&2
	stop
}

# million: a first start over 1,000,000 stored todo events (20,000 lists),
# until its catch-ups log that they are done, then a restart over them.
# APP only: northstar keeps no history, and a BASE may predate the logs.
million() { # million APP
	[ "$1" = ironstar ] || return 0
	local data=$W/million
	if [ ! -d "$data" ]; then
		DATA_DIR="$data" go run ./cmd/seed -events 1000000 -lists 20000 -until 2026-11-30T00:00:00Z >&2 || return
		cp -a "$data" "$W/million.pristine"
		sync # not measured: the kernel writing back the seeded 300 MB
	fi
	rm -rf "$data" && cp -a "$W/million.pristine" "$data" && sync
	HOST=127.0.0.1 PORT=$PORT DATA_DIR=$data "$SSELOAD" startup -url "$B/" -json "$OUT" -label "$1 first start, 1M events" \
		-log "$W/$1-first-start.log" -wait-log 'caught up' -wait-count ${CAUGHT_UP_LINES:-2} -timeout 5m -- "$APP" >>"$W/sseload.log" 2>&1
	HOST=127.0.0.1 PORT=$PORT DATA_DIR=$data "$SSELOAD" startup -url "$B/" -json "$OUT" -label "$1 restart, 1M events" -log "$W/$1-restart.log" -- "$APP" >>"$W/sseload.log" 2>&1
	echo "$(date +%T) $1 million: done" >&2
}

for r in $(seq "$REPS"); do
	order=("${apps[@]}")
	[ $((r % 2)) = 0 ] && order=($(printf '%s\n' "${apps[@]}" | tac))
	for s in $SCENARIOS; do
		for app in "${order[@]}"; do
			case $s in
			idle) load "$app" "1,000 idle streams" idle -conns 1000 -sessions 0 -settle 5s -window 20s ;;
			fanout) load "$app" "1 session × 1,000 streams, 1 cmd/s" fanout -conns 1000 -count 20 -rate 1 -grace 30s ;;
			sessions) load "$app" "1,000 sessions, 500 cmd/s" sessions -sessions 1000 -rate 500 -duration 20s -grace 30s -sample 5s -verify ;;
			overload) load "$app" "1,000 sessions, 2,000 cmd/s" sessions -sessions 1000 -rate 2000 -duration 10s -grace 60s -sample 2s -verify ;;
			million) million "$app" ;;
			*) echo "unknown scenario $s" >&2 ;;
			esac
		done
	done
done
"$SSELOAD" summarize "$OUT"
echo "raw runs: $OUT; logs: $W" >&2
