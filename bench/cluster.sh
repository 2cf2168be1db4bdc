#!/bin/bash
# bench/cluster.sh: run.sh's Tessera workloads against one node and then
# against three nodes with replication factor 3, IN THE SAME RUN, and the
# failover time (leader killed -> writes acknowledged again). Writes a
# markdown table (figure, one node, three nodes RF3, ratio, target).
#
#   bench/cluster.sh                        small scale (default), ~10 min
#   BENCH_SCALE=full bench/cluster.sh       run.sh's full sizes (1M rows: long on 2 vCPUs)
#
# Steps, each bounded by `timeout`: release build (tesserad, tessera_bench,
# tessera_failover); one tesserad on 127.0.0.1 driven by tessera_bench with
# run.sh's commands and sizes (files, tables, streams), stopped; three
# tesserads (node 1 bootstraps, nodes 2 and 3 --join it, --heartbeat-ms 200)
# on fixed 127.0.0.1 ports, waited on until /v1/health shows 3 nodes up,
# no shard under-replicated or unavailable and no leader moving for 5 s, the
# same workloads driven at the
# leader of the root volume's shard, stopped; then a fresh three-node cluster
# for the failover rounds:
#
#   tessera_failover writes small table rows continuously from several
#   threads (each put with a FAILOVER_TIMEOUT_MS deadline; after an error a
#   writer moves to the next node at once), and each round: wait for health
#   to settle, write STEADY_S seconds, read the leader of the table's tablet
#   shard (the shard the puts go to) from /v1/health, kill -9 it, wait until a put issued after the kill
#   is acknowledged, restart the node. Failover time of a round = the first
#   acknowledgement of a put issued after the kill - the kill.
#
# Everything started here is stopped by PID on exit. Data, logs and results
# are under $OUT: results/cluster.md (+ raw TSV, the failover call log and
# per-round table), logs/.
#
# Environment:
#   OUT=/tmp/tessera-cluster-bench   where data, logs and results go
#   BENCH_SCALE=small|full   preset sizes; FILE_SIZE, ROWS, STREAM_SIZE, GET_SECONDS override
#   FAILOVER_ROUNDS          kills (default 8 small, 20 full); FAILOVER_WRITERS=3, FAILOVER_TIMEOUT_MS=500
#   PARTS=workloads,failover which parts to run
#   BUILD_JOBS=2             parallel compile jobs (the machine is shared)
#   SKIP_BUILD=1 BIN_DIR=D   use D/src/node/tesserad, D/bench/tessera_bench, D/bench/tessera_failover
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/tessera-cluster-bench}
BENCH_SCALE=${BENCH_SCALE:-small}
BUILD_JOBS=${BUILD_JOBS:-2}
PARTS=${PARTS:-workloads,failover}
case "$BENCH_SCALE" in
  full)  d_file=1G;   d_rows=1000000; d_stream=512M; d_gets=30; d_rounds=20 ;;
  small) d_file=256M; d_rows=50000;   d_stream=128M; d_gets=10; d_rounds=8 ;;
  *) echo "BENCH_SCALE must be full or small" >&2; exit 2 ;;
esac
FILE_SIZE=${FILE_SIZE:-$d_file}
ROWS=${ROWS:-$d_rows}
STREAM_SIZE=${STREAM_SIZE:-$d_stream}
GET_SECONDS=${GET_SECONDS:-$d_gets}
FAILOVER_ROUNDS=${FAILOVER_ROUNDS:-$d_rounds}
FAILOVER_WRITERS=${FAILOVER_WRITERS:-3}
FAILOVER_TIMEOUT_MS=${FAILOVER_TIMEOUT_MS:-500}
TABLE_THREADS=16
PRODUCERS=4
HEARTBEAT_MS=200
NODES=3
READY_TIMEOUT_S=130      # a joining node is ready once the meta shard reached it (server allows 120 s)
HEALTH_TIMEOUT_S=120     # all up, none under-replicated or unavailable
RESUME_TIMEOUT_S=30      # after a kill, a put issued later must be acknowledged within this
STEADY_S=2               # writes before each kill
META_SHARD=1

