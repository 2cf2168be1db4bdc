#!/bin/bash
# bench/kafka.sh: Tessera's Kafka gateway through librdkafka (bench/kafka_bench)
# beside NATS JetStream and Redis Streams, IN THE SAME RUN, 1 KiB messages:
#
#   1. peers (../shared/peers): 02_nats.sh with MODES=r3 (three nats-servers,
#      stream Replicas=3: sync publish, async publish window 1000, ordered
#      consume) and 03_redis.sh (XADD with AOF off / everysec / always,
#      pipelined XADD, XRANGE), REPS times each (median);
#   2. Tessera: three tesserads on 127.0.0.1 (node 1 bootstraps, 2 and 3
#      --join it, --heartbeat-ms 200), each with its own --kafka-addr, waited
#      on until /v1/health shows 3 nodes up, nothing under-replicated or
#      unavailable and leaders settled. Then, with acks=all and the volume's
#      replication factor 3:
#        a. max produce throughput, once per partition count in PARTITIONS
#           (default "3 6"), each into a fresh topic created first
#           (CreateTopics) and settled; the best is "Tessera produce";
#        b. produce paced at half of that best rate (--rate), fresh topic
#           with the best partition count: p50/p99/p999 latency; the same
#           again with RATE_EXTRA (default: librdkafka's
#           max.in.flight.requests.per.connection=1), a diagnostic row;
#        c. consume the best max-throughput topic from the beginning.
#
# Prints (and writes $OUT/results/kafka.md) a markdown table with the ratios
# the issue asks for: produce ≥ 5× NATS R3 async publish, p99 < 10 ms at half
# the max throughput, consume ≥ 1× NATS R3 consume; Redis beside them.
# Every process started here is stopped by PID on exit (trap). Each step is
# bounded by `timeout`. About 8 minutes on 2 vCPUs with the defaults (NATS
# 1.5 min; 03_redis.sh 2-6 min, mostly its fsync-per-write runs, so it
# depends on the disk; Tessera 2.5 min). PEERS=nats skips Redis.
#
# Partitions: with 3 nodes, 3 partitions put one partition leader on each
# node. 6 gave less than 3 in every trial so far (debug build, 3 runs:
# 7157 vs 9749, 8360 vs 8929, 6730 vs 7468 msg/s): the Kafka listener
# answers one request per connection at a time, so a second partition on
# the same broker adds requests, not parallelism. The script still tries
# both by default and reports the better one (and both in the table);
# PARTITIONS=3 skips the trial.
#
#   bench/kafka.sh                                      release build, then the run
#   SKIP_BUILD=1 BIN_DIR=build/release bench/kafka.sh   use built binaries
#
# Environment:
#   OUT=/tmp/tessera-kafka-bench  data, logs, results (its data/, logs/ and peers/ are replaced)
#   SKIP_BUILD=1 BIN_DIR=D    D/src/node/tesserad, D/bench/kafka_bench (KAFKA_BENCH=path overrides the latter)
#   BUILD_JOBS=2              parallel compile jobs
#   PEERS=nats,redis          which peers to run ("" = none)
#   PEERS_DIR=<repo>/../shared/peers
#   REPS=1                    repetitions of each peer figure (peer scripts report the median)
#   NATS_TRIES=2              runs of 02_nats.sh until none of its figures is empty
#   PARTITIONS="3 6"          partition counts tried at max throughput
#   PRODUCE_SECONDS=20        length of each max-throughput run (PRODUCE_COUNT=5000000 caps it)
#   RATE_SECONDS=15           length of each paced run
#   RATE_EXTRA="-X max.in.flight.requests.per.connection=1"   a second paced run with these extra
#                             kafka_bench flags (diagnostic row; "" skips it)
#   LINGER_MS=5 BATCH_SIZE=1048576 QUEUE_MESSAGES=100000   producer settings (all runs)
#   KAFKA_BENCH_ARGS=""       extra kafka_bench flags for every produce run (e.g. "-X socket.nagle.disable=true")
#   KEEP_DATA=1               keep the nodes' data dirs (removed at the end otherwise; logs are kept)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/tessera-kafka-bench}
BUILD_JOBS=${BUILD_JOBS:-2}
PEERS=${PEERS-nats,redis}
PEERS_DIR=${PEERS_DIR:-$REPO/../shared/peers}
REPS=${REPS:-1}
PARTITIONS=${PARTITIONS:-"3 6"}
PRODUCE_SECONDS=${PRODUCE_SECONDS:-20}
PRODUCE_COUNT=${PRODUCE_COUNT:-5000000}
RATE_SECONDS=${RATE_SECONDS:-15}
RATE_EXTRA=${RATE_EXTRA-"-X max.in.flight.requests.per.connection=1"}
LINGER_MS=${LINGER_MS:-5}
BATCH_SIZE=${BATCH_SIZE:-1048576}
QUEUE_MESSAGES=${QUEUE_MESSAGES:-100000}
KAFKA_BENCH_ARGS=${KAFKA_BENCH_ARGS:-}
SIZE=1024
HEARTBEAT_MS=200
NODES=3
READY_TIMEOUT_S=130
HEALTH_TIMEOUT_S=120

