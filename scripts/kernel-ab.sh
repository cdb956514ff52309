#!/usr/bin/env bash
# Compares the AMX GEMM kernels (Sources/ShoalKernels/gemm_amx.c) of two revisions in one process: both are
# compiled into one program that times them round by round on the dense layers of a MiniLM forward pass.
# On a shared machine this shows differences of a few percent that separate `shoal bench` runs hide.
#
# Usage: scripts/kernel-ab.sh OLD_REV [NEW_REV] [-- ROWS...]
#   NEW_REV defaults to the working tree; ROWS (rows per call) default to 12 371 1024, the token counts of
#   the b1_short, b32_short and b8_128tok workloads of `shoal bench engine`.
# Environment: THREADS (default: nproc), ROUNDS (default 40), CC (default clang).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit $([ $# -lt 1 ] && echo 2 || echo 0)
fi
old=$1
shift
new=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    new=$1
    shift
fi
[ "${1:-}" = "--" ] && shift
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(12 371 1024)
cc=${CC:-clang}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Copies the kernel sources of a revision ("" for the working tree) into $work/$2.
checkout() {
    mkdir -p "$work/$2/include"
    for file in gemm_amx.c internal.h include/ShoalKernels.h; do
        if [ -z "$1" ]; then
            cp "Sources/ShoalKernels/$file" "$work/$2/$file"
        else
            git show "$1:Sources/ShoalKernels/$file" > "$work/$2/$file"
        fi
    done
    # Both builds program the same tile registers: they share one record of the configuration loaded,
    # tagged by build, so that neither skips reloading it after the other ran.
    sed -i -e 's/static _Thread_local int configured_rows;/extern _Thread_local int shared_tile_rows;/' \
        -e "s/configured_rows == rows/shared_tile_rows == rows + $3/" \
        -e "s/configured_rows = rows/shared_tile_rows = rows + $3/" "$work/$2/gemm_amx.c"
    if ! grep -q shared_tile_rows "$work/$2/gemm_amx.c"; then
        echo "kernel-ab: the $2 revision keeps no record of its tile configuration" >&2
        exit 1
    fi
}
checkout "$old" old 1000
checkout "$new" new 2000
echo '_Thread_local int shared_tile_rows;' > "$work/tiles.c"
flags=(-O3 -fno-math-errno -w)
renames=()
for symbol in amx_gemm amx_gemm_blocks amx_pack amx_packed_bytes has_amx amx_attention_head amx_attention_scratch_bytes; do
    renames+=("-Dshoal_$symbol=old_$symbol")
done
"$cc" "${flags[@]}" -I"$work/old/include" -I"$work/old" "${renames[@]}" -c "$work/old/gemm_amx.c" -o "$work/old.o"
"$cc" "${flags[@]}" -I"$work/new/include" -I"$work/new" -c "$work/new/gemm_amx.c" -o "$work/new.o"
"$cc" "${flags[@]}" -ISources/ShoalKernels/include -ISources/ShoalKernels Sources/ShoalKernels/pool.c \
    Sources/ShoalKernels/gemm.c Sources/ShoalKernels/kernels_*.c scripts/kernel_ab.c "$work/old.o" "$work/new.o" "$work/tiles.c" \
    -o "$work/kernel_ab" -lm -lpthread
echo "old: ${old}, new: ${new:-working tree}; ${THREADS:-$(nproc)} threads"
for m in "${rows[@]}"; do
    "$work/kernel_ab" "$m" "${THREADS:-$(nproc)}" "${ROUNDS:-40}"
done
