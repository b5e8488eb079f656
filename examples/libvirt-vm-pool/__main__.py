"""N identical VMs on a libvirt host from the VmPool component, changed one VM at a time.

One base image is downloaded once; each VM boots a copy-on-write overlay of it
(a `backing` Disk). All VMs sit on one NAT BridgedNetwork. Scale with
`pulumi config set count 5`; change `memory` and `pulumi up` restarts the VMs one
after another (each VM's update waits until it runs again, bounded by 5 minutes,
before the next starts).
"""

import pulumi

from pulumi_kubevirt.components import BridgedNetwork, VmPool, render_cloud_config
from pulumi_kubevirt.provider import Disk
from pulumi_kubevirt.provider.resources.inputs import LibvirtTargetArgs

config = pulumi.Config()
target: LibvirtTargetArgs = {"kind": "libvirt", "uri": config.get("libvirtUri") or "qemu+ssh://root@hv1/system"}

net = BridgedNetwork("pool-net", target=target, ipv4={"address": "10.77.10.1/24"})
base = Disk(
    "pool-base",
    target=target,
    source={"kind": "url", "url": config.get("imageUrl") or "http://images.lab/debian-12-genericcloud-amd64.qcow2"},
)
pool = VmPool(
    "worker",
    count=config.get_int("count") or 3,
    target=target,
    root_disk={"source": {"kind": "backing", "volume": base.ref}, "size": "10Gi"},
    template={
        "memory": config.get("memory") or "1Gi",
        "interfaces": [net.interface("nic0")],
        "cloud_init": {"user_data": render_cloud_config(packages=["qemu-guest-agent"])},
        "guest_agent": True,
    },
    update_timeout="5m",
)
pulumi.export("workers", pool.names)
pulumi.export("ipv4", pool.ipv4)
