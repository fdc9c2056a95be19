#!/bin/sh
# bench-server.sh - load kairos-floor, chronyd and kairosd in turn with the same kairos-perf
# load on loopback, and print each server's highest rate with < 1% loss (sweep) and its CPU
# time per reply (/proc/PID/stat), with the ratios kairosd/floor and kairosd/chronyd
# measured in the same run. The machine is shared and noisy: compare ratios, not figures.
#
#   perf/bench-server.sh                      sweep: floor, chronyd, kairosd at 1 and 2 threads
#   perf/bench-server.sh --rate 50000         the same open-loop rate for all; CPU per reply
#   perf/bench-server.sh --servers floor,chronyd --threads 1
#
# Nothing here touches the clock: chronyd and kairosd run with -x. Every server started is
# killed by PID on exit; ports are checked free (ss) before use.
set -u

usage() {
  cat <<'EOF'
usage: perf/bench-server.sh [options]
  --build DIR         build directory holding perf/ and engine/ (default: build)
  --servers LIST      comma list of floor, chronyd, kairosd (default: all three)
  --threads LIST      worker threads for floor and kairosd, comma list (default: 1,2);
                      chronyd is single-threaded and runs once
  --clients N         distinct client addresses (default 100000)
  --rate R            fixed-rate mode: every server gets R requests/s for --duration and
                      only CPU per reply is compared (default: sweep)
  --duration S        fixed-rate duration (default 10)
  --start-rate R      sweep: rate of the first step (default 20000)
  --step-time S       sweep: seconds per step (default 1)
  --max-steps N       sweep: at most N steps of x1.1 (default 40)
  --retries N         sweep: repeat a failed step at the same rate N times (default 1)
  --timeout S         a reply later than this is lost (default 0.25)
  --ratelimit SPEC    ratelimit options for chronyd and kairosd, or "off"
                      (default "interval -10 burst 16": on, and not triggered by the load)
  --port P            use this port (checked free) instead of a random free one
  --max-time S        bound on the whole benchmark (default 300)
  --pin               generator on CPU 0, single-threaded servers on CPU 1
  --perf-args ARGS    extra kairos-perf options (e.g. "--sockets 32 --threads 2")
  --keep              keep the temporary directory (configs, logs, JSON summaries)
  --serverio IO       kairosd's I/O backend, uring or mmsg (default: kairosd's default)
EOF
}

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=build
SERVERS=floor,chronyd,kairosd
THREADS=1,2
CLIENTS=100000
RATE=
DURATION=10
START_RATE=20000
STEP_TIME=1
MAX_STEPS=40
RETRIES=1
TIMEOUT=0.25
RATELIMIT="interval -10 burst 16"
PORT=
MAX_TIME=300
PIN=0
PERF_ARGS=
KEEP=0
SERVERIO=

while [ $# -gt 0 ]; do
  case $1 in
  --build) BUILD=$2; shift ;;
  --servers) SERVERS=$2; shift ;;
  --threads) THREADS=$2; shift ;;
  --clients) CLIENTS=$2; shift ;;
  --rate) RATE=$2; shift ;;
  --duration) DURATION=$2; shift ;;
  --start-rate) START_RATE=$2; shift ;;
  --step-time) STEP_TIME=$2; shift ;;
  --max-steps) MAX_STEPS=$2; shift ;;
  --retries) RETRIES=$2; shift ;;
  --timeout) TIMEOUT=$2; shift ;;
  --ratelimit) RATELIMIT=$2; shift ;;
  --port) PORT=$2; shift ;;
  --max-time) MAX_TIME=$2; shift ;;
  --pin) PIN=1 ;;
  --perf-args) PERF_ARGS=$2; shift ;;
  --keep) KEEP=1 ;;
  --serverio) SERVERIO=$2; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "bench-server.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
PERF=$BUILD/perf/kairos-perf
FLOOR=$BUILD/perf/kairos-floor
KAIROSD=$BUILD/engine/kairosd
for b in "$PERF" "$FLOOR"; do
  if [ ! -x "$b" ]; then
    echo "bench-server.sh: $b not built (make build BUILD=...)" >&2
    exit 1
  fi
done
command -v ss >/dev/null 2>&1 || { echo "bench-server.sh: needs ss (iproute2)" >&2; exit 1; }

