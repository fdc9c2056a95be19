#!/bin/sh
# kairosd answers real NTP clients: chronyd 4.3's one-shot client, ntpsec's ntpdig (in a
# network namespace of its own, on port 123) and kairos-perf, with both I/O backends, and
# reports stratum and leap as configured.
. "$(dirname "$0")/lib.sh"
PERF=$BUILD/perf/kairos-perf
[ -x "$PERF" ] || { echo "kairos-perf not built"; exit 77; }
command -v chronyd >/dev/null || { echo "chronyd missing"; exit 77; }

for io in uring mmsg; do
  P=$(free_udp_port)
  # uring bound to 127.0.0.1; mmsg on the wildcard addresses (replies from IP_PKTINFO)
  bind="bindaddress 127.0.0.1"
  [ $io = mmsg ] && bind="# wildcard"
  cat >"$T/k.conf" <<CONF
port $P
$bind
allow 127.0.0.0/8
local stratum 2
serverthreads 2
serverio $io
pidfile $T/k.pid
CONF
  check "$io: kairosd starts" start_kairosd "$T/k.conf" "$T/log.$io"
  check "$io: backend as configured" grep -q "2 workers, $io I/O" "$T/log.$io"

  # a second server on the same port is refused, not silently given half the clients
  sed "s|^pidfile .*|pidfile $T/k2.pid|" "$T/k.conf" >"$T/k2.conf"
  timeout 10 "$KAIROSD" -d -x -f "$T/k2.conf" 2>"$T/second.$io"
  check "$io: a second kairosd on the port exits 1" [ $? -eq 1 ]
  check "$io: ... saying the address is in use" grep -q "address already in use" "$T/second.$io"

  chronyd -Q -t 5 -f /dev/null "server 127.0.0.1 port $P iburst maxsamples 1" \
    >"$T/chronyd.$io" 2>&1
  check "$io: chronyd -Q gets time" grep -q "System clock wrong by" "$T/chronyd.$io"

  "$PERF" --server 127.0.0.1 --port "$P" --count 4000 --rate 4000 --clients 200 --json \
    >"$T/perf.$io" 2>"$T/perf.$io.err"
  sent=$(json_field "$T/perf.$io" sent)
  recv=$(json_field "$T/perf.$io" received)
  inval=$(json_field "$T/perf.$io" invalid_total)
  check "$io: kairos-perf sent 4000 ($sent)" [ "${sent:-0}" -eq 4000 ]
  check "$io: every request answered ($recv)" [ "${recv:-0}" -eq 4000 ]
  check "$io: no invalid replies ($inval)" [ "${inval:-1}" -eq 0 ]

  check "$io: stats logged on SIGUSR1" request_stats "$T/log.$io"
  replied=$(server_stat "$T/log.$io" replied)
  check "$io: server counted its replies ($replied)" [ "${replied:-0}" -ge 4001 ]
  stop_kairosd
  check "$io: clean exit" [ $? -eq 0 ]
  # a restart right away finds the port free: nothing of the old instance lingers
  check "$io: restarts at once on the same port" start_kairosd "$T/k.conf" "$T/log2.$io"
  stop_kairosd
done

# ntpdig queries port 123 only: give it a loopback of its own.
if command -v ntpdig >/dev/null && unshare -n true 2>/dev/null; then
  unshare -n sh -c "
    ip link set lo up
    '$KAIROSD' -d -x 'port 123' 'bindaddress 127.0.0.1' 'allow 127.0.0.1' \
      'local stratum 2' 'pidfile $T/ns.pid' 2>'$T/ns.log' &
    k=\$!
    i=0; while ! grep -q 'running;' '$T/ns.log' && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
    ntpdig -j -t 3 127.0.0.1 >'$T/ntpdig.json' 2>&1
    kill \$k; wait \$k"
  check "ntpdig: stratum 2" grep -q '"stratum":2' "$T/ntpdig.json"
  check "ntpdig: no leap" grep -q '"leap":"no-leap"' "$T/ntpdig.json"
else
  echo "ntpdig or network namespaces unavailable: ntpdig part skipped"
fi

finish
