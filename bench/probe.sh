#!/usr/bin/env bash
# bench/probe.sh [XFER]: the whole few-shot probe grid of one model (taps of
# 64, 256 and 512 features x shots 1,5,10,25 x 3 draws, 10 classes, 10k test
# images) by `xfer probe --features` and by the NumPy reference
# (bench/probe_numpy.py) on the same .npy features and support sets, in the
# same run and with the same threads. Prints both times, the ratio, and
# whether every accuracy agrees.
set -euo pipefail
xfer=${1:-build/xfer}
threads=${XFER_BENCH_THREADS:-2}
repeat=${XFER_BENCH_REPEAT:-3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== few-shot probes: 3 taps (D 64/256/512) x shots 1,5,10,25 x 3 draws, 10k test, $threads threads"
taps=$("$here/probe_numpy.py" make "$tmp")
list() { local out=() t; IFS=, read -ra ts <<<"$taps"; for t in "${ts[@]}"; do out+=("$tmp/${t}_$1.npy"); done; (IFS=,; echo "${out[*]}"); }
# Both peers pick their BLAS kernel themselves: OPENBLAS_CORETYPE is unset
# for each command alone (xfer re-executes itself with the best one).
best=
for _ in $(seq "$repeat"); do
  /usr/bin/time -f %e -o "$tmp/wall" env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$threads" \
    "$xfer" probe --features "$(list train)" --labels "$tmp/train_labels.npy" \
    --test-features "$(list test)" --test-labels "$tmp/test_labels.npy" --json \
    >"$tmp/xfer.json" 2>"$tmp/xfer.err"
  s=$(awk '/probes:/ {for (i = 1; i <= NF; i++) if ($i == "in") {print $(i + 1); exit}}' "$tmp/xfer.err")
  best=$(awk -v a="$s" -v b="${best:-1e9}" 'BEGIN {print (a < b ? a : b)}')
done
echo "xfer:  $best s probing (fastest of $repeat), $(cat "$tmp/wall") s wall for the command (loading included)"
kernel=$(env -u OPENBLAS_CORETYPE /usr/bin/python3 "$here/blas_core.py" 2>/dev/null || echo unknown)
/usr/bin/time -f %e -o "$tmp/npwall" env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$threads" \
  "$here/probe_numpy.py" run "$tmp" --taps "$taps" --repeat "$repeat" >"$tmp/numpy.json"
theirs=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seconds"])' "$tmp/numpy.json")
echo "NumPy: $theirs s probing (fastest of $repeat per tap; OpenBLAS kernel $kernel), $(cat "$tmp/npwall") s wall for the script"
echo "probe grid xfer/NumPy speed-up: $(awk -v a="$theirs" -v b="$best" 'BEGIN {printf "%.1f", a / b}')x"
/usr/bin/python3 - "$tmp/xfer.json" "$tmp/numpy.json" <<'PY'
import json, sys
ours = [r["accuracies"] for r in json.load(open(sys.argv[1]))["results"]]
theirs = [r["accuracies"] for r in json.load(open(sys.argv[2]))["results"]]
pairs = [(a, b) for x, y in zip(ours, theirs) for a, b in zip(x, y)]
diff = max(abs(a - b) for a, b in pairs)
same = sum(a == b for a, b in pairs)
print(f"accuracies: {same} of {len(pairs)} probes identical, largest difference {diff:.4g}"
      + ("" if len(ours) == len(theirs) else " (result counts differ!)"))
PY
