"""Live migration as a declarative resource (libvirt).

The VM is declared on host A with host B in its `hosts`, so after the move the
VirtualMachine resource finds it on B (its `host_uri` output says where it is)
and reports no drift. The Migration runs once; change `destinationUri` (e.g.
back to A) or `trigger` to move it again. Disks must be on shared storage for a
live migration, so this VM boots a kernel/initrd present on both hosts.
"""

import pulumi

from pulumi_kubevirt.provider import Migration, VirtualMachine

config = pulumi.Config()
vm = VirtualMachine(
    "mover",
    target={"kind": "libvirt", "uri": config.require("sourceUri")},
    hosts=[config.require("destinationClientUri")],
    memory="128Mi",
    accelerator="tcg",
    kernel_boot={"kernel": config.require("kernel"), "initrd": config.require("initrd"), "cmdline": "console=ttyS0"},
)
move = Migration(
    "mover-to-b",
    vm=vm,
    destination_uri=config.require("destinationUri"),
    destination_client_uri=config.require("destinationClientUri"),
    migrate_uri=config.require("migrateUri"),
    max_downtime_ms=300,
    trigger=config.get("trigger"),
)
pulumi.export("now_on", move.destination_host)
pulumi.export("elapsed_ms", move.elapsed_ms)
pulumi.export("downtime_ms", move.downtime_ms)
