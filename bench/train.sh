#!/usr/bin/env bash
# bench/train: xfer against PyTorch on the four reference models of issue 3,
# batch 128, Fashion-MNIST, same recipe (AdamW 1e-3, wd 1e-4, 5% warmup then
# cosine), same thread count. Prints training and feature-extraction images/s,
# their ratios, xfer's achieved GFLOP/s (3 x forward FLOPs per training image)
# and its fraction of this machine's sgemm peak, peak memory and test
# accuracy for both.
#
# usage: bench/train.sh [XFER] [MODEL...]   (models: mlp resnet vit mixer)
# xfer runs with OPENBLAS_CORETYPE unset so that it picks its best kernel.
# PyTorch gets its best setting for this CPU, measured in the same run: per
# model, a short trial (XFER_BENCH_TRIAL_FRACTION_<MODEL>, default 0.05 for
# the mlp and 0.02, i.e. 9 steps, for the others; features of 1280 test
# images) of every
# OpenBLAS core the CPU can run (bench/cpu.sh: OpenBLAS's own choice, and
# Haswell / SkylakeX where the CPU has their instructions) times the two
# thread splits (torch N threads with OpenBLAS 1, or torch 1 with OpenBLAS
# N); the one with the most training img/s runs the measurement, and the
# table names it. ATen chooses its own vector kernels (ATEN_CPU_CAPABILITY
# is unset: forcing one the CPU lacks kills the process).
# Each model is also trained by xfer once per kernel path this CPU runs,
# forced with XFER_ISA (rows model/avx2, model/plain: what a CPU without
# the wider vectors gets), and by XFER_BENCH_PORTABLE, a `make PORTABLE=1`
# binary, if set (row model/portable: the cost of a baseline x86-64 build);
# these rows share the PyTorch numbers of the model's main row.
# env:   XFER_BENCH_THREADS (default 2); XFER_BENCH_FRACTION_<MODEL> overrides
#        the share of the training set a model trains on (mlp: 1 = one epoch;
#        the others default to 0.1, i.e. 46 steps, to keep the run short);
#        XFER_BENCH_SAME_START (default 1): PyTorch starts from xfer's initial
#        weights and replays xfer's subset and data order, so the two
#        accuracies differ only by float rounding; 0 gives PyTorch its own
#        module-default init and order. Short runs depend strongly on the
#        init (ViT at 46 steps: ~25% from timm's init, ~47% from PyTorch's
#        defaults), so only the same start compares the training itself.
set -euo pipefail
xfer=${1:-build/xfer}
shift || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mlp resnet vit mixer)
threads=${XFER_BENCH_THREADS:-2}
same_start=${XFER_BENCH_SAME_START:-1}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/cpu.sh
. "$here/cpu.sh"
# shellcheck source=bench/peer.sh
. "$here/peer.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

flags_for() {
  case $1 in
    mlp) echo "--family mlp --width 512 --depth 2" ;;
    resnet) echo "--family resnet --blocks 2,2,2 --base-width 16 --norm group_ws" ;;
    vit) echo "--family vit --patch 4 --dim 64 --depth 4 --heads 4 --mlp-ratio 4 --pool gap" ;;
    mixer) echo "--family mixer --patch 4 --dim 64 --depth 4 --token-mlp-dim 64 --channel-mlp-dim 256" ;;
    *) echo "unknown model '$1' (mlp, resnet, vit, mixer)" >&2; exit 2 ;;
  esac
}

fraction_for() {
  local var="XFER_BENCH_FRACTION_${1^^}"
  if [ -n "${!var:-}" ]; then echo "${!var}"; elif [ "$1" = mlp ]; then echo 1; else echo 0.1; fi
}

trial_fraction_for() {
  local var="XFER_BENCH_TRIAL_FRACTION_${1^^}"
  if [ -n "${!var:-}" ]; then echo "${!var}"; elif [ "$1" = mlp ]; then echo 0.05; else echo 0.02; fi
}

