"""Instancetype, Preference, Snapshot and SnapshotRestore providers on a real kube-apiserver.

What plays what: the apiserver, etcd, KubeVirt v1.8.0's CRDs (instancetype.kubevirt.io,
snapshot.kubevirt.io), virt-api's webhooks and virt-controller are real, so every object is
validated against the real schemas and admission rules and handled by the real controllers.
Instancetypes and preferences have no controller. VMs run by virt-controller and the
node-side doubles. Snapshots and restores go through virt-controller's own snapshot and
restore controllers (the KubeVirt CR enables the Snapshot feature gate): a stopped VM with a
containerDisk is snapshotted and restored for real (nothing to copy); a running VM with a
guest agent must be frozen through virt-handler, which this cluster has not, so its snapshot
fails at its failureDeadline the way KubeVirt reports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s

from pulumi_kubevirt.provider.errors import Conflict, OperationFailed, WaitTimeout
from pulumi_kubevirt.provider.resources import (
    InstancetypeProvider,
    PreferenceProvider,
    SnapshotProvider,
    SnapshotRestoreProvider,
    VirtualMachineProvider,
)
from tests.harness.kube_fixtures import SETTLE_TIMEOUT

from ..libvirt.test_resources import checked, user_inputs

IT_GROUP, IT_VERSION = "instancetype.kubevirt.io", "v1beta1"
SNAP_GROUP, SNAP_VERSION = "snapshot.kubevirt.io", "v1beta1"


def _get(custom: k8s.CustomObjectsApi, group: str, plural: str, name: str, ns: str | None) -> dict[str, Any] | None:
    try:
        if ns is None:
            return dict(custom.get_cluster_custom_object(group, "v1beta1", plural, name))
        return dict(custom.get_namespaced_custom_object(group, "v1beta1", ns, plural, name))
    except k8s.ApiException as err:
        if err.status == 404:
            return None
        raise


# -- instancetypes and preferences ---------------------------------------------------------------------------


def test_instancetype_and_preference_lifecycle_and_a_vm_using_their_refs(
    target: dict[str, Any], custom: k8s.CustomObjectsApi, kube_namespace: str
) -> None:
    ns = kube_namespace
    itp, pp, vmp = InstancetypeProvider(), PreferenceProvider(), VirtualMachineProvider()
    # 2 vCPUs: the "spread" preference below spreads them over sockets and cores 2:1, and KubeVirt's
    # VM webhook refuses a VM whose instancetype's vCPUs are not divisible by that ratio
    it_in = checked(
        itp,
        {},
        {"name": "u1-small", "target": target, "cpu": {"guest": 2}, "memory": {"guest": "512Mi"}, "labels": {"a": "b"}},
    )
    it = itp.create(it_in)
    assert it.id == f"kubevirt:{ns}/u1-small"
    assert it.outs["ref"] == {"name": "u1-small", "kind": "VirtualMachineInstancetype"}
    live = _get(custom, IT_GROUP, "virtualmachineinstancetypes", "u1-small", ns)
    assert live is not None and live["spec"] == {"cpu": {"guest": 2}, "memory": {"guest": "512Mi"}}
    assert live["metadata"]["annotations"]["pulumi-kubevirt.dev/resource"] == it_in["__owner"].split("::")[1]

    pref_name = f"{ns}-linux"  # cluster-scoped: unique per test namespace
    pref_in = checked(
        pp,
        {},
        {
            "name": pref_name,
            "target": target,
            "cluster": True,
            "disk_bus": "virtio",
            "firmware": "efi-secure-boot",
            "cpu_topology": "spread",
        },
    )
    pref = pp.create(pref_in)
    assert pref.outs["ref"] == {"name": pref_name, "kind": "VirtualMachineClusterPreference"}
    cluster_pref = _get(custom, IT_GROUP, "virtualmachineclusterpreferences", pref_name, None)
    assert cluster_pref is not None and cluster_pref["spec"]["features"] == {"preferredSmm": {"enabled": True}}

    # refresh: nothing drifted
    assert itp.diff(it.id, itp.read(it.id, it.outs).outs, it_in).changes is False
    assert pp.diff(pref.id, pp.read(pref.id, pref.outs).outs, pref_in).changes is False

    # a VM takes the ref outputs as they are; the apiserver stores the references
    vm_in = checked(
        vmp,
        {},
        {
            "name": "sized",
            "target": target,
            "disks": [{"name": "root", "container_image": "quay.io/containerdisks/fedora:41"}],
            "kubevirt": {"instancetype": it.outs["ref"], "preference": pref.outs["ref"]},
        },
    )
    vm = vmp.create(vm_in)
    stored = custom.get_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", "sized")
    assert stored["spec"]["instancetype"] == {"name": "u1-small", "kind": "VirtualMachineInstancetype"}
    assert stored["spec"]["preference"] == {"name": pref_name, "kind": "VirtualMachineClusterPreference"}
    assert "cpu" not in stored["spec"]["template"]["spec"]["domain"]  # the instancetype sizes it

    # an update of the instancetype is live for the object (no replacement) ...
    it2_in = checked(itp, it_in, {**user_inputs(it_in), "cpu": {"guest": 4}})
    assert it2_in["planned_change"] == "live: cpu.guest 2->4"
    assert itp.diff(it.id, it.outs, it2_in).replaces == []
    it_outs = dict(itp.update(it.id, it.outs, it2_in).outs)
    live = _get(custom, IT_GROUP, "virtualmachineinstancetypes", "u1-small", ns)
    assert live is not None and live["spec"]["cpu"] == {"guest": 4}
    # ... and drift made by another client is seen field by field, and repaired by the next update
    custom.patch_namespaced_custom_object(
        IT_GROUP, IT_VERSION, ns, "virtualmachineinstancetypes", "u1-small", {"spec": {"memory": {"guest": "1Gi"}}}
    )
    read = itp.read(it.id, it_outs)
    assert read.inputs["memory"]["guest"] == "1Gi"
    assert itp.diff(it.id, read.outs, it2_in).changes is True
    itp.update(it.id, read.outs, it2_in)
    live = _get(custom, IT_GROUP, "virtualmachineinstancetypes", "u1-small", ns)
    assert live is not None and live["spec"]["memory"] == {"guest": "512Mi"}

    vmp.delete(vm.id, vm.outs)
    itp.delete(it.id, it_outs)
    pp.delete(pref.id, pref.outs)
    assert _get(custom, IT_GROUP, "virtualmachineinstancetypes", "u1-small", ns) is None
    assert _get(custom, IT_GROUP, "virtualmachineclusterpreferences", pref_name, None) is None
    assert itp.read(it.id, it_outs).id is None  # gone reads as deleted
    itp.delete(it.id, it_outs)  # idempotent


def test_instancetype_refuses_a_foreign_object_and_leaves_it_byte_for_byte(
    target: dict[str, Any], custom: k8s.CustomObjectsApi, kube_namespace: str
) -> None:
    ns = kube_namespace
    foreign = {
        "apiVersion": f"{IT_GROUP}/{IT_VERSION}",
        "kind": "VirtualMachineInstancetype",
        "metadata": {"name": "theirs"},
        "spec": {"cpu": {"guest": 8}, "memory": {"guest": "16Gi"}},
    }
    before = custom.create_namespaced_custom_object(IT_GROUP, IT_VERSION, ns, "virtualmachineinstancetypes", foreign)
    itp = InstancetypeProvider()
    inputs = checked(itp, {}, {"name": "theirs", "target": target, "cpu": {"guest": 1}, "memory": {"guest": "1Gi"}})
    with pytest.raises(Conflict, match="not created by pulumi-kubevirt"):
        itp.create(inputs)
    # delete of a resource that never made it leaves their object too
    itp.delete("kubevirt:x/theirs", {**inputs, "ref": None})
    after = _get(custom, IT_GROUP, "virtualmachineinstancetypes", "theirs", ns)
    assert after == before


def _settled(
    custom: k8s.CustomObjectsApi, name: str, ns: str, ready: Callable[[Any], bool], timeout: float = SETTLE_TIMEOUT
) -> dict[str, Any] | None:
    """The VirtualMachineSnapshot once `ready(it or None)` holds and it stayed the same for a second."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        current = _get(custom, SNAP_GROUP, "virtualmachinesnapshots", name, ns)
        if ready(current) and current == last:
            return current
        last = current if ready(current) else None
        time.sleep(1.0)
    raise AssertionError(f"VirtualMachineSnapshot {ns}/{name} did not settle within {timeout}s: {last}")