T=$(mktemp -d /tmp/kairos-bench-XXXXXX)
chmod 700 "$T" # chronyd refuses a command socket in a directory others can read
PIDS=""
START=$(date +%s)
DEADLINE=$((START + MAX_TIME))

cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  if [ "$KEEP" = 1 ]; then echo "kept: $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers ----

port_free() {
  ! ss -Huln "sport = :$1" | grep -q .
}

# A free UDP port below the ephemeral range, or the one asked for if it is free
free_port() {
  if [ -n "$PORT" ]; then
    port_free "$PORT" && { echo "$PORT"; return 0; }
    echo "bench-server.sh: port $PORT is in use" >&2
    return 1
  fi
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
    port_free "$p" && { echo "$p"; return 0; }
  done
  return 1
}

# json_num FILE KEY: the first number named KEY in a kairos-perf JSON summary (top-level
# keys come before nested ones of the same name); empty for null or missing
json_num() {
  grep -o "\"$2\":[-0-9.]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2
}

json_true() {
  grep -q "\"$2\":true" "$1" 2>/dev/null
}

# ratio A B [DECIMALS]: A/B, or "-" when either is missing
ratio() {
  awk -v a="${1:-}" -v b="${2:-}" -v d="${3:-2}" \
    'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.*f\n", d, a / b }'
}

round() {
  awk -v r="$1" 'BEGIN { if (r == "" || r == "-") print "-"; else printf "%.0f\n", r }'
}

# step_cpu FILE RATE: CPU per reply of the last sweep step run at RATE (as the JSON has
# it); each step object is one line once split at '{'
step_cpu() {
  tr '{' '\n' <"$1" 2>/dev/null | grep "^\"rate\":$2," | tail -n 1 |
    grep -o '"cpu_per_reply_us":[0-9.]*' | cut -d: -f2
}

pin() {
  if [ "$PIN" = 1 ]; then echo "taskset -c $1"; fi
}

# answers PORT: does anything answer NTP there?
answers() {
  "$PERF" -p "$1" -n 5 -r 100 -c 5 --timeout 0.3 --json >"$T/probe.json" 2>/dev/null
  r=$(json_num "$T/probe.json" received)
  [ "${r:-0}" -gt 0 ]
}

# wait_serving PID PORT: until the server answers (5 s), or it has died
wait_serving() {
  i=0
  while [ $i -lt 25 ]; do
    kill -0 "$1" 2>/dev/null || return 1
    answers "$2" && return 0
    sleep 0.2
    i=$((i + 1))
  done
  return 1
}

