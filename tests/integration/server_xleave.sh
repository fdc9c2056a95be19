#!/bin/sh
# Interleaved mode across workers: chronyd 4.3 as a client with `xleave` polls kairosd (2
# workers) from a fresh source port per request, so its requests land on both workers;
# the shared client log lets either worker serve the interleaved reply, and chronyd
# reports the source as interleaved.
. "$(dirname "$0")/lib.sh"
command -v chronyd >/dev/null && command -v chronyc >/dev/null || { echo "chrony missing"; exit 77; }

mkdir -m 700 "$T/c"
for io in uring mmsg; do
  P=$(free_udp_port)
  cat >"$T/c/chrony.conf" <<CONF
port 0
cmdport 0
bindcmdaddress $T/c/chronyd.sock
pidfile $T/c/chronyd.pid
server 127.0.0.1 port $P iburst xleave minpoll -3 maxpoll -3
CONF
  cat >"$T/k.conf" <<CONF
port $P
bindaddress 127.0.0.1
allow 127.0.0.0/8
local stratum 2
serverthreads 2
serverio $io
pidfile $T/k.pid
CONF
  check "$io: kairosd starts" start_kairosd "$T/k.conf" "$T/log.$io"
  chronyd -x -d -u root -f "$T/c/chrony.conf" 2>"$T/c/log" &
  CPID=$!
  PIDS="$PIDS $CPID"
  enough() {
    chronyc -h "$T/c/chronyd.sock" -n ntpdata >"$T/ntpdata.$io" 2>&1 &&
      [ "$(sed -n 's/^Total good RX *: *//p' "$T/ntpdata.$io")" -ge 20 ]
  }
  check "$io: chronyd collected 20 good samples" wait_for 15 enough
  check "$io: chronyd: the source is interleaved" grep -q "^Interleaved *: Yes" "$T/ntpdata.$io"
  kill "$CPID"
  wait "$CPID" 2>/dev/null
  check "$io: stats logged" request_stats "$T/log.$io"
  inter=$(server_stat "$T/log.$io" interleaved)
  rec=$(server_stat "$T/log.$io" received)
  w0=$(sed -n 's/.*server stats (worker 0):.* interleaved=\([0-9]*\).*/\1/p' "$T/log.$io" | tail -n 1)
  w1=$(sed -n 's/.*server stats (worker 1):.* interleaved=\([0-9]*\).*/\1/p' "$T/log.$io" | tail -n 1)
  check "$io: nearly every reply interleaved ($inter of $rec)" [ "${inter:-0}" -ge $((rec - 3)) ]
  check "$io: both workers served interleaved replies ($w0, $w1)" [ "${w0:-0}" -gt 0 -a "${w1:-0}" -gt 0 ]
  # with keyed kernel TX timestamps (Linux 6.13+) the interleaved replies carry them
  if grep -q "kernel TX timestamps" "$T/log.$io"; then
    txts=$(server_stat "$T/log.$io" tx_timestamps)
    check "$io: kernel TX timestamps used ($txts)" [ "${txts:-0}" -ge $((inter - 3)) ]
  fi
  stop_kairosd
  check "$io: clean exit" [ $? -eq 0 ]
done
finish
