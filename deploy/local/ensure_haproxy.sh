#!/usr/bin/env bash
# Makes sure HAProxy 2.6 or newer is installed, for `npm run start:replicas`: installs the
# Debian package when it is missing and this shell may use apt-get, and otherwise says
# what to install. Only the binary is used; the distribution's service stays stopped,
# because the launcher runs its own haproxy with a generated config.
set -euo pipefail

version_ok() { # prints nothing; true when `haproxy -v` reports 2.6 or newer
  local v
  v=$(haproxy -v 2>/dev/null | sed -n 's/^HAProxy version \([0-9]*\.[0-9]*\).*/\1/p' | head -n1)
  [ -n "$v" ] || return 1
  local major=${v%%.*} minor=${v#*.}
  [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 6 ]; }
}

if command -v haproxy >/dev/null && version_ok; then
  exit 0
fi

if command -v haproxy >/dev/null; then
  echo "haproxy: $(haproxy -v | head -n1) is too old; 2.6 or newer is needed (h2 to the servers, check-proto h1)" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "haproxy: not installed; installing the Debian package (apt-get install haproxy)"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d 101 keeps the package's own haproxy service from starting during install:
  # it would bind :80 and is not the balancer we run.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  trap '[ "$created_policy" -eq 1 ] && rm -f "$policy"' EXIT
  if ! apt-get install -y --no-install-recommends haproxy >/dev/null; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends haproxy >/dev/null
  fi
  version_ok || { echo "haproxy: the installed $(haproxy -v | head -n1) is older than 2.6" >&2; exit 1; }
  echo "haproxy: installed $(haproxy -v | head -n1)"
  exit 0
fi

echo "haproxy: HAProxy is not installed. Install it: apt-get install haproxy (2.6 or newer)" >&2
exit 1
