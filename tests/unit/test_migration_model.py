"""Migration: preview-time feasibility, flags, VMIM rendering."""

from __future__ import annotations

from typing import Any

import libvirt
import pytest

from pulumi_kubevirt.provider.kinds import MIGRATION
from pulumi_kubevirt.provider.kubevirt.render import render_vmim
from pulumi_kubevirt.provider.libvirt import render as libvirt_render
from pulumi_kubevirt.provider.libvirt.render import render_migration_flags, render_migration_params
from pulumi_kubevirt.provider.models import MigrationArgs
from pulumi_kubevirt.provider.ownership import Owner
from tests.support.k8s_schema import validate

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
BASE: dict[str, Any] = {"name": "move", "vm": "web", "destination_uri": "qemu+tcp://b/system"}


def failures(**fields: Any) -> dict[str, str]:
    _inputs, found = MIGRATION.check(None, {**BASE, **fields}, unknown=UNKNOWN)
    return {f.property: f.reason for f in found}


@pytest.mark.parametrize(
    ("vm_spec", "extra", "words"),
    [
        ({"name": "web", "cpu": {"model": "host-passthrough"}}, {}, "host-passthrough"),
        (
            {"name": "web", "disks": [{"name": "root", "volume": {"pool": "default", "volume": "r.qcow2"}}]},
            {},
            "root are host-local",
        ),
        ({"name": "web", "cloud_init": {"user_data": "#cloud-config"}}, {}, "cloud-init seed"),
        (
            {
                "name": "web",
                "target": {"kind": "kubevirt"},
                "disks": [{"name": "root", "template": {"size": "1Gi", "access_modes": ["ReadWriteOnce"]}}],
            },
            {"target": {"kind": "kubevirt"}, "destination_uri": None},
            "not ReadWriteMany",
        ),
    ],
)
def test_infeasible_live_migrations_fail_at_preview(vm_spec: dict[str, Any], extra: dict[str, Any], words: str) -> None:
    found = failures(vm_spec=vm_spec, **extra)
    assert words in found["vm"]
    assert failures(vm_spec=vm_spec, allow_unsafe=True, **extra) == {}


def test_copy_storage_makes_local_disks_feasible() -> None:
    spec = {"name": "web", "disks": [{"name": "root", "volume": {"pool": "default", "volume": "r.qcow2"}}]}
    assert failures(vm_spec=spec, copy_storage="all") == {}


def test_unknown_vm_spec_in_preview_is_not_an_error() -> None:
    assert failures(vm_spec=UNKNOWN) == {}


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"destination_uri": None}, "needs a destination"),
        ({"destination_uri": "qemu:///system"}, "own host"),
        ({"tunnelled": True, "peer_to_peer": False}, "peer_to_peer"),
        ({"target_node_selector": {"a": "b"}}, "KubeVirt"),
        ({"max_downtime_ms": 0}, "greater than or equal to 1"),
    ],
)
def test_inconsistent_options(fields: dict[str, Any], words: str) -> None:
    found = failures(**fields)
    assert any(words in reason for reason in found.values()), found


def test_any_option_change_is_a_new_migration_but_bookkeeping_is_not() -> None:
    old, _ = MIGRATION.check(None, BASE, unknown=UNKNOWN)
    moved, _ = MIGRATION.check(old, {**BASE, "destination_uri": "qemu+tcp://c/system"}, unknown=UNKNOWN)
    assert moved["planned_change"].startswith("replace: destination_uri")
    again, _ = MIGRATION.check(old, {**BASE, "trigger": "2"}, unknown=UNKNOWN)
    assert again["planned_change"] == "replace: trigger unset->2"
    bookkeeping, _ = MIGRATION.check(old, {**BASE, "timeouts": {"create": "1h"}}, unknown=UNKNOWN)
    assert bookkeeping["planned_change"].startswith("none: ")


def test_flags_and_params() -> None:
    args = MigrationArgs.model_validate(
        {**BASE, "migrate_uri": "tcp://10.0.0.2", "bandwidth_mib_s": 100, "auto_converge": True, "copy_storage": "all"}
    )
    flags = render_migration_flags(args)
    for flag in (
        libvirt.VIR_MIGRATE_LIVE,
        libvirt.VIR_MIGRATE_PEER2PEER,
        libvirt.VIR_MIGRATE_PERSIST_DEST,
        libvirt.VIR_MIGRATE_UNDEFINE_SOURCE,
        libvirt.VIR_MIGRATE_AUTO_CONVERGE,
        libvirt.VIR_MIGRATE_NON_SHARED_DISK,
    ):
        assert flags & flag
    assert not flags & libvirt.VIR_MIGRATE_TUNNELLED
    assert render_migration_params(args) == {
        libvirt.VIR_MIGRATE_PARAM_URI: "tcp://10.0.0.2",
        libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 100,
    }


def test_migrate_constants_are_libvirts() -> None:
    """render.py writes the ABI values out (it may not import libvirt): they are the bindings' values."""
    names = [n for n in dir(libvirt_render) if n.startswith("MIGRATE_")]
    assert len(names) == 11
    for name in names:
        assert getattr(libvirt_render, name) == getattr(libvirt, "VIR_" + name), name


def test_vmim_renders_schema_valid() -> None:
    args = MigrationArgs(
        name="m1",
        vm="testvm",
        target={"kind": "kubevirt", "namespace": "demo"},
        target_node_selector={"kubernetes.io/hostname": "node02"},
    )
    manifest = render_vmim(args, namespace="demo", owner=Owner("p/s", "m1"))
    validate(manifest)
    assert manifest["spec"] == {"vmiName": "testvm", "addedNodeSelector": {"kubernetes.io/hostname": "node02"}}
