#!/bin/bash
# bench/recovery.sh: re-replication speed after a node loss, beside the disk's
# sequential write bandwidth measured in the same run.
#
#   SKIP_BUILD=1 BIN_DIR=build/release bench/recovery.sh
#   RECOVERY_RATE_MIB=200 ...   # passes --recovery-rate-mib to every node
#
# Four tesserads on 127.0.0.1 (--node-dead-after-ms 5000, --file-data-shards 0
# so that the file's bytes are one shard's: the transfer measured is that
# shard's snapshot). A DATA_SIZE file
# (default 1G) is written to the root volume (replication factor 3), then one
# node holding a replica that does not lead it is killed -9. After the dead
# timeout the placement adds a replica on the fourth node, which receives a
# snapshot of the shard. Reported: the snapshot's size and its transfer time
# (leader's "sending snapshot" to the receiver's "installed snapshot" log
# lines), as MiB/s beside fio's sequential write with an fsync per MiB; and
# the foreground write rate during the transfer beside the rate in the 10 s
# before the kill (tessera_failover's small durable table puts, 4 writers on
# the surviving nodes).
# Everything started is stopped by PID on exit.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/tessera-recovery}
DATA_SIZE=${DATA_SIZE:-1G}
BIN_DIR=${BIN_DIR:-$REPO/build/release}
RECOVERY_RATE_MIB=${RECOVERY_RATE_MIB:-0}
if [ -z "${SKIP_BUILD:-}" ]; then
  (cd "$REPO" && cmake --preset release >/dev/null && cmake --build --preset release -j 2 --target tesserad tessera tessera_failover)
