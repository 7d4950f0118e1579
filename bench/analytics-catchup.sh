#!/usr/bin/env bash
# ironstar:needs analytics todo
# The analytics engine's first copy of a large history, and its restart:
# time, RSS peak (VmHWM, and VmRSS sampled every 0.5 s), the progress it
# logs. STORE is a DATA_DIR cmd/seed filled (made if missing; EVENTS of
# them, 1,000,000 by default); it is copied, never changed.
#
#   go tool task build && bench/analytics-catchup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
STORE=${STORE:-/tmp/ironstar-seeded-$EVENTS}
if [ ! -d "$STORE/nats" ]; then
  DATA_DIR=$STORE go run ./cmd/seed -events "$EVENTS" -lists $((EVENTS / 50))
  sync
fi
W=$(mktemp -d /tmp/ironstar-catchup.XXXX)
mkdir -p "$W/app" && cp -r "$STORE/nats" "$W/app/"
PORT=${PORT:-18091} NATS=${NATS:-14222}
DATA_DIR=$W/app NATS_PORT=$NATS PORT=$PORT HOST=127.0.0.1 ./bin/app >"$W/app.log" 2>&1 &
APP=$!
trap 'kill -INT $APP 2>/dev/null; wait $APP 2>/dev/null; rm -rf "$W"' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/health/ready"; do sleep 0.1; done

start=$(date +%s.%N)
DATA_DIR=$W/engine NATS_PORT=$NATS ./bin/analytics >"$W/engine.log" 2>&1 &
ENGINE=$!
peak=0
until grep -q "analytics: caught up" "$W/engine.log"; do
  kill -0 $ENGINE 2>/dev/null || { echo "the engine exited:"; cat "$W/engine.log"; exit 1; }
  rss=$(awk '/VmRSS/{print $2}' /proc/$ENGINE/status 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$peak" ] && peak=$rss
  sleep 0.5
done
end=$(date +%s.%N)
echo "first copy: $(echo "$end - $start" | bc) s; RSS peak $(awk '/VmHWM/{print $2}' /proc/$ENGINE/status) kB (sampled: $peak kB)"
grep -E "catching up|caught up" "$W/engine.log"
kill -INT $ENGINE; wait $ENGINE || true

start=$(date +%s.%N)
DATA_DIR=$W/engine NATS_PORT=$NATS ./bin/analytics >"$W/engine2.log" 2>&1 &
ENGINE=$!
until grep -q "publishes the dashboard" "$W/engine2.log"; do sleep 0.05; done
echo "restart: publishing after $(echo "$(date +%s.%N) - $start" | bc) s, from $(grep -o 'checkpoint=[0-9]*' "$W/engine2.log")"
kill -INT $ENGINE; wait $ENGINE || true
