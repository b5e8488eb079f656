"""Home-lab router VM on bridges and VLANs (SCENARIOS.md #2 and #4), on the components.

Node bridges are made by nmstate (NNCP) and offered to VMs through Multus (NAD),
one BridgedNetwork each: br-lan untagged over enp13s0f0, br-web for VLAN 6 (the
"WEB" DMZ, a sub-interface on the node), both with STP off and no host IP. The
Router gets its LAN NIC on br-lan and its DMZ NIC on br-web, and a root disk
imported from HTTP on ReadWriteMany storage with evictionStrategy LiveMigrate,
so node drains move it.
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _target import kubevirt_target

from pulumi_kubevirt.components import BridgedNetwork, Router

target = kubevirt_target()
config = pulumi.Config()
nic = config.get("hostNic") or "enp13s0f0"

lan = BridgedNetwork("br-lan", target=target, bridge_device="br-lan", ports=[nic])
web = BridgedNetwork("br-web", target=target, bridge_device="br-web", vlan=6, ports=[nic], vlan_on_node=True)
router = Router(
    "opnsense",
    target=target,
    lan=lan,
    dmz=web,
    image=config.get("imageUrl") or "http://web.server/opnsense.qcow2",
    disk_size=config.get("rootSize") or "20Gi",
    root_disk_options={"volume_mode": "Filesystem"},
    memory=config.get("memory") or "2Gi",
    cpus=2,
    hostname="opnsense",
    live_migratable=True,
)
pulumi.export("router_status", router.vm.printable_status)
pulumi.export("router_ips", router.vm.ipv4)
