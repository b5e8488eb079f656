"""The resource classes of the new kinds under Pulumi's mocks: their type tokens, an Instancetype's and
a Preference's `ref` output taken by a VM as it is, Snapshot(vm=<VirtualMachine>) and
SnapshotRestore(snapshot=<Snapshot>) filled from the resource they name."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from tests.support import pulumi_mocks
from tests.support.provider_engine import plain
from tests.support.pulumi_mocks import RecordingMocks

KUBE = {"kind": "kubevirt", "namespace": "demo"}
KINDS = {"small": "VirtualMachineInstancetype", "linux": "VirtualMachineClusterPreference"}


def _ref(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """What the reconcilers return as `ref` for an Instancetype or a Preference."""
    if args.name in KINDS:
        return {"ref": {"name": args.inputs["name"], "kind": KINDS[args.name]}}
    return {}


@pytest.fixture
def mocks() -> RecordingMocks:
    return pulumi_mocks.install(preview=False, extra=_ref)


@pulumi.runtime.test
def test_vm_takes_refs_and_snapshot_and_restore_follow_what_they_name(mocks: RecordingMocks) -> Any:
    from pulumi_kubevirt.provider.resources import (
        Instancetype,
        Preference,
        Snapshot,
        SnapshotRestore,
        VirtualMachine,
    )

    small = Instancetype("small", target=KUBE, cpu={"guest": 2}, memory={"guest": "2Gi"})
    linux = Preference("linux", target=KUBE, cluster=True, disk_bus="virtio")
    vm = VirtualMachine("db", target=KUBE, kubevirt={"instancetype": small.ref, "preference": linux.ref})
    snap = Snapshot("before", vm=vm, description="pre-upgrade")
    back = SnapshotRestore("back", snapshot=snap, target_readiness_policy="StopTarget")

    def check(_: Any) -> None:
        assert mocks.tokens == {
            "small": "pulumi-python:dynamic/kubevirt:Instancetype",
            "linux": "pulumi-python:dynamic/kubevirt:Preference",
            "db": "pulumi-python:dynamic/kubevirt:VirtualMachine",
            "before": "pulumi-python:dynamic/kubevirt:Snapshot",
            "back": "pulumi-python:dynamic/kubevirt:SnapshotRestore",
        }
        inputs = {name: plain(i) for name, i in mocks.inputs.items()}
        assert inputs["db"]["kubevirt"] == {
            "instancetype": {"name": "small", "kind": "VirtualMachineInstancetype"},
            "preference": {"name": "linux", "kind": "VirtualMachineClusterPreference"},
        }
        assert inputs["before"]["vm"] == "db" and inputs["before"]["target"] == KUBE
        assert (inputs["back"]["snapshot"], inputs["back"]["vm"]) == ("before", "db")
        assert inputs["back"]["target"] == KUBE

    return pulumi.Output.all(small.urn, linux.urn, vm.urn, snap.urn, back.urn).apply(check)


@pulumi.runtime.test
def test_snapshot_and_restore_by_name(mocks: RecordingMocks) -> Any:
    from pulumi_kubevirt.provider.resources import Snapshot, SnapshotRestore

    snap = Snapshot("nightly", vm="web", target={"kind": "libvirt", "uri": "qemu:///system"}, disk_only=True)
    back = SnapshotRestore("back", snapshot="nightly", vm="web", run_after="paused")

    def check(_: Any) -> None:
        inputs = {name: plain(i) for name, i in mocks.inputs.items()}
        assert inputs["nightly"]["vm"] == "web" and inputs["nightly"]["disk_only"] is True
        assert inputs["back"]["snapshot"] == "nightly" and inputs["back"]["vm"] == "web"
        assert inputs["back"]["target"]["kind"] == "libvirt"  # the stack's default target

    return pulumi.Output.all(snap.urn, back.urn).apply(check)
