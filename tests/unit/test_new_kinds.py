"""Instancetype, Preference, Snapshot and SnapshotRestore: check refusals naming the field, manifests valid
against the vendored KubeVirt schemas, parse round-trips, and the change classes of an update."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_kubevirt.provider.core import ResourceKind
from pulumi_kubevirt.provider.kinds import INSTANCETYPE, PREFERENCE, SNAPSHOT, SNAPSHOT_RESTORE, VIRTUAL_MACHINE
from pulumi_kubevirt.provider.kubevirt import parse, render
from pulumi_kubevirt.provider.models import VirtualMachineArgs
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.models.instancetype import InstancetypeArgs, PreferenceArgs
from pulumi_kubevirt.provider.models.snapshot import SnapshotArgs, SnapshotRestoreArgs
from pulumi_kubevirt.provider.ownership import Owner
from pulumi_kubevirt.provider.plan import diff_data
from tests.support.k8s_schema import validate
from tests.unit.test_bad_inputs import INSTANCETYPE_KUBEVIRT, PREFERENCE_KUBEVIRT

KUBE = {"kind": "kubevirt", "namespace": "demo"}
OWNER = Owner("demo-project/dev", "sizes")
MARKER = {"pulumi-kubevirt.dev/stack": "demo-project/dev", "pulumi-kubevirt.dev/resource": "sizes"}


def failures(kind: ResourceKind[Any], inputs: dict[str, Any]) -> dict[str, str]:
    _checked, found = kind.check(None, inputs, unknown=object())
    return {f.property: f.reason for f in found}


def _served(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the apiserver hands back: the manifest plus server-managed metadata (never drift)."""
    meta = manifest["metadata"]
    return {
        **manifest,
        "metadata": {**meta, "uid": "u-1", "resourceVersion": "7", "generation": 1, "managedFields": [{}]},
    }


# -- instancetype ------------------------------------------------------------------------------------

INSTANCETYPES = [
    InstancetypeArgs.model_validate(
        {"name": "u1-small", "target": KUBE, "cpu": {"guest": 1}, "memory": {"guest": "2Gi"}}
    ),
    # every field set (the rich document test_bad_inputs mutates), cluster-scoped
    InstancetypeArgs.model_validate(INSTANCETYPE_KUBEVIRT),
    InstancetypeArgs.model_validate(
        {"name": "o1", "target": KUBE, "cpu": {"guest": 2}, "memory": {"guest": "1024M", "overcommit_percent": 25}}
    ),
]


@pytest.mark.parametrize("args", INSTANCETYPES, ids=lambda a: a.name)
def test_instancetype_renders_schema_valid_and_round_trips(args: InstancetypeArgs) -> None:
    manifest = render.render_instancetype(args, namespace="demo", owner=OWNER)
    validate(manifest)
    assert manifest["kind"] == args.kind
    assert manifest["metadata"]["annotations"].items() >= MARKER.items()
    assert ("namespace" in manifest["metadata"]) is not args.cluster
    assert diff_data(dump(args), parse.parse_instancetype(_served(manifest), args)) == []


def test_instancetype_manifest_fields() -> None:
    manifest = render.render_instancetype(INSTANCETYPES[1], namespace="demo", owner=OWNER)
    assert manifest["apiVersion"] == "instancetype.kubevirt.io/v1beta1"
    assert manifest["kind"] == "VirtualMachineClusterInstancetype"
    assert manifest["spec"]["cpu"] == {
        "guest": 4,
        "model": "host-passthrough",
        "dedicatedCPUPlacement": True,
        "isolateEmulatorThread": True,
        "maxSockets": 8,
    }
    assert manifest["spec"]["memory"] == {"guest": "8Gi", "maxGuest": "32Gi", "hugepages": {"pageSize": "1Gi"}}
    assert manifest["spec"]["annotations"] == {"example.com/tier": "gold"}


def test_instancetype_drift_is_reported_by_field() -> None:
    args = INSTANCETYPES[0]
    live = _served(render.render_instancetype(args, namespace="demo", owner=OWNER))
    live["spec"]["cpu"]["guest"] = 3
    live["spec"]["memory"]["guest"] = "2048Mi"  # the same amount, spelled otherwise: not drift
    changed = [path for path, _old, _new in diff_data(dump(args), parse.parse_instancetype(live, args))]
    assert changed == [("cpu", "guest")]


