#!/bin/sh
# allow/deny decide who is answered; garbage is dropped and counted, the daemon lives on;
# sockets passed by systemd socket activation are served.
. "$(dirname "$0")/lib.sh"
PERF=$BUILD/perf/kairos-perf
[ -x "$PERF" ] || { echo "kairos-perf not built"; exit 77; }

P=$(free_udp_port)
cat >"$T/k.conf" <<CONF
port $P
bindaddress 127.0.0.1
allow 127.0.0.0/8
deny 127.0.0.1
deny 127.128.0.0/9
local stratum 2
serverthreads 1
pidfile $T/k.pid
CONF
check "kairosd starts" start_kairosd "$T/k.conf" "$T/log"
chronyd -Q -t 2 -f /dev/null "server 127.0.0.1 port $P iburst maxsamples 1" >"$T/c1" 2>&1
check "a denied client (127.0.0.1) gets no time" sh -c "! grep -q 'System clock wrong' '$T/c1'"
check "stats logged" request_stats "$T/log"
acl=$(server_stat "$T/log" drop_acl)
check "ACL drops counted ($acl)" [ "${acl:-0}" -ge 1 ]

# still answering allowed clients afterwards; clients spread over 127/8 are denied in
# 127.128/9 (and 127.0.0.1), and exactly those requests are lost and counted as ACL drops
acl_before=$(server_stat "$T/log" drop_acl)
"$PERF" --server 127.0.0.1 --port "$P" --count 2000 --rate 4000 --clients 1000 --json \
  >"$T/ok" 2>"$T/ok.err"
got=$(json_field "$T/ok" received)
lost=$(json_field "$T/ok" lost)
check "stats logged" request_stats "$T/log"
acl_after=$(server_stat "$T/log" drop_acl)
check "allowed clients answered ($got), denied ones not ($lost)" [ "${got:-0}" -gt 0 -a "${lost:-0}" -gt 0 ]
check "every lost request is an ACL drop ($lost = $acl_after - $acl_before)" \
  [ "${lost:-x}" -eq $((acl_after - acl_before)) ]
stop_kairosd
check "clean exit after the ACL run" [ $? -eq 0 ]

sed -i '/^deny /d' "$T/k.conf"
check "kairosd starts without deny rules" start_kairosd "$T/k.conf" "$T/log"
# garbage: random bytes, truncated packets, modes 6/7, bogus extension fields
"$PERF" --server 127.0.0.1 --port "$P" --garbage --count 20000 --rate 20000 --clients 50 \
  --json >"$T/g" 2>"$T/g.err"
check "kairos-perf --garbage finished" [ -s "$T/g" ]
check "daemon alive after garbage" kill -0 "$KPID"
check "stats logged" request_stats "$T/log"
mal=$(server_stat "$T/log" drop_malformed)
mode=$(server_stat "$T/log" drop_mode)
rec=$(server_stat "$T/log" received)
rep=$(server_stat "$T/log" replied)
acl=$(server_stat "$T/log" drop_acl)
check "garbage counted as malformed ($mal) and wrong mode ($mode)" [ "${mal:-0}" -gt 0 -a "${mode:-0}" -gt 0 ]
sum=0
for c in replied drop_acl drop_ratelimit drop_malformed drop_mode drop_send drop_backlog; do
  sum=$((sum + $(server_stat "$T/log" $c)))
done
check "every received datagram is accounted for ($sum = $rec)" [ "$sum" -eq "$rec" ]

"$PERF" --server 127.0.0.1 --port "$P" --count 500 --rate 2000 --clients 20 --json \
  >"$T/ok2" 2>"$T/ok2.err"
check "clients still answered after garbage" [ "$(json_field "$T/ok2" received)" = 500 ]
stop_kairosd
check "clean exit after garbage" [ $? -eq 0 ]

# systemd socket activation: the service manager's datagram socket is served
if command -v systemd-socket-activate >/dev/null; then
  P2=$(free_udp_port)
  systemd-socket-activate --datagram -l "127.0.0.1:$P2" "$KAIROSD" -d -x 'allow 127.0.0.0/8' \
    'local stratum 2' 'serverthreads 2' "pidfile $T/sa.pid" 2>"$T/sa.log" &
  SA=$!
  PIDS="$PIDS $SA"
  # systemd-socket-activate starts kairosd when the first datagram arrives
  chronyd -Q -t 5 -f /dev/null "server 127.0.0.1 port $P2 iburst maxsamples 1" >"$T/c2" 2>&1
  check "chronyd -Q answered through the passed socket" grep -q "System clock wrong by" "$T/c2"
  up() { grep -q "running;" "$T/sa.log"; }
  check "socket-activated kairosd started" wait_for 10 up
  check "it uses the passed socket" grep -q "NTP socket fd 3 from the service manager" "$T/sa.log"
  kill -TERM "$SA"
  wait "$SA"
  check "socket-activated kairosd exits cleanly" [ $? -eq 0 ]
else
  echo "systemd-socket-activate not installed: socket activation part skipped"
fi

finish
