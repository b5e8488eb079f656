#!/usr/bin/env bash
# Builds the Go-built test/runtime tools from the Go module proxy into
# $PKV_CACHE/bin (default ~/.cache/pulumi-kubevirt/bin), each skipped when the
# binary is present with the pinned version (scripts/versions.env).
#
#   scripts/build-go-tools.sh [TOOL...]     TOOL in: etcd pulumi language-python kube-apiserver
#                                           kube-controller-manager kube-scheduler virt-controller virt-api
#                                           kubevirt-manifests language-yaml
#
# Why wrapper modules: `go install pkg@ver` refuses modules whose go.mod has
# replace directives (pulumi/pkg, k8s.io/kubernetes), so each tool gets a tiny
# wrapper go.mod that requires the module and repeats its non-local replaces.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$HERE/versions.env"

PKV_CACHE=${PKV_CACHE:-$HOME/.cache/pulumi-kubevirt}
BIN=$PKV_CACHE/bin
WORK=$PKV_CACHE/build
STAMPS=$BIN/.versions
export GOMODCACHE=${GOMODCACHE_PKV:-$PKV_CACHE/go/mod}
export GOCACHE=${GOCACHE_PKV:-$PKV_CACHE/go/build}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$BIN" "$WORK" "$STAMPS"

