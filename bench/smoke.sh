#!/bin/bash
# bench_smoke: starts tesserad on ephemeral 127.0.0.1 ports in a temporary
# directory, runs `tessera_bench --smoke` against it, checks that it exits 0
# and printed every figure, and stops tesserad (by PID) whatever happens.
#
# Usage: smoke.sh TESSERAD TESSERA_BENCH
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 TESSERAD TESSERA_BENCH" >&2
  exit 2
fi
TESSERAD=$1
BENCH=$2
READY_TIMEOUT_S=30
BENCH_TIMEOUT_S=240
STOP_TIMEOUT_S=20

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench-smoke.XXXXXX")
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq $((STOP_TIMEOUT_S * 10))); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "bench_smoke: $*" >&2
  echo "--- tesserad log ---" >&2
  cat "$TMP/tesserad.log" >&2 || true
  exit 1
}

# A private environment: no TESSERA_* variables, HOME inside the temp dir.
mkdir -p "$TMP/home"
env -u TESSERA_ENDPOINT -u TESSERA_CREDENTIALS -u TESSERA_DATA_DIR -u XDG_DATA_HOME HOME="$TMP/home" \
  "$TESSERAD" --data-dir "$TMP/data" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --kafka-addr 127.0.0.1:0 \
  >"$TMP/tesserad.log" 2>&1 </dev/null &
PID=$!

CREDS=$TMP/data/admin.credentials
for _ in $(seq $((READY_TIMEOUT_S * 10))); do
  kill -0 "$PID" 2>/dev/null || fail "tesserad exited during start"
  if grep -q "tesserad: node [0-9]* ready" "$TMP/tesserad.log" && [ -s "$CREDS" ]; then break; fi
  sleep 0.1
done
grep -q "tesserad: node [0-9]* ready" "$TMP/tesserad.log" || fail "tesserad not ready after ${READY_TIMEOUT_S}s"

set +e
env -u TESSERA_ENDPOINT -u TESSERA_CREDENTIALS HOME="$TMP/home" \
  timeout "$BENCH_TIMEOUT_S" "$BENCH" --smoke --credentials "$CREDS" --server-pid "$PID" --json "$TMP/out.json" \
  >"$TMP/bench.tsv" 2>"$TMP/bench.err"
RC=$?
set -e
cat "$TMP/bench.tsv"
cat "$TMP/bench.err" >&2
[ "$RC" -eq 0 ] || fail "tessera_bench --smoke exited $RC"

for fig in files.write files.read tables.put tables.put.p99 tables.get tables.get.p99 \
           streams.produce streams.produce.records streams.consume tables.put.server_cpu; do
  awk -F'\t' -v f="$fig" '$1 == f && $2 + 0 > 0 {found = 1} END {exit !found}' "$TMP/bench.tsv" \
    || fail "figure $fig missing or zero"
done
grep -q '"figures"' "$TMP/out.json" || fail "--json wrote no figures"

kill -TERM "$PID"
for _ in $(seq $((STOP_TIMEOUT_S * 10))); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "tesserad did not stop within ${STOP_TIMEOUT_S}s of SIGTERM"
set +e
wait "$PID"
STOP_RC=$?
set -e
PID=""
[ "$STOP_RC" -eq 0 ] || fail "tesserad exited $STOP_RC on SIGTERM"
echo "bench_smoke: ok"