stop_server() {
  kill "$1" 2>/dev/null
  i=0
  while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

chronyd_conf() {
  # chrony keeps about 128 bytes per client: leave twice that
  limit=$((CLIENTS * 256))
  [ $limit -lt 524288 ] && limit=524288
  cat <<EOF
port $1
bindaddress 127.0.0.1
cmdport 0
bindcmdaddress $T/chronyd.sock
pidfile $T/chronyd.pid
local stratum 1
allow 127.0.0.0/8
clientloglimit $limit
EOF
  [ "$RATELIMIT" != off ] && echo "ratelimit $RATELIMIT"
}

kairosd_conf() {
  cat <<EOF
port $1
bindaddress 127.0.0.1
local stratum 2
allow 127.0.0.0/8
clientloglimit 1073741824
serverthreads $2
pidfile $T/kairosd-$2.pid
EOF
  [ -n "$SERVERIO" ] && echo "serverio $SERVERIO"
  [ "$RATELIMIT" != off ] && echo "ratelimit $RATELIMIT"
}

# ---- one server under load ----

# Results, one line per run: NAME THREADS RATE CPU_PER_REPLY KOD NOTE
RESULTS=$T/results
: >"$RESULTS"

record() {
  echo "$1 $2 ${3:--} ${4:--} ${5:--} ${6:-}" >>"$RESULTS"
}

# bench NAME THREADS: start the server, warm it up, load it, stop it
bench() {
  name=$1
  threads=$2
  tag=$name-$threads
  now=$(date +%s)
  left=$((DEADLINE - now))
  if [ $left -lt 20 ]; then
    echo "$name ($threads thread): skipped, the --max-time budget is spent"
    record "$name" "$threads" - - - "skipped (time budget)"
    return
  fi
  port=$(free_port) || { record "$name" "$threads" - - - "no free port"; return; }

  case $name in
  floor)
    $(pin 1) "$FLOOR" -q -a 127.0.0.1 -p "$port" -t "$threads" >"$T/$tag.log" 2>&1 &
    ;;
  chronyd)
    chronyd_conf "$port" >"$T/chronyd.conf"
    $(pin 1) chronyd -x -d -u root -f "$T/chronyd.conf" >"$T/$tag.log" 2>&1 &
    ;;
  kairosd)
    kairosd_conf "$port" "$threads" >"$T/$tag.conf"
    if [ "$threads" = 1 ]; then
      $(pin 1) "$KAIROSD" -d -x -f "$T/$tag.conf" >"$T/$tag.log" 2>&1 &
    else
      "$KAIROSD" -d -x -f "$T/$tag.conf" >"$T/$tag.log" 2>&1 &
    fi
    ;;
  esac
  pid=$!
  PIDS="$PIDS $pid"
  if ! wait_serving "$pid" "$port"; then
    if [ "$name" = kairosd ]; then
      echo "kairosd: not serving yet ($(grep -m1 -iE 'error|not supported|cannot|fail' \
        "$T/$tag.log" || tail -n 1 "$T/$tag.log"))"
      record "$name" "$threads" - - - "not serving yet"
    else
      echo "$name: did not answer on port $port; its log:"
      tail -n 5 "$T/$tag.log"
      record "$name" "$threads" - - - "did not start"
    fi
    stop_server "$pid"
    return
  fi

  # Warm-up: every client once, so that the client logs hold all of them before the
  # measurement (chronyd loses replies while its table grows)
  warm=$START_RATE
  [ -n "$RATE" ] && warm=$RATE
  [ "$warm" -gt 50000 ] && warm=50000
  "$PERF" -p "$port" -c "$CLIENTS" -n "$CLIENTS" -r "$warm" --timeout "$TIMEOUT" --json \
    >"$T/$tag.warm.json" 2>/dev/null

  now=$(date +%s)
  cap=$((DEADLINE - now - 10))
  # shellcheck disable=SC2086 # PERF_ARGS is a list of options
  if [ -n "$RATE" ]; then
    $(pin 0) "$PERF" -p "$port" -c "$CLIENTS" -r "$RATE" -d "$DURATION" --timeout "$TIMEOUT" \
      --server-pid "$pid" --max-time "$cap" --json $PERF_ARGS >"$T/$tag.json" 2>"$T/$tag.err"
  else
    $(pin 0) "$PERF" -p "$port" -c "$CLIENTS" --sweep -r "$START_RATE" \
      --step-time "$STEP_TIME" --max-steps "$MAX_STEPS" --retries "$RETRIES" --timeout "$TIMEOUT" \
      --server-pid "$pid" --max-time "$cap" --json $PERF_ARGS >"$T/$tag.json" 2>"$T/$tag.err"
  fi
  stop_server "$pid"

  j=$T/$tag.json
  kr=$(json_num "$j" kod_rate)
  ko=$(json_num "$j" kod_other)
  kod=$((${kr:-0} + ${ko:-0}))
  note=
  if [ -n "$RATE" ]; then
    rate=$(json_num "$j" reply_rate)
    cpu=$(json_num "$j" cpu_per_reply_us)
    loss=$(json_num "$j" loss_pct)
    note="loss ${loss:-?}%"
  else
    rate=$(json_num "$j" best_rate)
    cpu=$(json_num "$j" best_cpu_per_reply_us)
    why=$(grep -o '"stop_reason":"[a-z-]*"' "$j" | cut -d'"' -f4)
    [ -n "$why" ] && [ "$why" != loss ] && note="sweep ended by $why (lower bound)"
  fi
  json_true "$j" capped && note="$note cut short by --max-time"
  [ "$kod" -gt 0 ] && note="$note rate limiting triggered"
  cpu=$(awk -v c="${cpu:-}" 'BEGIN { if (c == "") print "-"; else printf "%.3f\n", c }')
  printf '%-8s %s thread%s: %s/s, %s us CPU per reply %s\n' "$name" "$threads" \
    "$([ "$threads" = 1 ] || echo s)" "$(round "${rate:-}")" "$cpu" "$note"
  record "$name" "$threads" "${rate:--}" "$cpu" "$kod" "$note"
}

# ---- the run ----

