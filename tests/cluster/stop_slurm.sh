#!/bin/bash
# Stops the daemons started by start_slurm.sh with the same BASE, by recorded
# PID only (never by name).
BASE=${BASE:-${TMPDIR:-/tmp}/xfer-slurm}
stop() {  # stop the listed daemons in parallel: TERM, wait up to 10 s, then KILL
  local pids=() d f pid i
  for d in "$@"; do
    f=$BASE/run/$d.bgpid; [ -f "$f" ] || continue
    pid=$(cat "$f"); rm -f "$f"
    kill -0 "$pid" 2>/dev/null && { kill -TERM "$pid"; pids+=("$pid"); }
  done
  for pid in "${pids[@]}"; do
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  done
  return 0
}
stop slurmd slurmctld
stop munged