log() { printf '[build-go-tools %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

have() { # have TOOL VERSION -> 0 when the stamped version matches and the binary exists
    [[ -x $BIN/$1 && -f $STAMPS/$1 && $(cat "$STAMPS/$1") == "$2" ]]
}

stamp() { echo "$2" >"$STAMPS/$1"; }

modfile() { # modfile MODULE VERSION -> path of the module's go.mod in the module cache
    go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'
}

moddir() {
    go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

nonlocal_replaces() { # the replace directives of a go.mod that do not point into its own tree
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
lines = []
for block in re.findall(r"^replace \((.*?)^\)", text, re.S | re.M):
    lines += block.strip().splitlines()
lines += re.findall(r"^replace (\S.*)$", text, re.M)
for line in lines:
    line = line.split("//")[0].strip()
    if line and "=>" in line and not re.search(r"=>\s*\.", line):
        print(f"replace {line}")
PY
}

new_wrapper() { # new_wrapper DIR: an empty wrapper module
    rm -rf "$1" && mkdir -p "$1"
    printf 'module pkvwrapper\n\ngo 1.26\n' >"$1/go.mod"
}

build_etcd() {
    local v=v$ETCD_VERSION
    have etcd "$v" && { log "etcd $v present"; return; }
    log "building etcd $v (cold: a few minutes)"
    local d=$WORK/etcd
    new_wrapper "$d"
    cat >"$d/main.go" <<'GO'
// Command etcd is the upstream etcd server entry point, nothing more.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    (cd "$d" && go get "go.etcd.io/etcd/server/v3@$v" && go mod tidy &&
        go build -trimpath -o "$BIN/etcd" .)
    stamp etcd "$v"
    log "etcd $v built"
}

build_pulumi() {
    local v=v$PULUMI_VERSION
    have pulumi "$v" && { log "pulumi $v present"; return; }
    log "building pulumi CLI $v (cold: 10-20 minutes)"
    local d=$WORK/pulumi
    new_wrapper "$d"
    nonlocal_replaces "$(modfile github.com/pulumi/pulumi/pkg/v3 "$v")" >>"$d/go.mod"
    (cd "$d" && go get "github.com/pulumi/pulumi/pkg/v3@$v" "github.com/pulumi/pulumi/sdk/v3@$v" &&
        go build -tags osusergo,grpcnotrace -trimpath \
            -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
            -o "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    stamp pulumi "$v"
    log "pulumi $v built"
}

build_language_python() {
    local v=v$PULUMI_VERSION m=github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
    have pulumi-language-python "$v" && { log "pulumi-language-python $v present"; return; }
    local sdk
    sdk=$(moddir github.com/pulumi/pulumi/sdk/v3 "$v")
    # The exec shim and the dynamic-provider host are scripts shipped in the sdk module.
    install -m 755 "$sdk/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
    install -m 755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$BIN/pulumi-resource-pulumi-python"
    log "building pulumi-language-python $v from $m@$PULUMI_LANGUAGE_PYTHON_PSEUDO"
    local d=$WORK/language-python err
    if err=$(go mod download -json "$m@$PULUMI_LANGUAGE_PYTHON_PSEUDO" 2>&1); then
        new_wrapper "$d"
        nonlocal_replaces "$(modfile github.com/pulumi/pulumi/pkg/v3 "$v")" >>"$d/go.mod"
        (cd "$d" && go get "$m@$PULUMI_LANGUAGE_PYTHON_PSEUDO" \
            "github.com/pulumi/pulumi/pkg/v3@$v" "github.com/pulumi/pulumi/sdk/v3@$v" &&
            go build -trimpath \
                -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
                -o "$BIN/pulumi-language-python" "$m")
        stamp pulumi-language-python "$v"
        log "pulumi-language-python $v built"
        return
    fi
    # The Go module proxy refuses this module (403 "This module version is not available." on
    # every version, see scripts/pulumi-language-python-standin). Install the Python stand-in
    # that speaks the same plugin protocol and runs the same upstream exec script; it runs with
    # the project venv's python (it needs the PyPI pulumi SDK's gRPC stubs). The stamp differs
    # from $v, so every setup run tries the real module again first.
    # The stand-in is shared by every checkout that uses this cache, so it must not depend on
    # one checkout's venv staying there: a small launcher runs it with the python3 on PATH when
    # that has the pulumi SDK (the Makefile and the test harness put the running checkout's venv
    # there), else with the venv of the setup that installed it (a clone deleted after its CI
    # run leaves the others working).
    local venv=${PKV_VENV:-$(dirname "$HERE")/.venv}
    "$venv/bin/python" -c 'import pulumi.runtime.proto.language_pb2_grpc' 2>/dev/null ||
        log "WARNING: $venv has no pulumi SDK; the stand-in will use the first python3 on PATH that has it"
    install -m 644 "$HERE/pulumi-language-python-standin" "$BIN/pulumi-language-python-standin.py"
    {
        echo '#!/bin/sh'
        echo '# Launcher of the pulumi-language-python STAND-IN (scripts/build-go-tools.sh).'
        printf 'for py in python3 %q; do\n' "$venv/bin/python"
        echo '    if command -v "$py" >/dev/null 2>&1 && "$py" -c "import pulumi.runtime.proto.language_pb2_grpc" 2>/dev/null; then'
        echo '        exec "$py" "$(dirname "$0")/pulumi-language-python-standin.py" "$@"'
        echo '    fi'
        echo 'done'
        echo 'echo "pulumi-language-python stand-in: no python with the pulumi SDK (tried python3 on PATH and the setup venv)" >&2'
        echo 'exit 1'
    } >"$BIN/pulumi-language-python.tmp"
    chmod 755 "$BIN/pulumi-language-python.tmp"
    mv "$BIN/pulumi-language-python.tmp" "$BIN/pulumi-language-python"
    stamp pulumi-language-python "$v-standin"
    log "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    log "!!! pulumi-language-python: the Go module could not be fetched; installed the STAND-IN"
    log "!!! scripts/pulumi-language-python-standin as $BIN/pulumi-language-python. Proxy said:"
    printf '%s\n' "$err" | sed 's/^/!!!   /' >&2
    log "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
}

k8s_ldflags() { # the version stamps `kubectl version` and /version report
    local v=v$KUBERNETES_VERSION minor=${KUBERNETES_VERSION#1.} pkg ld=""
    minor=${minor%%.*}
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ld="$ld -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    done
    echo "${ld# }"
}

build_k8s_cmd() { # build_k8s_cmd CMD: k8s.io/kubernetes/cmd/CMD at KUBERNETES_VERSION
    local cmd=$1 v=v$KUBERNETES_VERSION
    have "$cmd" "$v" && { log "$cmd $v present"; return; }
    log "building $cmd $v (cold: 10-30 minutes)"
    local d=$WORK/$cmd staging=v0.${KUBERNETES_VERSION#1.}
    new_wrapper "$d"
    # Every staging module k8s.io/kubernetes replaces with ./staging/src/... is
    # published as its own module at v0.MINOR.PATCH.
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#replace \1 => \1 '"$staging"'#p' \
        "$(modfile k8s.io/kubernetes "$v")" >>"$d/go.mod"
    (cd "$d" && go get "k8s.io/kubernetes/cmd/$cmd@$v" &&
        go build -trimpath -ldflags "$(k8s_ldflags)" -o "$BIN/$cmd" "k8s.io/kubernetes/cmd/$cmd")
    stamp "$cmd" "$v"
    log "$cmd $v built"
}

kubevirt_ldflags() { # what KubeVirt's hack/version.sh stamps (virt-* log it at startup)
    local v=v$KUBEVIRT_VERSION pkg=kubevirt.io/client-go/version
    echo "-X $pkg.gitVersion=$v -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
}

build_kubevirt_cmd() { # build_kubevirt_cmd CMD: kubevirt.io/kubevirt/cmd/CMD at KUBEVIRT_VERSION
    # (CMD kubevirt-manifests: scripts/kubevirt-manifests, built against the same module)
    local cmd=$1 v=v$KUBEVIRT_VERSION m=kubevirt.io/kubevirt pkg want=v$KUBEVIRT_VERSION
    # Our own source is part of the stamp, so editing it rebuilds the tool.
    [[ $cmd != kubevirt-manifests ]] || want=$v-$(cat "$HERE/$cmd"/*.go | sha256sum | cut -c1-12)
    have "$cmd" "$want" && { log "$cmd $want present"; return; }
    log "building $cmd $v (cold: ~5 minutes, shared with the other virt-* builds)"
    local d=$WORK/kubevirt err
    # kubevirt.io/kubevirt replaces kubevirt.io/api and kubevirt.io/client-go with
    # ./staging/...; both are published at the same version. The checksum database does not
    # know github.com/rhobs/operator-observability-toolkit (the proxy serves it).
    export GONOSUMDB=${GONOSUMDB:+$GONOSUMDB,}github.com/rhobs
    if ! err=$(go mod download -json "$m@$v" 2>&1); then
        log "!!! $m@$v cannot be fetched from the Go module proxy:"
        printf '%s\n' "$err" | sed 's/^/!!!   /' >&2
        return 1
    fi
    if [[ ! -f $d/.ready-$v ]]; then
        new_wrapper "$d"
        nonlocal_replaces "$(modfile "$m" "$v")" >>"$d/go.mod"
        printf 'replace kubevirt.io/api => kubevirt.io/api %s\nreplace kubevirt.io/client-go => kubevirt.io/client-go %s\n' \
            "$v" "$v" >>"$d/go.mod"
        # No `go mod tidy`: it also resolves test-only dependencies, which the proxy refuses.
        (cd "$d" && go get "$m/cmd/virt-controller@$v" "$m/cmd/virt-api@$v") || {
            log "!!! resolving $m@$v failed (the Go module proxy's message is above)"
            return 1
        }
        touch "$d/.ready-$v"
    fi
    pkg=$m/cmd/$cmd
    if [[ $cmd == kubevirt-manifests ]]; then
        rm -rf "$d/$cmd" && cp -r "$HERE/$cmd" "$d/$cmd" && pkg=./$cmd
    fi
    (cd "$d" && go build -trimpath -ldflags "$(kubevirt_ldflags)" -o "$BIN/$cmd" "$pkg")
    stamp "$cmd" "$want"
    log "$cmd $v built"
}

build_language_yaml() {
    # Pulumi YAML's language host (a second real Pulumi language, used by the plugin's e2e).
    # It does not build against the CLI's newer pkg/v3 (plugin API changes), so it keeps its
    # own pkg/sdk requirement, plus that pkg's non-local replaces (as for the CLI).
    local v=v$PULUMI_YAML_VERSION m=github.com/pulumi/pulumi-yaml
    have pulumi-language-yaml "$v" && { log "pulumi-language-yaml $v present"; return; }
    log "building pulumi-language-yaml $v (cold: 10-20 minutes)"
    local d=$WORK/language-yaml pkg
    pkg=$(sed -n 's#^[[:space:]]*github.com/pulumi/pulumi/pkg/v3 \(v[^ ]*\).*#\1#p' "$(modfile "$m" "$v")" | head -1)
    new_wrapper "$d"
    nonlocal_replaces "$(modfile github.com/pulumi/pulumi/pkg/v3 "$pkg")" >>"$d/go.mod"
    (cd "$d" && go get "$m@$v" && go build -trimpath -ldflags "-X $m/pkg/version.Version=$v" \
        -o "$BIN/pulumi-language-yaml" "$m/cmd/pulumi-language-yaml")
    stamp pulumi-language-yaml "$v"
    log "pulumi-language-yaml $v built"
}

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] ||
    tools=(etcd pulumi language-python kube-apiserver kube-controller-manager kube-scheduler virt-controller virt-api \
        kubevirt-manifests language-yaml)
for t in "${tools[@]}"; do
    case $t in
    etcd) build_etcd ;;
    pulumi) build_pulumi ;;
    language-python) build_language_python ;;
    kube-apiserver | kube-controller-manager | kube-scheduler) build_k8s_cmd "$t" ;;
    virt-controller | virt-api | kubevirt-manifests) build_kubevirt_cmd "$t" ;;
    language-yaml) build_language_yaml ;;
    *) echo "unknown tool: $t" >&2; exit 2 ;;
    esac
done
