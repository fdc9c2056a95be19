#!/bin/sh
# kairosd starts in the foreground with -x, writes its pid file, exits cleanly on SIGTERM
# and SIGINT, refuses a symlinked pid file and a second instance.
. "$(dirname "$0")/lib.sh"

cat >"$T/k.conf" <<CONF
local stratum 3
pidfile $T/kairosd.pid
CONF

pid_matches() { [ -f "$T/kairosd.pid" ] && [ "$(cat "$T/kairosd.pid")" = "$1" ]; }
running_log() { grep -q "running" "$1"; }

for sig in TERM INT; do
  "$KAIROSD" -d -x -f "$T/k.conf" 2>"$T/log.$sig" &
  pid=$!
  PIDS="$PIDS $pid"
  check "pid file names the daemon ($sig run)" wait_for 5 pid_matches "$pid"
  check "daemon says it is running ($sig run)" wait_for 5 running_log "$T/log.$sig"
  check "stratum from local is published ($sig run)" grep -q "stratum 3" "$T/log.$sig"

  # a second instance with the same pid file refuses to start
  if [ "$sig" = TERM ]; then
    "$KAIROSD" -d -x -f "$T/k.conf" 2>"$T/err2"
    check "second instance exits 1" [ $? -eq 1 ]
    check "second instance names the first" grep -q "already running (pid $pid" "$T/err2"
    check "first pid file intact" pid_matches "$pid"
  fi

  kill -s "$sig" "$pid"
  gone() { ! kill -0 "$pid" 2>/dev/null; }
  check "SIG$sig stops the daemon within 3 s" wait_for 3 gone
  wait "$pid"
  check "exit status 0 after SIG$sig" [ $? -eq 0 ]
  check "pid file removed after SIG$sig" [ ! -e "$T/kairosd.pid" ]
  check "exit is logged after SIG$sig" grep -q "kairosd exiting" "$T/log.$sig"
done

# A symlink at the pid file path is refused and its target is left alone.
echo keep >"$T/target"
ln -s "$T/target" "$T/kairosd.pid"
"$KAIROSD" -d -x -f "$T/k.conf" 2>"$T/err3"
check "symlinked pid file: exit 1" [ $? -eq 1 ]
check "symlinked pid file: message" grep -q "symbolic link" "$T/err3"
check "symlink target untouched" [ "$(cat "$T/target")" = keep ]

finish