peak=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$threads" "$xfer" info | awk '/sgemm/ {print $3}')
echo "== $cpu_model ($(cpu_flag_summary)); $threads threads;" \
  "xfer sgemm peak $peak GFLOP/s; $(/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)' 2>/dev/null || echo 'torch missing')"
echo "   PyTorch settings tried per model (OpenBLAS core, torch threads t, OpenBLAS threads b):" \
  "$(peer_settings_text)"
have_torch=1
/usr/bin/python3 -c 'import torch' 2>/dev/null || have_torch=0

# run_xfer MODEL NAME FRACTION BINARY [VAR=VALUE...]: trains MODEL with
# BINARY (in the environment given) into $tmp/NAME.{xfer,err,time}.
run_xfer() {
  local model=$1 name=$2 fraction=$3 bin=$4
  shift 4
  # shellcheck disable=SC2046
  env -u OPENBLAS_CORETYPE -u XFER_ISA OPENBLAS_NUM_THREADS="$threads" "$@" \
    /usr/bin/time -v -o "$tmp/$name.time" \
    "$bin" -q pretrain --us fashion-mnist --out "$tmp/$name.safetensors" --batch 128 \
    --data-fraction "$fraction" $(flags_for "$model") >"$tmp/$name.xfer" 2>"$tmp/$name.err"
}

# row LABEL NAME: the table row of xfer's run $tmp/NAME against this
# model's PyTorch numbers (t_*, peer, mflops).
row() {
  local f=$tmp/$2 x_train x_infer x_acc x_mb
  x_train=$(awk '/^training:/ {for (i = 1; i < NF; i++) if ($(i + 1) == "img/s,") print $i}' "$f.xfer")
  x_infer=$(awk '/^evaluation:/ {for (i = 1; i < NF; i++) if ($(i + 1) == "img/s") print $i}' "$f.xfer")
  x_acc=$(sed -n 's/^US test accuracy: \([0-9.]*\)%/\1/p' "$f.xfer")
  x_mb=$(awk -F: '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$f.time")
  awk -v m="$1" -v xt="$x_train" -v tt="$t_train" -v xi="$x_infer" -v ti="$t_infer" \
    -v f="$mflops" -v p="$peak" -v xm="$x_mb" -v tm="$t_mb" -v xa="$x_acc" -v ta="$t_acc" -v pr="$peer" 'BEGIN {
      rt = tt == "NA" ? "NA" : sprintf("%.2fx", xt / tt)
      ri = ti == "NA" ? "NA" : sprintf("%.2fx", xi / ti)
      gt = 3 * f * xt / 1e3; gi = f * xi / 1e3
      printf "%-15s %8.0f %8s %6s | %8.0f %8s %6s | %6.1f %5.1f%% %6.1f | %5s %5s | %6s %6s | %s",
        m, xt, tt == "NA" ? "NA" : sprintf("%.0f", tt), rt, xi, ti == "NA" ? "NA" : sprintf("%.0f", ti), ri,
        gt, 100 * gt / p, gi, xm, tm, xa, ta, pr }'
}

# The kernel paths this CPU runs (xfer info), each forced in a row of its own.
isas=$(env -u XFER_ISA "$xfer" info | sed -n 's/^kernels (cpu): *//p')
echo "   xfer kernel paths: $(env -u XFER_ISA "$xfer" info | sed -n 's/^xfer kernels: *//p') by default;" \
  "rows per path: ${isas:-none}${XFER_BENCH_PORTABLE:+; portable build: $XFER_BENCH_PORTABLE}"

