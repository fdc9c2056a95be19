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
