#!/usr/bin/env bash
# Prints what a benchmark's figures depend on, for its report: OPENBLAS_CORETYPE, the cores and the CPU class
# (amx, avx512f or avx2, the most the CPU has).
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
class=avx2
if [[ $flags == *" amx_tile "* ]]; then class=amx; elif [[ $flags == *" avx512f "* ]]; then class=avx512f; fi
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} cores=$(nproc) class=$class"
