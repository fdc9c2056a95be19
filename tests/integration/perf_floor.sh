#!/bin/sh
# kairos-perf against kairos-floor on loopback: exact counts with validated replies and
# kernel response times, the receiver thread, IPv6, garbage mode, a port where nothing
# listens (100% loss, still ends by itself), and chronyd's one-shot client accepting the
# floor's replies as valid NTP.
. "$(dirname "$0")/lib.sh"

PERF=$BUILD/perf/kairos-perf
FLOOR=$BUILD/perf/kairos-floor
if [ ! -x "$PERF" ] || [ ! -x "$FLOOR" ]; then
  echo "kairos-perf or kairos-floor not built: skip"
  exit 77
fi

# A UDP port nobody listens on, below the ephemeral range (chronyd sets SO_REUSEPORT: a
# leftover server on the same port would silently take half the packets).
free_port() {
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
    if ! ss -Huln "sport = :$p" | grep -q .; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# json_num FILE KEY: the first number named KEY in kairos-perf's one-line JSON summary
# (top-level keys come before the nested ones of the same name)
json_num() {
  grep -o "\"$2\":[-0-9.]*" "$1" | head -n 1 | cut -d: -f2
}

# The summary must parse as JSON (python3 -m json.tool, or jq where python is missing)
json_ok() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool "$1" >/dev/null
  elif command -v jq >/dev/null 2>&1; then
    jq . "$1" >/dev/null
  else
    grep -q '^{.*}$' "$1"
  fi
}

floor_listens() {
  ss -Huln "sport = :$1" | grep -q .
}

P=$(free_port) || { echo "no free port"; exit 1; }
"$FLOOR" -q -a 127.0.0.1 -p "$P" -t 2 &
FLOOR_PID=$!
PIDS="$PIDS $FLOOR_PID"
check "kairos-floor listens on port $P" wait_for 5 floor_listens "$P"

# 20,000 requests from 1,000 clients over 8 sockets, at a modest rate.
"$PERF" -p "$P" -n 20000 -r 20000 -c 1000 -k 8 --timeout 2 --json >"$T/load.json" 2>"$T/load.err"
check "kairos-perf exits 0" [ $? -eq 0 ]
check "summary parses as JSON" json_ok "$T/load.json"
sent=$(json_num "$T/load.json" sent)
recv=$(json_num "$T/load.json" received)
echo "sent $sent received $recv, p50 $(json_num "$T/load.json" p50_us) us," \
  "p99 $(json_num "$T/load.json" p99_us) us, p99.9 $(json_num "$T/load.json" p999_us) us"
check "sent exactly 20000" [ "$sent" = 20000 ]
check "every request answered" [ "$recv" = "$sent" ]
check "no invalid reply" [ "$(json_num "$T/load.json" invalid_total)" = 0 ]
check "no KoD" [ "$(json_num "$T/load.json" kod_rate)$(json_num "$T/load.json" kod_other)" = 00 ]
check "no duplicate" [ "$(json_num "$T/load.json" duplicates)" = 0 ]
check "p50 response time above 0" \
  awk -v v="$(json_num "$T/load.json" p50_us)" 'BEGIN { exit !(v > 0) }'
check "response times from kernel timestamps" grep -q '"source":"kernel"' "$T/load.json"

# The receiver thread, NTPv3, and the text summary.
"$PERF" -p "$P" -n 5000 -r 10000 -c 300 -t 2 -v 3 --timeout 2 >"$T/t2.txt" 2>&1
check "--threads 2 -v 3 exits 0" [ $? -eq 0 ]
check "--threads 2 -v 3: all 5000 answered" \
  grep -q '^replies  *5000 .*loss 0.000%' "$T/t2.txt"

# IPv6 loopback, where the machine has it.
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
  P6=$(free_port) || P6=$P
  "$FLOOR" -q -a ::1 -p "$P6" &
  PIDS="$PIDS $!"
  if wait_for 5 floor_listens "$P6"; then
    "$PERF" -s ::1 -p "$P6" -n 2000 -r 10000 -c 1 --timeout 2 --json >"$T/v6.json" 2>/dev/null
    check "IPv6: all 2000 answered" [ "$(json_num "$T/v6.json" received)" = 2000 ]
  fi
fi

# Garbage: the floor must survive it and not amplify; it does answer the well-formed
# client headers among it (bad extensions, oversized), which it does not parse.
"$PERF" -p "$P" --garbage -n 300 -r 5000 --timeout 1 --json >"$T/garbage.json" 2>&1
check "--garbage exits 0" [ $? -eq 0 ]
check "--garbage summary parses as JSON" json_ok "$T/garbage.json"
check "--garbage sent 300" [ "$(json_num "$T/garbage.json" sent)" = 300 ]
check "no reply longer than its request" [ "$(json_num "$T/garbage.json" amplified)" = 0 ]
check "floor alive after garbage" kill -0 "$FLOOR_PID"
"$PERF" -p "$P" -n 1000 -r 10000 --timeout 2 --json >"$T/after.json" 2>/dev/null
check "floor still answers after garbage" [ "$(json_num "$T/after.json" received)" = 1000 ]

# Nothing listening: every request lost, and the run still ends by itself (1 s of
# sending + 0.5 s timeout; the bound leaves room for a slow sanitizer build).
P2=$(free_port) || { echo "no free port"; exit 1; }
t0=$(date +%s)
timeout 20 "$PERF" -p "$P2" -r 2000 -d 1 --timeout 0.5 --json >"$T/lost.json" 2>/dev/null
rc=$?
t1=$(date +%s)
check "no listener: exits 0 by itself" [ "$rc" -eq 0 ]
check "no listener: within 5 s" [ $((t1 - t0)) -le 5 ]
check "no listener: 100% loss reported" [ "$(json_num "$T/lost.json" loss_pct)" = 100.0000 ]
check "no listener: nothing received" [ "$(json_num "$T/lost.json" received)" = 0 ]

# chronyd's one-shot client takes the floor's replies as valid NTP (it never sets the
# clock with -Q).
if command -v chronyd >/dev/null 2>&1; then
  timeout 15 chronyd -Q -t 5 -f /dev/null "server 127.0.0.1 port $P iburst maxsamples 1" \
    >"$T/chronyd.out" 2>&1
  cat "$T/chronyd.out"
  check "chronyd -Q accepts the floor's replies" \
    grep -q 'System clock wrong by .* seconds (ignored)' "$T/chronyd.out"
else
  echo "chronyd not installed: one-shot check skipped"
fi

kill "$FLOOR_PID"
wait "$FLOOR_PID"
check "floor exits 0 on SIGTERM" [ $? -eq 0 ]

finish
