"""Quickstart stack: a NAT bridge, a blank disk and the tiny guest, on local libvirt.

`make demo` runs `pulumi up` on it. The guest is a Debian cloud kernel with a
busybox initramfs built by scripts/build-guest.sh into ~/.cache/pulumi-kubevirt/guest;
it prints a boot marker and its DHCP address on the serial console, whose log
path is an output.
"""

import os
from pathlib import Path

import pulumi

from pulumi_kubevirt.provider import Bridge, Disk, VirtualMachine

config = pulumi.Config()
prefix = config.get("prefix") or "quickstart"
target = {"kind": "libvirt", "uri": config.get("libvirtUri") or "qemu:///system"}
guest = Path(os.environ.get("PKV_CACHE", Path.home() / ".cache" / "pulumi-kubevirt")) / "guest"

lan = Bridge(
    f"{prefix}-lan",
    target=target,
    mode="nat",
    ipv4={"address": config.get("subnet") or "10.213.0.1/24"},
)

data = Disk(f"{prefix}-data", target=target, size="64Mi", format="qcow2")

vm = VirtualMachine(
    f"{prefix}-vm",
    target=target,
    memory=config.get("memory") or "128Mi",
    accelerator=config.get("accelerator") or "tcg",
    kernel_boot={
        "kernel": str(guest / "vmlinuz"),
        "initrd": str(guest / "initrd.img"),
        "cmdline": "console=ttyS0 panic=-1",
    },
    disks=[{"name": "data", "disk": data}],
    interfaces=[{"name": "nic0", "bridge": lan}],
    wait_for_ip=True,
)

pulumi.export("vm_state", vm.state)
pulumi.export("vm_ipv4", vm.ipv4)
pulumi.export("vm_serial_log", vm.serial_log_path)
pulumi.export("planned_change", vm.planned_change)
pulumi.export("network_bridge", lan.bridge_device)
