#!/bin/bash
# bench/run.sh: measures Tessera and the limits of this machine IN THE SAME RUN
# and writes a markdown table (figure, Tessera, limit/peer, ratio, target).
#
#   bench/run.sh                      full scale (1 GiB file, 1M rows, 512 MiB stream), ~25 min
#   BENCH_SCALE=small bench/run.sh    quick run, ~3-4 min
#
# Steps, each bounded by `timeout`: release build (tesserad, tessera_bench),
# Debian packages (fio, rocksdb-tools, jq, curl), fio disk limits, RocksDB
# db_bench, then tesserad on 127.0.0.1 ephemeral ports with a fresh data dir
# under $OUT (same disk as the fio and db_bench files) driven by tessera_bench,
# one workload at a time, with tesserad's CPU time, disk I/O and group-commit
# counters sampled around each. Everything started here is stopped by PID on
# exit. Output: $OUT/results/latest.md (+ raw TSV/JSON and logs under $OUT).
#
# Environment:
#   OUT=/tmp/tessera-bench   where data, logs and results go (needs ~4 GiB at full scale)
#   BENCH_SCALE=full|small   preset sizes; FILE_SIZE, ROWS, STREAM_SIZE, GET_SECONDS override
#   BUILD_JOBS=2             parallel compile jobs (the machine is shared)
#   SKIP_BUILD=1 BIN_DIR=D   use D/src/node/tesserad and D/bench/tessera_bench as they are
#   PERF=1                   also `perf record -a` during each workload (reports in $OUT/logs)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/tessera-bench}
BENCH_SCALE=${BENCH_SCALE:-full}
BUILD_JOBS=${BUILD_JOBS:-2}
case "$BENCH_SCALE" in
  full)  d_file=1G;   d_rows=1000000; d_stream=512M; d_gets=30; fio_size=1G;   db_secs=30 ;;
  small) d_file=256M; d_rows=50000;   d_stream=128M; d_gets=10; fio_size=256M; db_secs=10 ;;
  *) echo "BENCH_SCALE must be full or small" >&2; exit 2 ;;
esac
FILE_SIZE=${FILE_SIZE:-$d_file}
ROWS=${ROWS:-$d_rows}
STREAM_SIZE=${STREAM_SIZE:-$d_stream}
GET_SECONDS=${GET_SECONDS:-$d_gets}
TABLE_THREADS=16
PRODUCERS=4