@pytest.mark.parametrize(
    ("inputs", "field", "words"),
    [
        ({"target": {"kind": "libvirt"}}, "target", "KubeVirt concept"),
        ({"cpu": {"guest": 0}}, "cpu.guest", "greater than or equal to 1"),
        ({"memory": {"guest": "1Gi", "max_guest": "512Mi"}}, "memory.max_guest", "smaller than guest"),
        (
            {"memory": {"guest": "1Gi", "hugepages_page_size": "2Mi", "overcommit_percent": 10}},
            "memory.overcommit_percent",
            "hugepages",
        ),
        ({"memory": {"guest": "1Gi", "hugepages_page_size": "4Ki"}}, "memory.hugepages_page_size", "2Mi"),
        ({"io_threads_policy": "fast"}, "io_threads_policy", "shared"),
    ],
)
def test_instancetype_check_refusals_name_the_field(inputs: dict[str, Any], field: str, words: str) -> None:
    base = {"name": "it", "target": KUBE, "cpu": {"guest": 1}, "memory": {"guest": "1Gi"}}
    found = failures(INSTANCETYPE, {**base, **inputs})
    assert field in found, found
    assert words in found[field]


def test_instancetype_update_classes() -> None:
    old = dump(INSTANCETYPES[0])
    bigger = {**old, "cpu": {**old["cpu"], "guest": 2}, "labels": {"a": "b"}}
    plan = INSTANCETYPE.plan(old, bigger)
    assert plan.kind == "live", plan.summary()
    assert sorted(plan.paths("live")) == ["cpu.guest", "labels.a"]
    for field, value in (("name", "other"), ("cluster", True), ("target", {**KUBE, "namespace": "x"})):
        plan = INSTANCETYPE.plan(old, {**old, field: value})
        assert plan.replaces == [field], (field, plan.summary())
    assert INSTANCETYPE.plan(old, {**old, "timeouts": {"create": "1m"}}).kind == "none"


# -- preference ----------------------------------------------------------------------------------------

PREFERENCES = [
    PreferenceArgs.model_validate({"name": "empty", "target": KUBE}),
    PreferenceArgs.model_validate({**PREFERENCE_KUBEVIRT, "cluster": True}),  # every field set, cluster-scoped
    PreferenceArgs.model_validate({"name": "bios", "target": KUBE, "firmware": "bios", "rng": False}),
    PreferenceArgs.model_validate({"name": "efi", "target": KUBE, "firmware": "efi", "cpu_topology": "cores"}),
]


@pytest.mark.parametrize("args", PREFERENCES, ids=lambda a: a.name)
def test_preference_renders_schema_valid_and_round_trips(args: PreferenceArgs) -> None:
    manifest = render.render_preference(args, namespace="demo", owner=OWNER)
    validate(manifest)
    assert manifest["kind"] == args.kind
    assert diff_data(dump(args), parse.parse_preference(_served(manifest), args)) == []


def test_preference_secure_boot_brings_smm() -> None:
    spec = render.render_preference(PREFERENCES[1], namespace="demo", owner=OWNER)["spec"]
    assert spec["firmware"] == {"preferredUseEfi": True, "preferredUseSecureBoot": True}
    assert spec["features"] == {"preferredSmm": {"enabled": True}}
    assert spec["devices"]["preferredRng"] == {}
    assert spec["requirements"] == {"cpu": {"guest": 2}, "memory": {"guest": "2Gi"}}


def test_preference_on_libvirt_is_refused() -> None:
    found = failures(PREFERENCE, {"name": "p", "target": {"kind": "libvirt"}, "disk_bus": "sata"})
    assert "KubeVirt concept" in found["target"]
    found = failures(PREFERENCE, {"name": "p", "target": KUBE, "firmware": "uefi"})
    assert "firmware" in found


def test_vm_takes_the_ref_output_of_an_instancetype() -> None:
    """The `ref` output of an Instancetype/Preference is what the VM's references take, as it is."""
    it, pref = INSTANCETYPES[1], PREFERENCES[0]
    it_ref = parse.parse_instancetype_outputs(it.name, it.kind)["ref"]
    pref_ref = parse.parse_instancetype_outputs(pref.name, pref.kind)["ref"]
    vm = VirtualMachineArgs.model_validate(
        {"name": "db", "target": KUBE, "kubevirt": {"instancetype": it_ref, "preference": pref_ref}}
    )
    spec = render.render_vm(vm, namespace="demo", owner=OWNER)["spec"]
    validate(render.render_vm(vm, namespace="demo", owner=OWNER))
    assert spec["instancetype"] == {"name": "cx1-large", "kind": "VirtualMachineClusterInstancetype"}
    assert spec["preference"] == {"name": "empty", "kind": "VirtualMachinePreference"}
    assert failures(VIRTUAL_MACHINE, {"name": "db", "target": KUBE, "kubevirt": {"instancetype": it_ref}}) == {}


