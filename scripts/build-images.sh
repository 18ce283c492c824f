#!/usr/bin/env bash
# Builds ferrolb's container images, all FROM scratch: controller and speaker (one static
# binary each, run as nobody) and mini-router (its static binary plus a static busybox for
# start-shell, wget, ip and ping). See controller/Dockerfile, speaker/Dockerfile and
# mini-router/Dockerfile.
#
# Usage: scripts/build-images.sh [--context-only] [--context DIR] [--tag TAG] [IMAGE...]
#        scripts/build-images.sh --from-source [--platform PLATFORM] [--tag TAG] [IMAGE...]
#        scripts/build-images.sh --print-tags [IMAGE...]
#
# IMAGE is controller, speaker or mini-router; default all three. Each is tagged
# ferrolb/IMAGE:vVERSION (VERSION from the workspace's Cargo.toml), the names the manifests
# use; --tag TAG overrides the tag of a single image.
#
# Default (offline): builds static binaries with one cargo invocation
#   - with the <arch>-unknown-linux-musl target when that rustup target is installed,
#   - else glibc static: RUSTFLAGS='-C target-feature=+crt-static' --target <arch>-unknown-linux-gnu,
# lays out one build context per image (rootfs/ and the Dockerfile) under DIR/IMAGE
# (default DIR: $CARGO_TARGET_DIR or target/, then images/; with one IMAGE, --context DIR is
# that image's context itself) and runs `docker build --target image` for each when a Docker
# engine answers `docker info`.
#   --context-only  lay out the contexts and stop (no Docker needed)
#   --print-tags    print "IMAGE TAG" lines and stop
#
# --from-source: `docker build --target from-source` on a `git archive HEAD` of the
# workspace; the Rust and Debian builder images are pulled for the platform given with
# --platform (linux/amd64 or linux/arm64; default the engine's own).
#
# Then, for instance (see mini-router/README and the tutorial):
#   kind load docker-image ferrolb/controller:v0.1.0 ferrolb/speaker:v0.1.0
#   kubectl apply -f manifests/metallb.yaml
#   docker run -it --rm --net=kind --cap-add=NET_ADMIN ferrolb/mini-router:v0.1.0
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/.." && pwd)"
all_images=(controller speaker mini-router)

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

tag=""
context=""
context_only=false
from_source=false
print_tags=false
platform=""
images=()
while [ $# -gt 0 ]; do
    case "$1" in
        --context-only) context_only=true ;;
        --context) context="$2"; shift ;;
        --tag) tag="$2"; shift ;;
        --from-source) from_source=true ;;
        --platform) platform="$2"; shift ;;
        --print-tags) print_tags=true ;;
        -h|--help) usage; exit 0 ;;
        controller|speaker|mini-router) images+=("$1") ;;
        *) echo "build-images.sh: unknown option or image $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[ "${#images[@]}" -gt 0 ] || images=("${all_images[@]}")
if [ -n "$tag" ] && [ "${#images[@]}" -ne 1 ]; then
    echo "build-images.sh: --tag names one image; give exactly one IMAGE" >&2
    exit 2
fi

# The workspace version, as the manifests' image tags spell it (v0.1.0).
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$workspace/Cargo.toml")"
[ -n "$version" ] || { echo "build-images.sh: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
tag_of() {
    if [ -n "$tag" ]; then echo "$tag"; else echo "ferrolb/$1:v$version"; fi
}

if $print_tags; then
    for image in "${images[@]}"; do
        echo "$image $(tag_of "$image")"
    done
    exit 0
fi

engine_up() { docker info >/dev/null 2>&1; }

if $from_source; then
    engine_up || { echo "build-images.sh: no Docker engine answers 'docker info'" >&2; exit 1; }
    src="$(mktemp -d)"
    trap 'rm -rf "$src"' EXIT
    git -C "$workspace" archive HEAD | tar -x -C "$src"
    for image in "${images[@]}"; do
        args=(build -f "$src/$image/Dockerfile" --target from-source -t "$(tag_of "$image")")
        [ -n "$platform" ] && args+=(--platform "$platform")
        docker "${args[@]}" "$src"
    done
    exit 0
fi

target_dir="${CARGO_TARGET_DIR:-$workspace/target}"
context_of() {
    if [ -n "$context" ] && [ "${#images[@]}" -eq 1 ]; then
        echo "$context"
    else
        echo "${context:-$target_dir/images}/$1"
    fi
}

arch="$(uname -m)"
if rustup target list --installed 2>/dev/null | grep -qx "$arch-unknown-linux-musl"; then
    triple="$arch-unknown-linux-musl"
    rustflags="${RUSTFLAGS:-}"
else
    triple="$arch-unknown-linux-gnu"
    rustflags="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static"
fi
packages=()
for image in "${images[@]}"; do packages+=(-p "$image"); done
echo "build-images.sh: building static ${images[*]} for $triple" >&2
(cd "$workspace" && RUSTFLAGS="$rustflags" cargo build --release "${packages[@]}" --target "$triple")

# Static (or static-pie): no program interpreter and no NEEDED libraries (readelf: binutils).
is_static() {
    [ -f "$1" ] || return 1
    ! readelf -lW "$1" 2>/dev/null | grep -q 'INTERP' \
        && ! readelf -dW "$1" 2>/dev/null | grep -q '(NEEDED)'
}

static_busybox() {
    for candidate in /bin/busybox /usr/bin/busybox; do
        if [ -x "$candidate" ] && is_static "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    echo "build-images.sh: no static busybox; install Debian's busybox-static" >&2
    return 1
}

# layout IMAGE: CONTEXT/rootfs/bin/IMAGE (stripped), busybox for mini-router, the Dockerfile.
layout() {
    local image=$1 dir binary
    dir="$(context_of "$image")"
    binary="$target_dir/$triple/release/$image"
    if ! is_static "$binary"; then
        echo "build-images.sh: $binary is not statically linked" >&2
        exit 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir/rootfs/bin"
    install -m 0755 "$binary" "$dir/rootfs/bin/$image"
    # The release profile keeps line tables for backtraces; the image does not need them.
    if command -v strip >/dev/null 2>&1; then
        strip "$dir/rootfs/bin/$image"
    fi
    if [ "$image" = mini-router ]; then
        install -m 0755 "$(static_busybox)" "$dir/rootfs/bin/busybox"
        for tool in sh wget ip ping; do
            ln -s busybox "$dir/rootfs/bin/$tool"
        done
    fi
    cp "$workspace/$image/Dockerfile" "$dir/Dockerfile"
    echo "build-images.sh: $image context ready in $dir" >&2
}

for image in "${images[@]}"; do
    layout "$image"
done
if $context_only; then
    exit 0
fi
if ! engine_up; then
    echo "build-images.sh: no Docker engine answers 'docker info'; the contexts are ready" >&2
    for image in "${images[@]}"; do
        echo "build-images.sh: build where one runs: docker build --target image -t $(tag_of "$image") $(context_of "$image")" >&2
    done
    exit 3
fi
for image in "${images[@]}"; do
    DOCKER_BUILDKIT=0 docker build --target image -t "$(tag_of "$image")" "$(context_of "$image")"
done
