"""Sizes from an instancetype and a preference, and a snapshot before an upgrade.

The VM takes the `ref` outputs of the Instancetype and the Preference as its
references (KubeVirt then sizes it: no memory or cpu on the VM). Editing the
instancetype later changes the object at once, but this VM keeps the revision
KubeVirt captured for it. The Snapshot waits until KubeVirt reports it ready to
use; to go back, add `SnapshotRestore("rollback", snapshot=..., vm=..., target=...)`
(KubeVirt restores a stopped VM, or stops it with target_readiness_policy StopTarget).
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _target import kubevirt_target, resources

target = kubevirt_target()
Instancetype, Preference = resources().Instancetype, resources().Preference
VirtualMachine, Snapshot = resources().VirtualMachine, resources().Snapshot
small = Instancetype("u1-small", target=target, cpu={"guest": 2}, memory={"guest": "2Gi"})
linux = Preference("linux-virtio", target=target, disk_bus="virtio", interface_model="virtio", rng=True)
# The ignore is for the plugin's SDK only: Pulumi's Python code generator types an object output
# (`ref`: outputs.ClusterRef) apart from the input of the same type (ClusterRefArgsDict), and mypy
# takes neither for the other; the value is the one `kubevirt` takes (the dynamic classes type it so).
db = VirtualMachine(  # type: ignore[call-overload, unused-ignore]
    "db",
    target=target,
    disks=[{"name": "root", "container_image": "quay.io/containerdisks/fedora:41"}],
    interfaces=[{"name": "default", "pod": True}],
    kubevirt={"instancetype": small.ref, "preference": linux.ref},
    run_state="stopped",
)
before = Snapshot("db-before-upgrade", vm=db.name, target=target, description="before the upgrade")
pulumi.export("instancetype", small.ref)
pulumi.export("snapshot_ready", before.ready)
