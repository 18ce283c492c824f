#!/usr/bin/env bash
# Installs the Debian packages the tests need, idempotently and without questions:
#   - the BGP daemons the interop tests start themselves: frr (bgpd, vtysh), bird2,
#     gobgpd (gobgpd + gobgp), exabgp;
#   - iproute2, busybox-static, tmux, tcpdump (the walkthrough watches the lab's bridge);
#     a C toolchain and pkg-config if missing;
#   - docker.io, so the image test can start a private dockerd and build the FROM-scratch image.
# `apt-get update` runs only when a package is missing and the package lists are empty or
# older than a day. Afterwards it makes sure no system service of those daemons is running:
# the tests start their own instances, and a system bgpd or bird would hold port 179.
#
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail

packages=(frr bird2 gobgpd exabgp iproute2 busybox-static tmux tcpdump build-essential pkg-config docker.io)

say() { printf 'setup: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        say "need root for: $*" >&2
        exit 1
    fi
}

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    say "this script needs a Debian-based system (dpkg and apt-get not found)" >&2
    exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
    if dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed$'; then
        say "$pkg already installed"
    else
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    say "missing: ${missing[*]}"
    lists=/var/lib/apt/lists
    fresh=$(find "$lists" -maxdepth 1 -type f -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)
    if [ -z "$fresh" ]; then
        say "package lists are empty or older than a day: apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    else
        say "package lists are recent; no apt-get update"
    fi
    say "apt-get install ${missing[*]}"
    # policy-rc.d exit 101 keeps the packages' maintainer scripts from starting the daemons.
    policy=/usr/sbin/policy-rc.d
    added_policy=no
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy"
        added_policy=yes
    fi
    status=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" || status=$?
    if [ "$added_policy" = yes ]; then
        as_root rm -f "$policy"
    fi
    if [ "$status" -ne 0 ]; then
        say "apt-get install failed ($status)" >&2
        exit "$status"
    fi
else
    say "all packages present"
fi

# System services of the daemons must not run: they would take port 179 and answer the
# tests' connections. systemctl or service may not exist (containers), so fall back to
# stopping the processes the init scripts would have started, by their pid files.
stop_service() {
    local name=$1
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        if systemctl is-active --quiet "$name" 2>/dev/null; then
            say "stopping and disabling system service $name"
            as_root systemctl stop "$name"
        fi
        if systemctl is-enabled --quiet "$name" 2>/dev/null; then
            as_root systemctl disable --quiet "$name" || true
        fi
    elif command -v service >/dev/null 2>&1 && [ -x "/etc/init.d/$name" ]; then
        # Some init scripts (exabgp) answer `status` with nothing and 0, others (bird) have
        # no status: trust only a successful status that says something.
        local out
        if out=$(service "$name" status 2>&1) && [ -n "$out" ]; then
            say "stopping system service $name"
            as_root service "$name" stop || true
        fi
    fi
}

stop_pidfile() {
    local pidfile=$1
    if [ -r "$pidfile" ]; then
        local pid
        pid=$(tr -dc '0-9' < "$pidfile")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            say "stopping $(cat "/proc/$pid/comm" 2>/dev/null || echo process) $pid from $pidfile"
            as_root kill "$pid" || true
        fi
    fi
}

for svc in frr bird bird6 gobgpd exabgp; do
    stop_service "$svc"
done
for pidfile in /run/frr/watchfrr.pid /run/frr/bgpd.pid /run/frr/zebra.pid \
    /run/frr/staticd.pid /run/bird/bird.pid /run/bird.pid /run/gobgpd.pid \
    /run/exabgp/exabgp.pid /run/exabgp.pid; do
    stop_pidfile "$pidfile"
done

if command -v ss >/dev/null 2>&1; then
    if ss -Hltn 'sport = :179' 2>/dev/null | grep -q .; then
        say "warning: something still listens on TCP port 179:" >&2
        ss -ltnp 'sport = :179' >&2 || true
    else
        say "nothing listens on TCP port 179"
    fi
fi

say "done"
