#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS on its committed seeds
# (fuzz/seeds/NAME) and its growing corpus (build-fuzz/corpus-NAME), then
# prints a table: target, runs, result. Any crash, sanitizer report (the
# targets are built with -fno-sanitize-recover=all), input slower than
# FUZZ_TIMEOUT seconds or run over FUZZ_RSS_MB of memory ends that target with
# a nonzero status and the input saved as build-fuzz/NAME-<kind>-<hash>; the
# script then exits 1. Logs: build-fuzz/logs/NAME.log.
#
# usage: fuzz/run.sh SECONDS build-fuzz/fuzz_a [build-fuzz/fuzz_b ...]
set -uo pipefail

seconds="$1"
shift
timeout_s="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"
mkdir -p build-fuzz/logs
failed=0
table=""
for target in "$@"; do
  name="$(basename "$target")"
  log="build-fuzz/logs/$name.log"
  mkdir -p "build-fuzz/corpus-$name"
  echo "fuzz: $name for ${seconds}s" >&2
  "$target" -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
    -malloc_limit_mb="$rss_mb" -print_final_stats=1 -artifact_prefix="build-fuzz/$name-" \
    "build-fuzz/corpus-$name" "fuzz/seeds/$name" >"$log" 2>&1
  rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  if [ "$rc" -eq 0 ]; then
    result="ok"
  else
    failed=1
    why="$(grep -m 1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-z-]+|runtime error:.*|out-of-memory|timeout' "$log")"
    result="FAILED (exit $rc${why:+: $why}; see $log)"
  fi
  table+="$(printf '%-20s %12s  %s' "$name" "${runs:-?}" "$result")"$'\n'
done
printf '%-20s %12s  %s\n' target runs result
printf '%s' "$table"
exit "$failed"
