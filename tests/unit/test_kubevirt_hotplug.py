"""KubeVirt disk hot-plug, offline: how an update of `disks` is planned (live only where KubeVirt can
do it on the running VM), the hot-plugged disks read from recorded VirtualMachines, and the wait
judge of addvolume/removevolume on the VM objects virt-controller wrote in a real run
(tests/unit/recorded/hotplug.json: the kube tier's virt-api and virt-controller, KubeVirt v1.8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pulumi_kubevirt.provider.core import PLANNED_CHANGE
from pulumi_kubevirt.provider.errors import OperationFailed
from pulumi_kubevirt.provider.kinds import VIRTUAL_MACHINE
from pulumi_kubevirt.provider.kubevirt.judges import volumes_applied
from pulumi_kubevirt.provider.kubevirt.parse import parse_hotplugged, parse_vm_outputs
from pulumi_kubevirt.provider.models import VirtualMachineArgs
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.resources import VirtualMachineProvider

RECORDED: dict[str, dict[str, Any]] = json.loads((Path(__file__).parent / "recorded" / "hotplug.json").read_text())

KUBE: dict[str, Any] = {"name": "hp", "target": {"kind": "kubevirt", "namespace": "demo"}, "memory": "1Gi"}
ROOT = {"name": "root", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"}
DATA = {"name": "data", "data_volume": "hp-data", "bus": "scsi"}
BASE = {"name": "base", "data_volume": "hp-base", "bus": "scsi"}


def recorded(name: str) -> dict[str, Any]:
    return json.loads(json.dumps(RECORDED[name]))


def doc(*disks: dict[str, Any]) -> dict[str, Any]:
    return dump(VirtualMachineArgs.model_validate({**KUBE, "disks": [ROOT, *disks]}))


def planned(old: dict[str, Any], new: dict[str, Any], **outputs: Any) -> dict[str, str]:
    """Each changed path's class, as diff and update plan it from the state (`old` + `outputs`)."""
    return {c.text: c.kind for c in VIRTUAL_MACHINE.plan({**old, **outputs}, new).changes}


# -- the plan -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "disk",
    [
        DATA,
        {"name": "data", "pvc": "claim"},
        {"name": "data", "pvc": "claim", "bus": "virtio"},
    ],
)
def test_adding_a_hot_pluggable_disk_is_live(disk: dict[str, Any]) -> None:
    assert planned(doc(), doc(disk), hot_plugged_disks=[]) == {"disks[data]": "live"}
    # adding needs nothing recorded: check (old inputs only) says the same
    assert planned(doc(), doc(disk)) == {"disks[data]": "live"}