rows=()
for model in "${models[@]}"; do
  fraction=$(fraction_for "$model")
  if ! run_xfer "$model" "$model" "$fraction" "$xfer"; then
    echo "-- $model: skipped, xfer cannot build it yet: $(tail -1 "$tmp/$model.err")"
    continue
  fi
  echo "-- $model (data fraction $fraction): xfer"
  sed 's/^/   /' "$tmp/$model.xfer"
  config=$(sed -n 's/^model: \({.*}\), [0-9]* params.*/\1/p' "$tmp/$model.xfer")
  mflops=$(sed -n 's/.* params, \([0-9.e+]*\) MFLOPs\/image.*/\1/p' "$tmp/$model.xfer")
  t_train=NA t_infer=NA t_acc=NA t_mb=NA
  start=()
  # xfer's initial weights: one step at lr 1e-30 (one image per class; the
  # range of --lr excludes 0) rounds away for every weight above ~1e-22 in
  # size and moves a zero one to +-1e-30; same --seed as above, so the same
  # draw. (A BatchNorm model's running statistics would move; the bench's
  # resnet uses gn.)
  # shellcheck disable=SC2046
  if [ $have_torch = 1 ] && [ "$same_start" = 1 ] && OPENBLAS_NUM_THREADS=1 "$xfer" -q pretrain \
      --us fashion-mnist --out "$tmp/$model.init.safetensors" --batch 10 --data-fraction 0.0002 \
      --lr 1e-30 --head-lr 1e-30 --wd 0 --head-wd 0 $(flags_for "$model") >/dev/null 2>"$tmp/$model.ierr"; then
    start=(--init-from "$tmp/$model.init.safetensors" --order xfer)
  elif [ $have_torch = 1 ] && [ "$same_start" = 1 ]; then
    echo "   (PyTorch starts from its own init: xfer could not write its initial weights:" \
      "$(tail -1 "$tmp/$model.ierr"))"
  fi
  peer=NA
  if [ $have_torch = 1 ]; then
    trial=$(trial_fraction_for "$model")
    peer_pick train_torch.py train_img_s "$tmp/$model" --config "$config" \
      --data-fraction "$trial" --eval-images 1280
    [ ${#peer_tried[@]} -eq 0 ] ||
      echo "   torch trials (train img/s, data fraction $trial): $(peer_tried_text)"
    if peer_run train_torch.py "$peer_best" "$tmp/$model.torch" "$tmp/$model.terr" \
        --config "$config" --data-fraction "$fraction" "${start[@]}"; then
      peer=$(peer_label "$peer_best" "$(kv blas_core "$tmp/$model.torch")")
      echo "   torch ($peer): $(cat "$tmp/$model.torch")"
      t_train=$(kv train_img_s "$tmp/$model.torch")
      t_infer=$(kv infer_img_s "$tmp/$model.torch")
      t_acc=$(kv acc "$tmp/$model.torch")
      t_mb=$(kv peak_rss_mb "$tmp/$model.torch")
    else
      echo "   torch failed: $(tail -1 "$tmp/$model.terr")"
    fi
  fi
  rows+=("$(row "$model" "$model")")
  # The same model on each kernel path, and from the portable build.
  variants=()
  for isa in $isas; do variants+=("$model/$isa:$isa:$xfer"); done
  [ -z "${XFER_BENCH_PORTABLE:-}" ] || variants+=("$model/portable::$XFER_BENCH_PORTABLE")
  for variant in "${variants[@]}"; do
    IFS=: read -r name isa bin <<<"$variant"
    if run_xfer "$model" "${name//\//-}" "$fraction" "$bin" ${isa:+XFER_ISA=$isa}; then
      echo "   $name: $(grep -h '^training:\|^evaluation:' "$tmp/${name//\//-}.xfer" | paste -sd ';' | sed 's/;/; /')"
      rows+=("$(row "$name" "${name//\//-}")")
    else
      echo "   $name: failed: $(tail -1 "$tmp/${name//\//-}.err")"
    fi
  done
done

echo
echo "== images/s (xfer, PyTorch, xfer/PyTorch); xfer GFLOP/s (train, % of sgemm peak, inference);"
echo "   peak RSS MB (xfer, PyTorch); test accuracy % (xfer, PyTorch); PyTorch's setting"
printf "%-15s %8s %8s %6s | %8s %8s %6s | %6s %6s %6s | %5s %5s | %6s %6s | %s\n" model train torch ratio \
  infer torch ratio GF/s peak% GF/s MB MB acc acc "torch setting"
for r in "${rows[@]}"; do echo "$r"; done
