"""`check`: field-named errors at preview time, UNKNOWN tolerance, the plan summary."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_kubevirt.provider.kinds import BRIDGE, DISK, VIRTUAL_MACHINE

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN

BASE: dict[str, Any] = {
    "name": "vm1",
    "memory": "256Mi",
    "accelerator": "tcg",
    "disks": [{"name": "root", "volume": {"pool": "default", "volume": "root.qcow2"}}],
    "interfaces": [{"name": "nic0", "network": "lan"}],
}


def failures(inputs: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, str]:
    _checked, found = VIRTUAL_MACHINE.check(olds, inputs, unknown=UNKNOWN)
    return {f.property: f.reason for f in found}


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"memory": "0"}, "memory", "greater than zero"),
        ({"memory": "-1Gi"}, "memory", "greater than zero"),
        ({"memory": "1GB"}, "memory", "not a quantity"),
        ({"memory": "8Mi"}, "memory", "16Mi"),
        ({"name": "a<b&'c\""}, "name", "not a valid name"),
        ({"cpu": {"sockets": 0}}, "cpu.sockets", "greater than or equal to 1"),
        ({"cpu": {"sockets": 4, "max_sockets": 2}}, "cpu.max_sockets", "smaller than sockets"),
        ({"max_memory": "128Mi"}, "max_memory", "smaller than memory"),
        ({"disks": [{"name": "root"}]}, "disks[0]", "exactly one source"),
        ({"disks": [{"name": "iso", "path": "/x.iso", "cdrom": True}]}, "disks[0].bus", "virtio"),
        (
            {
                "interfaces": [
                    {"name": "a", "network": "n", "mac": "52:54:00:00:00:01"},
                    {"name": "b", "network": "n", "mac": "52:54:00:00:00:01"},
                ]
            },
            "interfaces",
            "appears twice",
        ),
        ({"interfaces": [{"name": "a", "network": "n", "mac": "01:00:00:00:00:01"}]}, "interfaces[0].mac", "multicast"),
        ({"interfaces": [{"name": "a", "network": "n", "mac": "zz"}]}, "interfaces[0].mac", "not a MAC"),
        ({"target": {"kind": "libvirt", "uri": "http://x"}}, "target.uri", "libvirt URI"),
        ({"target": {"kind": "libvirt", "uri": "qemu+ssh:///system"}}, "target.uri", "names no host"),
        ({"run_state": "sleeping"}, "run_state", "running"),
        ({"colour": "red"}, "colour", "Extra inputs"),
        ({"timeouts": {"create": "soon"}}, "timeouts.create", "duration"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], path: str, words: str) -> None:
    found = failures({**BASE, **change})
    assert path in found, found
    assert words in found[path]


def test_valid_input_is_normalized_with_a_plan_summary() -> None:
    checked, found = VIRTUAL_MACHINE.check(None, {**BASE, "__provider": "blob"}, unknown=UNKNOWN)
    assert found == []
    assert checked["planned_change"] == "create"
    assert checked["cpu"] == {"sockets": 1, "cores": 1, "threads": 1}
    assert "__provider" not in checked


def test_unknown_values_in_preview_are_not_errors() -> None:
    assert failures({**BASE, "interfaces": [{"name": "nic0", "network": UNKNOWN}]}) == {}
    assert failures({**BASE, "name": UNKNOWN}) == {}
    # ... but a real error elsewhere still is
    assert "memory" in failures({**BASE, "name": UNKNOWN, "memory": "0"})


def test_plan_summary_classifies_update() -> None:
    old, _ = VIRTUAL_MACHINE.check(None, {**BASE, "max_memory": "1Gi"}, unknown=UNKNOWN)
    new, _ = VIRTUAL_MACHINE.check(
        old, {**BASE, "max_memory": "1Gi", "memory": "512Mi", "machine": "q35"}, unknown=UNKNOWN
    )
    assert new["planned_change"] == "restart: machine unset->q35; live: memory 256Mi->512Mi"
    renamed, _ = VIRTUAL_MACHINE.check(old, {**BASE, "max_memory": "1Gi", "name": "vm2"}, unknown=UNKNOWN)
    assert renamed["planned_change"].startswith("replace: name vm1->vm2")


def test_secrets_never_in_summary() -> None:
    old, _ = VIRTUAL_MACHINE.check(None, {**BASE, "cloud_init": {"user_data": "password: hunter2"}}, unknown=UNKNOWN)
    new, _ = VIRTUAL_MACHINE.check(old, {**BASE, "cloud_init": {"user_data": "password: swordfish"}}, unknown=UNKNOWN)
    assert "hunter2" not in new["planned_change"] and "swordfish" not in new["planned_change"]
    assert new["planned_change"] == "restart: cloud_init.user_data (secret changed)"
    assert new["cloud_init"]["user_data"] == "password: swordfish"  # the checked inputs keep the value (a secret)


def test_disk_only_grows() -> None:
    old, _ = DISK.check(None, {"name": "d", "size": "10Gi"}, unknown=UNKNOWN)
    _new, found = DISK.check(old, {"name": "d", "size": "5Gi"}, unknown=UNKNOWN)
    assert [(f.property, "only grow" in f.reason) for f in found] == [("size", True)]
    grown, found = DISK.check(old, {"name": "d", "size": "20Gi"}, unknown=UNKNOWN)
    assert found == [] and grown["planned_change"] == "live: size 10Gi->20Gi"


def test_bridge_needs_what_its_mode_needs() -> None:
    _c, found = BRIDGE.check(None, {"name": "br", "mode": "bridge"}, unknown=UNKNOWN)
    assert found and found[0].property == "bridge" and "existing host bridge" in found[0].reason
    _c, found = BRIDGE.check(None, {"name": "br", "mode": "nat", "ipv4": {"address": "10.0.0.0/24"}}, unknown=UNKNOWN)
    assert found[0].property == "ipv4.address" and "network or broadcast" in found[0].reason
    _c, found = BRIDGE.check(None, {"name": "br", "mode": "nat", "bridge": "a-very-long-bridge-name"}, unknown=UNKNOWN)
    assert found[0].property == "bridge"


def test_unknowns_as_the_dynamic_host_delivers_them() -> None:
    """The host deserializes unknowns with keep_unknowns=True: `pulumi.output.Unknown` objects, whole list items too."""
    from pulumi.output import Unknown

    from pulumi_kubevirt.provider.resources import VirtualMachineProvider

    provider = VirtualMachineProvider()
    news = {**BASE, "disks": [Unknown()], "interfaces": [Unknown(), {"name": "x", "network": Unknown()}]}
    assert provider.check({}, news).failures == []
    diff = provider.diff("id", {**BASE, "uuid": "u"}, news)
    assert diff.changes is True and diff.replaces == []
    renamed = provider.diff("id", {**BASE, "uuid": "u"}, {**BASE, "name": Unknown()})
    assert renamed.replaces == ["name"]
