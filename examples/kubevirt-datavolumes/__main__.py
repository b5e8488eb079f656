"""Disks from images (SCENARIOS.md #5): an HTTP qcow2 import and a clone of a golden PVC.

Both use CDI's `storage` API, so StorageProfiles fill in access and volume modes
where they are not given; growing `size` later expands the claim in place.
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _target import kubevirt_target, resources

target = kubevirt_target()
config = pulumi.Config()
Disk = resources().Disk
imported = Disk(
    "vm-rootdisk",
    target=target,
    size="20Gi",
    source={"kind": "url", "url": config.get("imageUrl") or "http://web.server/disk-image.qcow2"},
    access_modes=["ReadWriteMany"],
    volume_mode="Filesystem",
    storage_class=config.get("storageClass"),
)
cloned = Disk(
    "rhel8-clone",
    target=target,
    size="30Gi",
    source={"kind": "clone", "pvc": "rhel8-cloud-image", "pvc_namespace": "os-images"},
)
pulumi.export("imported_phase", imported.phase)
pulumi.export("cloned_claim", cloned.claim_name)
