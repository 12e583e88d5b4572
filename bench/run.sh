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

echo "== MLP 784-256-256-10 GELU, batch 128, AdamW, 1 epoch Fashion-MNIST"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$threads" "$xfer" -q pretrain --us fashion-mnist \
  --width 256 --depth 2 --epochs 1 --batch 128 --warmup 0 --out "$tmp/m.safetensors" >"$tmp/xfer.txt"
cat "$tmp/xfer.txt"
ours=$(awk '/img\/s/ {for (i = 1; i <= NF; i++) if ($(i + 1) == "img/s") print $i}' "$tmp/xfer.txt" | head -1)
OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 ATEN_CPU_CAPABILITY=avx512 \
  "$here/mlp_torch.py" --threads "$threads" | tee "$tmp/torch.txt"
theirs=$(awk '{print $3}' "$tmp/torch.txt")
echo "training throughput xfer/PyTorch: $(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", a / b}')x"
