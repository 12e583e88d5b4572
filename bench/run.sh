#!/usr/bin/env bash
# make bench: xfer against the peer a user would pick instead, on this
# machine, in one run: the BLAS kernel, probes against NumPy, training on
# Fashion-MNIST against PyTorch (bench/train.sh), and 224-px feature
# extraction against PyTorch (bench/features.sh: ViT-B/16, Mixer-B/16,
# BiT-R50x1; its driver, bench-features, sits next to the xfer binary;
# XFER_BENCH_QUICK=1 times one batch per side; XFER_BENCH_PARTS="features"
# runs only that part after the BLAS check). Prints each ratio, and
# appends the whole output to this CPU kind's performance record,
# bench/results/<cpu-kind>.md (or XFER_BENCH_RECORD), under a header that
# says what ran: date, CPU and its vector flags, xfer's compiler flags,
# commit, threads.
set -euo pipefail
xfer=${1:-build/xfer}
threads=${XFER_BENCH_THREADS:-2}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/cpu.sh
. "$here/cpu.sh"
record=${XFER_BENCH_RECORD:-$here/results/$(cpu_kind).md}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

bench() {
  echo "== BLAS kernel (sgemm 1024^3, $threads threads)"
  local slow fast
  slow=$(OPENBLAS_CORETYPE=Prescott "$xfer" info | awk '/sgemm/ {print $3}')
  fast=$(env -u OPENBLAS_CORETYPE "$xfer" info | tee /dev/stderr | awk '/sgemm/ {print $3}')
  echo "Prescott fallback: $slow GFLOP/s; xfer's choice: $fast GFLOP/s; ratio $(awk -v a="$fast" -v b="$slow" 'BEGIN {printf "%.2f", a / b}')x"

  part probe && "$here/probe.sh" "$xfer"

  if ! part train; then :
  elif /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    "$here/train.sh" "$xfer"
  else
    echo "PyTorch peer skipped: run 'make tools-deps' (python3-torch) first" >&2
  fi

  # xfer's rows only, without PyTorch.
  if part features; then "$here/features.sh" "$(dirname "$xfer")/bench-features"; fi
}

# part NAME: whether XFER_BENCH_PARTS (default: all of probe, train,
# features; the BLAS check always runs) names this part of the bench.
part() { [[ " ${XFER_BENCH_PARTS:-probe train features} " == *" $1 "* ]]; }

# The compiler and flags xfer was built with, from the producer string GCC
# writes into the debug info (-g is in the Makefile's CFLAGS): the -march
# that -march=native resolved to and the -O level; the Makefile's OPT when
# the binary has no debug info.
build_flags() {
  local producer
  producer=$(readelf --debug-dump=info "$xfer" 2>/dev/null | grep -m1 DW_AT_producer || true)
  if [ -n "$producer" ]; then
    echo "$producer" | grep -o 'GNU C[0-9]* [0-9.]*\| -march=[^ ]*\| -O[0-9sfast]*' | tr -d '\n'
    echo " (from the binary's debug info)"
  else
    echo "$(sed -n 's/^OPT *?= *//p' "$here/../Makefile") (the Makefile's default OPT; the binary has no debug info)"
  fi
}

commit() {
  local head
  if ! head=$(git -C "$here" rev-parse --short HEAD 2>/dev/null); then
    echo "not a git checkout"
  elif git -C "$here" diff --quiet HEAD; then
    echo "$head (clean)"
  else
    echo "$head-dirty (tracked files changed since the commit)"
  fi
}

# Taken before the run, so that the run's own output cannot change them.
stamp=$(date -u '+%Y-%m-%d %H:%M UTC')
header=$(cat <<HEAD
## $stamp: $cpu_model

- CPU: $cpu_model, $(nproc) cores; $(cpu_flag_summary)
- xfer: $(build_flags); kernels: $(env -u XFER_ISA "$xfer" info | sed -n 's/^xfer kernels: *//p') (this CPU runs: $(env -u XFER_ISA "$xfer" info | sed -n 's/^kernels (cpu): *//p'))
- commit: $(commit)
- threads: $threads; \`bench/run.sh $xfer\`$(env | grep -o '^XFER_BENCH_[A-Z_]*=[^ ]*' | sort | sed 's/^/ /' | tr -d '\n')${XFER_BENCH_PORTABLE:+; portable build: $(xfer=$XFER_BENCH_PORTABLE build_flags)}
HEAD
)

bench 2>&1 | tee "$out"

mkdir -p "$(dirname "$record")"
[ -s "$record" ] || printf '# xfer speed record: %s\n\nOne section per `make bench` run on this kind of CPU, newest last.\n' \
  "$(cpu_kind)" >"$record"
printf '\n%s\n\n```\n%s\n```\n' "$header" "$(cat "$out")" >>"$record"
echo "appended to $record"
