#!/bin/sh
# What `make run` starts: kairosd with no configuration file serves NTP on 127.0.0.1 and
# ::1, port 123, as a local stratum-10 reference. Run in a network namespace of its own
# (port 123 there is ours) and checked with ntpsec's ntpdig over both families.
. "$(dirname "$0")/lib.sh"
[ -e /etc/kairos/kairos.conf ] && { echo "/etc/kairos/kairos.conf exists"; exit 77; }
[ -e /run/kairosd.pid ] && { echo "a kairosd pid file exists (make run?)"; exit 77; }
command -v ntpdig >/dev/null || { echo "ntpdig missing"; exit 77; }
unshare -n true 2>/dev/null || { echo "no network namespaces here"; exit 77; }

unshare -n sh -c "
  ip link set lo up
  '$KAIROSD' -d -x 2>'$T/log' &
  k=\$!
  i=0; while ! grep -q 'running;' '$T/log' && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
  ntpdig -4 -j -t 3 127.0.0.1 >'$T/v4.json' 2>&1
  ntpdig -6 -j -t 3 ::1 >'$T/v6.json' 2>&1
  kill \$k; wait \$k; echo \$? >'$T/rc'"
check "embedded configuration used" grep -q "using the embedded default configuration" "$T/log"
check "serving on 127.0.0.1:123" grep -q "serving NTP on 127.0.0.1:123" "$T/log"
check "serving on [::1]:123" grep -q "serving NTP on \[::1\]:123" "$T/log"
check "IPv4 answer at stratum 10" grep -q '"stratum":10' "$T/v4.json"
check "IPv6 answer at stratum 10" grep -q '"stratum":10' "$T/v6.json"
check "clean exit" [ "$(cat "$T/rc")" = 0 ]
check "pid file removed" [ ! -e /run/kairosd.pid ]
finish