case "$OUT" in /*/*) ;; *) echo "OUT must be an absolute directory below / (its data/ and logs/ are replaced): $OUT" >&2; exit 2 ;; esac
DATA=$OUT/data
LOGS=$OUT/logs
RES=$OUT/results
rm -rf "$DATA" "$LOGS"
mkdir -p "$DATA" "$LOGS" "$RES"
RAW=$RES/raw.tsv   # figure  value  unit  command/details
: >"$RAW"
export DEBIAN_FRONTEND=noninteractive

TESSERAD_PID=""
PERF_PID=""
stop_pid() { # stop_pid PID: SIGTERM, wait up to 30 s, then SIGKILL
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() { stop_pid "$PERF_PID"; stop_pid "$TESSERAD_PID"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# run_step NAME TIMEOUT_S CMD...: runs CMD with a time limit, output to $LOGS/NAME.log
run_step() {
  local name=$1 t=$2; shift 2
  log "$name: $*"
  timeout --kill-after=10 "$t" "$@" >"$LOGS/$name.log" 2>&1 || die "$name (exit $?, see $LOGS/$name.log)"
}
CMDS=$RES/commands.txt   # every measuring command, in order
: >"$CMDS"
emit() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; log "RESULT $1 = $2 $3"; }
cmd() { grep -qxF -- "$*" "$CMDS" || echo "$*" >>"$CMDS"; }
val() { awk -F'\t' -v f="$1" '$1 == f {print $2; exit}' "$RAW"; }

# ---------------------------------------------------------------- build ---
if [ "${SKIP_BUILD:-0}" = 1 ]; then
  BIN_DIR=${BIN_DIR:?SKIP_BUILD=1 needs BIN_DIR}
else
  BIN_DIR=$REPO/build/release
  cd "$REPO"
  cmd "cmake --preset release && cmake --build --preset release -j $BUILD_JOBS --target tesserad tessera_bench"
  run_step build_configure 600 cmake --preset release
  run_step build 3600 cmake --build --preset release -j "$BUILD_JOBS" --target tesserad tessera_bench
fi
TESSERAD=$BIN_DIR/src/node/tesserad
BENCH=$BIN_DIR/bench/tessera_bench
[ -x "$TESSERAD" ] && [ -x "$BENCH" ] || die "binaries missing under $BIN_DIR"

# ------------------------------------------------------------- packages ---
missing=()
for p in fio rocksdb-tools jq curl; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  run_step apt 900 apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"
fi

# -------------------------------------------------------------- machine ---
{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc); memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "kernel: $(uname -r)"
  echo "disk under $OUT: $(df -h --output=source,fstype,size "$OUT" | tail -1 | tr -s ' ')"\
"; rotational=$(cat /sys/block/"$(basename "$(df --output=source "$OUT" | tail -1)")"/queue/rotational 2>/dev/null || echo '?')"
  echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "scale: $BENCH_SCALE (file $FILE_SIZE, rows $ROWS, stream $STREAM_SIZE, gets ${GET_SECONDS}s)"
} >"$RES/machine.txt"

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; }

# ----------------------------------------------------------- fio limits ---
FIO=$DATA/fio
mkdir -p "$FIO"
fio_run() { # fio_run NAME ARGS...: JSON to $LOGS/NAME.json
  local name=$1; shift
  run_step "$name" 300 fio "$@" --output-format=json --output="$LOGS/$name.json"
}
jqf() { jq -r "$2" "$LOGS/$1.json"; }

C="fio --name=seqw --directory=$FIO --rw=write --bs=1M --size=$fio_size --ioengine=psync --fsync=1 --runtime=60"
cmd "$C"; fio_run fio_write_fsync ${C#fio }
emit disk.seqwrite.1M.fsync_each "$(jqf fio_write_fsync '.jobs[0].write.bw/1024*10|floor/10')" MiB/s "$C (buffered)"

C="fio --name=seqwd --directory=$FIO --rw=write --bs=1M --size=$fio_size --ioengine=psync --fsync=1 --direct=1 --runtime=60"
cmd "$C"; fio_run fio_write_fsync_direct ${C#fio }
emit disk.seqwrite.1M.fsync_each.direct "$(jqf fio_write_fsync_direct '.jobs[0].write.bw/1024*10|floor/10')" MiB/s "$C"
rm -f "$FIO"/seqwd*

if drop_caches; then cache="page cache dropped before"; direct=""; else cache="drop_caches refused: O_DIRECT"; direct=" --direct=1"; fi
C="fio --name=seqw --directory=$FIO --rw=read --bs=1M --size=$fio_size --ioengine=psync --runtime=60$direct"
cmd "sync; echo 3 > /proc/sys/vm/drop_caches   # $cache"; cmd "$C"; fio_run fio_read ${C#fio }
emit disk.seqread.1M "$(jqf fio_read '.jobs[0].read.bw/1024*10|floor/10')" MiB/s "$C ($cache)"

C="fio --name=fsl --directory=$FIO --rw=write --bs=4k --size=64M --ioengine=sync --fsync=1 --runtime=10 --time_based"
cmd "$C"; fio_run fio_fsync_lat ${C#fio }
emit disk.fsync_4k_append.p50 "$(jqf fio_fsync_lat '.jobs[0].sync.lat_ns.percentile["50.000000"]/1000|floor')" us "$C"
emit disk.fsync_4k_append.p99 "$(jqf fio_fsync_lat '.jobs[0].sync.lat_ns.percentile["99.000000"]/1000|floor')" us "$C"
rm -rf "$FIO"

# ------------------------------------------------------------- db_bench ---
DB=$DATA/rocksdb
rate() { awk -v b="$1" '$1==b && $2==":" {for(i=1;i<=NF;i++) if($(i)=="ops/sec;"||$(i)=="ops/sec") {print int($(i-1)); exit}}' "$LOGS/$2.log"; }
# Same key and value sizes and block cache (64 MiB) as tesserad's tables workload.
BASE="db_bench --db=$DB --key_size=16 --value_size=1024 --num=$ROWS --cache_size=67108864 --seed=42"
C="$BASE --benchmarks=fillrandom --sync=0"
cmd "$C"; run_step db_fill 1800 $C
emit rocksdb.fillrandom.sync0 "$(rate fillrandom db_fill)" ops/s "$C (setup)"
C="$BASE --benchmarks=overwrite --use_existing_db=1 --sync=1 --threads=8 --writes=1000000 --duration=$db_secs"
cmd "$C"; run_step db_overwrite $((db_secs + 120)) $C
emit rocksdb.overwrite.sync1.8threads "$(rate overwrite db_overwrite)" ops/s "$C"
C="$BASE --benchmarks=readrandom --use_existing_db=1 --threads=$TABLE_THREADS --reads=100000000 --duration=$GET_SECONDS"
cmd "$C"; run_step db_readrandom $((GET_SECONDS + 120)) $C
emit rocksdb.readrandom.${TABLE_THREADS}threads "$(rate readrandom db_readrandom)" ops/s "$C"
rm -rf "$DB"

# -------------------------------------------------------------- tessera ---
TD=$DATA/tessera
mkdir -p "$TD/home"
log "tesserad: starting ($TESSERAD)"
cmd "tesserad --data-dir $TD/data --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --kafka-addr 127.0.0.1:0 &   # TESSERAD_PID=\$!"
env -u TESSERA_ENDPOINT -u TESSERA_CREDENTIALS -u TESSERA_DATA_DIR -u XDG_DATA_HOME HOME="$TD/home" \
  "$TESSERAD" --data-dir "$TD/data" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --kafka-addr 127.0.0.1:0 \
  >"$LOGS/tesserad.log" 2>&1 </dev/null &
TESSERAD_PID=$!
CREDS=$TD/data/admin.credentials
for _ in $(seq 300); do
  kill -0 "$TESSERAD_PID" 2>/dev/null || die "tesserad exited during start (see $LOGS/tesserad.log)"
  grep -q "tesserad: node [0-9]* ready" "$LOGS/tesserad.log" && [ -s "$CREDS" ] && break
  sleep 0.1
done
grep -q "tesserad: node [0-9]* ready" "$LOGS/tesserad.log" || die "tesserad not ready in 30 s"
HTTP=$(awk '/admin HTTP:/ {print $3}' "$LOGS/tesserad.log")
sleep 2
emit tesserad.rss.idle "$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$TESSERAD_PID/status)" MB "VmRSS 2 s after start"

CLK=$(getconf CLK_TCK)
cpu_s() { awk -v t="$CLK" '{printf "%.2f", ($14 + $15) / t}' "/proc/$TESSERAD_PID/stat"; }
io_b() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$TESSERAD_PID/io"; }
metric() { curl -s --max-time 5 "$HTTP/metrics" | awk -v m="$1" '$1 == m {printf "%d", $2}'; }

: >"$RES/tessera.tsv"
run_workload() { # run_workload NAME TIMEOUT_S BENCH_ARGS...
  local w=$1 t=$2; shift 2
  local c0 r0 w0 b0 e0
  c0=$(cpu_s); r0=$(io_b read_bytes); w0=$(io_b write_bytes)
  b0=$(metric tessera_log_batches); e0=$(metric tessera_log_entries)
  if [ "${PERF:-0}" = 1 ]; then
    # System-wide: gRPC creates request threads after any `-p` attach would.
    perf record -a -g -F 199 -o "$LOGS/perf_$w.data" >/dev/null 2>&1 &
    PERF_PID=$!
  fi
  local C="tessera_bench --credentials \$CREDS --server-pid \$TESSERAD_PID -w $w $*"
  cmd "$C"
  log "tessera $w: $C"
  /usr/bin/time -f "%U %S %e" -o "$LOGS/bench_$w.time" timeout --kill-after=10 "$t" \
    "$BENCH" --credentials "$CREDS" --server-pid "$TESSERAD_PID" -w "$w" --json "$RES/tessera_$w.json" "$@" \
    >"$LOGS/bench_$w.tsv" 2>"$LOGS/bench_$w.err" || die "tessera_bench $w (see $LOGS/bench_$w.err)"
  if [ -n "$PERF_PID" ]; then
    kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=""
    { perf report -i "$LOGS/perf_$w.data" --no-children --sort comm --stdio -g none
      perf report -i "$LOGS/perf_$w.data" --no-children --pid "$TESSERAD_PID" --sort dso --stdio -g none
      perf report -i "$LOGS/perf_$w.data" --no-children --pid "$TESSERAD_PID" --sort sym --percent-limit 0.5 \
        --stdio -g none; } >"$LOGS/perf_$w.txt" 2>/dev/null || true
  fi
  cat "$LOGS/bench_$w.tsv" >>"$RES/tessera.tsv"
  while IFS=$'\t' read -r n v u d; do emit "tessera.$n" "$v" "$u" "$d"; done <"$LOGS/bench_$w.tsv"
  local c1 r1 w1 b1 e1
  c1=$(cpu_s); r1=$(io_b read_bytes); w1=$(io_b write_bytes)
  b1=$(metric tessera_log_batches); e1=$(metric tessera_log_entries)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.1f", b-a}')" \
    "$(read -r u s e <"$LOGS/bench_$w.time"; awk -v u="$u" -v s="$s" -v e="$e" 'BEGIN{printf "%.1f / %.1f", u+s, e}')" \
    "$(((w1 - w0) >> 20))" "$(((r1 - r0) >> 20))" "$((b1 - b0))" "$((e1 - e0))" >>"$RES/server_stats.tsv"
}
: >"$RES/server_stats.tsv"
drop_caches || true
run_workload files 1800 --file-size "$FILE_SIZE" --drop-caches
run_workload tables 3600 --rows "$ROWS" --table-threads "$TABLE_THREADS" --get-seconds "$GET_SECONDS"
run_workload streams 1800 --stream-size "$STREAM_SIZE" --producers "$PRODUCERS" --partitions "$PRODUCERS"
emit tesserad.rss.peak "$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$TESSERAD_PID/status)" MB "VmHWM at the end"
emit tesserad.data_dir "$(du -sm "$TD/data" | cut -f1)" MiB "du -sm of the data dir at the end"
log "tesserad: stopping"
stop_pid "$TESSERAD_PID"
TESSERAD_PID=""
rm -rf "$TD"
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RES/machine.txt"

# ---------------------------------------------------------------- table ---
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# row LABEL TESSERA UNIT LIMIT LIMIT_LABEL OP TARGET: OP is ge (ratio >= TARGET) or lt (TESSERA < TARGET)
row() {
  local label=$1 t=$2 unit=$3 l=$4 ll=$5 op=$6 target=$7 r met
  if [ "$op" = lt ]; then
    r="-"; met=$(awk -v a="$t" -v b="$target" 'BEGIN{print (a < b) ? "met" : "MISSED"}')
    printf '| %s | %s %s | %s | %s | < %s %s | %s |\n' "$label" "$t" "$unit" "$ll" "$r" "$target" "$unit" "$met"
  else
    r=$(ratio "$t" "$l"); met=$(awk -v a="$r" -v b="$target" 'BEGIN{print (a + 0 >= b) ? "met" : "MISSED"}')
    printf '| %s | %s %s | %s %s | %s | ≥ %s× | %s |\n' "$label" "$t" "$unit" "$l" "$ll" "$r" "$target" "$met"
  fi
}
r1() { awk -v v="$1" 'BEGIN{printf "%.1f", v}'; }
r0() { awk -v v="$1" 'BEGIN{printf "%d", v}'; }
{
  echo "# Tessera benchmark ($BENCH_SCALE scale)"
  echo
  sed 's/^/    /' "$RES/machine.txt"
  echo
  echo "| figure | Tessera | limit / peer (same run) | ratio | target | |"
  echo "|---|---:|---|---:|---|---|"
  row "files write (1 stream, 1 MiB msgs, durable)" "$(r1 "$(val tessera.files.write)")" MiB/s \
    "$(val disk.seqwrite.1M.fsync_each)" "MiB/s fio seq write 1M, fsync each (buffered)" ge 0.5
  row "files read (1 stream, cold cache)" "$(r1 "$(val tessera.files.read)")" MiB/s \
    "$(val disk.seqread.1M)" "MiB/s fio seq read 1M (cold)" ge 0.5
  row "table puts, $TABLE_THREADS clients, durable" "$(r0 "$(val tessera.tables.put)")" ops/s \
    "$(val rocksdb.overwrite.sync1.8threads)" "ops/s db_bench overwrite sync=1 threads=8" ge 4
  row "table gets, $TABLE_THREADS clients" "$(r0 "$(val tessera.tables.get)")" ops/s \
    "$(val rocksdb.readrandom.${TABLE_THREADS}threads)" "ops/s db_bench readrandom threads=$TABLE_THREADS" ge 0.5
  row "stream produce ($PRODUCERS producers, 100 × 1 KiB per call)" "$(r1 "$(val tessera.streams.produce)")" MiB/s \
    "$(val disk.seqwrite.1M.fsync_each)" "MiB/s fio seq write 1M, fsync each" ge 0.3
  row "stream consume (Fetch 4 MiB)" "$(r1 "$(val tessera.streams.consume)")" MiB/s \
    "$(r1 "$(val tessera.streams.produce)")" "MiB/s Tessera produce" ge 2
  row "tesserad idle RSS" "$(val tesserad.rss.idle)" MB "" "" lt 150
  echo
  echo "Latencies and other figures:"
  echo
  echo "| figure | value |"
  echo "|---|---:|"
  for f in tessera.tables.put.p50 tessera.tables.put.p99 tessera.tables.get.p50 tessera.tables.get.p99 \
           tessera.streams.produce.p50 tessera.streams.produce.p99 tessera.streams.produce.records \
           tessera.streams.consume.records disk.seqwrite.1M.fsync_each.direct disk.fsync_4k_append.p50 \
           disk.fsync_4k_append.p99 rocksdb.fillrandom.sync0 tesserad.rss.peak tesserad.data_dir; do
    printf '| %s | %s %s |\n' "$f" "$(val "$f")" "$(awk -F'\t' -v f="$f" '$1 == f {print $3; exit}' "$RAW")"
  done
  echo
  echo "Cost per phase (tesserad CPU and disk writes from /proc/PID, bench CPU from getrusage):"
  echo
  echo "| phase | tesserad CPU | tessera_bench CPU | tesserad disk writes |"
  echo "|---|---|---|---|"
  for ph in files.write files.read tables.put tables.get streams.produce streams.consume; do
    d() { awk -F'\t' -v f="tessera.$ph.$1" '$1 == f {print $4; exit}' "$RAW"; }
    printf '| %s | %s | %s | %s |\n' "$ph" "$(d server_cpu)" "$(d client_cpu)" "$(d server_disk_write | sed 's/ (.*//')"
  done
  echo
  echo "tesserad per workload (CPU from /proc/PID/stat, disk from /proc/PID/io, group commit from /metrics):"
  echo
  echo "| workload | server CPU s | bench CPU s / wall s | disk written MiB | disk read MiB | log batches | log entries | entries/batch |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %.1f |\n", $1, $2, $3, $4, $5, $6, $7, ($6 > 0 ? $7 / $6 : 0)}' \
    "$RES/server_stats.tsv"
  echo
  echo "Commands (in order; figure details are in $RAW):"
  echo
  echo '```'
  cat "$CMDS"
  echo '```'
} >"$RES/latest.md"
cat "$RES/latest.md"
log "wrote $RES/latest.md"
