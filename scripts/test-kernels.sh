#!/usr/bin/env bash
# Tests the C kernels (Sources/ShoalKernels) without SwiftPM. Builds Tests/CKernels/kernel_test with gcc and
# runs, at every instruction-set level this CPU has (SHOAL_ISA=generic, avx2, avx512):
#   - the kernel checks: every public kernel against scalar references, with pools of 1 and 2 threads;
#   - the golden check, when scripts/model-path.sh finds all-MiniLM-L6-v2: the forward pass on the kernels
#     against the 24 embeddings of Tests/ShoalModelsTests/Fixtures/minilm_l6_public.json.
# Then cross-compiles for aarch64 (static) and runs both under qemu, when aarch64-linux-gnu-gcc and
# qemu-aarch64 (or qemu-aarch64-static) are installed. Prints how long each part took.
#
# Usage: scripts/test-kernels.sh
# Environment: CC (default gcc), AARCH64_CC (default aarch64-linux-gnu-gcc), THREADS (golden check's
#   pool, default 2), VERBOSE=1 (print every passing check), SHOAL_REQUIRE_AARCH64=1 (fail when the
#   aarch64 tools are missing instead of skipping that part).
# Build outputs go under .build/ckernels/. Exit status: 1 when a part failed.
set -euo pipefail
cd "$(dirname "$0")/.."

kernels=(Sources/ShoalKernels/*.c)
tests=(Tests/CKernels/*.c)
includes=(-ISources/ShoalKernels/include -ISources/ShoalKernels)
fixture=Tests/ShoalModelsTests/Fixtures/minilm_l6_public.json
threads=${THREADS:-2}
quiet=-q
[ "${VERBOSE:-0}" = 1 ] && quiet=
summary=()
failed=0

now() { date +%s.%N; }

# step LABEL COMMAND...: runs one part, prints and records its outcome and duration; returns its status.
step() {
    local label=$1 start status=0 elapsed verdict
    shift
    printf '\n== %s\n' "$label"
    start=$(now)
    "$@" || status=$?
    elapsed=$(awk -v s="$start" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }')
    if [ "$status" -eq 0 ]; then verdict=passed; else verdict="FAILED (exit $status)"; failed=1; fi
    printf -- '-- %s: %s in %s s\n' "$label" "$verdict" "$elapsed"
    summary+=("$(printf '%-44s %7s s  %s' "$label" "$elapsed" "$verdict")")
    return "$status"
}

note() {
    printf '\n== %s\n' "$1"
    summary+=("$(printf '%-44s %9s  %s' "$1" "" "$2")")
    echo "$2"
}

# build CC OUTPUT [LINK FLAGS...]: the kernels as the package compiles them (-O3), the tests at -O2: they
# need no speed, and GCC 12's aarch64 vectoriser crashes on their reference loops at -O3.
build() {
    local cc=$1 out=$2 objects=() source object
    shift 2
    mkdir -p "$out"
    for source in "${kernels[@]}"; do
        object=$out/$(basename "$source" .c).o
        "$cc" -O3 -fno-math-errno -pthread "${includes[@]}" -c "$source" -o "$object"
        objects+=("$object")
    done
    for source in "${tests[@]}"; do
        object=$out/test_$(basename "$source" .c).o
        "$cc" -O2 -fno-math-errno -pthread -Wall -Wextra "${includes[@]}" -c "$source" -o "$object"
        objects+=("$object")
    done
    "$cc" -pthread "$@" "${objects[@]}" -lm -o "$out/kernel_test"
}

# Levels this CPU runs: generic always, then AVX2 + FMA and AVX-512 (F, DQ, BW, VL: what shoal_cpu_isa asks).
native_levels() {
    local flags
    echo generic
    [ "$(uname -m)" = x86_64 ] || return 0
    flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
    if [[ $flags == *" avx2 "* && $flags == *" fma "* ]]; then echo avx2; fi
    if [[ $flags == *" avx512f "* && $flags == *" avx512dq "* && $flags == *" avx512bw "* && $flags == *" avx512vl "* ]]; then
        echo avx512
    fi
}

model_dir=
if dir=$(scripts/model-path.sh 2>/dev/null) && [ -f "$dir/model.safetensors" ]; then model_dir=$dir; fi

# run_checks LABEL LEVEL COMMAND...: the kernel checks, then the golden check, of the kernel_test that
# COMMAND runs (the binary, or qemu and the binary), at SHOAL_ISA=LEVEL.
run_checks() {
    local label=$1 level=$2
    shift 2
    step "kernels, $label, $level" env SHOAL_ISA="$level" "$@" $quiet || true
    if [ -n "$model_dir" ]; then
        step "golden, $label, $level" env SHOAL_ISA="$level" "$@" $quiet golden "$model_dir" "$fixture" "$threads" || true
    fi
}

start_all=$(now)
native=$(uname -m)
echo "C kernel tests: $native ($(nproc) cores), levels: $(native_levels | tr '\n' ' ')"
if [ -n "$model_dir" ]; then echo "model: $model_dir"
else echo "model: not installed (scripts/model-path.sh found no model.safetensors): golden checks skipped"; fi

if step "build, $native, ${CC:-gcc}" build "${CC:-gcc}" ".build/ckernels/$native"; then
    for level in $(native_levels); do run_checks "$native" "$level" ".build/ckernels/$native/kernel_test"; done
fi

cross_cc=${AARCH64_CC:-aarch64-linux-gnu-gcc}
qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)
if [ "$native" = aarch64 ]; then
    note "aarch64 under qemu" "skipped: this machine is aarch64, the native runs covered it"
elif ! command -v "$cross_cc" >/dev/null || [ -z "$qemu" ]; then
    missing=
    command -v "$cross_cc" >/dev/null || missing="$cross_cc "
    [ -n "$qemu" ] || missing+="qemu-aarch64 "
    if [ "${SHOAL_REQUIRE_AARCH64:-0}" = 1 ]; then
        note "aarch64 under qemu" "FAILED: ${missing}missing and SHOAL_REQUIRE_AARCH64=1"
        failed=1
    else
        note "aarch64 under qemu" "skipped: ${missing}missing (apt-get install gcc-aarch64-linux-gnu qemu-user-static)"
    fi
elif step "build, aarch64, $cross_cc -static" build "$cross_cc" .build/ckernels/aarch64 -static; then
    # SHOAL_ISA=generic is the only level there; the kernels' x86 levels do not exist on aarch64.
    run_checks "aarch64 (qemu)" generic "$qemu" .build/ckernels/aarch64/kernel_test
fi

total=$(awk -v s="$start_all" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }')
printf '\n== Summary\n'
printf '%s\n' "${summary[@]}"
printf '%-44s %7s s  %s\n' "total" "$total" "$([ "$failed" = 0 ] && echo passed || echo FAILED)"
exit "$failed"