has() {
  case ",$1," in *",$2,"*) return 0 ;; esac
  return 1
}

if [ -n "$RATE" ]; then
  echo "bench-server.sh: fixed rate $RATE/s for $DURATION s, $CLIENTS clients" \
    "(ratelimit: $RATELIMIT)"
else
  echo "bench-server.sh: sweep from $START_RATE/s, x1.1 per $STEP_TIME s step until loss" \
    ">= 1%, $CLIENTS clients (ratelimit: $RATELIMIT)"
fi
echo "machine: $(nproc) CPUs; load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"

if has "$SERVERS" chronyd && ! command -v chronyd >/dev/null 2>&1; then
  echo "chronyd: not installed, left out"
  SERVERS=$(echo ",$SERVERS," | sed 's/,chronyd,/,/')
fi
if has "$SERVERS" kairosd && [ ! -x "$KAIROSD" ]; then
  echo "kairosd: not built, left out"
  SERVERS=$(echo ",$SERVERS," | sed 's/,kairosd,/,/')
fi

first_threads=1
for n in $(echo "$THREADS" | tr ',' ' '); do
  has "$SERVERS" floor && bench floor "$n"
  if [ "$first_threads" = 1 ] && has "$SERVERS" chronyd; then
    bench chronyd 1
  fi
  has "$SERVERS" kairosd && bench kairosd "$n"
  first_threads=0
done

# ---- summary ----

get() { # get NAME THREADS FIELD(3 = rate, 4 = cpu)
  awk -v n="$1" -v t="$2" -v f="$3" '$1 == n && $2 == t { v = $f } END { if (v != "-") print v }' \
    "$RESULTS"
}

echo
if [ -n "$RATE" ]; then
  echo "results (open loop at $RATE/s; replies/s as received)"
else
  echo "results (highest rate with < 1% loss)"
fi
col=rate/s
[ -n "$RATE" ] && col=replies/s
printf '%-8s %7s %12s %14s %6s  %s\n' server threads "$col" "cpu/reply us" KoD note
while read -r name threads rate cpu kod note; do
  printf '%-8s %7s %12s %14s %6s  %s\n' "$name" "$threads" "$(round "$rate")" "$cpu" "$kod" \
    "$note"
done <"$RESULTS"

echo
echo "ratios measured in this run (cpu/reply: lower is better; rate: higher is better)"
# line LABEL A_NAME A_THREADS B_NAME B_THREADS. A sweep's CPU per reply is compared at the
# highest rate both passed: it falls as the rate rises (more requests per wake-up).
line() {
  ca=$(get "$2" "$3" 4)
  cb=$(get "$4" "$5" 4)
  ra=$(get "$2" "$3" 3)
  rb=$(get "$4" "$5" 3)
  { [ -z "$ca$ra" ] || [ -z "$cb$rb" ]; } && return
  if [ -n "$RATE" ]; then
    printf '  %-30s cpu/reply x%s\n' "$1" "$(ratio "$ca" "$cb")"
    return
  fi
  common=$(awk -v a="$ra" -v b="$rb" 'BEGIN { print (a + 0 < b + 0) ? a : b }')
  ca=$(step_cpu "$T/$2-$3.json" "$common")
  cb=$(step_cpu "$T/$4-$5.json" "$common")
  printf '  %-30s cpu/reply x%s at %s/s   max rate x%s\n' "$1" "$(ratio "$ca" "$cb")" \
    "$(round "$common")" "$(ratio "$ra" "$rb")"
}
for n in $(echo "$THREADS" | tr ',' ' '); do
  line "kairosd/floor, $n thread(s)" kairosd "$n" floor "$n"
done
for n in $(echo "$THREADS" | tr ',' ' '); do
  line "kairosd ($n)/chronyd" kairosd "$n" chronyd 1
done
line "chronyd/floor, 1 thread" chronyd 1 floor 1
if [ -z "$(get kairosd 1 4)" ] && has "$SERVERS" kairosd; then
  echo "  kairosd: no figures (not serving yet): floor vs chronyd only"
fi
if [ -n "$RATE" ]; then
  echo "(the issue's target: kairosd/floor cpu/reply <= 1.10 at 1 thread, 100000 clients," \
    "client log and rate limiting on but not triggered)"
fi
echo "total time: $(($(date +%s) - START)) s"
