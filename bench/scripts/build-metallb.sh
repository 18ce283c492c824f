#!/usr/bin/env bash
# Builds MetalLB's controller from its Go module (go.universe.tf/metallb) for the controller
# benchmark (bench/src/bin/controller.rs), as MetalLB's controller/Dockerfile builds it:
# CGO_ENABLED=0, `go build` of the `controller` package, only the version ldflags.
#
# One difference, forced by the module proxy: MetalLB v0.16.2 requires
# github.com/metallb/frr-k8s v0.0.27, which the proxy here does not serve (newest: v0.0.21).
# The controller never uses frr-k8s (only the speaker's frr-k8s mode does), but its packages
# compile against frr-k8s' API types, and v0.16.2 uses one type and one field that v0.0.21
# lacks (as-path prepend). So a wrapper module requires MetalLB v0.16.2 and replaces
# frr-k8s with a local copy of v0.0.21's `api/v1beta1` package plus those two declarations.
# Nothing the controller runs is changed.
#
# Output: $FERROLB_METALLB_CACHE/<version>/bin/controller (FERROLB_METALLB_CACHE defaults to
# ~/.cache/ferrolb/metallb). A binary that is already there is not rebuilt, so a second run
# takes well under a second.
#
# Usage: bench/scripts/build-metallb.sh [--print-bin | --print-source-dir]
#   --print-bin         print where the binary is (or will be), build nothing
#   --print-source-dir  print MetalLB's source tree in the module cache (its CRDs are in
#                       config/crd/bases)
#   METALLB_VERSION     the module version (default v0.16.2)
set -euo pipefail

version=${METALLB_VERSION:-v0.16.2}
module=go.universe.tf/metallb
frr_module=github.com/metallb/frr-k8s
frr_version=v0.0.21
cache_root=${FERROLB_METALLB_CACHE:-$HOME/.cache/ferrolb/metallb}
out_dir=$cache_root/$version
bin=$out_dir/bin
work=$out_dir/work
out=$bin/controller

log() { printf 'build-metallb: %s\n' "$*" >&2; }

if [[ ${1-} == --print-bin ]]; then
    echo "$out"
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
if (($#)); then
    log "unknown argument: $1 (usage: $0 [--print-bin | --print-source-dir])"
    exit 2
fi

if [[ -x $out ]]; then
    log "controller: present ($out)"
    exit 0
fi

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
// against (prefixes advertised with a prepended AS path); the controller never uses it.
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
log "controller: building $module/controller@$version ..."
start=$(date +%s)
# Two shared cores: stay out of the way of interactive work and other builds.
(cd "$main_dir" && nice -n "${FERROLB_METALLB_NICE:-19}" go build -trimpath \
    -ldflags "-X '$module/internal/version.gitCommit=$version' -X '$module/internal/version.gitBranch=$version'" \
    -o "$bin/controller.tmp.$$" "$module/controller")
mv "$bin/controller.tmp.$$" "$out"
log "controller: built in $(($(date +%s) - start)) s: $out"
