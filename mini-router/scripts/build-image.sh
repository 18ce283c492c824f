#!/usr/bin/env bash
# Builds the mini-router container image (see mini-router/Dockerfile).
#
# Usage: mini-router/scripts/build-image.sh [--context-only] [--context DIR] [--tag TAG]
#        mini-router/scripts/build-image.sh --from-source [--platform PLATFORM] [--tag TAG]
#
# Default (offline): builds a static mini-router with cargo
#   - with the x86_64-unknown-linux-musl target when that rustup target is installed,
#   - else glibc static: RUSTFLAGS='-C target-feature=+crt-static' --target x86_64-unknown-linux-gnu
#     (or the host's target on another architecture),
# copies it and Debian's static busybox (package busybox-static; links sh, wget, ip, ping)
# into CONTEXT/rootfs (default: $CARGO_TARGET_DIR or target/, then mini-router-image/),
# and runs `docker build --target image` when a Docker engine answers `docker info`.
#   --context-only  lay out the context and stop (no Docker needed)
#   --context DIR   where to lay out the context
#   --tag TAG       image name (default mini-router)
#
# --from-source: `docker build --target from-source` on a `git archive HEAD` of the
# workspace; the Rust and Debian builder images are pulled for the platform given with
# --platform (linux/amd64 or linux/arm64; default the engine's own).
#
# Then:
#   docker network create --subnet 10.192.0.0/24 kubeadm-dind-net
#   docker run -it --rm --net=kubeadm-dind-net --cap-add=NET_ADMIN --cap-add=NET_BROADCAST \
#       --cap-add=NET_RAW --name extBGP mini-router
#   docker exec extBGP mini-router -c 'show ip bgp summary'
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
tag=mini-router
context=""
context_only=false
from_source=false
platform=""

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --context-only) context_only=true ;;
        --context) context="$2"; shift ;;
        --tag) tag="$2"; shift ;;
        --from-source) from_source=true ;;
        --platform) platform="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build-image.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

engine_up() { docker info >/dev/null 2>&1; }

if $from_source; then
    engine_up || { echo "build-image.sh: no Docker engine answers 'docker info'" >&2; exit 1; }
    src="$(mktemp -d)"
    trap 'rm -rf "$src"' EXIT
    git -C "$workspace" archive HEAD | tar -x -C "$src"
    args=(build -f "$src/mini-router/Dockerfile" --target from-source -t "$tag")
    [ -n "$platform" ] && args+=(--platform "$platform")
    docker "${args[@]}" "$src"
    exit 0
fi

target_dir="${CARGO_TARGET_DIR:-$workspace/target}"
[ -n "$context" ] || context="$target_dir/mini-router-image"

arch="$(uname -m)"
if rustup target list --installed 2>/dev/null | grep -qx "$arch-unknown-linux-musl"; then
    triple="$arch-unknown-linux-musl"
    rustflags="${RUSTFLAGS:-}"
else
    triple="$arch-unknown-linux-gnu"
    rustflags="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static"
fi
echo "build-image.sh: building a static mini-router for $triple" >&2
(cd "$workspace" && RUSTFLAGS="$rustflags" cargo build --release -p mini-router --target "$triple")
binary="$target_dir/$triple/release/mini-router"

# Static (or static-pie): no program interpreter and no NEEDED libraries (readelf: binutils).
is_static() {
    [ -f "$1" ] || return 1
    ! readelf -lW "$1" 2>/dev/null | grep -q 'INTERP' \
        && ! readelf -dW "$1" 2>/dev/null | grep -q '(NEEDED)'
}

busybox=""
for candidate in /bin/busybox /usr/bin/busybox; do
    if [ -x "$candidate" ] && is_static "$candidate"; then
        busybox="$candidate"; break
    fi
done
if [ -z "$busybox" ]; then
    echo "build-image.sh: no static busybox; install Debian's busybox-static" >&2
    exit 1
fi
if ! is_static "$binary"; then
    echo "build-image.sh: $binary is not statically linked" >&2
    exit 1
fi

rm -rf "$context"
mkdir -p "$context/rootfs/bin"
install -m 0755 "$binary" "$context/rootfs/bin/mini-router"
# The release profile keeps line tables for backtraces; the image does not need them.
if command -v strip >/dev/null 2>&1; then
    strip "$context/rootfs/bin/mini-router"
fi
install -m 0755 "$busybox" "$context/rootfs/bin/busybox"
for tool in sh wget ip ping; do
    ln -s busybox "$context/rootfs/bin/$tool"
done
cp "$workspace/mini-router/Dockerfile" "$context/Dockerfile"
echo "build-image.sh: context ready in $context" >&2

if $context_only; then
    exit 0
fi
if ! engine_up; then
    echo "build-image.sh: no Docker engine answers 'docker info'; the context is in $context" >&2
    echo "build-image.sh: build it where one runs: docker build --target image -t $tag $context" >&2
    exit 3
fi
DOCKER_BUILDKIT=0 docker build --target image -t "$tag" "$context"
