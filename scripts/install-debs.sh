#!/usr/bin/env bash
# Installs the Debian packages the project needs (libvirt + QEMU, the guest
# build, network namespaces), skipping the apt round trip when all are present.
set -euo pipefail
PKGS=(
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-dev
    libxml2-utils qemu-system-x86 qemu-utils pkg-config dnsmasq-base iptables
    iproute2 cpio busybox-static gzip python3-venv
)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "[install-debs] all ${#PKGS[@]} packages present"
    exit 0
fi
echo "[install-debs] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
