#!/usr/bin/env bash
# Every test, on every path this CPU runs: the whole Swift suite on the default paths; then the accuracy,
# batching and serving suites again on each fallback the CPU has (OpenBLAS; the portable C kernels; the AVX2
# kernels on an AVX-512 CPU; the float32 kernels on an AMX CPU); then the C kernels at every level, and
# cross-compiled for aarch64 under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
swift=${SWIFT:-swift}
suites='ShoalTensorTests|ShoalModelsTests|ShoalInferenceTests|ServingTests|CommandLineTests|ShoalServerTests'

scripts/check-dependencies.py  # each module imports only what Package.swift declares for it, as ARCHITECTURE says
$swift test
scripts/fuzz-api.sh  # the HTTP API fuzzed against its OpenAPI document, with the executable just built

flags=" $(grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
forced=("SHOAL_GEMM=blas" "SHOAL_ISA=generic")
[[ $flags == *" avx512f "* ]] && forced+=("SHOAL_ISA=avx2")
[[ $flags == *" amx_tile "* ]] && forced+=("SHOAL_GEMM=native")
for setting in "${forced[@]}"; do
    echo "== the accuracy, batching and serving suites with $setting"
    env "$setting" $swift test --skip-build --filter "$suites"
done

# aarch64 is required where the cross tools can be installed (scripts/setup.sh installs them on x86-64).
if [ "$(uname -m)" = x86_64 ]; then export SHOAL_REQUIRE_AARCH64=1; fi
scripts/test-kernels.sh