case "$OUT" in /*/*) ;; *) echo "OUT must be an absolute directory below / (its data/, logs/ and peers/ are replaced): $OUT" >&2; exit 2 ;; esac
DATA=$OUT/data
LOGS=$OUT/logs
RES=$OUT/results
rm -rf "$DATA" "$LOGS" "$OUT/peers"
mkdir -p "$DATA" "$LOGS" "$RES"
RAW=$RES/kafka_raw.tsv   # system  figure  value  unit  details
: >"$RAW"
CMDS=$RES/kafka_commands.txt
: >"$CMDS"

# ------------------------------------------------------- process control ---
declare -a NODE_PID NODE_GRPC NODE_HTTP NODE_KAFKA NODE_DIR NODE_LOG NODE_ID NODE_JOIN
CHILD=""   # the peer script or kafka_bench running now (a `timeout` process)
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
  NODE_PID=(); NODE_GRPC=(); NODE_HTTP=(); NODE_KAFKA=(); NODE_DIR=(); NODE_LOG=(); NODE_ID=(); NODE_JOIN=()
}
# `timeout` forwards SIGTERM to its command: a peer script then stops its servers (its own trap).
cleanup() { stop_pid "$CHILD"; CHILD=""; stop_cluster; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
cmd() { grep -qxF -- "$*" "$CMDS" || echo "$*" >>"$CMDS"; }
emit() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RAW"; log "RESULT $1 $2 = $3 $4"; }
val() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c && $2 == f {print $3; exit}' "$RAW"; }
# run_child TIMEOUT_S STDOUT STDERR CMD...: in the background (so a signal to
# this script is handled at once), waited for; returns the command's status.
run_child() {
  local t=$1 o=$2 e=$3 rc=0; shift 3
  timeout --kill-after=10 "$t" "$@" >"$o" 2>"$e" </dev/null &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return $rc
}
kv() { grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }   # kv KEY LINE: value of KEY=... in a kafka_bench line

# ---------------------------------------------------------------- build ---
if [ "${SKIP_BUILD:-0}" = 1 ]; then
  BIN_DIR=${BIN_DIR:-$REPO/build/release}
else
  BIN_DIR=$REPO/build/release
  cd "$REPO"
  cmd "cmake --preset release && cmake --build --preset release -j $BUILD_JOBS --target tesserad kafka_bench"
  log "build: cmake --preset release && cmake --build --preset release -j $BUILD_JOBS --target tesserad kafka_bench"
  timeout 600 cmake --preset release >"$LOGS/build_configure.log" 2>&1 || die "cmake configure (see $LOGS/build_configure.log)"
  grep -q "kafka_bench is not built" "$LOGS/build_configure.log" && die "pkg-config finds no rdkafka: apt-get install librdkafka-dev, then run again"
  timeout 3600 cmake --build --preset release -j "$BUILD_JOBS" --target tesserad kafka_bench >"$LOGS/build.log" 2>&1 \
    || die "build (see $LOGS/build.log)"
fi
case "$BIN_DIR" in /*) ;; *) BIN_DIR=$REPO/$BIN_DIR ;; esac
TESSERAD=$BIN_DIR/src/node/tesserad
KB=${KAFKA_BENCH:-$BIN_DIR/bench/kafka_bench}
for b in "$TESSERAD" "$KB"; do [ -x "$b" ] || die "binary missing: $b"; done
for t in jq curl ss; do command -v "$t" >/dev/null || die "$t is needed"; done

{
  echo "date: $(date -u '+%F %T UTC')"
  if c=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null); then
    git -C "$REPO" diff --quiet HEAD 2>/dev/null || c="$c (+ uncommitted changes)"
    echo "commit: $c"
  fi
  echo "tesserad: $TESSERAD"
  echo "kafka_bench: $KB (librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo ?))"
  echo "nproc: $(nproc); memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "disk under $OUT: $(df -h --output=source,fstype,size "$OUT" | tail -1 | tr -s ' ')"
  echo "uptime at start: $(uptime)"
} >"$RES/kafka_machine.txt"

# ---------------------------------------------------------------- peers ---
# peer_val FILE FIGURE: the median column of a peer TSV (figure tool median unit runs command)
peer_val() { [ -f "$1" ] && awk -F'\t' -v f="$2" '$1 == f {print $3; exit}' "$1" || true; }
PEERS_OUT=$OUT/peers
if [[ ",$PEERS," == *,nats,* ]]; then
  [ -x "$PEERS_DIR/02_nats.sh" ] || die "no $PEERS_DIR/02_nats.sh (set PEERS_DIR, or PEERS= to skip)"
  log "peers: NATS JetStream, 3 replicas (MODES=r3 REPS=$REPS $PEERS_DIR/02_nats.sh; up to 10 min)"
  echo "uptime before NATS: $(uptime)" >>"$RES/kafka_machine.txt"
  cmd "PEERS_OUT=$PEERS_OUT MODES=r3 REPS=$REPS $PEERS_DIR/02_nats.sh"
  # natsbench exits on the first failed async publish ("stalled with too many
  # outstanding async published messages" happens on a busy machine), leaving no
  # async figure and a consume of a partial stream: then the script runs again,
  # up to NATS_TRIES times.
  T=$PEERS_OUT/results/02_nats.tsv
  nats_ok=0
  for try in $(seq "${NATS_TRIES:-2}"); do
    rc=0
    run_child 600 "$LOGS/peers_nats.log" "$LOGS/peers_nats.log" \
      env -u DATA -u BENCH_DIR PEERS_OUT="$PEERS_OUT" MODES=r3 REPS="$REPS" "$PEERS_DIR/02_nats.sh" || rc=$?
    cp "$LOGS/peers_nats.log" "$LOGS/peers_nats.try$try.log"
    # (the script itself exits 0 either way; column 5 holds each figure's runs, comma-separated)
    if [ $rc = 0 ] && [ -n "$(peer_val "$T" nats.js.r3.file.pub_async_1KiB.window1000)" ] \
       && ! awk -F'\t' '$5 == "" || $5 ~ /(^|,)(,|$)/ {bad = 1} END {exit !bad}' "$T"; then
      nats_ok=1; break
    fi
    log "WARNING: 02_nats.sh try $try (exit $rc) left a figure empty (see $LOGS/peers_nats.try$try.log: $(grep -m1 -iE 'stalled|error|timeout' "$LOGS/peers_nats.log" || true))"
    echo "NATS try $try failed: $(grep -m1 -iE 'stalled|error|timeout' "$LOGS/peers_nats.log" || echo "exit $rc")" >>"$RES/kafka_machine.txt"
  done
  if [ $nats_ok = 1 ] || [ -s "$T" ]; then
    for f in pub_async_1KiB.window1000 pub_sync_1KiB.1client pub_sync_1KiB.1client.p99 pub_sync_1KiB.16clients consume_ordered_1KiB; do
      v=$(peer_val "$T" "nats.js.r3.file.$f")
      if [ -n "$v" ]; then emit nats "$f" "$v" "$(awk -F'\t' -v f="nats.js.r3.file.$f" '$1 == f {print $4; exit}' "$T")" "02_nats.sh MODES=r3 REPS=$REPS"; fi
    done
  fi
  [ $nats_ok = 1 ] || log "WARNING: no complete NATS run in ${NATS_TRIES:-2} tries: NATS figures are missing or partial"
fi
if [[ ",$PEERS," == *,redis,* ]]; then
  [ -x "$PEERS_DIR/03_redis.sh" ] || die "no $PEERS_DIR/03_redis.sh (set PEERS_DIR, or PEERS= to skip)"
  log "peers: Redis Streams (REPS=$REPS $PEERS_DIR/03_redis.sh; up to 10 min)"
  echo "uptime before Redis: $(uptime)" >>"$RES/kafka_machine.txt"
  cmd "PEERS_OUT=$PEERS_OUT REPS=$REPS $PEERS_DIR/03_redis.sh"
  if run_child 600 "$LOGS/peers_redis.log" "$LOGS/peers_redis.log" \
       env -u DATA -u BENCH_DIR PEERS_OUT="$PEERS_OUT" REPS="$REPS" "$PEERS_DIR/03_redis.sh"; then
    T=$PEERS_OUT/results/03_redis.tsv
    for f in aof_none.xadd_1KiB.c50 aof_everysec.xadd_1KiB.c50 aof_everysec.xadd_1KiB.c50.P16 aof_always.xadd_1KiB.c50 \
             aof_always.xadd_1KiB.c1.p99 xrange_1KiB.count100.c10; do
      v=$(peer_val "$T" "redis.stream.$f")
      if [ -n "$v" ]; then emit redis "$f" "$v" "$(awk -F'\t' -v f="redis.stream.$f" '$1 == f {print $4; exit}' "$T")" "03_redis.sh REPS=$REPS"; fi
    done
  else
    log "WARNING: 03_redis.sh failed (exit $?; see $LOGS/peers_redis.log): no Redis figures"
  fi
fi

# ---------------------------------------------------------------- nodes ---
# (the node helpers of bench/cluster.sh, which runs its workloads when sourced)
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
     --kafka-addr "${NODE_KAFKA[$i]}" --heartbeat-ms "$HEARTBEAT_MS")
  [ -n "${NODE_JOIN[$i]}" ] && [ ! -d "${NODE_DIR[$i]}/data" ] && a+=(--join "${NODE_JOIN[$i]}")
  echo "===== kafka.sh: start: tesserad ${a[*]}" >>"${NODE_LOG[$i]}"
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
      NODE_ID[$i]=$(grep -o "tesserad: node [0-9]* ready" "${NODE_LOG[$i]}" | tail -1 | awk '{print $3}')
      return
    fi
    sleep 0.1
  done
  die "node #$i not ready in ${READY_TIMEOUT_S}s (see ${NODE_LOG[$i]})"
}
start_node() { # start_node I DIR JOIN: picks ports, starts, waits until ready
  local i=$1
  NODE_DIR[$i]=$2; NODE_JOIN[$i]=$3; NODE_LOG[$i]=$2/tesserad.log; NODE_ID[$i]=""
  NODE_GRPC[$i]=127.0.0.1:$(pick_port); NODE_HTTP[$i]=127.0.0.1:$(pick_port); NODE_KAFKA[$i]=127.0.0.1:$(pick_port)
  mkdir -p "$2/home"
  spawn_node "$i"
  wait_ready "$i" 0
  log "node #$i: id ${NODE_ID[$i]}, pid ${NODE_PID[$i]}, gRPC ${NODE_GRPC[$i]}, HTTP ${NODE_HTTP[$i]}, Kafka ${NODE_KAFKA[$i]}"
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
  local n=$1 doc="" end=$((SECONDS + HEALTH_TIMEOUT_S))
  while [ $SECONDS -lt $end ]; do
    doc=$(health || true)
    if [ -n "$doc" ] && jq -e --argjson want "$n" "$HEALTHY_JQ" >/dev/null <<<"$doc"; then
      echo "$doc"; return 0
    fi
    sleep 0.25
  done
  echo "$doc" >"$LOGS/health_last.json"
  die "health did not settle ($n up, 0 under-replicated, 0 unavailable) in ${HEALTH_TIMEOUT_S}s; last /v1/health in $LOGS/health_last.json"
}
wait_leaders_settled() { # wait_leaders_settled N [MAX_S]: until no shard's leader moved for 5 s and no rebalance runs
  local n=$1 max=${2:-90} doc last="" same=0 end=$((SECONDS + ${2:-90}))
  while [ $SECONDS -lt $end ]; do
    doc=$(wait_healthy "$n")
    local now
    now=$(jq -c '[.shards[] | [.shard, .leader]]' <<<"$doc")
    if [ "$now" = "$last" ] && jq -e '.rebalance.active != true' >/dev/null <<<"$doc"; then same=$((same + 1)); else same=0; last=$now; fi
    [ $same -ge 5 ] && { echo "$doc"; return 0; }
    sleep 1
  done
  log "leaders still moving after $max s; going on"
  echo "$doc"
}
CLK=$(getconf CLK_TCK)
cpu_all() { # summed CPU seconds of the cluster's nodes
  local i t=0
  for i in "${!NODE_PID[@]}"; do t=$(awk -v t="$t" -v c="$CLK" '{printf "%.2f", t + ($14 + $15) / c}' "/proc/${NODE_PID[$i]}/stat"); done
  echo "$t"
}
wbytes_all() { # summed storage write bytes of the cluster's nodes
  local i t=0
  for i in "${!NODE_PID[@]}"; do t=$((t + $(awk '$1 == "write_bytes:" {print $2}' "/proc/${NODE_PID[$i]}/io"))); done
  echo "$t"
}
partition_leaders() { # shard:leader of every partition shard, from /v1/health
  health | jq -r '[.shards[] | select(.kind == "partition") | "\(.shard):\(.leader)"] | join(" ")' || true
}

# ------------------------------------------------------------ tessera ---
log "tessera: starting $NODES nodes"
echo "uptime before Tessera: $(uptime)" >>"$RES/kafka_machine.txt"
start_node 1 "$DATA/n1" ""
for i in $(seq 2 "$NODES"); do start_node "$i" "$DATA/n$i" "${NODE_GRPC[1]}"; done
cmd "tesserad --data-dir \$Di --grpc-addr 127.0.0.1:Pi --http-addr 127.0.0.1:Hi --kafka-addr 127.0.0.1:Ki --heartbeat-ms $HEARTBEAT_MS [--join 127.0.0.1:P1] &   # i = 1, 2, 3"
wait_leaders_settled "$NODES" >"$LOGS/health_start.json"
BOOT=$(IFS=,; echo "${NODE_KAFKA[*]}")
BOOT=${BOOT#,}
echo "tessera: $NODES nodes, Kafka bootstrap $BOOT" >>"$RES/kafka_machine.txt"

PRODUCE_FLAGS=(-s "$SIZE" --acks all --replication-factor 3 --linger-ms "$LINGER_MS" --batch-size "$BATCH_SIZE"
               --queue-messages "$QUEUE_MESSAGES")
# shellcheck disable=SC2206
[ -n "$KAFKA_BENCH_ARGS" ] && PRODUCE_FLAGS+=($KAFKA_BENCH_ARGS)

# new_topic NAME P: CreateTopics, then wait until the cluster is settled again
# (the new partition shards get their replicas and leaders placed).
new_topic() {
  local t=$1 p=$2 line
  cmd "kafka_bench create -b \$BOOT -t $t -p $p --replication-factor 3"
  run_child 120 "$LOGS/create_$t.out" "$LOGS/create_$t.err" "$KB" create -b "$BOOT" -t "$t" -p "$p" --replication-factor 3 \
    || die "kafka_bench create $t (see $LOGS/create_$t.err)"
  wait_leaders_settled "$NODES" 60 >"$LOGS/health_$t.json"
  line=$(cat "$LOGS/create_$t.out")
  log "topic $t: $line; partition shards (shard:leader node) $(partition_leaders)"
}
# run_kb NAME TIMEOUT_S ARGS...: kafka_bench, its line in $LOGS/NAME.out, the
# cluster's CPU and disk writes during it in the raw TSV.
transfers() { cat "${NODE_LOG[@]}" | grep -c "transfer leadership" || true; }   # placement's leader moves so far
run_kb() {
  local name=$1 t=$2 rc=0 c0 b0 x0; shift 2
  c0=$(cpu_all); b0=$(wbytes_all); x0=$(transfers)
  log "$name: kafka_bench $*"
  run_child "$t" "$LOGS/$name.out" "$LOGS/$name.err" "$KB" "$@" --stats "$LOGS/$name.stats.jsonl" || rc=$?
  LINE=$(tail -1 "$LOGS/$name.out")
  log "$name: ${LINE:-<no result line>}"
  [ -n "$LINE" ] || die "kafka_bench $name printed no result (exit $rc; see $LOGS/$name.err)"
  [ $rc = 0 ] || log "WARNING: kafka_bench $name exit $rc (errors or missing messages; see $LOGS/$name.err)"
  emit tessera "$name.cpu_s" "$(awk -v a="$c0" -v b="$(cpu_all)" 'BEGIN{printf "%.1f", b - a}')" s "CPU of all $NODES nodes"
  emit tessera "$name.written_mib" "$((($(wbytes_all) - b0) >> 20))" MiB "storage writes of all $NODES nodes"
  emit tessera "$name.leader_moves" "$(($(transfers) - x0))" "" "'transfer leadership' lines in the node logs during the run"
  # librdkafka's view, one line a second while requests were answered: produce
  # request round trip per broker (us), time in the client queue, messages per batch.
  if [[ $name == produce* ]] && [ -s "$LOGS/$name.stats.jsonl" ]; then
    jq -c 'select([.brokers[] | .rtt.cnt] | add > 0) | {t_ms: (.age / 1000 | floor),
           rtt_p50_us: [.brokers[] | select(.nodeid >= 0) | .rtt.p50], rtt_p99_us: [.brokers[] | select(.nodeid >= 0) | .rtt.p99],
           queue_p99_us: [.brokers[] | select(.nodeid >= 0) | .int_latency.p99],
           batch_msgs_avg: ([.topics[] | .batchcnt.avg] | add)}' \
      "$LOGS/$name.stats.jsonl" >"$LOGS/$name.rdkafka.jsonl" 2>/dev/null || true
    # medians over those seconds of: request round trip p50 and p99 (worst broker;
    # librdkafka's histogram tops out at about 2.1 s, so longer round trips read as 0
    # and are left out), messages per batch
    if [ -s "$LOGS/$name.rdkafka.jsonl" ]; then
      local q='def med: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;'
      emit tessera "$name.rtt_p50_us" "$(jq -s "$q"' [.[] | .rtt_p50_us | max | select(. > 0)] | med' "$LOGS/$name.rdkafka.jsonl")" us \
        "librdkafka produce request round trip p50, worst broker, median of the seconds of the run"
      emit tessera "$name.rtt_p99_us" "$(jq -s "$q"' [.[] | .rtt_p99_us | max | select(. > 0)] | med' "$LOGS/$name.rdkafka.jsonl")" us "same, p99"
      emit tessera "$name.batch_msgs" "$(jq -s "$q"' [.[] | .batch_msgs_avg | select(. > 0)] | med' "$LOGS/$name.rdkafka.jsonl")" msgs \
        "librdkafka messages per batch (one batch per request), median of the seconds of the run"
    fi
  fi
}

best_p=""; best_rate=0
for P in $PARTITIONS; do
  T=max-p$P
  new_topic "$T" "$P"
  cmd "kafka_bench produce -b \$BOOT -t $T -p $P -n $PRODUCE_COUNT --max-seconds $PRODUCE_SECONDS ${PRODUCE_FLAGS[*]}"
  run_kb "produce_p$P" $((PRODUCE_SECONDS + 240)) produce -b "$BOOT" -t "$T" -p "$P" -n "$PRODUCE_COUNT" \
    --max-seconds "$PRODUCE_SECONDS" "${PRODUCE_FLAGS[@]}"
  for k in msgs_per_s mib_per_s p50_us p99_us errors msgs; do emit tessera "produce_p$P.$k" "$(kv $k "$LINE")" "" "$LINE"; done
  r=$(kv msgs_per_s "$LINE")
  if [ "$(kv errors "$LINE")" = 0 ] && [ "$(kv undelivered "$LINE")" = 0 ] && awk -v a="$r" -v b="$best_rate" 'BEGIN{exit !(a > b)}'; then
    best_p=$P; best_rate=$r
  fi
done
[ -n "$best_p" ] || die "no produce run without errors (see $LOGS/produce_p*.err)"
emit tessera produce.partitions "$best_p" "" "best of PARTITIONS=$PARTITIONS"
for k in msgs_per_s mib_per_s p50_us p99_us; do emit tessera "produce.$k" "$(val tessera "produce_p$best_p.$k")" "" ""; done

RATE=$(awk -v r="$best_rate" 'BEGIN{printf "%d", r / 2}')
[ "$RATE" -ge 1 ] || die "max throughput $best_rate msgs/s: nothing to halve"
N=$((RATE * RATE_SECONDS))
T=rate-p$best_p
new_topic "$T" "$best_p"
cmd "kafka_bench produce -b \$BOOT -t $T -p $best_p --rate <half the best max: $RATE> -n <rate × $RATE_SECONDS> ${PRODUCE_FLAGS[*]}"
run_kb produce_rate $((RATE_SECONDS + 240)) produce -b "$BOOT" -t "$T" -p "$best_p" --rate "$RATE" -n "$N" \
  --max-seconds $((RATE_SECONDS + 30)) "${PRODUCE_FLAGS[@]}"
for k in target_rate msgs_per_s mib_per_s p50_us p99_us p999_us max_us p99_sched_us max_behind_us errors; do
  emit tessera "produce_rate.$k" "$(kv $k "$LINE")" "" "$LINE"
done
if [ -n "$RATE_EXTRA" ]; then
  T=rate2-p$best_p
  new_topic "$T" "$best_p"
  cmd "kafka_bench produce -b \$BOOT -t $T -p $best_p --rate $RATE -n <rate × $RATE_SECONDS> ${PRODUCE_FLAGS[*]} $RATE_EXTRA"
  # shellcheck disable=SC2086
  run_kb produce_rate2 $((RATE_SECONDS + 240)) produce -b "$BOOT" -t "$T" -p "$best_p" --rate "$RATE" -n "$N" \
    --max-seconds $((RATE_SECONDS + 30)) "${PRODUCE_FLAGS[@]}" $RATE_EXTRA
  for k in target_rate msgs_per_s mib_per_s p50_us p99_us p999_us max_us p99_sched_us max_behind_us errors; do
    emit tessera "produce_rate2.$k" "$(kv $k "$LINE")" "" "$LINE"
  done
fi

T=max-p$best_p
cmd "kafka_bench consume -b \$BOOT -t $T -s $SIZE   # the whole max-throughput topic of the best partition count"
run_kb consume 300 consume -b "$BOOT" -t "$T" -s "$SIZE" --max-seconds 240
for k in msgs_per_s mib_per_s msgs expected complete errors; do emit tessera "consume.$k" "$(kv $k "$LINE")" "" "$LINE"; done

health >"$LOGS/health_end.json" || true
for i in "${!NODE_LOG[@]}"; do
  n=$(grep -ciE '\[(warning|error|critical)\]' "${NODE_LOG[$i]}" || true)
  echo "node #$i log: $n warning/error lines" >>"$RES/kafka_machine.txt"
done
stop_cluster
[ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$DATA"/n*/data   # GBs of partition data; the node logs stay
echo "uptime at end: $(uptime)" >>"$RES/kafka_machine.txt"

