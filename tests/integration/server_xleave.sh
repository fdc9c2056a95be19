#!/bin/sh
# Interleaved mode across workers: chronyd 4.3 as a client with `xleave` polls kairosd (2
# workers) from a fresh source port per request, so its requests land on both workers;
# the shared client log lets either worker serve the interleaved reply, and chronyd
# reports the source as interleaved.
. "$(dirname "$0")/lib.sh"
command -v chronyd >/dev/null && command -v chronyc >/dev/null || { echo "chrony missing"; exit 77; }

P=$(free_udp_port)
mkdir -m 700 "$T/c"
cat >"$T/k.conf" <<CONF
port $P
bindaddress 127.0.0.1
allow 127.0.0.0/8
local stratum 2
serverthreads 2
pidfile $T/k.pid
CONF
cat >"$T/c/chrony.conf" <<CONF
port 0
cmdport 0
bindcmdaddress $T/c/chronyd.sock
pidfile $T/c/chronyd.pid
server 127.0.0.1 port $P iburst xleave minpoll -3 maxpoll -3
CONF
check "kairosd starts" start_kairosd "$T/k.conf" "$T/log"
chronyd -x -d -u root -f "$T/c/chrony.conf" 2>"$T/c/log" &
CPID=$!
PIDS="$PIDS $CPID"
enough() {
  chronyc -h "$T/c/chronyd.sock" -n ntpdata >"$T/ntpdata" 2>&1 &&
    [ "$(sed -n 's/^Total good RX *: *//p' "$T/ntpdata")" -ge 20 ]
}
check "chronyd collected 20 good samples" wait_for 15 enough
check "chronyd: the source is interleaved" grep -q "^Interleaved *: Yes" "$T/ntpdata"
kill "$CPID"
wait "$CPID" 2>/dev/null
check "stats logged" request_stats "$T/log"
inter=$(server_stat "$T/log" interleaved)
rec=$(server_stat "$T/log" received)
w0=$(sed -n 's/.*server stats (worker 0):.* interleaved=\([0-9]*\).*/\1/p' "$T/log" | tail -n 1)
w1=$(sed -n 's/.*server stats (worker 1):.* interleaved=\([0-9]*\).*/\1/p' "$T/log" | tail -n 1)
check "nearly every reply interleaved ($inter of $rec)" [ "${inter:-0}" -ge $((rec - 3)) ]
check "both workers served interleaved replies ($w0, $w1)" [ "${w0:-0}" -gt 0 -a "${w1:-0}" -gt 0 ]
stop_kairosd
check "clean exit" [ $? -eq 0 ]
finish
