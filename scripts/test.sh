#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it: installs what the tests need
# (idempotent, cached), builds everything, and runs every test of the workspace.
# Interop tests start real FRR, BIRD, GoBGP and ExaBGP daemons; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "installing test dependencies (Debian packages)"
scripts/setup.sh

if [ -x lab/scripts/build-control-plane.sh ]; then
    step "building the Kubernetes control plane for the lab (cached)"
    lab/scripts/build-control-plane.sh
fi

# Incremental artifacts would double the target directory for a one-shot build.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step "building the workspace"
cargo build --workspace --all-targets

step "running the tests"
cargo test --workspace --no-fail-fast
