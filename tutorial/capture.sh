#!/usr/bin/env bash
# Runs the tutorial's steps on a fresh `lab up` and prints what each shows, the way
# tutorial/README.md quotes it: the outputs there were captured with this script.
# The router is driven at its own prompt through the lab's tmux terminal, as a reader types.
#
# Usage: tutorial/capture.sh [LAB]   (as root; LAB: the lab binary, default target/release/lab)
set -euo pipefail
cd "$(dirname "$0")/.."
lab="${1:-target/release/lab}"
state="${FERROLB_LAB_DIR:-/run/ferrolb-lab}"
tmux_sock="$state/tmux.sock"

say() { printf '\n### %s\n' "$*"; }
# Types a line at the router's prompt and waits a moment for its answer.
type_line() {
    tmux -S "$tmux_sock" send-keys -t router -l "$1"
    tmux -S "$tmux_sock" send-keys -t router Enter
    sleep "${2:-1}"
}
# Prints the router's screen since the last call (blank lines squeezed).
screen() {
    tmux -S "$tmux_sock" capture-pane -p -J -S -300 -t router | cat -s
    # -R resets the pane (its visible lines too); then the scrollback goes.
    tmux -S "$tmux_sock" send-keys -R -t router \; clear-history -t router
}
trap '"$lab" down >/dev/null 2>&1 || true' EXIT

say "lab up"
"$lab" up
say "the router's terminal"
type_line "show interface"
screen
say "kubectl get pods -n metallb-system -o wide"
"$lab" kubectl get pods -n metallb-system -o wide
say "configure the router"
for line in "configure terminal" "router bgp 64512" "neighbor 10.192.0.3 remote-as 64512" \
    "neighbor 10.192.0.4 remote-as 64512" "exit" "exit"; do
    type_line "$line" 0.3
done
screen
say "the tutorial's ConfigMap"
# manifests/example-config.yaml is the text of the tutorial's heredoc.
"$lab" kubectl create -f - < manifests/example-config.yaml
sleep 3
type_line "show ip bgp summary"
screen
say "kubectl logs -n metallb-system -l component=speaker"
"$lab" kubectl logs -n metallb-system -l component=speaker | grep -E 'configLoaded|peerAdded|sessionUp'
say "tutorial-2.yaml"
"$lab" kubectl apply -f manifests/tutorial-2.yaml
sleep 5
"$lab" kubectl get pods
"$lab" kubectl get service nginx
"$lab" kubectl describe service nginx | sed -n '/^Events:/,$p'
type_line "show ip bgp"
type_line "show ip bgp 198.51.100.0/32"
type_line "show ip route"
screen
say "start-shell, wget, tcpdump"
timeout 8 tcpdump -ni lab-br0 tcp port 80 > "$state/tcpdump.out" 2>&1 &
sleep 2
type_line "start-shell"
type_line "wget 198.51.100.0" 2
type_line "rm index.html; exit"
screen
wait
cat "$state/tcpdump.out"
say "kubectl delete -f manifests/tutorial-2.yaml -f manifests/metallb.yaml"
"$lab" kubectl delete -f manifests/tutorial-2.yaml -f manifests/metallb.yaml --wait=false
sleep 5
type_line "show ip bgp summary"
screen
say "lab down"
"$lab" down
trap - EXIT
