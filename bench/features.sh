#!/usr/bin/env bash
# bench/features: 224-px feature extraction, xfer against PyTorch, batch 32,
# random weights and random images, the same thread count: ViT-B/16,
# Mixer-B/16 and BiT-R50x1 (timm's vit_base_patch16_224,
# mixer_b16_224 and resnetv2_50x1_bit shapes, 1000 classes). Both sides
# pool every block's output and the pre-logits, as a probe does. Prints
# images/s (of the median timed batch), their ratio, peak RSS of both processes (ru_maxrss), and for
# xfer its weights and activation arenas and its GFLOP/s.
#
# usage: bench/features.sh [DRIVER] [MODEL...]
#   DRIVER: build/bench-features (bench/features.c, `make bench-run`
#   builds it); models: vit-b16 mixer-b16 bit-r50x1 (default: all).
# xfer runs with the OpenBLAS kernel the xfer command would choose.
# PyTorch gets its best setting for this CPU, measured in the same run, as
# in bench/train.sh: a trial of every OpenBLAS core the CPU can run times
# the two thread splits (torch N threads with OpenBLAS 1, or torch 1 with
# OpenBLAS N), on one batch of XFER_BENCH_FEATURES_TRIAL_BATCH (default 8)
# images after a warm-up; the fastest runs the measurement.
# env: XFER_BENCH_THREADS (default 2); XFER_BENCH_FEATURES_BATCHES: timed
#      batches of 32 per side (default 3; XFER_BENCH_QUICK=1 makes it 1
#      and the trial batch 2, for checking that the bench runs);
#      XFER_BENCH_PROFILE (default 1, where perf is installed and
#      allowed): where xfer's time goes, the top functions of one batch of
#      8 per model (0: none).
set -euo pipefail
driver=${1:-build/bench-features}
shift || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(vit-b16 mixer-b16 bit-r50x1)
threads=${XFER_BENCH_THREADS:-2}
batch=32
if [ "${XFER_BENCH_QUICK:-0}" = 1 ]; then
  batches=${XFER_BENCH_FEATURES_BATCHES:-1} trial_batch=${XFER_BENCH_FEATURES_TRIAL_BATCH:-2}
else
  batches=${XFER_BENCH_FEATURES_BATCHES:-3} trial_batch=${XFER_BENCH_FEATURES_TRIAL_BATCH:-8}
fi
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/cpu.sh
. "$here/cpu.sh"
# shellcheck source=bench/peer.sh
. "$here/peer.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

image='"height":224,"width":224,"channels":3,"n_classes":1000'
config_for() {
  case $1 in
    vit-b16) echo "{\"family\":\"vit\",$image,\"vit\":{\"patch\":16,\"dim\":768,\"depth\":12,\"heads\":12,\"mlp_ratio\":4,\"pool\":\"cls\"}}" ;;
    mixer-b16) echo "{\"family\":\"mixer\",$image,\"mixer\":{\"patch\":16,\"dim\":768,\"depth\":12,\"token_mlp_dim\":384,\"channel_mlp_dim\":3072}}" ;;
    bit-r50x1) echo "{\"family\":\"resnet\",$image,\"resnet\":{\"blocks\":[3,4,6,3],\"base_width\":64,\"norm\":\"group_ws\",\"block\":\"bottleneck\",\"stem\":\"bit\"}}" ;;
    *) echo "unknown model '$1' (vit-b16, mixer-b16, bit-r50x1)" >&2; exit 2 ;;
  esac
}

# The functions xfer spends most of its time in (self time, % of the
# samples): which kernel bounds a model.
profile_of() {
  env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$threads" perf record -q -o "$tmp/perf.data" \
    "$driver" "$1" 8 1 >/dev/null 2>&1 &&
    perf report -i "$tmp/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
    awk '/^ +[0-9.]+%/ && n < 6 {sub(/\[[.k]\] /, ""); printf "%s%s %s", n ? ", " : "", $2, $1; n++}' ||
    echo "(perf failed)"
}
profile=${XFER_BENCH_PROFILE:-1}
if [ "$profile" = 1 ] && ! perf stat -o /dev/null true 2>/dev/null; then
  echo "(no profile of xfer's time: perf is missing or not allowed here)"
  profile=0
fi

have_torch=1
/usr/bin/python3 -c 'import torch' 2>/dev/null || have_torch=0
echo "== 224-px feature extraction: batch $batch, random weights, $threads threads," \
  "$batches timed batch(es) per side after one warm-up batch"
rows=()
for model in "${models[@]}"; do
  config=$(config_for "$model")
  if ! env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$threads" "$driver" "$config" "$batch" \
      "$batches" >"$tmp/$model.xfer" 2>"$tmp/$model.err"; then
    echo "-- $model: skipped, xfer cannot run it: $(tail -1 "$tmp/$model.err")"
    continue
  fi
  echo "-- $model: xfer: $(grep -v '^config: ' "$tmp/$model.xfer")"
  if [ "$profile" = 1 ]; then
    echo "   xfer's time by function (perf, one batch of 8 after one of 8, the whole process" \
      "with its weight init): $(profile_of "$(sed -n 's/^config: //p' "$tmp/$model.xfer")")"
  fi
  # The config in full, as xfer completed it (every setting), for the peer.
  config=$(sed -n 's/^config: //p' "$tmp/$model.xfer")
  t_rate=NA t_mb=NA peer=NA
  if [ $have_torch = 1 ]; then
    peer_pick features_torch.py img_s "$tmp/$model" --config "$config" \
      --batch "$trial_batch" --batches 1
    [ ${#peer_tried[@]} -eq 0 ] ||
      echo "   torch trials (img/s, batch $trial_batch): $(peer_tried_text)"
    if peer_run features_torch.py "$peer_best" "$tmp/$model.torch" "$tmp/$model.terr" \
        --config "$config" --batch "$batch" --batches "$batches"; then
      peer=$(peer_label "$peer_best" "$(kv blas_core "$tmp/$model.torch")")
      echo "   torch ($peer): $(cat "$tmp/$model.torch")"
      t_rate=$(kv img_s "$tmp/$model.torch")
      t_mb=$(kv peak_rss_mb "$tmp/$model.torch")
    else
      echo "   torch failed: $(tail -1 "$tmp/$model.terr")"
    fi
  fi
  f="$tmp/$model.xfer"
  rows+=("$(awk -v m="$model" -v x="$(kv img_s "$f")" -v t="$t_rate" -v g="$(kv gflops_per_image "$f")" \
    -v xm="$(kv peak_rss_mb "$f")" -v tm="$t_mb" -v w="$(kv weights_mb "$f")" \
    -v a="$(kv arena_mb "$f")" -v pr="$peer" 'BEGIN {
      printf "%-9s %7.2f %7s %6s | %6.1f | %6s %6s | %6s %6s | %s", m, x,
        t == "NA" ? "NA" : sprintf("%.2f", t), t == "NA" ? "NA" : sprintf("%.2fx", x / t),
        g * x, xm, tm, w, a, pr }')")
done

echo
echo "== 224-px features, images/s (xfer, PyTorch, xfer/PyTorch); xfer GFLOP/s;"
echo "   peak RSS MB (xfer, PyTorch); xfer's weights and activation arenas MB; PyTorch's setting"
printf "%-9s %7s %7s %6s | %6s | %6s %6s | %6s %6s | %s\n" model xfer torch ratio GF/s RSS RSS \
  weights arena "torch setting"
for r in "${rows[@]}"; do echo "$r"; done
