#!/usr/bin/env bash
# One idempotent setup for a fresh Debian 12 machine of this project's kind:
# Debian packages, libvirtd, the venv with the package, the tiny guest and the
# Go-built tools (pulumi, its Python language host, etcd, kube-apiserver, and the kube
# tier's control plane: kube-controller-manager, kube-scheduler, virt-controller, virt-api).
# Everything already present is skipped; each step prints how long it took.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
VENV=${PKV_VENV:-$ROOT/.venv}
start=$SECONDS

step() { # step NAME CMD...: runs CMD, prints its duration
    local t=$SECONDS
    printf '\n==> [setup] %s\n' "$1"
    shift
    "$@"
    printf '<== [setup] done in %ss\n' $((SECONDS - t))
}

venv() {
    local stamp=$VENV/.pkv-stamp want
    want=$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)
    if [[ -x $VENV/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
        echo "venv up to date ($VENV)"
        return
    fi
    [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e "$ROOT[dev]"
    echo "$want" >"$stamp"
}

step "Debian packages" "$HERE/install-debs.sh"
step "libvirtd" "$HERE/start-libvirtd.sh"
step "Python venv + pulumi-kubevirt (editable, with dev extras)" venv
step "tiny guest (kernel + busybox initramfs)" "$HERE/build-guest.sh"
# One step per tool, so each one's duration is printed.
for tool in etcd pulumi language-python kube-apiserver kube-controller-manager kube-scheduler \
    virt-controller virt-api kubevirt-manifests language-yaml; do
    step "Go-built tool: $tool (cold: minutes to tens of minutes)" "$HERE/build-go-tools.sh" "$tool"
done
printf '\n[setup] all done in %ss\n' $((SECONDS - start))
