#!/usr/bin/env bash
# The tutorial's world on this machine, from nothing: installs what the lab needs (Debian
# packages, idempotent), builds the lab's Kubernetes control plane from its Go modules
# (cached under ~/.cache/ferrolb) and ferrolb's binaries, then `lab up`: the seed's network
# in namespaces, the control plane, ferrolb installed with `kubectl apply -f
# manifests/metallb.yaml`, and mini-router in the `router` namespace. It ends by printing the
# next commands (`lab router`, `lab kubectl …`). `target/release/lab down` removes it all.
#
# Usage: scripts/lab-up.sh [lab up options]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "installing what the lab needs (Debian packages)"
scripts/setup.sh
step "building the Kubernetes control plane (cached)"
lab/scripts/build-control-plane.sh
step "building ferrolb (lab, controller, speaker, mini-router)"
cargo build --release -p lab -p controller -p speaker -p mini-router
step "lab up"
exec target/release/lab up "$@"
