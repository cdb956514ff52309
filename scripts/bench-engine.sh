#!/usr/bin/env bash
# Runs `shoal bench engine` for every GEMM provider this CPU runs, with OPENBLAS_CORETYPE as the
# environment sets it and then unset, one summary line per run.
# Usage: scripts/bench-engine.sh [MODEL_DIR] [THREADS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-$(scripts/model-path.sh)}
threads=${2:-$(nproc)}
seconds=${3:-3}
shoal=.build/release/shoal
[ -x "$shoal" ] || swift build -c release --product shoal >/dev/null

summary='
import json, sys
d = json.load(sys.stdin)
w = {x["workload"]: x for x in d["workloads"]}
print("OPENBLAS_CORETYPE=%-8s gemm=%-6s peak %4.0f GF/s | b1 p50 %5.2f ms | b32 %5.0f sent/s | b8x128 %5.1f sent/s" % (
    d.get("openblas_coretype") or "(unset)", d["gemm"], d["peak_gflops"], w["b1_short"]["latency_p50_ms"],
    w["b32_short"]["sentences_per_second"], w["b8_128tok"]["sentences_per_second"]))
'
run() {  # run PROVIDER [env assignments...]
    local provider=$1
    shift
    env "$@" "$shoal" bench engine --model "$model" --threads "$threads" --seconds "$seconds" --gemm "$provider" \
        --json 2>/dev/null | python3 -c "$summary" || echo "gemm=$provider: not available on this CPU"
}
for provider in amx native blas; do
    if [ -n "${OPENBLAS_CORETYPE:-}" ]; then run "$provider" "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"; fi
    run "$provider" -u OPENBLAS_CORETYPE
done
