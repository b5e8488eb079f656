"""Node networking with NMState + Multus (SCENARIOS.md #4), one BridgedNetwork shared by two VMs.

On the worker nodes, bridge `br1` over a balance-alb bond of eth2+eth3 (MTU 1450,
STP off), offered to VMs as the NAD `vlan-93` (cnv-bridge CNI, VLAN 93 tagged by
the bridge). Two Servers from a containerDisk attach their only NIC to it.
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _target import kubevirt_target

from pulumi_kubevirt.components import BridgedNetwork, Server

target = kubevirt_target()
config = pulumi.Config()
vlan93 = BridgedNetwork(
    "vlan-93",
    target=target,
    bridge_device="br1",
    vlan=93,
    mtu=1450,
    node_selector={"node-role.kubernetes.io/worker": ""},
    bridge_options={
        "bond": {"name": "bond1", "mode": "balance-alb", "ports": ["eth2", "eth3"], "miimon": 100, "mtu": 1450},
        "cni_type": "cnv-bridge",
    },
)
servers = {
    name: Server(
        name,
        target=target,
        container_image="quay.io/containerdisks/fedora:40",
        memory="1Gi",
        ssh_authorized_keys=[
            config.get("sshKey") or "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnly demo@example"
        ],
        pod_network=False,
        networks=[vlan93],
    )
    for name in ("demo-vm-a", "demo-vm-b")
}
pulumi.export("network", vlan93.network_name)
pulumi.export("status", {name: server.vm.printable_status for name, server in servers.items()})
