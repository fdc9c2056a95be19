# lib.sh - helpers for integration tests (sourced). $1 = build dir, $2 = source dir.
# Each test gets its own temporary directory, removed at exit with any process it started.
set -u
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
KAIROSD=$BUILD/engine/kairosd
T=$(mktemp -d /tmp/kairos-it-XXXXXX)
PIDS=""
FAILS=0
CHECKS=0

cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}

# check DESCRIPTION COMMAND... : the command must succeed
check() {
  desc=$1
  shift
  CHECKS=$((CHECKS + 1))
  if "$@"; then echo "ok: $desc"; else fail "$desc"; fi
}

# wait_for SECONDS COMMAND... : poll until the command succeeds
wait_for() {
  limit=$1
  shift
  i=0
  while [ "$i" -lt $((limit * 10)) ]; do
    "$@" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

finish() {
  echo "$CHECKS checks, $FAILS failed"
  [ "$FAILS" -eq 0 ] && [ "$CHECKS" -gt 0 ]
  exit $?
}

# free_udp_port: a UDP port on loopback that nothing listens on (nor on the wildcard)
free_udp_port() {
  while :; do
    p=$(( $(od -An -N2 -tu2 /dev/urandom) % 20000 + 20000 ))
    if ! ss -Huln | awk '{print $4}' | grep -q ":$p\$"; then
      echo "$p"
      return
    fi
  done
}

# start_kairosd CONF LOG [ARGS...]: start kairosd -d -x in the background, wait until it
# says it is running; sets KPID. Returns 1 if it exits or does not come up in 10 s.
start_kairosd() {
  conf=$1
  log=$2
  shift 2
  "$KAIROSD" -d -x -f "$conf" "$@" 2>"$log" &
  KPID=$!
  PIDS="$PIDS $KPID"
  up() { grep -q "running;" "$log" || ! kill -0 "$KPID" 2>/dev/null; }
  wait_for 10 up && kill -0 "$KPID" 2>/dev/null && grep -q "running;" "$log"
}

# stop_kairosd: SIGTERM and wait; the exit status is returned
stop_kairosd() {
  kill -TERM "$KPID" 2>/dev/null
  wait "$KPID"
}

# server_stat LOG NAME: the last total value of a server counter logged by kairosd
server_stat() {
  sed -n "s/.*server stats (total):.* $2=\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

# request_stats LOG: ask kairosd for its counters (SIGUSR1) and wait until logged
request_stats() {
  before=$(grep -c "server stats (total)" "$1")
  kill -USR1 "$KPID"
  more_stats() { [ "$(grep -c "server stats (total)" "$1")" -gt "$before" ]; }
  wait_for 5 more_stats "$1"
}

# json_field FILE KEY: a number from kairos-perf's one-line JSON summary
json_field() {
  sed -n "s/.*\"$2\": *\([0-9.e+-]*\).*/\1/p" "$1" | head -n 1
}
