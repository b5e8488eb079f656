#!/usr/bin/env bash
# Starts virtlogd + libvirtd for qemu:///system on a machine without systemd,
# unless libvirtd already answers. Idempotent.
set -euo pipefail
mkdir -p /var/log/libvirt/qemu  # serial console logs of the guests this project defines
if virsh -c qemu:///system version >/dev/null 2>&1; then
    echo "[start-libvirtd] qemu:///system already answers"
    exit 0
fi
mkdir -p /var/log/libvirt/qemu /run/libvirt
getent group kvm >/dev/null || groupadd -r kvm
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm libvirt-qemu
conf=/etc/libvirt/qemu.conf
touch $conf
# No cgroup delegation without systemd; QEMU runs as root so it can read the
# guest kernel/initramfs from the user's cache directory.
grep -q '^user = "root"' $conf || echo 'user = "root"' >>$conf
grep -q '^group = "root"' $conf || echo 'group = "root"' >>$conf
grep -q '^cgroup_controllers' $conf || echo 'cgroup_controllers = [ ]' >>$conf
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for _ in $(seq 1 50); do
    virsh -c qemu:///system version >/dev/null 2>&1 && { echo "[start-libvirtd] up"; exit 0; }
    sleep 0.2
done
echo "[start-libvirtd] libvirtd did not answer within 10 s; see /var/log/libvirt" >&2
exit 1