# -- snapshots and restores ------------------------------------------------------------------------------------


def _vm(target: dict[str, Any], name: str, run_state: str = "stopped") -> tuple[VirtualMachineProvider, Any]:
    vmp = VirtualMachineProvider()
    inputs = checked(
        vmp,
        {},
        {
            "name": name,
            "target": target,
            "memory": "256Mi",
            "disks": [{"name": "root", "container_image": "quay.io/containerdisks/fedora:41"}],
            "run_state": run_state,
        },
    )
    return vmp, vmp.create(inputs)


def test_snapshot_waits_until_ready_then_restore_completes(
    target: dict[str, Any],
    custom: k8s.CustomObjectsApi,
    kube_namespace: str,
) -> None:
    ns = kube_namespace
    vmp, vm = _vm(target, "db")
    sp, rp = SnapshotProvider(), SnapshotRestoreProvider()
    snap_in = checked(sp, {}, {"name": "before-upgrade", "vm": "db", "target": target, "description": "pre 2.0"})
    started = time.monotonic()
    snap = sp.create(snap_in)
    assert snap.outs["ready"] is True and snap.outs["phase"] == "Succeeded" and snap.outs["creation_time"]
    assert time.monotonic() - started < 30
    stored = _get(custom, SNAP_GROUP, "virtualmachinesnapshots", "before-upgrade", ns)
    assert stored is not None
    assert stored["spec"]["source"] == {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"}
    assert stored["metadata"]["annotations"]["pulumi-kubevirt.dev/description"] == "pre 2.0"
    assert sp.diff(snap.id, sp.read(snap.id, snap.outs).outs, snap_in).changes is False
    # any change takes a new snapshot: a replacement
    assert sp.diff(snap.id, snap.outs, checked(sp, snap_in, {**user_inputs(snap_in), "description": "x"})).replaces

    restore_in = checked(rp, {}, {"name": "rollback", "vm": "db", "snapshot": "before-upgrade", "target": target})
    restore = rp.create(restore_in)
    assert restore.outs["complete"] is True and restore.outs["restore_time"]
    stored_restore = _get(custom, SNAP_GROUP, "virtualmachinerestores", "rollback", ns)
    assert stored_restore is not None and stored_restore["spec"]["virtualMachineSnapshotName"] == "before-upgrade"
    # restoring another snapshot (or the same one again) is a replacement of the restore
    again = checked(rp, restore_in, {**user_inputs(restore_in), "trigger": "2"})
    assert rp.diff(restore.id, restore.outs, again).replaces == ["trigger"]

    rp.delete(restore.id, restore.outs)
    sp.delete(snap.id, snap.outs)
    assert _get(custom, SNAP_GROUP, "virtualmachinerestores", "rollback", ns) is None
    assert _get(custom, SNAP_GROUP, "virtualmachinesnapshots", "before-upgrade", ns) is None
    # a snapshot without its object is gone; a restore whose record was cleaned up is history, not drift
    assert sp.read(snap.id, snap.outs).id is None
    history = rp.read(restore.id, restore.outs)
    assert history.id == restore.id
    assert {k: history.outs[k] for k in ("complete", "restore_time")} == {
        "complete": True,
        "restore_time": restore.outs["restore_time"],
    }
    vmp.delete(vm.id, vm.outs)


def test_snapshot_failure_and_timeout_end_the_wait_and_remove_what_create_made(
    target: dict[str, Any],
    custom: k8s.CustomObjectsApi,
    kube_namespace: str,
) -> None:
    ns = kube_namespace
    # A running VM whose guest agent is connected is frozen first: virt-controller asks virt-api,
    # which hands it to the node's virt-handler (none here), and retries until failureDeadline.
    vmp, vm = _vm(target, "web", run_state="running")
    sp = SnapshotProvider()
    failing = checked(sp, {}, {"name": "frozen", "vm": "web", "target": target, "failure_deadline": "5s"})
    with pytest.raises(OperationFailed, match="the snapshot failed"):
        sp.create(failing)
    # rolled back: deleted (the snapshot controller's finalizer lets it go a moment later)
    _settled(custom, "frozen", ns, lambda o: o is None)
    slow = checked(sp, {}, {"name": "slow", "vm": "web", "target": target, "timeouts": {"create": "3s"}})
    started = time.monotonic()
    with pytest.raises(WaitTimeout):
        sp.create(slow)
    assert time.monotonic() - started < 20  # bounded by the resource's timeout (plus the roll back)
    _settled(custom, "slow", ns, lambda o: o is None)
    missing = checked(sp, {}, {"name": "s-missing", "vm": "nope", "target": target})
    with pytest.raises(OperationFailed) as caught:
        sp.create(missing)
    assert caught.value.field == "vm"
    vmp.delete(vm.id, vm.outs)


def test_snapshot_refuses_a_foreign_snapshot_of_that_name(
    target: dict[str, Any], custom: k8s.CustomObjectsApi, kube_namespace: str
) -> None:
    ns = kube_namespace
    foreign = {
        "apiVersion": f"{SNAP_GROUP}/{SNAP_VERSION}",
        "kind": "VirtualMachineSnapshot",
        "metadata": {"name": "nightly"},
        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "other"}},
    }
    custom.create_namespaced_custom_object(SNAP_GROUP, SNAP_VERSION, ns, "virtualmachinesnapshots", foreign)
    # virt-controller's snapshot controller takes it first (finalizer, status "Source does not exist"):
    # what the provider must leave as it is, is the object once that controller is done with it.
    before = _settled(custom, "nightly", ns, lambda o: bool(o.get("status")))
    vmp, vm = _vm(target, "app")
    sp = SnapshotProvider()
    inputs = checked(sp, {}, {"name": "nightly", "vm": "app", "target": target})
    with pytest.raises(Conflict):
        sp.create(inputs)
    sp.delete("kubevirt:x/nightly", inputs)
    assert _get(custom, SNAP_GROUP, "virtualmachinesnapshots", "nightly", ns) == before
    vmp.delete(vm.id, vm.outs)


