# shellcheck shell=bash
# Sourced by bench/train.sh and bench/features.sh after bench/cpu.sh, with
# $here (bench/) and $threads set: how the PyTorch peer runs, and its best
# setting on this CPU among the few that matter, measured in the same run.

# The value after `key=` on a key=value line of a file.
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2" | head -1; }

# The peer's settings to try, CORE:T:B: OpenBLAS core type (auto: unset),
# torch threads, OpenBLAS threads.
peer_settings=()
for core in $(cpu_blas_cores); do
  peer_settings+=("$core:$threads:1")
  if [ "$threads" -gt 1 ]; then peer_settings+=("$core:1:$threads"); fi
done

# peer_run SCRIPT SETTING OUT ERR ARG...: bench/SCRIPT under one setting.
# ATen chooses its own vector kernels (forcing one the CPU lacks kills the
# process), so ATEN_CPU_CAPABILITY is unset.
peer_run() {
  local script=$1 core t b log=$3 errlog=$4 pin=()
  IFS=: read -r core t b <<<"$2"
  shift 4
  [ "$core" = auto ] || pin=(OPENBLAS_CORETYPE="$core")
  env -u OPENBLAS_CORETYPE -u ATEN_CPU_CAPABILITY "${pin[@]}" OPENBLAS_NUM_THREADS="$b" \
    /usr/bin/python3 "$here/$script" --threads "$t" "$@" >"$log" 2>"$errlog"
}

# peer_label SETTING [CORE_RAN]: "Haswell t2 b1", or "auto=Zen t2 b1" for
# the core OpenBLAS picked itself.
peer_label() {
  local core t b
  IFS=: read -r core t b <<<"$1"
  if [ "$core" = auto ] && [ -n "${2:-}" ]; then core="auto=$2"; fi
  echo "$core t$t b$b"
}

# Every setting's label, comma-separated.
peer_settings_text() {
  local setting
  for setting in "${peer_settings[@]}"; do peer_label "$setting"; done | paste -sd, | sed 's/,/, /g'
}

# peer_pick SCRIPT RATE_KEY PREFIX ARG...: runs bench/SCRIPT with ARG... (a
# short trial) under every setting, its output in PREFIX.trial; sets
# peer_best to the setting with the highest RATE_KEY (the only one when
# there is one, untried) and peer_tried to what each gave.
peer_pick() {
  local script=$1 key=$2 prefix=$3 setting rate best_rate=0
  shift 3
  peer_best=${peer_settings[0]} peer_tried=()
  [ ${#peer_settings[@]} -gt 1 ] || return 0
  for setting in "${peer_settings[@]}"; do
    if peer_run "$script" "$setting" "$prefix.trial" "$prefix.trial.err" "$@"; then
      rate=$(kv "$key" "$prefix.trial")
      peer_tried+=("$(peer_label "$setting" "$(kv blas_core "$prefix.trial")") $rate")
      if awk -v a="$rate" -v b="$best_rate" 'BEGIN {exit !(a > b)}'; then
        peer_best=$setting best_rate=$rate
      fi
    else
      peer_tried+=("$(peer_label "$setting") failed ($(tail -1 "$prefix.trial.err"))")
    fi
  done
}

# What peer_pick's trials gave, comma-separated.
peer_tried_text() { printf '%s, ' "${peer_tried[@]}" | sed 's/, $//'; }
