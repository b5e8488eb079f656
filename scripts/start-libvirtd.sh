#!/usr/bin/env bash
# Starts virtlogd + libvirtd for qemu:///system on a machine without systemd,
# unless libvirtd already answers. Idempotent.
#
# It changes host configuration only on opt-in: `--configure-host` or
# PKV_CONFIGURE_HOST=1. The Makefile passes it (`make setup`, `make demo`,
# `make test` are meant for CI and throwaway machines); on a terminal without
# it, the script asks. What it then does, where missing:
#   - creates the groups kvm and libvirt-qemu and the user libvirt-qemu (the
#     QEMU driver insists on them even when QEMU runs as root);
#   - appends to /etc/libvirt/qemu.conf
#       user = "root" / group = "root"   QEMU reads the guest kernel, initramfs
#                                        and seed images from the user's cache
#                                        directory (~/.cache/pulumi-kubevirt, under a 0700 home)
#       cgroup_controllers = [ ]         no cgroup delegation without systemd
# Without the opt-in it prints what it would change and fails: libvirtd could
# not run this project's guests. It also fails when libvirtd already runs but
# qemu.conf lacks these settings (libvirtd reads it only at start).
set -euo pipefail

configure=${PKV_CONFIGURE_HOST:-0}
for arg in "$@"; do
    case $arg in
    --configure-host) configure=1 ;;
    *)
        echo "usage: $0 [--configure-host]" >&2
        exit 2
        ;;
    esac
done
conf=${PKV_QEMU_CONF:-/etc/libvirt/qemu.conf} # overridable for tests/unit/test_start_libvirtd.py
settings=('user = "root"' 'group = "root"' 'cgroup_controllers = [ ]')

answers() { virsh -c qemu:///system version >/dev/null 2>&1; }

# What this host lacks, as the commands that would fix it.
todo=()
getent group kvm >/dev/null || todo+=("groupadd -r kvm")
getent group libvirt-qemu >/dev/null || todo+=("groupadd -r libvirt-qemu")
id libvirt-qemu >/dev/null 2>&1 || todo+=("useradd -r -g libvirt-qemu -G kvm libvirt-qemu")
for line in "${settings[@]}"; do
    grep -qxF "$line" "$conf" 2>/dev/null || todo+=("echo '$line' >>$conf")
done

if ((${#todo[@]})); then
    if [[ $configure != 1 && -t 0 && -t 1 ]]; then
        echo "[start-libvirtd] to run this project's guests, libvirtd needs these host changes:"
        printf '    %s\n' "${todo[@]}"
        read -r -p "[start-libvirtd] apply them now? [y/N] " reply
        [[ $reply == [yY]* ]] && configure=1
    fi
    if [[ $configure != 1 ]]; then
        {
            echo "[start-libvirtd] libvirtd cannot run this project's guests on this host as configured."
            echo "[start-libvirtd] it would (not done: host configuration changes need an opt-in):"
            printf '    %s\n' "${todo[@]}"
            echo "[start-libvirtd] on a CI or throwaway machine rerun with PKV_CONFIGURE_HOST=1"
            echo "[start-libvirtd] (or --configure-host; \`make setup\` passes it), or make these changes yourself."
        } >&2
        exit 1
    fi
    printf '[start-libvirtd] %s\n' "${todo[@]}"
    getent group kvm >/dev/null || groupadd -r kvm
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm libvirt-qemu
    [[ -s $conf && -n $(tail -c1 "$conf") ]] && echo >>"$conf" # never append to an unterminated line
    for line in "${settings[@]}"; do
        grep -qxF "$line" "$conf" 2>/dev/null || echo "$line" >>"$conf"
    done
    if answers; then
        echo "[start-libvirtd] libvirtd already runs with the old $conf: restart it to apply the change" >&2
        exit 1
    fi
fi

mkdir -p /var/log/libvirt/qemu # serial console logs of the guests this project defines
if answers; then
    echo "[start-libvirtd] qemu:///system already answers"
    exit 0
fi
mkdir -p /run/libvirt
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for _ in $(seq 1 50); do
    answers && {
        echo "[start-libvirtd] up"
        exit 0
    }
    sleep 0.2
done
echo "[start-libvirtd] libvirtd did not answer within 10 s; see /var/log/libvirt" >&2
exit 1