fi
TESSERAD=$BIN_DIR/src/node/tesserad
CLI=$BIN_DIR/src/cli/tessera
FAILOVER=$BIN_DIR/bench/tessera_failover
case "$OUT" in /*/*) ;; *) echo "OUT must be an absolute directory below /" >&2; exit 2 ;; esac
rm -rf "$OUT"; mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
log() { echo "[$(date -u +%T)] $*" >&2; }

log "fio: sequential write, 1 MiB blocks, fsync each"
FIO_MIBS=$(fio --name=seqw --filename="$OUT/fio.dat" --rw=write --bs=1M --size=1G --ioengine=psync \
  --fsync=1 --output-format=json | jq '.jobs[0].write.bw_bytes / 1048576')
rm -f "$OUT/fio.dat"

BASE=$((20000 + RANDOM % 20000))
start_node() { # start_node I [--join ADDR]
  local i=$1; shift
  "$TESSERAD" --data-dir "$OUT/n$i" --grpc-addr "127.0.0.1:$((BASE + 2 * i))" \
    --http-addr "127.0.0.1:$((BASE + 2 * i + 1))" --kafka-addr 127.0.0.1:0 --heartbeat-ms 200 --node-dead-after-ms 5000 \
    --recovery-rate-mib "$RECOVERY_RATE_MIB" --file-data-shards 0 "$@" \
    >"$OUT/n$i.log" 2>&1 </dev/null &
  PIDS[$i]=$!
  disown "$!"
  for _ in $(seq 300); do grep -q "tesserad: node [0-9]* ready" "$OUT/n$i.log" && return 0; sleep 0.1; done
  echo "node $i not ready" >&2; exit 1
}
health() { curl -s "127.0.0.1:$((BASE + 3))/v1/health"; }
start_node 1
for i in 2 3 4; do start_node "$i" --join "127.0.0.1:$((BASE + 2))"; done
export TESSERA_CREDENTIALS=$OUT/n1/admin.credentials TESSERA_ENDPOINT=127.0.0.1:$((BASE + 2))
for _ in $(seq 300); do
  h=$(health); [ "$(echo "$h" | jq '[.nodes[] | select(.state == "up")] | length')" = 4 ] &&
    [ "$(echo "$h" | jq '.under_replicated_shards')" = 0 ] && [ "$(echo "$h" | jq '.rebalance.active')" = false ] && break
  sleep 0.2
done

log "writing $DATA_SIZE to /data.bin"
head -c "$DATA_SIZE" /dev/urandom >"$OUT/data.bin"
t0=$(date +%s.%N); "$CLI" put "$OUT/data.bin" /data.bin; t1=$(date +%s.%N)
WRITE_MIBS=$(echo "$(stat -c %s "$OUT/data.bin") / 1048576 / ($t1 - $t0)" | bc -l)
rm -f "$OUT/data.bin"

h=$(health)
LEADER=$(echo "$h" | jq '.shards[] | select(.shard == 2) | .leader')
VOTERS=$(echo "$h" | jq -r '.shards[] | select(.shard == 2) | .voters | map(tostring) | join(" ")')
VICTIM=""
for v in $VOTERS; do [ "$v" != "$LEADER" ] && [ "$v" != 1 ] && VICTIM=$v && break; done
SPARE=""
for n in 1 2 3 4; do case " $VOTERS " in *" $n "*) ;; *) SPARE=$n ;; esac; done
EPS=""
for n in 1 2 3 4; do [ "$n" != "$VICTIM" ] && EPS=$EPS${EPS:+,}127.0.0.1:$((BASE + 2 * n)); done
log "foreground: tessera_failover on $EPS for 10 s before the kill and through the transfer"
"$FAILOVER" --credentials "$TESSERA_CREDENTIALS" --endpoints "$EPS" --writers 4 --timeout-ms 2000 \
  --log "$OUT/foreground.log" >"$OUT/foreground.out" 2>&1 &
PIDS[9]=$!
disown "$!"
sleep 12
log "shard 2: leader $LEADER, voters $VOTERS; killing node $VICTIM, node $SPARE should take its replica"
KILL_S=$(date +%s.%N)
kill -KILL "${PIDS[$VICTIM]}"
for _ in $(seq 1200); do grep -q "shard 2: installed snapshot" "$OUT/n$SPARE.log" && break; sleep 0.5; done
grep -h "snapshot" "$OUT"/n*.log >"$OUT/snapshot_lines.txt" || true
ts() { date -d "$(echo "$1" | sed -E 's/^\[([^]]*)\].*/\1/')" +%s.%N; }
SEND=$(grep -h "shard 2: sending snapshot .* to node $SPARE" "$OUT/n$LEADER.log" | tail -1)
DONE=$(grep -h "shard 2: installed snapshot" "$OUT/n$SPARE.log" | tail -1)
[ -n "$SEND" ] && [ -n "$DONE" ] || { echo "no snapshot transfer seen (see $OUT/*.log)" >&2; exit 1; }
SECS=$(echo "$(ts "$DONE") - $(ts "$SEND")" | bc -l)
BYTES=$(du -sb "$OUT/n$SPARE" | cut -f1)
RATE=$(echo "$BYTES / 1048576 / $SECS" | bc -l)
sleep 1
kill -TERM "${PIDS[9]}" 2>/dev/null || true
sleep 1
acks_between() { awk -v a="$1" -v b="$2" '$1 == "A" && $3 / 1e6 >= a && $3 / 1e6 < b { n++ } END { print n + 0 }' "$OUT/foreground.log"; }
BEFORE=$(echo "$(acks_between "$(echo "$KILL_S - 10" | bc -l)" "$KILL_S") / 10" | bc -l)
DURING=$(echo "$(acks_between "$(ts "$SEND")" "$(ts "$DONE")") / $SECS" | bc -l)
printf '| figure | value |\n|---|---:|\n'
printf '| --recovery-rate-mib | %s |\n' "$RECOVERY_RATE_MIB"
printf '| foreground write of the file (tessera put, RF3) | %.1f MiB/s |\n' "$WRITE_MIBS"
printf '| re-replication: data dir of the new replica | %.0f MiB |\n' "$(echo "$BYTES / 1048576" | bc -l)"
printf '| re-replication: snapshot send → installed | %.1f s |\n' "$SECS"
printf '| re-replication rate | %.1f MiB/s |\n' "$RATE"
printf '| disk: fio sequential write, 1 MiB, fsync each | %.1f MiB/s |\n' "$FIO_MIBS"
printf '| ratio (target ≥ 0.5) | %.2f |\n' "$(echo "$RATE / $FIO_MIBS" | bc -l)"
printf '| foreground puts/s, 10 s before the kill | %.0f |\n' "$BEFORE"
printf '| foreground puts/s during the transfer | %.0f |\n' "$DURING"
printf '| foreground ratio (target ≥ 0.5) | %.2f |\n' "$(echo "$DURING / $BEFORE" | bc -l)"
