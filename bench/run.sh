#!/usr/bin/env bash
# make bench: xfer against the peer a user would pick instead, on this
# machine, in one run. Prints each ratio.
set -euo pipefail
xfer=${1:-build/xfer}
threads=${XFER_BENCH_THREADS:-2}
here=$(cd "$(dirname "$0")" && pwd)

echo "== BLAS kernel (sgemm 1024^3, $threads threads)"
slow=$(OPENBLAS_CORETYPE=Prescott "$xfer" info | awk '/sgemm/ {print $3}')
fast=$(env -u OPENBLAS_CORETYPE "$xfer" info | tee /dev/stderr | awk '/sgemm/ {print $3}')
echo "Prescott fallback: $slow GFLOP/s; xfer's choice: $fast GFLOP/s; ratio $(awk -v a="$fast" -v b="$slow" 'BEGIN {printf "%.2f", a / b}')x"

"$here/probe.sh" "$xfer"

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "PyTorch peer skipped: run 'make tools-deps' (python3-torch) first" >&2
  exit 0
fi

"$here/train.sh" "$xfer"