# ---------------------------------------------------------------- table ---
num() { if [ -n "$1" ]; then awk -v v="$1" 'BEGIN{printf "%d", v + 0.5}'; else echo "-"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "" && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
met() { # met RATIO OP TARGET
  awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN{ if (r == "-" || r == "") print "-";
    else if ((op == ">=" && r + 0 >= t + 0) || (op == "<" && r + 0 < t + 0)) print "met"; else print "MISSED" }'
}
tp=$(val tessera produce.msgs_per_s); tpm=$(val tessera produce.mib_per_s)
tc=$(val tessera consume.msgs_per_s); tcm=$(val tessera consume.mib_per_s)
na=$(val nats pub_async_1KiB.window1000); nc=$(val nats consume_ordered_1KiB)
p99ms=$(awk -v v="$(val tessera produce_rate.p99_us)" 'BEGIN{ if (v != "") printf "%.2f", v / 1000; else print "" }')
ms() { case "$1" in ''|null|-) echo "-" ;; *) awk -v v="$1" 'BEGIN{printf "%.2f ms", v / 1000}' ;; esac; }
{
  echo "# Kafka protocol, 1 KiB messages: Tessera (3 nodes, RF 3, acks=all) vs NATS JetStream R3 and Redis Streams"
  echo
  sed 's/^/    /' "$RES/kafka_machine.txt"
  echo
  echo "| figure | Tessera | peer (same run) | peer | ratio | target | |"
  echo "|---|---:|---|---:|---:|---|---|"
  r=$(ratio "$tp" "$na")
  echo "| produce, acks=all, RF 3, $best_p partitions | $(num "$tp") msg/s ($(printf %.1f "${tpm:-0}") MiB/s) | NATS JetStream R3 async publish (window 1000) | $(num "$na") msg/s | $r | ≥ 5× | $(met "$r" ">=" 5) |"
  echo "| p99 produce latency at half the max ($(num "$RATE") msg/s) | $(ms "$(val tessera produce_rate.p99_us)") | | | | < 10 ms | $(met "$p99ms" "<" 10) |"
  r=$(ratio "$tc" "$nc")
  echo "| consume (whole topic, $best_p partitions) | $(num "$tc") msg/s ($(printf %.1f "${tcm:-0}") MiB/s) | NATS JetStream R3 ordered consumer | $(num "$nc") msg/s | $r | ≥ 1× | $(met "$r" ">=" 1) |"
  for f in "aof_everysec.xadd_1KiB.c50:Redis XADD, AOF everysec, 50 clients" \
           "aof_everysec.xadd_1KiB.c50.P16:Redis XADD, AOF everysec, 50 clients pipelined 16" \
           "aof_always.xadd_1KiB.c50:Redis XADD, AOF always (fsync per write), 50 clients" \
           "aof_none.xadd_1KiB.c50:Redis XADD, no persistence, 50 clients"; do
    v=$(val redis "${f%%:*}")
    echo "| produce (as above) | $(num "$tp") msg/s | ${f#*:} | $(num "$v") msg/s | $(ratio "$tp" "$v") | | |"
  done
  v=$(val redis xrange_1KiB.count100.c10)
  echo "| consume (as above) | $(num "$tc") msg/s | Redis XRANGE COUNT 100, 10 clients | $(num "$v") msg/s | $(ratio "$tc" "$v") | | |"
  echo
  echo "| Tessera produce latency (produce() → delivery report) | p50 | p99 | p999 | max |"
  echo "|---|---:|---:|---:|---:|"
  echo "| paced at $(num "$RATE") msg/s (half the max), $RATE_SECONDS s | $(ms "$(val tessera produce_rate.p50_us)") | $(ms "$(val tessera produce_rate.p99_us)") | $(ms "$(val tessera produce_rate.p999_us)") | $(ms "$(val tessera produce_rate.max_us)") |"
  echo "| paced, from each message's scheduled time | | $(ms "$(val tessera produce_rate.p99_sched_us)") | | |"
  if [ -n "$RATE_EXTRA" ]; then
    echo "| paced the same, with \`$RATE_EXTRA\` | $(ms "$(val tessera produce_rate2.p50_us)") | $(ms "$(val tessera produce_rate2.p99_us)") | $(ms "$(val tessera produce_rate2.p999_us)") | $(ms "$(val tessera produce_rate2.max_us)") |"
  fi
  for P in $PARTITIONS; do
    echo "| max throughput, $P partitions (queue of $QUEUE_MESSAGES messages) | $(ms "$(val tessera "produce_p$P.p50_us")") | $(ms "$(val tessera "produce_p$P.p99_us")") | | |"
  done
  echo
  echo "NATS R3 sync publish, 1 client: $(num "$(val nats pub_sync_1KiB.1client)") msg/s (p99 $(val nats pub_sync_1KiB.1client.p99) µs); 16 clients: $(num "$(val nats pub_sync_1KiB.16clients)") msg/s."
  echo
  echo "| Tessera run | msg/s | MiB/s | errors | cluster CPU s | cluster writes MiB | leader moves | request RTT p50 / p99 (librdkafka) | msgs per request |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for n in $(for P in $PARTITIONS; do echo "produce_p$P"; done) produce_rate $([ -n "$RATE_EXTRA" ] && echo produce_rate2) consume; do
    echo "| $n | $(num "$(val tessera "$n.msgs_per_s")") | $(val tessera "$n.mib_per_s") | $(val tessera "$n.errors") | $(val tessera "$n.cpu_s") | $(val tessera "$n.written_mib") | $(val tessera "$n.leader_moves") | $(ms "$(val tessera "$n.rtt_p50_us")") / $(ms "$(val tessera "$n.rtt_p99_us")") | $(val tessera "$n.batch_msgs") |"
  done
  echo
  echo "Partition leaders (Kafka broker = node id) at the start and the end of each run:"
  echo
  for n in $(for P in $PARTITIONS; do echo "produce_p$P"; done) produce_rate $([ -n "$RATE_EXTRA" ] && echo produce_rate2) consume; do
    [ -f "$LOGS/$n.out" ] || continue
    l=$(tail -1 "$LOGS/$n.out")
    echo "    $n: $(kv leaders "$l") -> $(kv leaders_end "$l")"
  done
  echo
  echo "Producer settings: acks=all, linger.ms=$LINGER_MS, batch.size=$BATCH_SIZE, queue.buffering.max.messages=$QUEUE_MESSAGES, no compression,"
  echo "incompressible 1 KiB values, round robin over the partitions, one librdkafka producer. Tessera acknowledges after"
  echo "a majority of the 3 replicas fsync'd; NATS 2.9 acknowledges once R nodes have it in the page cache (no fsync per"
  echo "message); Redis everysec fsyncs once a second, always per write (one node)."
  echo
  echo "Commands (in order):"
  echo
  echo '```'
  cat "$CMDS"
  echo '```'
  echo
  echo "Raw: $RAW; kafka_bench lines, stderr and librdkafka statistics: $LOGS/*.out, *.err, *.stats.jsonl; node logs: $DATA/n*/tesserad.log"
} >"$RES/kafka.md"
cat "$RES/kafka.md"
log "wrote $RES/kafka.md"