# -- snapshot and restore ---------------------------------------------------------------------------------


def test_vm_snapshot_manifest_schema_valid() -> None:
    args = SnapshotArgs.model_validate(
        {
            "name": "before-upgrade",
            "vm": "db",
            "target": KUBE,
            "description": "before the 2.0 upgrade",
            "failure_deadline": "3m",
            "labels": {"purpose": "upgrade"},
        }
    )
    manifest = render.render_vm_snapshot(args, namespace="demo", owner=OWNER)
    validate(manifest)
    assert manifest["apiVersion"] == "snapshot.kubevirt.io/v1beta1"
    assert manifest["spec"] == {
        "source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"},
        "failureDeadline": "3m",
    }
    assert manifest["metadata"]["annotations"].items() >= MARKER.items()
    assert parse.parse_snapshot_description(manifest) == "before the 2.0 upgrade"


def test_vm_restore_manifest_schema_valid() -> None:
    args = SnapshotRestoreArgs.model_validate(
        {
            "name": "rollback",
            "vm": "db",
            "snapshot": "before-upgrade",
            "target": KUBE,
            "trigger": "1",
            "target_readiness_policy": "StopTarget",
        }
    )
    manifest = render.render_vm_restore(args, namespace="demo", owner=OWNER)
    validate(manifest)
    assert manifest["spec"] == {
        "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"},
        "virtualMachineSnapshotName": "before-upgrade",
        "targetReadinessPolicy": "StopTarget",
    }


def test_snapshot_outputs_from_status() -> None:
    assert parse.parse_vm_snapshot_outputs({"status": {"readyToUse": True, "phase": "Succeeded"}})["ready"] is True
    assert parse.parse_vm_snapshot_outputs({"status": {"phase": "InProgress"}})["ready"] is False
    done = parse.parse_vm_restore_outputs({"status": {"complete": True, "restoreTime": "2026-01-01T00:00:00Z"}})
    assert done["complete"] is True and done["restore_time"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("kind", "inputs", "field", "words"),
    [
        (SNAPSHOT, {"vm": "v", "target": KUBE, "disk_only": False}, "disk_only", "disks only"),
        (SNAPSHOT, {"vm": "v", "failure_deadline": "1m"}, "failure_deadline", "KubeVirt targets"),
        (SNAPSHOT, {"vm": "v", "labels": {"a": "b"}}, "labels", "KubeVirt targets"),
        (SNAPSHOT, {"vm": "not a name"}, "vm", ""),
        (SNAPSHOT, {"vm": "v", "target": KUBE, "failure_deadline": "soon"}, "failure_deadline", "duration"),
        (
            SNAPSHOT_RESTORE,
            {"vm": "v", "snapshot": "s", "target_readiness_policy": "StopTarget"},
            "target_readiness_policy",
            "KubeVirt targets",
        ),
        (
            SNAPSHOT_RESTORE,
            {"vm": "v", "snapshot": "s", "target": KUBE, "run_after": "paused"},
            "run_after",
            "run strategy",
        ),
        (SNAPSHOT_RESTORE, {"vm": "v"}, "snapshot", "required"),
    ],
)
def test_snapshot_check_refusals_name_the_field(
    kind: ResourceKind[Any], inputs: dict[str, Any], field: str, words: str
) -> None:
    found = failures(kind, {"name": "s1", **inputs})
    assert field in found, found
    assert words.lower() in found[field].lower()


def test_snapshot_and_restore_changes_replace() -> None:
    old = dump(SnapshotArgs.model_validate({"name": "s1", "vm": "v"}))
    for field, value in (("vm", "w"), ("disk_only", True), ("description", "x")):
        assert SNAPSHOT.plan(old, {**old, field: value}).replaces == [field]
    assert SNAPSHOT.plan(old, {**old, "timeouts": {"create": "1m"}}).kind == "none"
    restore = dump(SnapshotRestoreArgs.model_validate({"name": "r1", "vm": "v", "snapshot": "s1"}))
    for field, value in (("snapshot", "s2"), ("trigger", "again")):
        assert SNAPSHOT_RESTORE.plan(restore, {**restore, field: value}).replaces == [field]


# -- judges (pure, on recorded objects) --------------------------------------------------------------------


