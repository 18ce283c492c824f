#!/usr/bin/env bash
# Failover time: from a cut link to the router's kernel route changing, with BFD (300 ms × 3)
# and with the BGP hold timer alone (9 s; `--hold90` adds 90 s). A benchmark, never a test.
#
# Topology, in network namespaces this script creates and removes (also on failure or ^C):
# a switch namespace with a bridge, the router (10.99.0.1) and two nodes (10.99.0.3 and
# 10.99.0.4) on it, each running mini-router. Both nodes announce 198.51.100.0/32 (`network`)
# over eBGP (both AS 64513, so that their paths are equal) to the router (AS 64512), which
# installs one ECMP route with both next hops in its kernel table. A run cuts node 1's port on the bridge (`ip link set p1
# down` in the switch namespace: both hosts keep their link up, only the path breaks, as a
# failed switch or a hung node), then polls the router's kernel route every 10 ms until node 1's
# next hop is gone, and reports the time since the cut. The port comes back up and both next
# hops return before the next run.
#
# Usage: bench/scripts/bfd-failover.sh [--runs N] [--hold90] [--binary PATH]
#   (root; default binary target/release/mini-router, else target/debug/mini-router)
set -euo pipefail

runs=3
hold90=no
binary=
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --hold90) hold90=yes; shift ;;
        --binary) binary=$2; shift 2 ;;
        *) echo "usage: $0 [--runs N] [--hold90] [--binary PATH]" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "$binary" ]; then
    binary=$root/target/release/mini-router
    [ -x "$binary" ] || binary=$root/target/debug/mini-router
fi
[ -x "$binary" ] || { echo "no mini-router binary at $binary (cargo build -p mini-router)" >&2; exit 1; }

tag=bfdfo-$$
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for ns in router node1 node2 switch; do ip netns del "$tag-$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$tag-switch"
ip -n "$tag-switch" link add br0 type bridge
ip -n "$tag-switch" link set br0 up
port=0
for host in router:10.99.0.1 node1:10.99.0.3 node2:10.99.0.4; do
    name=${host%%:*}; addr=${host#*:}
    ip netns add "$tag-$name"
    ip -n "$tag-$name" link set lo up
    ip -n "$tag-switch" link add "p$port" type veth peer name eth0 netns "$tag-$name"
    ip -n "$tag-switch" link set "p$port" master br0 up
    ip -n "$tag-$name" addr add "$addr/24" dev eth0
    ip -n "$tag-$name" link set eth0 up
    port=$((port + 1))
done

start() { # name, extra args
    local name=$1; shift
    ip netns exec "$tag-$name" "$binary" --socket "$work/$name.sock" --hostname "$name" "$@" \
        > "$work/$name.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 100); do
        "$binary" --socket "$work/$name.sock" -c 'show version' >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$name did not start:" >&2; cat "$work/$name.log" >&2; exit 1
}
cli() { local name=$1; shift; local args=(); for c in "$@"; do args+=(-c "$c"); done
    "$binary" --socket "$work/$name.sock" "${args[@]}" >/dev/null; }

start router
start node1 --no-fib
start node2 --no-fib

# configure VARIANT: bfd | hold9 | hold90
configure() {
    local variant=$1 timers bfd_r=() bfd_n=()
    case $variant in
        bfd) timers="60 180"; bfd_r=("neighbor 10.99.0.3 bfd profile fast" "neighbor 10.99.0.4 bfd profile fast"); bfd_n=("neighbor 10.99.0.1 bfd profile fast") ;;
        hold9) timers="3 9" ;;
        hold90) timers="30 90" ;;
    esac
    local profile=("configure terminal" "bfd" "profile fast" "receive-interval 300" "transmit-interval 300" "detect-multiplier 3" "end")
    for name in router node1 node2; do
        "$binary" --socket "$work/$name.sock" -c "configure terminal" -c "no router bgp" >/dev/null 2>&1 || true
    done
    cli router "${profile[@]}" "configure terminal" "router bgp 64512" "bgp router-id 10.99.0.1" \
        "neighbor 10.99.0.3 remote-as 64513" "neighbor 10.99.0.3 timers $timers" \
        "neighbor 10.99.0.4 remote-as 64513" "neighbor 10.99.0.4 timers $timers" "${bfd_r[@]}"
    for n in 1 2; do
        local byte=$((n + 2))
        cli "node$n" "${profile[@]}" "configure terminal" "router bgp 64513" \
            "bgp router-id 10.99.0.$byte" "neighbor 10.99.0.1 remote-as 64512" "neighbor 10.99.0.1 timers $timers" \
            "${bfd_n[@]}" "address-family ipv4 unicast" "network 198.51.100.0/32"
    done
}

# The router's next hops for the prefix, sorted, space-separated.
next_hops() {
    ip -n "$tag-router" route show 198.51.100.0/32 proto bgp 2>/dev/null \
        | grep -oE 'via 10\.99\.0\.[0-9]+' | awk '{print $2}' | sort | tr '\n' ' '
}
wait_both() {
    for _ in $(seq 1200); do
        [ "$(next_hops)" = "10.99.0.3 10.99.0.4 " ] && return 0
        sleep 0.1
    done
    echo "the router never had both next hops (has: '$(next_hops)')" >&2
    "$binary" --socket "$work/router.sock" -c 'show ip bgp summary' -c 'show bfd peers brief' >&2
    exit 1
}

now() { date +%s.%N; }

measure() { # variant -> prints seconds per run
    local variant=$1
    configure "$variant"
    local results=()
    for run in $(seq "$runs"); do
        wait_both
        sleep 2
        local cut
        cut=$(now)
        ip -n "$tag-switch" link set p1 down
        local seen=
        for _ in $(seq 30000); do
            if [ "$(next_hops)" = "10.99.0.4 " ]; then seen=$(now); break; fi
            sleep 0.01
        done
        ip -n "$tag-switch" link set p1 up
        [ -n "$seen" ] || { echo "$variant run $run: route never changed" >&2; exit 1; }
        results+=("$(echo "$seen - $cut" | bc -l)")
    done
    printf '%s' "$variant"
    for r in "${results[@]}"; do printf ' %.3f' "$r"; done
    echo
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "mini-router: $binary ($("$binary" --version 2>/dev/null | head -1))"
echo "variant failover-seconds-per-run"
measure bfd
measure hold9
if [ "$hold90" = yes ]; then measure hold90; fi
