#!/bin/sh
# kairosd -p on realistic chrony.conf files, and configuration errors at startup:
# messages naming FILE:LINE and exit status 1.
. "$(dirname "$0")/lib.sh"

# The chrony FAQ's minimal client configuration.
cat >"$T/client.conf" <<'CONF'
# minimal client
server ntp1.example.net iburst
server ntp2.example.net iburst
server ntp3.example.net iburst
driftfile /var/lib/chrony/drift
makestep 1.0 3
rtcsync
CONF
"$KAIROSD" -p -f "$T/client.conf" >"$T/out" 2>"$T/err"
check "-p on the FAQ client config exits 0" [ $? -eq 0 ]
cat >"$T/expect" <<'OUT'
server ntp1.example.net iburst
server ntp2.example.net iburst
server ntp3.example.net iburst
driftfile /var/lib/chrony/drift
makestep 1 3
rtcsync
OUT
check "-p prints the parsed directives" diff -u "$T/expect" "$T/out"

# The FAQ's NTS client example.
cat >"$T/nts.conf" <<'CONF'
server time.cloudflare.com iburst nts
server nts.sth1.ntp.se iburst nts
server nts.sth2.ntp.se iburst nts
ntsdumpdir /var/lib/chrony
minsources 2
CONF
"$KAIROSD" -p -f "$T/nts.conf" >"$T/out" 2>"$T/err"
check "-p on the NTS client config exits 0" [ $? -eq 0 ]
check "-p shows the nts option" grep -qx 'server nts.sth1.ntp.se iburst nts' "$T/out"
check "-p shows ntsdumpdir" grep -qx 'ntsdumpdir /var/lib/chrony' "$T/out"
check "-p shows minsources" grep -qx 'minsources 2' "$T/out"

# The printed form parses again to the same output.
"$KAIROSD" -p -f "$T/out" >"$T/out2" 2>"$T/err"
check "-p output parses to itself" diff -u "$T/out" "$T/out2"

# Unknown directive: FILE:LINE and exit 1.
printf 'local stratum 3\n\nfrobnicate 1 2\n' >"$T/unknown.conf"
"$KAIROSD" -p -f "$T/unknown.conf" >/dev/null 2>"$T/err"
check "unknown directive exits 1" [ $? -eq 1 ]
check "unknown directive names file and line" \
  grep -q "$T/unknown.conf:3: unknown directive 'frobnicate'" "$T/err"

# A chrony directive kairos does not implement.
printf 'refclock PHC /dev/ptp0\n' >"$T/refclock.conf"
"$KAIROSD" -p -f "$T/refclock.conf" >/dev/null 2>"$T/err"
check "unsupported directive exits 1" [ $? -eq 1 ]
check "unsupported directive message" \
  grep -q "$T/refclock.conf:1: directive 'refclock' is not supported yet" "$T/err"

# A bad option value names the option and the expected form.
printf 'server a.example minpoll abc\n' >"$T/bad.conf"
"$KAIROSD" -p -f "$T/bad.conf" >/dev/null 2>"$T/err"
check "bad option value exits 1" [ $? -eq 1 ]
check "bad option value names option" grep -q "$T/bad.conf:1: .*minpoll.*abc" "$T/err"

# Directives on the command line, like chronyd.
"$KAIROSD" -p 'local stratum 3' 'pidfile /tmp/x.pid' >"$T/out" 2>"$T/err"
check "command-line directives print" \
  sh -c "grep -qx 'local stratum 3' '$T/out' && grep -qx 'pidfile /tmp/x.pid' '$T/out'"
"$KAIROSD" -p 'bogus 1' >/dev/null 2>"$T/err"
check "bad command-line directive exits 1" [ $? -eq 1 ]
check "bad command-line directive named" grep -q "command line:1: unknown directive 'bogus'" "$T/err"

# A directive whose feature is not built yet parses with -p but stops the daemon.
"$KAIROSD" -d -x "pidfile $T/k.pid" 'server 127.0.0.1 iburst' >/dev/null 2>"$T/err"
check "pending directive stops the daemon with 1" [ $? -eq 1 ]
check "pending directive message" \
  grep -q "command line:2: directive 'server' is not supported yet" "$T/err"
check "no pid file left by a refused start" [ ! -e "$T/k.pid" ]

# A missing configuration file.
"$KAIROSD" -p -f "$T/missing.conf" >/dev/null 2>"$T/err"
check "missing config file exits 1" [ $? -eq 1 ]
check "missing config file named" grep -q "$T/missing.conf" "$T/err"

# Unsupported command-line option is refused, not ignored.
"$KAIROSD" -q -f "$T/client.conf" >/dev/null 2>"$T/err"
check "-q refused for now" [ $? -eq 1 ]

# The embedded default configuration (only when the system file does not exist).
if [ ! -e /etc/kairos/kairos.conf ]; then
  "$KAIROSD" -p >"$T/out" 2>"$T/err"
  check "embedded default config prints" grep -qx 'local stratum 10' "$T/out"
fi

finish
