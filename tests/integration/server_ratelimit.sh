#!/bin/sh
# Rate limiting is enforced once across workers: one client address sending from many
# source ports (so its packets reach both workers) is limited as one client; KoD RATE is
# sent when configured; every drop is counted.
. "$(dirname "$0")/lib.sh"
PERF=$BUILD/perf/kairos-perf
[ -x "$PERF" ] || { echo "kairos-perf not built"; exit 77; }

P=$(free_udp_port)
N=400
BURST=64
cat >"$T/k.conf" <<CONF
port $P
bindaddress 127.0.0.1
allow 127.0.0.0/8
local stratum 2
serverthreads 2
ratelimit interval 3 burst $BURST leak 4
pidfile $T/k.pid
CONF
check "kairosd starts" start_kairosd "$T/k.conf" "$T/log"
"$PERF" --server 127.0.0.1 --port "$P" --count $N --rate 2000 --clients 1 --sockets 32 \
  --json >"$T/perf" 2>"$T/perf.err"
recv=$(json_field "$T/perf" received)
# Shared limit: BURST answered plus a leak of 1 in 16 of the rest (mean 21, sd 4.6). Two
# separate per-worker limits would answer about 2 x BURST + 17 = 145.
max=$((BURST + (N - BURST) / 16 + 24))
check "one client limited once across workers: $recv answered of $N (<= $max)" \
  [ "${recv:-999}" -ge "$BURST" -a "${recv:-999}" -le "$max" ]
check "stats logged" request_stats "$T/log"
w0=$(sed -n 's/.*server stats (worker 0):.* received=\([0-9]*\).*/\1/p' "$T/log" | tail -n 1)
w1=$(sed -n 's/.*server stats (worker 1):.* received=\([0-9]*\).*/\1/p' "$T/log" | tail -n 1)
check "the client's packets reached both workers ($w0 + $w1)" [ "${w0:-0}" -gt 0 -a "${w1:-0}" -gt 0 ]
dropped=$(server_stat "$T/log" drop_ratelimit)
replied=$(server_stat "$T/log" replied)
received=$(server_stat "$T/log" received)
check "drops counted: $dropped + $replied = $received" [ $((dropped + replied)) -eq "$received" ]
check "replies counted equal replies received" [ "$replied" -eq "$recv" ]
stop_kairosd

# With kod, some of the limited requests get a KoD RATE instead of silence.
sed -i "s/^ratelimit .*/ratelimit interval 3 burst 8 leak 4 kod 1/" "$T/k.conf"
check "kairosd starts with kod" start_kairosd "$T/k.conf" "$T/log2"
"$PERF" --server 127.0.0.1 --port "$P" --count $N --rate 2000 --clients 1 --sockets 32 \
  --json >"$T/perf2" 2>"$T/perf2.err"
kods=$(json_field "$T/perf2" kod_rate)
check "KoD RATE received ($kods)" [ "${kods:-0}" -gt 0 ]
check "stats logged" request_stats "$T/log2"
skod=$(server_stat "$T/log2" kod_rate)
check "server counted the KoDs it sent ($skod = $kods)" [ "${skod:-x}" = "$kods" ]
stop_kairosd

finish
