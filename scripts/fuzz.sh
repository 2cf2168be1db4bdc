#!/usr/bin/env bash
# Builds the Kafka codec libFuzzer targets (src/gateway/kafka/protocol/fuzz)
# with clang into build/fuzz, generates their seed corpora from the encoders,
# and runs each target for FUZZ_SECONDS (default 10), FUZZ_JOBS (default 2)
# at a time. Exits non-zero if any target finds a crash, a sanitizer report,
# a violated property, a timeout or an out-of-memory, after printing the
# command that replays each finding; zero otherwise.
#
#   scripts/fuzz.sh                      # every target
#   scripts/fuzz.sh fuzz_produce ...     # only these targets
#   FUZZ_SECONDS=60 scripts/fuzz.sh      # longer runs
#
# New inputs accumulate in build/fuzz/fuzz-corpus/<target> across runs;
# findings land in build/fuzz/fuzz-artifacts/<target>/, logs in
# build/fuzz/fuzz-logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

seconds="${FUZZ_SECONDS:-10}"
run_jobs="${FUZZ_JOBS:-2}"
build_jobs="${FUZZ_BUILD_JOBS:-2}"
build="$root/build/fuzz"
fuzz_dir="$build/src/gateway/kafka/protocol/fuzz"

# The libraries get coverage and sanitizers through CMAKE_CXX_FLAGS; the
# targets add -fsanitize=fuzzer themselves. UB aborts instead of recovering,
# so libFuzzer records it as a finding. Line tables suffice for symbolized
# reports and build faster than full debug info.
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DTESSERA_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" >/dev/null
cmake --build "$build" -j"$build_jobs" --target kafka_fuzz

seeds="$(cat "$fuzz_dir/seed_dir.txt")"
declare -A path_of=()
all=()
while read -r name path; do
  path_of[$name]="$path"
  all+=("$name")
done <"$fuzz_dir/fuzz_targets.txt"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=("${all[@]}"); fi
for t in "${targets[@]}"; do
  if [ -z "${path_of[$t]:-}" ]; then
    echo "fuzz.sh: unknown target $t (known: ${all[*]})" >&2
    exit 2
  fi
done

logs="$build/fuzz-logs"
mkdir -p "$logs"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

run_one() {
  local name="$1" corpus="$build/fuzz-corpus/$1" artifacts="$build/fuzz-artifacts/$1/"
  mkdir -p "$corpus" "$artifacts"
  rm -f "$logs/$name.rc"
  local rc=0
  "${path_of[$name]}" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" "$seeds/$name" \
    >"$logs/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$logs/$name.rc"
}

echo "fuzz.sh: ${#targets[@]} targets, ${seconds}s each, ${run_jobs} at a time"
start=$SECONDS
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$run_jobs" ]; do wait -n || true; done
  run_one "$t" &
done
wait

failed=0
for t in "${targets[@]}"; do
  rc="$(cat "$logs/$t.rc" 2>/dev/null || echo missing)"
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)"
  if [ "$rc" = 0 ]; then
    printf '  ok    %-26s %10s runs\n' "$t" "${runs:-?}"
    continue
  fi
  failed=1
  printf '  FAIL  %-26s exit %s, log %s\n' "$t" "$rc" "$logs/$t.log"
  grep -E 'ERROR: |fuzz property violated|SUMMARY: |runtime error: ' "$logs/$t.log" | head -5 |
    sed 's/^/        /'
  artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$logs/$t.log" | tail -1)"
  if [ -n "$artifact" ]; then
    echo "        reproduce: ${path_of[$t]} $artifact"
  else
    echo "        reproduce: FUZZ_SECONDS=$seconds $0 $t"
  fi
done
echo "fuzz.sh: done in $((SECONDS - start))s of fuzzing"
exit "$failed"
