"""Home-lab router VM on bridges and VLANs (SCENARIOS.md #2 and #4).

Node bridges are made by nmstate (NNCP) and offered to VMs through Multus
(NAD): br-lan untagged over enp13s0f0, br-web for VLAN 6 (the "WEB" DMZ), both
with STP off and no host IP. The router gets one NIC on each and a root disk
imported from HTTP on ReadWriteMany storage, so it can live-migrate.
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _target import kubevirt_target

from pulumi_kubevirt.provider import Bridge, Disk, VirtualMachine

target = kubevirt_target()
config = pulumi.Config()
nic = config.get("hostNic") or "enp13s0f0"

lan = Bridge("br-lan", target=target, bridge="br-lan", ports=[nic])
web = Bridge("br-web", target=target, bridge="br-web", vlan=6, ports=[nic], vlan_on_node=True)
root = Disk(
    "router-root",
    target=target,
    size=config.get("rootSize") or "20Gi",
    source={"kind": "url", "url": config.get("imageUrl") or "http://web.server/opnsense.qcow2"},
    access_modes=["ReadWriteMany"],
    volume_mode="Filesystem",
)
router = VirtualMachine(
    "opnsense",
    target=target,
    memory=config.get("memory") or "2Gi",
    cpu={"sockets": 2},
    disks=[{"name": "root", "disk": root, "boot_order": 1}],
    interfaces=[{"name": "lan", "bridge": lan}, {"name": "web", "bridge": web}],
    cloud_init={"user_data": pulumi.Output.secret("#cloud-config\nhostname: opnsense\n")},
    kubevirt={"eviction_strategy": "LiveMigrate"},
)
pulumi.export("router_status", router.printable_status)
pulumi.export("router_ips", router.ipv4)
