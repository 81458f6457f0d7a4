#!/usr/bin/env bash
# The README's test command, RUNS times in a row (default 5), while two busy loops keep both cores
# loaded the way a shared CI machine is: a suite that waits for events rather than for time passes
# every run. Prints one line per run.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
yes > /dev/null & busy1=$!
yes > /dev/null & busy2=$!
trap 'kill $busy1 $busy2 2>/dev/null' EXIT
for i in $(seq 1 "$RUNS"); do
  started=$(date +%s)
  npm test > ".cache/test-under-load-$i.log" 2>&1
  status=$?
  echo "run $i: exit $status in $(( $(date +%s) - started )) s: $(tail -1 ".cache/test-under-load-$i.log")"
done