def test_an_interrupted_create_is_finished_by_the_next_one(
    target: dict[str, Any],
    custom: k8s.CustomObjectsApi,
    kube_namespace: str,
) -> None:
    """A create that died after its write left objects marked as this resource's: the rerun adopts and
    finishes them (the instancetype is written again as declared, the snapshot is followed to ready)
    instead of failing on them or making a second object."""
    from pulumi_kubevirt.provider.kubevirt.render import render_instancetype, render_vm_snapshot
    from pulumi_kubevirt.provider.models.instancetype import InstancetypeArgs
    from pulumi_kubevirt.provider.models.snapshot import SnapshotArgs
    from pulumi_kubevirt.provider.ownership import OWNER, Owner

    ns = kube_namespace
    vmp, vm = _vm(target, "svc")
    itp, sp = InstancetypeProvider(), SnapshotProvider()
    it_in = checked(itp, {}, {"name": "half", "target": target, "cpu": {"guest": 2}, "memory": {"guest": "1Gi"}})
    owner = Owner.parse(it_in[OWNER], resource="half")
    # what the interrupted create wrote: our marker, but an older body (cpu 1)
    stale = render_instancetype(
        InstancetypeArgs.model_validate({**_model_fields(it_in, InstancetypeArgs), "cpu": {"guest": 1}}),
        namespace=ns,
        owner=owner,
    )
    written = custom.create_namespaced_custom_object(IT_GROUP, IT_VERSION, ns, "virtualmachineinstancetypes", stale)
    itp.create(it_in)
    live = _get(custom, IT_GROUP, "virtualmachineinstancetypes", "half", ns)
    assert live is not None and live["spec"]["cpu"] == {"guest": 2}
    assert live["metadata"]["uid"] == written["metadata"]["uid"]  # the same object, finished

    snap_in = checked(sp, {}, {"name": "half-snap", "vm": "svc", "target": target})
    snap_owner = Owner.parse(snap_in[OWNER], resource="half-snap")
    snap_args = SnapshotArgs.model_validate(_model_fields(snap_in, SnapshotArgs))
    body = render_vm_snapshot(snap_args, namespace=ns, owner=snap_owner)
    made = custom.create_namespaced_custom_object(SNAP_GROUP, SNAP_VERSION, ns, "virtualmachinesnapshots", body)
    snap = sp.create(snap_in)
    assert snap.outs["ready"] is True
    after = _get(custom, SNAP_GROUP, "virtualmachinesnapshots", "half-snap", ns)
    assert after is not None and after["metadata"]["uid"] == made["metadata"]["uid"]
    sp.delete(snap.id, snap.outs)
    itp.delete("kubevirt:x/half", it_in)
    assert _get(custom, IT_GROUP, "virtualmachineinstancetypes", "half", ns) is None
    vmp.delete(vm.id, vm.outs)


def _model_fields(inputs: dict[str, Any], model: Any) -> dict[str, Any]:
    """Checked inputs without what only the adapter carries (owner marker, plan summary)."""
    return {k: v for k, v in inputs.items() if k in model.model_fields}
