#!/bin/sh
# deploy/deps.sh - install what kairos needs to build and test, from Debian packages only.
# Idempotent and quiet when everything is present. Package installs never start services:
# a chronyd started by apt could steer this machine's clock.
set -eu

BUILD_PKGS="cmake make gcc clang clang-format pkg-config liburing-dev libssl-dev \
libjemalloc-dev libcap-dev libseccomp-dev libck-dev"
TEST_PKGS="chrony ntpsec-ntpdate openssl iproute2 libcap2-bin"

missing=""
for p in $BUILD_PKGS $TEST_PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
  exit 1
fi

echo "deps.sh: installing$missing"

# Forbid service starts for the duration of the install, then restore what was there.
prc=/usr/sbin/policy-rc.d
saved=""
if [ -e "$prc" ]; then
  saved=$(mktemp)
  cp -p "$prc" "$saved"
fi
restore() {
  if [ -n "$saved" ]; then mv -f "$saved" "$prc"; else rm -f "$prc"; fi
}
trap restore EXIT INT TERM
printf '#!/bin/sh\nexit 101\n' >"$prc"
chmod 755 "$prc"

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends $missing >/tmp/kairos-deps.log 2>&1; then
  apt-get update -q >>/tmp/kairos-deps.log 2>&1
  apt-get install -y -q --no-install-recommends $missing >>/tmp/kairos-deps.log 2>&1 || {
    echo "deps.sh: apt-get failed, see /tmp/kairos-deps.log" >&2
    tail -n 20 /tmp/kairos-deps.log >&2
    exit 1
  }
fi

# Belt and braces: if a chronyd service got started anyway, stop it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet chrony 2>/dev/null; then
  systemctl stop chrony || true
fi
pkill -x chronyd 2>/dev/null || true
exit 0
