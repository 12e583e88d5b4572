#!/usr/bin/env bash
# Runs the suites that go through xfer's vector kernels (nn/kernels.h) once
# more under every instruction-set path this CPU runs, forced with
# XFER_ISA, so that each path meets the same pinned values and tolerances
# as the one cpuid picks. usage: tests/kernel_paths.sh BUILD_DIR
# (XFER_TEST_ROOT and XFER_BIN set as for the suite).
set -euo pipefail
build=$1
suites='@(kernels|ops_conv|ops_transformer|nn|resnet|bit|vit|mixer|import|forward_only|mlp|mlp_torch|train|replicas|probe)/*'
paths=$(env -u XFER_ISA "$build/xfer" info | sed -n 's/^kernels (cpu): *//p')
[ -n "$paths" ] || { echo "kernel_paths.sh: '$build/xfer info' names no kernel path" >&2; exit 1; }
for isa in $paths; do
  echo "== kernel path $isa (XFER_ISA=$isa)"
  XFER_ISA=$isa "$build/xfer-tests" --filter "$suites" --jobs 2
done
