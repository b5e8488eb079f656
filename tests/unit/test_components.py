"""Components compose resources (checked with Pulumi's mocks: no engine, no backend)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from tests.support import pulumi_mocks
from tests.support.pulumi_mocks import RecordingMocks


def _disk_ref(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    if args.name.endswith(("-root", "-data")):
        return {"ref": {"pool": "default", "volume": f"{args.name}.qcow2", "format": "qcow2"}}
    return {}


@pytest.fixture
def mocks() -> RecordingMocks:
    return pulumi_mocks.install(preview=False, extra=_disk_ref)


@pulumi.runtime.test
def test_vm_with_disks_composes_disks_and_vm(mocks: RecordingMocks) -> Any:
    from pulumi_kubevirt.components import VmWithDisks

    component = VmWithDisks(
        "web",
        disks=[{"name": "root", "size": "10Gi"}, {"name": "data", "size": "1Gi", "bus": "scsi"}],
        memory="1Gi",
    )

    def check(attachments: list[dict[str, Any]]) -> None:
        names = [name for _typ, name, _inputs in mocks.created]
        assert {"web", "web-root", "web-data"} <= set(names)
        assert attachments[0]["name"] == "root" and attachments[0]["boot_order"] == 1
        assert attachments[0]["volume"] == {"pool": "default", "volume": "web-root.qcow2", "format": "qcow2"}
        assert attachments[1]["bus"] == "scsi" and "boot_order" not in attachments[1]

    return component.vm.disks.apply(check)  # type: ignore[attr-defined]


@pulumi.runtime.test
def test_default_target_comes_from_stack_config(mocks: RecordingMocks) -> Any:
    from pulumi_kubevirt.provider import Disk, VirtualMachine

    pulumi.runtime.set_config("pulumi-kubevirt:libvirtUri", "qemu+ssh://root@hv1/system")
    try:
        disk = Disk("d", size="1Gi")
        explicit = VirtualMachine("v", target={"kind": "kubevirt", "namespace": "vms"})
    finally:
        pulumi.runtime.set_config("pulumi-kubevirt:libvirtUri", "")

    def check(targets: list[dict[str, Any]]) -> None:
        assert targets[0] == {"kind": "libvirt", "uri": "qemu+ssh://root@hv1/system"}
        assert targets[1] == {"kind": "kubevirt", "namespace": "vms"}

    return pulumi.Output.all(disk.target, explicit.target).apply(check)  # type: ignore[attr-defined]