def test_snapshot_and_restore_judges() -> None:
    from pulumi_kubevirt.provider.errors import OperationFailed
    from pulumi_kubevirt.provider.kubevirt.judges import restore_complete, snapshot_ready

    assert snapshot_ready({"status": {"phase": "InProgress", "readyToUse": False}}) is None
    ready = {"status": {"phase": "Succeeded", "readyToUse": True}}
    assert snapshot_ready(ready) == ready
    with pytest.raises(OperationFailed, match="no volume snapshot class"):
        snapshot_ready({"status": {"phase": "Failed", "error": {"message": "no volume snapshot class"}}})
    with pytest.raises(OperationFailed, match="deleted"):
        snapshot_ready(None)
    assert restore_complete({"status": {"complete": False}}) is None
    assert restore_complete({"status": {"complete": True}}) == {"status": {"complete": True}}
    failed = {"status": {"conditions": [{"type": "Failure", "status": "True", "reason": "VM running"}]}}
    with pytest.raises(OperationFailed, match="VM running"):
        restore_complete(failed)


# -- libvirt snapshot XML --------------------------------------------------------------------------------


def test_libvirt_snapshot_xml_schema_valid_carries_the_owner_and_reads_back() -> None:
    import libvirt

    from pulumi_kubevirt.provider.libvirt import parse as lv_parse
    from pulumi_kubevirt.provider.libvirt import render as lv_render
    from tests.unit.conftest import validate_xml

    full = SnapshotArgs.model_validate({"name": "s1", "vm": "v", "description": "before <upgrade> & 'co'"})
    xml = lv_render.render_snapshot(full, owner=str(OWNER))
    validate_xml(xml, "domainsnapshot")
    owner, description, _state, _created = lv_parse.parse_snapshot(xml)
    assert owner == str(OWNER) and description == "before <upgrade> & 'co'"
    assert lv_render.snapshot_flags(full) == libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
    disk_only = SnapshotArgs.model_validate({"name": "s2", "vm": "v", "disk_only": True})
    xml = lv_render.render_snapshot(disk_only, owner=str(OWNER))
    validate_xml(xml, "domainsnapshot")
    assert lv_parse.parse_snapshot(xml)[:2] == (str(OWNER), None)
    assert lv_render.snapshot_flags(disk_only) == (
        libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
    )
    # a snapshot someone else took: no marker
    assert lv_parse.parse_snapshot("<domainsnapshot><name>x</name><description>mine</description></domainsnapshot>")[
        :2
    ] == (None, "mine")
    for run_after, flag in (
        ("snapshot", 0),
        ("running", libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING),
        ("paused", libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED),
    ):
        restore = SnapshotRestoreArgs.model_validate({"name": "r", "vm": "v", "snapshot": "s", "run_after": run_after})
        assert lv_render.revert_flags(restore) == flag


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True),
    st.none() | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40),
    st.booleans(),
)
def test_any_libvirt_snapshot_xml_is_schema_valid_and_reads_back(
    name: str, description: str | None, disk_only: bool
) -> None:
    """Names and free text (XML specials, non-ASCII) never break the snapshot XML or its owner marker."""
    from pulumi_kubevirt.provider.libvirt import parse as lv_parse
    from pulumi_kubevirt.provider.libvirt import render as lv_render
    from tests.unit.conftest import validate_xml

    args = SnapshotArgs.model_validate(
        {"name": name, "vm": "v", "disk_only": disk_only, **({"description": description} if description else {})}
    )
    xml = (
        lv_render.render_disk_only_snapshot(args, owner=str(OWNER), overlays={"vda": f"/var/lib/x/{name}.qcow2.{name}"})
        if disk_only
        else lv_render.render_snapshot(args, owner=str(OWNER))
    )
    validate_xml(xml, "domainsnapshot")
    owner, parsed_description, _state, _created = lv_parse.parse_snapshot(xml)
    assert owner == str(OWNER)
    assert parsed_description == args.description


def test_a_libvirt_snapshot_call_is_bounded_by_the_deadline_and_aborted() -> None:
    """The blocking snapshot/revert call waits no longer than the resource's timeout: past it the domain's
    job is aborted and WaitTimeout says what ran out; a call that returns in time hands its result back."""
    import threading

    from pulumi_kubevirt.provider.errors import WaitTimeout
    from pulumi_kubevirt.provider.libvirt.snapshots import _bounded
    from pulumi_kubevirt.provider.waiting import Deadline

    class Dom:
        def __init__(self) -> None:
            self.aborted = threading.Event()

        def abortJob(self) -> int:
            self.aborted.set()
            return 0

    dom = Dom()
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="taking the snapshot did not finish"):
        _bounded(dom, lambda: dom.aborted.wait(10), deadline=Deadline(0.5), resource="s", doing="taking the snapshot")
    assert dom.aborted.is_set() and time.monotonic() - started < 5
    assert _bounded(Dom(), lambda: "snap", deadline=Deadline(5), resource="s", doing="x") == "snap"
