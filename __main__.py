"""Quickstart stack: a NAT network, a blank disk and the tiny guest, on local libvirt, from the components.

`make demo` runs `pulumi up` on it. The guest is a Debian cloud kernel with a
busybox initramfs built by scripts/build-guest.sh into ~/.cache/pulumi-kubevirt/guest;
it prints a boot marker and its DHCP address on the serial console, whose log
path is an output. A BridgedNetwork makes the libvirt NAT network; a Server makes
the VM (no cloud-init: nothing is asked of it), booting the guest's kernel with
the data disk attached.
"""

import os
from pathlib import Path

import pulumi

from pulumi_kubevirt.components import BridgedNetwork, Server
from pulumi_kubevirt.provider import Disk
from pulumi_kubevirt.provider.resources.inputs import LibvirtTargetArgs

config = pulumi.Config()
prefix = config.get("prefix") or "quickstart"
target: LibvirtTargetArgs = {"kind": "libvirt", "uri": config.get("libvirtUri") or "qemu:///system"}
guest = Path(os.environ.get("PKV_CACHE", Path.home() / ".cache" / "pulumi-kubevirt")) / "guest"

lan = BridgedNetwork(f"{prefix}-lan", target=target, ipv4={"address": config.get("subnet") or "10.213.0.1/24"})

data = Disk(f"{prefix}-data", target=target, size="64Mi", format="qcow2")

server = Server(
    f"{prefix}-vm",
    target=target,
    memory=config.get("memory") or "128Mi",
    networks=[lan],
    vm_options={
        "accelerator": config.get("accelerator") or "tcg",
        "kernel_boot": {
            "kernel": str(guest / "vmlinuz"),
            "initrd": str(guest / "initrd.img"),
            "cmdline": "console=ttyS0 panic=-1",
        },
        "disks": [{"name": "data", "disk": data}],
        "wait_for_ip": True,
    },
)
vm = server.vm

pulumi.export("vm_state", vm.state)
pulumi.export("vm_ipv4", vm.ipv4)
pulumi.export("vm_serial_log", vm.serial_log_path)
pulumi.export("planned_change", vm.planned_change)
pulumi.export("network_bridge", lan.bridge_device)
