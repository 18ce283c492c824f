#!/usr/bin/env bash
# Builds the lab's control-plane binaries from their Go modules at the versions pinned in
# lab/control-plane.env: kube-apiserver, kube-controller-manager, kube-scheduler and kubectl
# from k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3, kwok from sigs.k8s.io/kwok.
#
# Output: $FERROLB_CP_CACHE/<key>/bin (FERROLB_CP_CACHE defaults to
# ~/.cache/ferrolb/control-plane; <key> names the pinned versions). A binary that is already
# there is not rebuilt, so a second run takes well under a second.
#
# Usage: lab/scripts/build-control-plane.sh [--print-bin-dir | NAME...]
#   NAME...  build only these (e.g. `etcd kube-apiserver`); default: all of them
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../control-plane.env
source "$script_dir/../control-plane.env"

cache_root=${FERROLB_CP_CACHE:-$HOME/.cache/ferrolb/control-plane}
key="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_r${RECIPE}"
out=$cache_root/$key
bin=$out/bin
work=$out/work

if [[ ${1-} == --print-bin-dir ]]; then
    echo "$bin"
    exit 0
fi
only=("$@")

command -v go >/dev/null || { echo "build-control-plane: 'go' is not on PATH (Go >= 1.26 needed)" >&2; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
# Two shared cores: stay out of the way of interactive work and other builds.
nice_cmd=(nice -n "${FERROLB_CP_NICE:-19}")

mkdir -p "$bin" "$work"
all_start=$(date +%s)
built=0

log() { printf 'build-control-plane: %s\n' "$*" >&2; }

# build_one NAME MODULE_DIR PACKAGE LDFLAGS: builds one binary unless it is already there.
build_one() {
    local name=$1 dir=$2 pkg=$3 ldflags=$4
    if ((${#only[@]})) && [[ " ${only[*]} " != *" $name "* ]]; then
        return 0
    fi
    if [[ -x $bin/$name ]]; then
        log "$name: present ($bin/$name)"
        return 0
    fi
    log "$name: building $pkg ..."
    local start
    start=$(date +%s)
    (cd "$dir" && "${nice_cmd[@]}" go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp.$$" "$pkg")
    mv "$bin/$name.tmp.$$" "$bin/$name"
    log "$name: built in $(($(date +%s) - start)) s"
    built=$((built + 1))
}

# --- k8s.io/kubernetes: a wrapper module that requires it and points each k8s.io/* staging
# module (required as v0.0.0 and replaced by ./staging in its own go.mod) at its release.
k8s_dir=$work/kubernetes
staging_version=v0.${K8S_VERSION#v1.}
if [[ ! -f $k8s_dir/go.mod ]]; then
    log "kubernetes: resolving k8s.io/kubernetes@$K8S_VERSION"
    mkdir -p "$k8s_dir"
    k8s_mod=$(cd "$k8s_dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    [[ -f $k8s_mod ]] || { log "could not download the go.mod of k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
    {
        echo "module ferrolb.local/lab/kubernetes"
        echo
        echo "go 1.26.0"
        echo
        echo "require k8s.io/kubernetes $K8S_VERSION"
        echo
        echo "replace ("
        sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/.*#\t\1 => \1 '"$staging_version"'#p' "$k8s_mod"
        echo ")"
    } >"$k8s_dir/go.mod.tmp"
    grep -q 'k8s.io/api => ' "$k8s_dir/go.mod.tmp" || { log "no staging replace found in $k8s_mod"; exit 1; }
    mv "$k8s_dir/go.mod.tmp" "$k8s_dir/go.mod"
fi
k8s_date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.info" 2>/dev/null || true)
k8s_minor=${K8S_VERSION#v1.}
k8s_minor=${k8s_minor%%.*}
k8s_ldflags="-s -w"
for pkgvar in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    k8s_ldflags+=" -X $pkgvar.gitVersion=$K8S_VERSION -X $pkgvar.gitMajor=1 -X $pkgvar.gitMinor=$k8s_minor"
    k8s_ldflags+=" -X $pkgvar.gitTreeState=clean -X $pkgvar.buildDate=${k8s_date:-1970-01-01T00:00:00Z}"
done
for name in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    build_one "$name" "$k8s_dir" "k8s.io/kubernetes/cmd/$name" "$k8s_ldflags"
done

# --- etcd: a tiny main around etcdmain, the same entry point as the upstream etcd binary.
etcd_dir=$work/etcd
if [[ ! -f $etcd_dir/go.mod ]]; then
    mkdir -p "$etcd_dir"
    cat >"$etcd_dir/main.go" <<'GO'
// Command etcd is the upstream etcd server, built from its module for the ferrolb lab.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    printf 'module ferrolb.local/lab/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$etcd_dir/go.mod.tmp"
    mv "$etcd_dir/go.mod.tmp" "$etcd_dir/go.mod"
fi
build_one etcd "$etcd_dir" . "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}"

# --- kwok: its own command, from a wrapper module that requires it.
kwok_dir=$work/kwok
if [[ ! -f $kwok_dir/go.mod ]]; then
    mkdir -p "$kwok_dir"
    printf 'module ferrolb.local/lab/kwok\n\ngo 1.26.0\n\nrequire sigs.k8s.io/kwok %s\n' "$KWOK_VERSION" >"$kwok_dir/go.mod.tmp"
    mv "$kwok_dir/go.mod.tmp" "$kwok_dir/go.mod"
fi
build_one kwok "$kwok_dir" sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"

# kwok's behaviour comes from Stage objects (kwokctl embeds them; the bare kwok binary reads
# them with --config): the pinned release's fast node start, node heartbeat with leases, and
# fast pod ready/complete/delete stages, taken from the module itself.
if [[ ! -f $bin/kwok-stages.yaml ]]; then
    kwok_src=$(cd "$kwok_dir" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    stages=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
        pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
    for stage in "${stages[@]}"; do
        [[ -f $kwok_src/kustomize/stage/$stage ]] || { log "kwok stage $stage missing in $kwok_src"; exit 1; }
        printf -- '---\n'
        cat "$kwok_src/kustomize/stage/$stage"
    done >"$bin/kwok-stages.yaml.tmp.$$"
    mv "$bin/kwok-stages.yaml.tmp.$$" "$bin/kwok-stages.yaml"
    log "kwok-stages.yaml: written from sigs.k8s.io/kwok@$KWOK_VERSION"
fi

log "done: $built built, binaries in $bin, total $(($(date +%s) - all_start)) s"
