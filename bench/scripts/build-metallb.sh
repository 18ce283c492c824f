#!/usr/bin/env bash
# Builds MetalLB's controller and speaker from its Go module (go.universe.tf/metallb) for the
# controller and speaker benchmarks (bench/src/bin/controller.rs, bench/src/bin/speaker.rs),
# as MetalLB's controller/Dockerfile and speaker/Dockerfile build them: CGO_ENABLED=0,
# `go build` of the `controller` or `speaker` package, only the version ldflags. With the
# speaker it copies MetalLB's CRD files (config/crd/bases) to <version>/crds: the speaker
# benchmark installs MetalLB's ServiceL2Status CRD from there, which ferrolb does not ship.
#
# One difference, forced by the module proxy: MetalLB v0.16.2 requires
# github.com/metallb/frr-k8s v0.0.27, which the proxy here does not serve (newest: v0.0.21).
# Only the speaker's frr-k8s mode (METALLB_BGP_TYPE=frr-k8s) uses frr-k8s; the controller
# and the native-mode speaker never do, but their packages compile against frr-k8s' API
# types, and v0.16.2 uses one type and one field that v0.0.21 lacks (as-path prepend). So a
# wrapper module requires MetalLB v0.16.2 and replaces frr-k8s with a local copy of
# v0.0.21's `api/v1beta1` package plus those two declarations. Nothing the controller or
# the native speaker runs is changed.
#
# Output: $FERROLB_METALLB_CACHE/<version>/bin/{controller,speaker} (FERROLB_METALLB_CACHE
# defaults to ~/.cache/ferrolb/metallb). A binary that is already there is not rebuilt, so
# a second run takes well under a second.
#
# Usage: bench/scripts/build-metallb.sh [controller] [speaker] | --print-bin [NAME] | --print-source-dir
#   controller, speaker  what to build (default: both)
#   --print-bin [NAME]   print where binary NAME (default controller) is or will be, build nothing
#   --print-source-dir   print MetalLB's source tree in the module cache (its CRDs are in
#                        config/crd/bases)
#   METALLB_VERSION      the module version (default v0.16.2)
set -euo pipefail

version=${METALLB_VERSION:-v0.16.2}
module=go.universe.tf/metallb
frr_module=github.com/metallb/frr-k8s
frr_version=v0.0.21
cache_root=${FERROLB_METALLB_CACHE:-$HOME/.cache/ferrolb/metallb}
out_dir=$cache_root/$version
bin=$out_dir/bin
work=$out_dir/work

log() { printf 'build-metallb: %s\n' "$*" >&2; }

if [[ ${1-} == --print-bin ]]; then
    echo "$bin/${2:-controller}"
    exit 0
fi

command -v go >/dev/null || { log "'go' is not on PATH (Go >= 1.26 needed)"; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod

# module_dir MODULE@VERSION: the module's tree in the module cache (downloaded through the Go
# module proxy the first time).
module_dir() {
    local dir
    dir=$(cd "${TMPDIR:-/tmp}" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -f $dir/go.mod ]] || { log "could not download $1 through the Go module proxy"; exit 1; }
    echo "$dir"
}

if [[ ${1-} == --print-source-dir ]]; then
    module_dir "$module@$version"
    exit 0
fi
programs=()
for arg in "$@"; do
    case $arg in
    controller | speaker) programs+=("$arg") ;;
    *)
        log "unknown argument: $arg (usage: $0 [controller] [speaker] | --print-bin [NAME] | --print-source-dir)"
        exit 2
        ;;
    esac
done
((${#programs[@]})) || programs=(controller speaker)

missing=()
for program in "${programs[@]}"; do
    if [[ -x $bin/$program ]]; then
        log "$program: present ($bin/$program)"
    else
        missing+=("$program")
    fi
done
crds=$out_dir/crds
if [[ " ${programs[*]} " == *" speaker "* && ! -f $crds/metallb.io_servicel2statuses.yaml ]]; then
    src=$(module_dir "$module@$version")
    rm -rf "$crds.tmp"
    mkdir -p "$crds.tmp"
    cp "$src"/config/crd/bases/*.yaml "$crds.tmp/"
    chmod -R u+w "$crds.tmp"
    rm -rf "$crds"
    mv "$crds.tmp" "$crds"
    log "MetalLB's CRDs copied to $crds"
fi
((${#missing[@]})) || exit 0

# --- frr-k8s' API package at the newest version the proxy has, with what v0.16.2 adds.
frr_dir=$work/frr-k8s
if [[ ! -f $frr_dir/go.mod ]]; then
    frr_src=$(module_dir "$frr_module@$frr_version")
    rm -rf "$frr_dir.tmp"
    mkdir -p "$frr_dir.tmp/api"
    cp "$frr_src/go.mod" "$frr_dir.tmp/"
    cp -r "$frr_src/api/v1beta1" "$frr_dir.tmp/api/"
    chmod -R u+w "$frr_dir.tmp"
    types=$frr_dir.tmp/api/v1beta1/frrconfiguration_types.go
    community_field='	PrefixesWithCommunity []CommunityPrefixes `json:"withCommunity,omitempty"`'
    grep -qxF "$community_field" "$types" || { log "$frr_module@$frr_version: Advertise.PrefixesWithCommunity not found in $types"; exit 1; }
    awk -v field="$community_field" '{ print } $0 == field {
        print ""
        print "\tPrefixesWithAsPathPrepend []AsPathPrependPrefixes `json:\"withAsPathPrepend,omitempty\"`"
    }' "$types" >"$types.new"
    mv "$types.new" "$types"
    cat >"$frr_dir.tmp/api/v1beta1/zz_ferrolb_aspathprepend.go" <<'GO'
package v1beta1

// AsPathPrependPrefixes stands in for the frr-k8s v0.0.27 type MetalLB v0.16.2 compiles
// against (prefixes advertised with a prepended AS path); only the frr-k8s mode of the
// speaker would use it, and the benchmarks never run that mode.
type AsPathPrependPrefixes struct {
	Prefixes      []string `json:"prefixes,omitempty"`
	AsPathPrepend uint8    `json:"asPathPrepend,omitempty"`
}
GO
    mv "$frr_dir.tmp" "$frr_dir"
fi

# --- the wrapper module: MetalLB at $version, frr-k8s replaced by the package above.
main_dir=$work/metallb
if [[ ! -f $main_dir/go.mod ]]; then
    mkdir -p "$main_dir"
    printf 'module ferrolb.local/bench/metallb\n\ngo 1.26.0\n\nrequire %s %s\n\nreplace %s => %s\n' \
        "$module" "$version" "$frr_module" "$frr_dir" >"$main_dir/go.mod.tmp"
    mv "$main_dir/go.mod.tmp" "$main_dir/go.mod"
fi

mkdir -p "$bin"
for program in "${missing[@]}"; do
    log "$program: building $module/$program@$version ..."
    start=$(date +%s)
    # Two shared cores: stay out of the way of interactive work and other builds.
    (cd "$main_dir" && nice -n "${FERROLB_METALLB_NICE:-19}" go build -trimpath \
        -ldflags "-X '$module/internal/version.gitCommit=$version' -X '$module/internal/version.gitBranch=$version'" \
        -o "$bin/$program.tmp.$$" "$module/$program")
    mv "$bin/$program.tmp.$$" "$bin/$program"
    log "$program: built in $(($(date +%s) - start)) s: $bin/$program"
done