@pytest.mark.parametrize(
    "disk",
    [
        {**DATA, "cdrom": True},
        {**DATA, "boot_order": 1},
        {**DATA, "bus": "sata"},
        {"name": "data", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"},
        {"name": "data", "empty_disk": "1Gi"},
    ],
    ids=["cdrom", "boot_order", "sata", "container_image", "empty_disk"],
)
def test_adding_a_disk_kubevirt_cannot_hot_plug_is_restart(disk: dict[str, Any]) -> None:
    assert planned(doc(), doc(disk), hot_plugged_disks=[]) == {"disks[data]": "restart"}


def test_removing_a_hot_plugged_disk_is_live() -> None:
    assert planned(doc(BASE, DATA), doc(BASE), hot_plugged_disks=["data"]) == {"disks[data]": "live"}


def test_removing_a_disk_the_vm_booted_with_is_restart() -> None:
    """Same shape as a hot-pluggable one, but in the template since the VM started: removevolume
    refuses it, KubeVirt sets RestartRequired."""
    assert planned(doc(BASE, DATA), doc(DATA), hot_plugged_disks=["data"]) == {"disks[base]": "restart"}
    assert planned(doc(BASE), doc(), hot_plugged_disks=[]) == {"disks[base]": "restart"}


@pytest.mark.parametrize("outputs", [{}, {"hot_plugged_disks": None}], ids=["key missing", "null"])
def test_removing_with_state_that_recorded_no_hot_plugged_disks_is_restart(outputs: dict[str, Any]) -> None:
    """State written before the key was recorded: which disks were hot-plugged is unknown, and a
    removal may need a restart."""
    assert planned(doc(BASE, DATA), doc(BASE), **outputs) == {"disks[data]": "restart"}


def test_the_worst_change_decides_and_the_summary_names_both() -> None:
    plan = VIRTUAL_MACHINE.plan({**doc(BASE, DATA), "hot_plugged_disks": ["data"]}, doc())
    assert plan.kind == "restart"
    assert plan.summary() == "restart: -disks[base]; live: -disks[data]"


def test_check_has_no_outputs_and_plans_a_removal_as_restart() -> None:
    """The engine sends check the old inputs only: its summary (what preview shows as planned_change)
    cannot know a disk was hot-plugged and says the removal may need a restart."""
    old = {**KUBE, "disks": [ROOT, DATA]}
    checked, failures = VIRTUAL_MACHINE.check(old, {**KUBE, "disks": [ROOT]}, unknown=object())
    assert failures == []
    assert checked[PLANNED_CHANGE] == "restart: -disks[data]"


def test_dynamic_diff_and_update_plan_from_the_recorded_outputs() -> None:
    """The dynamic provider's diff gets the state (outputs included): it is what the update acts on."""
    provider = VirtualMachineProvider()
    state = {**doc(BASE, DATA), "hot_plugged_disks": ["data"]}
    new = {**KUBE, "disks": [ROOT, BASE]}
    assert provider.kind.plan(state, dump(provider.kind.parse(new, resource="hp"))).summary() == "live: -disks[data]"
    diff = provider.diff("kubevirt:demo/hp", state, new)
    assert diff.changes is True and diff.replaces == []
    assert "hot_plugged_disks" not in (diff.stables or [])


# -- what the VM records --------------------------------------------------------------------------
def test_parse_hotplugged_on_recorded_vms() -> None:
    assert parse_hotplugged(recorded("vm_created")) == frozenset()
    assert parse_hotplugged(recorded("vm_plugged")) == {"data"}
    assert parse_hotplugged(recorded("vm_unplugged")) == frozenset()
    assert parse_hotplugged(recorded("vm_boot_disk_removed")) == frozenset()
    assert parse_hotplugged(None) == frozenset()


def test_outputs_record_the_hot_plugged_disks() -> None:
    args = VirtualMachineArgs.model_validate({**KUBE, "disks": [ROOT, BASE, DATA]})
    outs = parse_vm_outputs(args, "demo", recorded("vm_plugged"), recorded("vmi_plugged"))
    assert outs["hot_plugged_disks"] == ["data"]
    assert outs["pending_restart"] is False
    created = parse_vm_outputs(args, "demo", recorded("vm_created"), recorded("vmi_plugged"))
    assert created["hot_plugged_disks"] == []
    removed = parse_vm_outputs(args, "demo", recorded("vm_boot_disk_removed"), recorded("vmi_boot_disk_removed"))
    assert removed["hot_plugged_disks"] == [] and removed["pending_restart"] is True
    assert removed["pending_changes"] == ["a non-live-updatable field was changed in the template spec"]


# -- the wait -------------------------------------------------------------------------------------
def test_volumes_applied_waits_for_the_add_request_then_hands_back_the_vm() -> None:
    judge = volumes_applied(frozenset({"data"}), frozenset())
    assert judge(recorded("vm_plug_requested")) is None
    # virt-controller wrote the volume into the template, the request is not drained yet
    assert judge(recorded("vm_plug_written")) is None
    done = judge(recorded("vm_plugged"))
    assert done is not None and parse_hotplugged(done) == {"data"}


def test_volumes_applied_waits_for_the_remove_request() -> None:
    judge = volumes_applied(frozenset(), frozenset({"data"}))
    assert judge(recorded("vm_unplug_requested")) is None
    assert judge(recorded("vm_plugged")) is None
    done = judge(recorded("vm_unplugged"))
    assert done is not None and "data" not in {v["name"] for v in done["spec"]["template"]["spec"]["volumes"]}


def test_volumes_applied_fails_when_the_vm_goes() -> None:
    with pytest.raises(OperationFailed, match="deleted while its volumes were hot-plugged"):
        volumes_applied(frozenset({"data"}), frozenset())(None)
