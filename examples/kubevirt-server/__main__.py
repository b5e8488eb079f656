"""A ready-to-SSH server on KubeVirt, from the Server component.

A root DataVolume imported from a cloud image over HTTP, cloud-init creating the
user `ops` with your SSH key and installing nginx, a NIC on the pod network
(masquerade). With `pulumi config set exposeSsh true` a Service selecting the
VM's virt-launcher pod exposes SSH and HTTP, as `virtctl expose` would (it is a
pulumi-kubernetes resource: `pulumi plugin install resource kubernetes` first);
`ssh_endpoints` then lists the Service's DNS name and cluster IP.
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _target import kubevirt_target

from pulumi_kubevirt.components import Server

config = pulumi.Config()
server = Server(
    "web",
    target=kubevirt_target(),
    image=config.get("imageUrl") or "http://images.lab/debian-12-genericcloud-amd64.qcow2",
    disk_size=config.get("rootSize") or "10Gi",
    memory="2Gi",
    cpus=2,
    user="ops",
    ssh_authorized_keys=[
        config.get_secret("sshKey") or "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnly ops@example"
    ],
    packages=["nginx"],
    expose_ports={"ssh": 22, "http": 80} if config.get_bool("exposeSsh") else None,
)
pulumi.export("status", server.vm.printable_status)
pulumi.export("ssh_endpoints", server.ssh_endpoints)
