#!/usr/bin/env bash
# Long seed sweep of the raft simulator (nightly), parallel over cores.
#
#   tests/sim/sweep.sh [FIRST [COUNT [JOBS]]] [-- extra raft_sim args]
#
# Defaults: seeds 1..100000 (FIRST=1, COUNT=100000), JOBS = nproc. Each job
# runs a contiguous slice of seeds; the sweep stops at the first failing
# slice and prints its report, which ends with the exact replay command.
# RAFT_SIM points at the binary (default: build/release, then build/sim).
set -euo pipefail

first=${1:-1}
count=${2:-100000}
jobs=${3:-$(nproc)}
shift $(( $# < 3 ? $# : 3 )) || true
[[ ${1:-} == -- ]] && shift
extra=("$@")

root=$(cd "$(dirname "$0")/../.." && pwd)
sim=${RAFT_SIM:-}
if [[ -z $sim ]]; then
  for c in "$root/build/release/tests/sim/raft_sim" "$root/build/sim/tests/sim/raft_sim"; do
    [[ -x $c ]] && { sim=$c; break; }
  done
fi
[[ -x ${sim:-} ]] || { echo "sweep: raft_sim not built (set RAFT_SIM)" >&2; exit 2; }

logs=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
slice=$(( (count + jobs - 1) / jobs ))
start=$(date +%s)
pids=()
for (( j = 0; j < jobs; j++ )); do
  a=$(( first + j * slice ))
  b=$(( a + slice - 1 ))
  (( b > first + count - 1 )) && b=$(( first + count - 1 ))
  (( a > b )) && continue
  "$sim" --seeds "$a..$b" "${extra[@]}" > "$logs/$j.log" 2>&1 &
  pids+=($!)
done

status=0
while (( ${#pids[@]} > 0 )); do
  if wait -n "${pids[@]}"; then :; else status=1; fi
  alive=()
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
  pids=("${alive[@]}")
  if (( status != 0 )); then
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    break
  fi
done

elapsed=$(( $(date +%s) - start ))
if (( status != 0 )); then
  for f in "$logs"/*.log; do
    if grep -q "FAILED\|aborted" "$f"; then
      echo "sweep: FAILURE (after ${elapsed}s)"
      cat "$f"
    fi
  done
  exit 1
fi
cat "$logs"/*.log | grep "seeds passed" || true
echo "sweep: seeds $first..$(( first + count - 1 )) passed in ${elapsed}s on $jobs jobs"
rm -rf "$logs"