case "$OUT" in /*/*) ;; *) echo "OUT must be an absolute directory below / (its data/ and logs/ are replaced): $OUT" >&2; exit 2 ;; esac
DATA=$OUT/data
LOGS=$OUT/logs
RES=$OUT/results
rm -rf "$DATA" "$LOGS"
mkdir -p "$DATA" "$LOGS" "$RES"
RAW=$RES/cluster_raw.tsv   # config  figure  value  unit  details
: >"$RAW"
CMDS=$RES/cluster_commands.txt
: >"$CMDS"

# Nodes of the current cluster, by index 1..n.
declare -a NODE_PID NODE_GRPC NODE_HTTP NODE_DIR NODE_LOG NODE_ID NODE_JOIN
WRITER_PID=""
stop_pid() { # stop_pid PID: SIGTERM, wait up to 30 s, then SIGKILL
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
stop_cluster() {
  local i
  for i in "${!NODE_PID[@]}"; do stop_pid "${NODE_PID[$i]}"; done
  NODE_PID=(); NODE_GRPC=(); NODE_HTTP=(); NODE_DIR=(); NODE_LOG=(); NODE_ID=(); NODE_JOIN=()
}
cleanup() { stop_pid "$WRITER_PID"; stop_cluster; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
run_step() { # run_step NAME TIMEOUT_S CMD...: output to $LOGS/NAME.log
  local name=$1 t=$2; shift 2
  log "$name: $*"
  timeout --kill-after=10 "$t" "$@" >"$LOGS/$name.log" 2>&1 || die "$name (exit $?, see $LOGS/$name.log)"
}
cmd() { grep -qxF -- "$*" "$CMDS" || echo "$*" >>"$CMDS"; }
emit() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RAW"; log "RESULT $1 $2 = $3 $4"; }
val() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c && $2 == f {print $3; exit}' "$RAW"; }

# ---------------------------------------------------------------- build ---
if [ "${SKIP_BUILD:-0}" = 1 ]; then
  BIN_DIR=${BIN_DIR:?SKIP_BUILD=1 needs BIN_DIR}
else
  BIN_DIR=$REPO/build/release
  cd "$REPO"
  cmd "cmake --preset release && cmake --build --preset release -j $BUILD_JOBS --target tesserad tessera_bench tessera_failover"
  run_step build_configure 600 cmake --preset release
  run_step build 3600 cmake --build --preset release -j "$BUILD_JOBS" --target tesserad tessera_bench tessera_failover
fi
TESSERAD=$BIN_DIR/src/node/tesserad
BENCH=$BIN_DIR/bench/tessera_bench
FAILOVER=$BIN_DIR/bench/tessera_failover
for b in "$TESSERAD" "$BENCH"; do [ -x "$b" ] || die "binary missing: $b"; done
[[ ",$PARTS," != *,failover,* ]] || [ -x "$FAILOVER" ] || die "binary missing: $FAILOVER"
for t in jq curl ss; do command -v "$t" >/dev/null || die "$t is needed (apt-get install jq curl iproute2)"; done

# -------------------------------------------------------------- machine ---
{
  echo "date: $(date -u +%FT%TZ)"
  if c=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null); then
    git -C "$REPO" diff --quiet HEAD 2>/dev/null || c="$c (+ uncommitted changes)"
    echo "commit: $c"
  else
    echo "commit: ${COMMIT:-? (not a git checkout; set COMMIT)}"
  fi
  echo "nproc: $(nproc); memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "disk under $OUT: $(df -h --output=source,fstype,size "$OUT" | tail -1 | tr -s ' ')"
  echo "uptime at start: $(uptime)"
  echo "scale: $BENCH_SCALE (file $FILE_SIZE, rows $ROWS, stream $STREAM_SIZE, gets ${GET_SECONDS}s; failover rounds $FAILOVER_ROUNDS)"
} >"$RES/cluster_machine.txt"

# ---------------------------------------------------------------- nodes ---
PORTS_TAKEN=" "
pick_port() { # a free 127.0.0.1 TCP port, not handed out before in this run
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    case "$PORTS_TAKEN" in *" $p "*) continue ;; esac
    ss -Hltn "sport = :$p" | grep -q . && continue
    PORTS_TAKEN="$PORTS_TAKEN$p "
    echo "$p"; return
  done
}
PDEATH=()
[ -x /usr/bin/setpriv ] && PDEATH=(/usr/bin/setpriv --pdeathsig KILL --)
spawn_node() { # spawn_node I: starts node I (its dir, ports and --join are set); returns at once
  local i=$1 a
  a=(--data-dir "${NODE_DIR[$i]}/data" --grpc-addr "${NODE_GRPC[$i]}" --http-addr "${NODE_HTTP[$i]}"
     --kafka-addr "${NODE_KAFKA[$i]:-127.0.0.1:0}" --heartbeat-ms "$HEARTBEAT_MS")
  # --join only on the first start: a restarted node knows its cluster.
  [ -n "${NODE_JOIN[$i]}" ] && [ ! -d "${NODE_DIR[$i]}/data" ] && a+=(--join "${NODE_JOIN[$i]}")
  echo "===== cluster.sh: start: tesserad ${a[*]}" >>"${NODE_LOG[$i]}"
  env -u TESSERA_ENDPOINT -u TESSERA_CREDENTIALS -u TESSERA_DATA_DIR -u XDG_DATA_HOME HOME="${NODE_DIR[$i]}/home" \
    "${PDEATH[@]}" "$TESSERAD" "${a[@]}" >>"${NODE_LOG[$i]}" 2>&1 </dev/null &
  NODE_PID[$i]=$!
}
ready_count() { grep -c "tesserad: node [0-9]* ready" "${NODE_LOG[$1]}" || true; }
wait_ready() { # wait_ready I BEFORE: until node I printed its (BEFORE+1)th ready line
  local i=$1 before=$2
  for _ in $(seq $((READY_TIMEOUT_S * 10))); do
    kill -0 "${NODE_PID[$i]}" 2>/dev/null || die "node #$i exited during start (see ${NODE_LOG[$i]})"
    if [ "$(ready_count "$i")" -gt "$before" ]; then
      local id
      id=$(grep -o "tesserad: node [0-9]* ready" "${NODE_LOG[$i]}" | tail -1 | awk '{print $3}')
      [ -z "${NODE_ID[$i]:-}" ] || [ "${NODE_ID[$i]}" = "$id" ] || die "node #$i restarted as node $id, was ${NODE_ID[$i]}"
      NODE_ID[$i]=$id
      return
    fi
    sleep 0.1
  done
  die "node #$i not ready in ${READY_TIMEOUT_S}s (see ${NODE_LOG[$i]})"
}
start_node() { # start_node I DIR JOIN: picks ports, starts, waits until ready
  local i=$1
  NODE_DIR[$i]=$2; NODE_JOIN[$i]=$3; NODE_LOG[$i]=$2/tesserad.log; NODE_ID[$i]=""
  NODE_GRPC[$i]=127.0.0.1:$(pick_port); NODE_HTTP[$i]=127.0.0.1:$(pick_port)
  mkdir -p "$2/home"
  spawn_node "$i"
  wait_ready "$i" 0
  log "node #$i: id ${NODE_ID[$i]}, pid ${NODE_PID[$i]}, gRPC ${NODE_GRPC[$i]}, HTTP ${NODE_HTTP[$i]}"
}
start_cluster() { # start_cluster DIR N
  local dir=$1 n=$2 i
  start_node 1 "$dir/n1" ""
  for i in $(seq 2 "$n"); do start_node "$i" "$dir/n$i" "${NODE_GRPC[1]}"; done
  CREDS=${NODE_DIR[1]}/data/admin.credentials
  [ -s "$CREDS" ] || die "node 1 wrote no $CREDS"
}
index_of() { # index_of NODE_ID
  local i
  for i in "${!NODE_ID[@]}"; do [ "${NODE_ID[$i]}" = "$1" ] && { echo "$i"; return; }; done
  echo ""
}
health() { # the /v1/health document from the first running node that answers
  local i
  for i in "${!NODE_PID[@]}"; do
    kill -0 "${NODE_PID[$i]}" 2>/dev/null || continue
    curl -sf --max-time 3 "http://${NODE_HTTP[$i]}/v1/health" && return 0
  done
  return 1
}
HEALTHY_JQ='([.nodes[] | select(.state != "removed")] as $n
             | ($n | length) == $want and ([$n[] | select(.state == "up")] | length) == $want)
           and .under_replicated_shards == 0 and .unavailable_shards == 0
           and ([.shards[] | select(.leader == 0)] | length) == 0'
wait_healthy() { # wait_healthy N: prints the settled health document
  local n=$1 doc=""
  local end=$((SECONDS + HEALTH_TIMEOUT_S))
  while [ $SECONDS -lt $end ]; do
    doc=$(health || true)
    if [ -n "$doc" ] && jq -e --argjson want "$n" "$HEALTHY_JQ" >/dev/null <<<"$doc"; then
      echo "$doc"; return 0
    fi
    sleep 0.25
  done
  echo "$doc" >"$LOGS/health_last.json"
  die "health did not settle ($n up, 0 under-replicated, 0 unavailable) in ${HEALTH_TIMEOUT_S}s; last /v1/health in $LOGS/health_last.json: $doc"
}
# wait_leaders_settled N: after wait_healthy, waits (at most 90 s) until no
# shard's leader changed for 5 s — placement hands leaderships round after
# nodes join, and a workload driven at a leader that then moves measures the
# move — and prints the health document.
wait_leaders_settled() {
  local n=$1 doc last="" same=0 end=$((SECONDS + 90))
  while [ $SECONDS -lt $end ]; do
    doc=$(wait_healthy "$n")
    local now
    now=$(jq -c '[.shards[] | [.shard, .leader]]' <<<"$doc")
    if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; last=$now; fi
    [ $same -ge 5 ] && { echo "$doc"; return 0; }
    sleep 1
  done
  log "leaders still moving after 90 s; going on"
  echo "$doc"
}
volume_shard() { jq -r --argjson meta "$META_SHARD" '[.shards[].shard | select(. != $meta)] | min'; }
leader_of() { jq -r --argjson s "$1" '.shards[] | select(.shard == $s) | .leader'; }

# ------------------------------------------------------------ workloads ---
CLK=$(getconf CLK_TCK)
cpu_all() { # summed CPU seconds of the current cluster's nodes
  local i t=0
  for i in "${!NODE_PID[@]}"; do t=$(awk -v t="$t" -v c="$CLK" '{printf "%.2f", t + ($14 + $15) / c}' "/proc/${NODE_PID[$i]}/stat"); done
  echo "$t"
}
wbytes_all() { # summed storage write bytes of the current cluster's nodes
  local i t=0
  for i in "${!NODE_PID[@]}"; do t=$((t + $(awk '$1 == "write_bytes:" {print $2}' "/proc/${NODE_PID[$i]}/io"))); done
  echo "$t"
}
: >"$RES/cluster_cost.tsv"
run_workload() { # run_workload CONFIG ENDPOINT PID NAME TIMEOUT_S BENCH_ARGS...
  local cfg=$1 ep=$2 pid=$3 w=$4 t=$5; shift 5
  local c0 b0 c1 b1
  c0=$(cpu_all); b0=$(wbytes_all)
  cmd "tessera_bench --credentials \$CREDS --endpoint <$cfg target> --server-pid <its pid> -w $w $*"
  log "$cfg $w: tessera_bench --endpoint $ep --server-pid $pid -w $w $*"
  timeout --kill-after=10 "$t" "$BENCH" --credentials "$CREDS" --endpoint "$ep" --server-pid "$pid" -w "$w" \
    --json "$RES/${cfg}_$w.json" "$@" >"$LOGS/${cfg}_bench_$w.tsv" 2>"$LOGS/${cfg}_bench_$w.err" \
    || die "tessera_bench $cfg $w (see $LOGS/${cfg}_bench_$w.err)"
  while IFS=$'\t' read -r n v u d; do emit "$cfg" "$n" "$v" "$u" "$d"; done <"$LOGS/${cfg}_bench_$w.tsv"
  c1=$(cpu_all); b1=$(wbytes_all)
  printf '%s\t%s\t%s\t%s\n' "$cfg" "$w" "$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.1f", b - a}')" \
    "$(((b1 - b0) >> 20))" >>"$RES/cluster_cost.tsv"
}
run_workloads() { # run_workloads CONFIG ENDPOINT PID: run.sh's three workloads and sizes
  local cfg=$1 ep=$2 pid=$3
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  run_workload "$cfg" "$ep" "$pid" files 1800 --file-size "$FILE_SIZE" --drop-caches
  run_workload "$cfg" "$ep" "$pid" tables 3600 --rows "$ROWS" --table-threads "$TABLE_THREADS" --get-seconds "$GET_SECONDS"
  run_workload "$cfg" "$ep" "$pid" streams 1800 --stream-size "$STREAM_SIZE" --producers "$PRODUCERS" --partitions "$PRODUCERS"
}

if [[ ",$PARTS," == *,workloads,* ]]; then
  # One node, as run.sh starts it.
  log "one node: starting"
  cmd "tesserad --data-dir \$D1 --grpc-addr 127.0.0.1:P1 --http-addr 127.0.0.1:H1 --heartbeat-ms $HEARTBEAT_MS &"
  start_cluster "$DATA/one" 1
  wait_healthy 1 >"$LOGS/one_health.json"
  run_workloads one "${NODE_GRPC[1]}" "${NODE_PID[1]}"
  stop_cluster
  rm -rf "$DATA/one"

  # Three nodes, replication factor 3 (the default), driven at the root volume's leader.
  log "three nodes: starting"
  cmd "tesserad --data-dir \$Di --grpc-addr 127.0.0.1:Pi --http-addr 127.0.0.1:Hi --heartbeat-ms $HEARTBEAT_MS --join 127.0.0.1:P1 &   # i = 2, 3"
  start_cluster "$DATA/three" "$NODES"
  doc=$(wait_leaders_settled "$NODES")
  echo "$doc" >"$LOGS/three_health_start.json"
  vs=$(volume_shard <<<"$doc")
  lid=$(leader_of "$vs" <<<"$doc")
  li=$(index_of "$lid")
  [ -n "$li" ] || die "no node index for leader $lid of shard $vs: $doc"
  jq -e --argjson s "$vs" '.shards[] | select(.shard == $s) | (.voters | length) == 3' >/dev/null <<<"$doc" \
    || die "shard $vs does not have 3 voters: $doc"
  log "three nodes: root volume shard $vs, leader node $lid (#$li); driving it"
  echo "three nodes: root volume shard $vs led by node $lid; workloads sent to it" >>"$RES/cluster_machine.txt"
  run_workloads three "${NODE_GRPC[$li]}" "${NODE_PID[$li]}"
  health >"$LOGS/three_health_end.json" || true
  stop_cluster
  rm -rf "$DATA/three"
fi

# ------------------------------------------------------------- failover ---
if [[ ",$PARTS," == *,failover,* ]]; then
  log "failover: starting $NODES nodes"
  start_cluster "$DATA/failover" "$NODES"
  doc=$(wait_healthy "$NODES")
  vs=$(volume_shard <<<"$doc")
  FLOG=$RES/failover_calls.log
  eps=$(for i in "${!NODE_GRPC[@]}"; do echo -n "${NODE_GRPC[$i]},"; done)
  eps=${eps%,}
  cmd "tessera_failover --credentials \$CREDS --endpoints P1,P2,P3 --writers $FAILOVER_WRITERS --timeout-ms $FAILOVER_TIMEOUT_MS --log calls.log &"
  "$FAILOVER" --credentials "$CREDS" --endpoints "$eps" --writers "$FAILOVER_WRITERS" \
    --timeout-ms "$FAILOVER_TIMEOUT_MS" --log "$FLOG" >"$LOGS/failover_writer.out" 2>"$LOGS/failover_writer.err" &
  WRITER_PID=$!
  for _ in $(seq 300); do
    grep -q "tessera_failover: writing" "$LOGS/failover_writer.out" && break
    kill -0 "$WRITER_PID" 2>/dev/null || die "tessera_failover exited (see $LOGS/failover_writer.err)"
    sleep 0.1
  done
  grep -q "tessera_failover: writing" "$LOGS/failover_writer.out" || die "tessera_failover did not start writing in 30 s"
  # The puts go to the table's tablet shard: its leader is the one killed.
  vs=""
  for _ in $(seq 100); do
    vs=$(health | jq -r '[.shards[] | select(.kind == "tablet") | .shard] | min // empty')
    [ -n "$vs" ] && break
    sleep 0.1
  done
  [ -n "$vs" ] || die "the failover table's tablet shard did not appear in /v1/health"
  KILLS=$RES/failover_kills.tsv   # round  kill_us  victim_id  shards it led
  : >"$KILLS"
  cmd "each round: wait for /v1/health: $NODES up, 0 under-replicated, 0 unavailable; sleep $STEADY_S; kill -KILL <leader of shard $vs>; wait for an ack of a put issued after the kill; restart it"
  for r in $(seq "$FAILOVER_ROUNDS"); do
    doc=$(wait_healthy "$NODES")
    # Leadership moves (rebalance) finish before the steady period, so the
    # leader read below is the one that gets killed.
    for _ in $(seq 40); do
      jq -e '.rebalance.active != true' >/dev/null <<<"$doc" && break
      sleep 0.25; doc=$(wait_healthy "$NODES")
    done
    jq -e '.rebalance.active != true' >/dev/null <<<"$doc" || log "round $r: rebalance still active after 10 s; going on"
    sleep "$STEADY_S"
    kill -0 "$WRITER_PID" 2>/dev/null || die "tessera_failover exited (see $LOGS/failover_writer.err)"
    doc=$(health) || die "no node answers /v1/health"
    jq -e --argjson want "$NODES" "$HEALTHY_JQ" >/dev/null <<<"$doc" || { log "round $r: health changed during the steady period; waiting again"; doc=$(wait_healthy "$NODES"); }
    lid=$(leader_of "$vs" <<<"$doc")
    vi=$(index_of "$lid")
    [ -n "$vi" ] || die "round $r: leader '$lid' of shard $vs is not a node of this cluster: $doc"
    led=$(jq -r --argjson id "$lid" '[.shards[] | select(.leader == $id) | .shard] | join(",")' <<<"$doc")
    off=$(stat -c %s "$FLOG")
    kill -KILL "${NODE_PID[$vi]}"
    tk=${EPOCHREALTIME//[.,]/}
    wait "${NODE_PID[$vi]}" 2>/dev/null || true
    printf '%s\t%s\t%s\t%s\n' "$r" "$tk" "$lid" "$led" >>"$KILLS"
    resumed=""
    end=$((SECONDS + RESUME_TIMEOUT_S))
    while [ $SECONDS -lt $end ]; do
      size=$(stat -c %s "$FLOG")
      if [ "$size" -gt "$off" ]; then
        resumed=$(tail -c +$((off + 1)) "$FLOG" | head -c $((size - off)) |
                  awk -v tk="$tk" '$1 == "A" && $2 >= tk {print $3; exit}' || true)
        off=$size
        [ -n "$resumed" ] && break
      fi
      sleep 0.05
    done
    if [ -z "$resumed" ]; then
      health >"$LOGS/health_no_resume.json" || true
      die "round $r: no put issued after kill -9 of node $lid (leader of shards $led) was acknowledged within ${RESUME_TIMEOUT_S}s; calls in $FLOG, health in $LOGS/health_no_resume.json, node logs under $DATA/failover"
    fi
    log "round $r: killed node $lid (leader of shards $led), writes resumed after $(( (resumed - tk) / 1000 )) ms; restarting it"
    before=$(ready_count "$vi")
    spawn_node "$vi"
    wait_ready "$vi" "$before"
  done
  wait_healthy "$NODES" >"$LOGS/failover_health_end.json"
  sleep 1
  stop_pid "$WRITER_PID"; WRITER_PID=""
  cat "$LOGS/failover_writer.out" >&2
  # Per round: first ack of a put issued at or after the kill (and before the next kill),
  # and the puts that failed before it.
  awk 'BEGIN {FS = "\t"} NR == FNR {n++; k[n] = $2; id[n] = $3; led[n] = $4; next}
    { split($0, f, " ") }
    f[1] == "A" || f[1] == "E" {
      r = 0; for (i = n; i >= 1; i--) if (f[2] + 0 >= k[i]) { r = i; break }
      if (!r) next
      if (f[1] == "A") { if (!(r in first) || f[3] + 0 < first[r]) first[r] = f[3] + 0 }
      else if (!(r in first)) err[r]++
    }
    END { for (i = 1; i <= n; i++)
            printf "%d\t%s\t%s\t%.1f\t%d\n", i, id[i], led[i], (i in first) ? (first[i] - k[i]) / 1000 : -1, err[i] }' \
    "$KILLS" "$FLOG" >"$RES/failover_rounds.tsv"
  sort -t$'\t' -k4,4g "$RES/failover_rounds.tsv" | awk -F'\t' '{v[NR] = $4} END {
      p50 = v[int((NR * 50 + 99) / 100)]; p99 = v[int((NR * 99 + 99) / 100)]
      printf "%s\t%s\t%s\t%d\n", p50, p99, v[NR], NR }' >"$RES/failover_summary.tsv"
  read -r fo_p50 fo_p99 fo_max fo_n <"$RES/failover_summary.tsv"
  emit three failover.p50 "$fo_p50" ms "$fo_n kills of the table's tablet leader, $FAILOVER_WRITERS writers, ${FAILOVER_TIMEOUT_MS} ms per put"
  emit three failover.p99 "$fo_p99" ms "nearest rank of $fo_n rounds"
  emit three failover.max "$fo_max" ms ""
  stop_cluster
fi
echo "uptime at end: $(uptime)" >>"$RES/cluster_machine.txt"

# ---------------------------------------------------------------- table ---
r1() { [ -n "$1" ] && awk -v v="$1" 'BEGIN{printf "%.1f", v}' || echo "-"; }
r0() { [ -n "$1" ] && awk -v v="$1" 'BEGIN{printf "%d", v}' || echo "-"; }
row() { # row LABEL FIGURE UNIT FORMAT
  local label=$1 f=$2 unit=$3 fmt=$4 a b r met
  a=$(val one "$f"); b=$(val three "$f")
  r=$(awk -v a="$a" -v b="$b" 'BEGIN{ if (a > 0 && b != "") printf "%.2f", b / a; else print "-" }')
  met=$(awk -v r="$r" 'BEGIN{ if (r == "-") print "-"; else print (r + 0 >= 0.33) ? "met" : "MISSED" }')
  printf '| %s | %s %s | %s %s | %s | ≥ 0.33 | %s |\n' "$label" "$("$fmt" "$a")" "$unit" "$("$fmt" "$b")" "$unit" "$r" "$met"
}
lat() { # lat LABEL FIGURE: p50 / p99 in ms, one node and three nodes
  local f=$2 c out=""
  for c in one three; do
    out="$out | $(awk -v a="$(val $c "$f.p50")" -v b="$(val $c "$f.p99")" \
      'BEGIN{ if (a == "") print "-"; else printf "%.1f / %.1f ms", a / 1000, b / 1000 }')"
  done
  printf '| %s%s |\n' "$1" "$out"
}
{
  echo "# Tessera: one node vs three nodes RF3 ($BENCH_SCALE scale)"
  echo
  sed 's/^/    /' "$RES/cluster_machine.txt"
  echo
  if [[ ",$PARTS," == *,workloads,* ]]; then
    echo "| figure | one node | three nodes RF3 | ratio | target | |"
    echo "|---|---:|---:|---:|---|---|"
    row "files write (1 stream, 1 MiB msgs, durable)" files.write MiB/s r1
    row "files read (1 stream, cold cache)" files.read MiB/s r1
    row "table puts, $TABLE_THREADS clients, durable" tables.put ops/s r0
    row "table gets, $TABLE_THREADS clients" tables.get ops/s r0
    row "stream produce ($PRODUCERS producers, 100 × 1 KiB per call)" streams.produce MiB/s r1
    row "stream consume (Fetch 4 MiB)" streams.consume MiB/s r1
    echo
    echo "| latency p50 / p99 | one node | three nodes RF3 |"
    echo "|---|---:|---:|"
    lat "table put" tables.put
    lat "table get" tables.get
    lat "produce call (100 records)" streams.produce
    echo
    echo "CPU and disk writes of all nodes together per workload (/proc/PID/stat, /proc/PID/io):"
    echo
    echo "| workload | one node CPU s | one node written MiB | three nodes CPU s | three nodes written MiB |"
    echo "|---|---:|---:|---:|---:|"
    for w in files tables streams; do
      printf '| %s | %s | %s | %s | %s |\n' "$w" \
        "$(awk -F'\t' -v w="$w" '$1 == "one" && $2 == w {print $3}' "$RES/cluster_cost.tsv")" \
        "$(awk -F'\t' -v w="$w" '$1 == "one" && $2 == w {print $4}' "$RES/cluster_cost.tsv")" \
        "$(awk -F'\t' -v w="$w" '$1 == "three" && $2 == w {print $3}' "$RES/cluster_cost.tsv")" \
        "$(awk -F'\t' -v w="$w" '$1 == "three" && $2 == w {print $4}' "$RES/cluster_cost.tsv")"
    done
    echo
  fi
  if [[ ",$PARTS," == *,failover,* ]]; then
    echo "Failover (kill -9 of the leader of the table's tablet shard → first acknowledged put issued after the kill),"
    echo "$fo_n rounds, $FAILOVER_WRITERS writers, ${FAILOVER_TIMEOUT_MS} ms deadline per put:"
    echo
    echo "| figure | value | target | |"
    echo "|---|---:|---|---|"
    echo "| failover p50 | $fo_p50 ms | | |"
    echo "| failover p99 (nearest rank of $fo_n) | $fo_p99 ms | < 2000 ms | $(awk -v v="$fo_p99" 'BEGIN{print (v + 0 < 2000 && v + 0 >= 0) ? "met" : "MISSED"}') |"
    echo "| failover max | $fo_max ms | | |"
    echo
    echo "| round | killed node | shards it led | failover ms | failed puts meanwhile |"
    echo "|---:|---:|---|---:|---:|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$RES/failover_rounds.tsv"
    echo
  fi
  echo "Commands (in order):"
  echo
  echo '```'
  cat "$CMDS"
  echo '```'
} >"$RES/cluster.md"
cat "$RES/cluster.md"
log "wrote $RES/cluster.md"
