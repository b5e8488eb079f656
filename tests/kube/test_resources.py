"""VirtualMachine, Disk, Bridge and Migration providers on a real kube-apiserver.

The apiserver, etcd, the CRDs, virt-api, virt-controller, kube-controller-manager and
kube-scheduler are real; the kubelet, virt-handler, CDI and nmstate are the test doubles
of tests/harness/doubles. Each test drives the dynamic providers as Pulumi's host does.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kubernetes import client as k8s

from pulumi_kubevirt.provider.errors import OperationFailed, ProviderError, WaitTimeout
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.outputs import VM_OUTPUTS
from pulumi_kubevirt.provider.resources import BridgeProvider, DiskProvider, MigrationProvider, VirtualMachineProvider
from tests.harness.kube_fixtures import (
    MIGRATIONS,
    VIRTUAL_MACHINE_INSTANCES,
    VIRTUAL_MACHINES,
    KubeCluster,
    condition,
    field_path,
    wait_for_object,
)

from ..libvirt.test_resources import checked, user_inputs

DOUBLE = "test-double.pulumi-kubevirt.io"


def get(
    custom: k8s.CustomObjectsApi, plural: str, ns: str, name: str, group: str = "kubevirt.io", version: str = "v1"
) -> dict[str, Any] | None:
    try:
        return dict(custom.get_namespaced_custom_object(group, version, ns, plural, name))
    except k8s.ApiException as err:
        if err.status == 404:
            return None
        raise


def vm_inputs(target: dict[str, Any], name: str = "vm1", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "target": target,
        "memory": "1Gi",
        "max_memory": "4Gi",
        "disks": [{"name": "containerdisk", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"}],
        "interfaces": [{"name": "default", "pod": True}],
        "cloud_init": {"user_data": "#cloud-config\npassword: hunter2\n"},
        **extra,
    }


def test_vm_lifecycle_start_stop_drift_restart_delete(
    target: dict[str, Any], custom: k8s.CustomObjectsApi, kube_cluster: KubeCluster
) -> None:
    ns = target["namespace"]
    vmp = VirtualMachineProvider()
    v1 = checked(vmp, {}, vm_inputs(target))
    created = vmp.create(v1)
    outs = dict(created.outs)
    assert created.id == f"kubevirt:{ns}/vm1"
    assert outs["phase"] == "Running" and outs["printable_status"] == "Running" and outs["node"]
    assert outs["ipv4"]["default"].startswith("10.244.")
    # computed outputs never carry the user data (the inputs in state are a Pulumi secret: tests/e2e/test_secrets.py)
    assert "hunter2" not in repr({k: v for k, v in outs.items() if k in VM_OUTPUTS})
    secret = k8s.CoreV1Api(kube_cluster.api_client()).read_namespaced_secret("vm1-cloudinit", ns)
    assert secret.metadata.labels["app.kubernetes.io/managed-by"] == "pulumi-kubevirt"
    vm = get(custom, "virtualmachines", ns, "vm1")
    assert vm is not None and vm["spec"]["runStrategy"] == "Always"
    assert vm["metadata"]["managedFields"][0]["manager"] == "pulumi-kubevirt"

    # refresh with nothing changed: no drift
    read = vmp.read(created.id, outs)
    assert vmp.diff(created.id, read.outs, v1).changes is False

    # stop and start are in-place runStrategy edits, never replacements
    v2 = checked(vmp, v1, {**user_inputs(v1), "run_state": "stopped"})
    assert vmp.diff(created.id, outs, v2).replaces == []
    outs = dict(vmp.update(created.id, outs, v2).outs)
    assert outs["printable_status"] == "Stopped"
    # virt-controller reports Stopped while the VMI still finalizes; it goes soon after.
    wait_for_object(kube_cluster.api_client(), VIRTUAL_MACHINE_INSTANCES, "vm1", lambda o: o is None, namespace=ns)
    v3 = checked(vmp, v2, {**user_inputs(v2), "run_state": "running"})
    outs = dict(vmp.update(created.id, outs, v3).outs)
    assert outs["printable_status"] == "Running"

    # drift made with another client is detected, field by field, and repaired by the next update
    patch = {"spec": {"template": {"spec": {"domain": {"memory": {"guest": "1536Mi"}}}}}}
    custom.patch_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", "vm1", patch)
    read = vmp.read(created.id, outs)
    assert read.inputs["memory"] == "1536Mi"
    diff = vmp.diff(created.id, read.outs, v3)
    assert diff.changes is True and diff.replaces == []
    outs = dict(vmp.update(created.id, read.outs, v3).outs)
    assert (
        field_path(get(custom, "virtualmachines", ns, "vm1"), "spec", "template", "spec", "domain", "memory", "guest")
        == "1Gi"
    )

    # restart-class change with restart_policy auto: stop/start cycle, nothing pending afterwards
    v4 = checked(vmp, v3, {**user_inputs(v3), "machine": "q35", "restart_policy": {"mode": "auto"}})
    assert v4["planned_change"].startswith("restart: machine")
    outs = dict(vmp.update(created.id, outs, v4).outs)
    assert outs["printable_status"] == "Running" and outs["pending_restart"] is False

    vmp.delete(created.id, outs)
    assert get(custom, "virtualmachines", ns, "vm1") is None
    assert get(custom, "virtualmachineinstances", ns, "vm1") is None
    with pytest.raises(k8s.ApiException):
        k8s.CoreV1Api(kube_cluster.api_client()).read_namespaced_secret("vm1-cloudinit", ns)
    vmp.delete(created.id, outs)  # idempotent
    assert vmp.read(created.id, outs).id is None


def test_restart_required_is_pending_with_policy_never(target: dict[str, Any]) -> None:
    vmp = VirtualMachineProvider()
    v1 = checked(vmp, {}, vm_inputs(target, "vm2"))
    created = vmp.create(v1)
    v2 = checked(vmp, v1, {**user_inputs(v1), "rng": True})
    outs = dict(vmp.update(created.id, created.outs, v2).outs)
    assert outs["pending_restart"] is True and outs["pending_changes"]
    assert outs["printable_status"] == "Running"
    vmp.delete(created.id, outs)


def test_vm_start_failure_ends_the_wait_with_the_reason(target: dict[str, Any], custom: k8s.CustomObjectsApi) -> None:
    vmp = VirtualMachineProvider()
    inputs = checked(
        vmp,
        {},
        vm_inputs(
            target,
            "vm3",
            # The real kube-scheduler finds no node with this label.
            kubevirt={"node_selector": {"kubernetes.io/hostname": "no-such-node"}},
            # KubeVirt retries an unschedulable VM: it fails the start once it persists half the timeout
            timeouts={"create": "30s"},
        ),
    )
    with pytest.raises(OperationFailed, match=r"ErrorUnschedulable for \d+s while KubeVirt retried .*node affinity"):
        vmp.create(inputs)
    # rolled back: deleted (virt-controller removes its finalizer, then the VM is gone)
    wait_for_object(custom.api_client, VIRTUAL_MACHINES, "vm3", lambda o: o is None, namespace=target["namespace"])


def test_datavolume_import_success_failure_and_grow(target: dict[str, Any], custom: k8s.CustomObjectsApi) -> None:
    dp = DiskProvider()
    ns = target["namespace"]
    ok = checked(
        dp,
        {},
        {
            "name": "root",
            "target": target,
            "size": "10Gi",
            "source": {"kind": "url", "url": "http://web.server/disk-image.qcow2"},
        },
    )
    created = dp.create(ok)
    assert created.outs["phase"] == "Succeeded" and created.outs["ref"] == {"data_volume": "root"}
    assert dp.diff(created.id, dp.read(created.id, created.outs).outs, ok).changes is False
    bad = checked(
        dp,
        {},
        {
            "name": "broken",
            "target": target,
            "size": "1Gi",
            "source": {"kind": "url", "url": "http://web.server/missing.qcow2"},
            "annotations": {
                f"{DOUBLE}/fail": "Error",
                f"{DOUBLE}/message": "Unable to connect to http data source: 404",
            },
        },
    )
    with pytest.raises(OperationFailed, match="Unable to connect to http data source: 404"):
        dp.create(bad)
    assert get(custom, "datavolumes", ns, "broken", "cdi.kubevirt.io", "v1beta1") is None
    retained = checked(dp, {}, {"name": "keep", "target": target, "size": "1Gi", "retain_on_delete": True})
    kept = dp.create(retained)
    dp.delete(kept.id, kept.outs)
    assert get(custom, "datavolumes", ns, "keep", "cdi.kubevirt.io", "v1beta1") is not None
    dp.delete(created.id, created.outs)
    assert get(custom, "datavolumes", ns, "root", "cdi.kubevirt.io", "v1beta1") is None


def test_vm_with_datavolume_root_and_two_bridge_nics(target: dict[str, Any], custom: k8s.CustomObjectsApi) -> None:
    bp, vmp = BridgeProvider(), VirtualMachineProvider()
    ns = target["namespace"]
    lan = bp.create(checked(bp, {}, {"name": "br-lan", "target": target, "bridge": "br-lan", "ports": ["eth1"]}))
    web = bp.create(
        checked(
            bp,
            {},
            {
                "name": "br-web",
                "target": target,
                "bridge": "br-web",
                "vlan": 6,
                "ports": ["eth1"],
                "vlan_on_node": True,
            },
        )
    )
    assert lan.outs["active"] is True and web.outs["active"] is True
    nncp = custom.get_cluster_custom_object("nmstate.io", "v1", "nodenetworkconfigurationpolicies", "br-web")
    assert condition(nncp, "Available")["status"] == "True"  # type: ignore[index]
    inputs = checked(
        vmp,
        {},
        vm_inputs(
            target,
            "router",
            disks=[
                {
                    "name": "root",
                    "template": {
                        "size": "2Gi",
                        "access_modes": ["ReadWriteMany"],
                        "source": {"kind": "url", "url": "http://web.server/r.qcow2"},
                    },
                }
            ],
            interfaces=[{"name": "lan", "network": "br-lan"}, {"name": "web", "network": "br-web"}],
        ),
    )
    router = vmp.create(inputs)
    assert set(router.outs["ipv4"]) == {"lan", "web"}
    assert get(custom, "datavolumes", ns, "router-root", "cdi.kubevirt.io", "v1beta1") is not None
    vmp.delete(router.id, router.outs)
    for bridge in (web, lan):
        bp.delete(bridge.id, bridge.outs)
    with pytest.raises(k8s.ApiException):
        custom.get_cluster_custom_object("nmstate.io", "v1", "nodenetworkconfigurationpolicies", "br-web")


def test_nncp_degraded_fails_with_nmstate_message(target: dict[str, Any]) -> None:
    bp = BridgeProvider()
    inputs = checked(
        bp,
        {},
        {
            "name": "br-bad",
            "target": target,
            "bridge": "br-bad",
            "ports": ["nope0"],
            "annotations": {f"{DOUBLE}/fail": "FailedToConfigure", f"{DOUBLE}/message": "interface nope0 not found"},
        },
    )
    with pytest.raises(OperationFailed, match="nmstate could not apply"):
        bp.create(inputs)


def test_migration_succeeds_fails_and_cancels(target: dict[str, Any], custom: k8s.CustomObjectsApi) -> None:
    vmp, mp = VirtualMachineProvider(), MigrationProvider()
    ns = target["namespace"]
    vm_in = checked(vmp, {}, vm_inputs(target, "mover", cloud_init=None, kubevirt={"eviction_strategy": "LiveMigrate"}))
    vm = vmp.create(vm_in)
    source = vm.outs["node"]
    spec = {k: v for k, v in vm.outs.items() if k in vm_in}

    def migration(name: str, **extra: Any) -> dict[str, Any]:
        return checked(mp, {}, {"name": name, "vm": "mover", "target": target, "vm_spec": spec, **extra})

    done = mp.create(migration("m1"))
    assert done.outs["phase"] == "Succeeded"
    assert done.outs["source_host"] == source and done.outs["destination_host"] not in (None, source)
    assert done.outs["elapsed_ms"] is not None and done.outs["elapsed_ms"] >= 0
    # the VM resource follows: same VM, new node, no drift
    read = vmp.read(vm.id, vm.outs)
    assert read.outs["node"] == done.outs["destination_host"]
    after = vmp.diff(vm.id, read.outs, vm_in)
    assert after.changes is False, {k: (read.outs.get(k), v) for k, v in vm_in.items() if read.outs.get(k) != v}

    with pytest.raises(OperationFailed, match=r"the migration failed: .*target pod crashed"):
        mp.create(
            migration(
                "m2", annotations={f"{DOUBLE}/fail": "MigrationFailed", f"{DOUBLE}/message": "target pod crashed"}
            )
        )

    held = migration("m3", annotations={f"{DOUBLE}/hold": "Running"}, timeouts={"create": "4s"})
    with pytest.raises(WaitTimeout):
        mp.create(held)
    # The VMIM is deleted; virt-controller asks virt-handler to abort, then drops its finalizer.
    client = custom.api_client
    wait_for_object(client, MIGRATIONS, "m3", lambda o: o is None, namespace=ns)
    wait_for_object(
        client,
        VIRTUAL_MACHINE_INSTANCES,
        "mover",
        lambda o: field_path(o, "status", "migrationState", "abortStatus") == "Succeeded",
        namespace=ns,
    )
    vmp.delete(vm.id, read.outs)


def test_invalid_input_never_reaches_the_cluster(target: dict[str, Any], custom: k8s.CustomObjectsApi) -> None:
    vmp = VirtualMachineProvider()
    bad = vmp.check({}, vm_inputs(target, "bad", interfaces=[{"name": "lan", "network": "br", "vlan": 6}]))
    assert [f.property for f in bad.failures] == ["interfaces[0].vlan"] and "NAD" in bad.failures[0].reason
    big = vmp.check({}, vm_inputs(target, "big", kernel_boot={"kernel": "/boot/vmlinuz"}))
    assert [f.property for f in big.failures] == ["kernel_boot.container_image"]
    assert "set container_image" in big.failures[0].reason
    items = custom.list_namespaced_custom_object("kubevirt.io", "v1", target["namespace"], "virtualmachines")
    assert items["items"] == []


def test_a_restarted_apiserver_is_retried_and_converges(target: dict[str, Any], kube_cluster: KubeCluster) -> None:
    vmp = VirtualMachineProvider()
    v1 = checked(vmp, {}, vm_inputs(target, "survivor"))
    created = vmp.create(v1)
    results: list[Any] = []

    def read() -> None:
        try:
            results.append(vmp.read(created.id, created.outs))  # retried until it is back
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            results.append(err)

    # The read starts once the apiserver is down: started after a fixed sleep instead, it could finish
    # before a loaded apiserver stopped serving, and prove nothing. The restart runs on the main thread:
    # the harness ties the apiserver's life to the starting thread (PR_SET_PDEATHSIG).
    kube_cluster.stop_apiserver()
    worker = threading.Thread(target=read)
    worker.start()
    time.sleep(2.0)
    assert worker.is_alive(), results  # still retrying: nothing answers
    kube_cluster.start_apiserver()
    worker.join(90)
    (read,) = results
    assert not isinstance(read, BaseException), read
    assert read.id == created.id
    assert vmp.diff(created.id, read.outs, v1).changes is False
    vmp.delete(created.id, read.outs)


def test_pause_needs_virt_handler_a_clear_error_and_rolls_back(
    target: dict[str, Any], custom: k8s.CustomObjectsApi
) -> None:
    """Pause is virt-api's subresource; the real virt-api serves it but hands it to the
    virt-handler of the VMI's node, which this cluster (no node) does not have."""
    vmp = VirtualMachineProvider()
    inputs = checked(vmp, {}, vm_inputs(target, "paused", run_state="paused"))
    with pytest.raises(ProviderError, match=r"paused: .*pause.*No virt-handler on node node0\d found"):
        vmp.create(inputs)
    wait_for_object(custom.api_client, VIRTUAL_MACHINES, "paused", lambda o: o is None, namespace=target["namespace"])


def test_cpu_and_memory_change_is_live_under_live_update(target: dict[str, Any], custom: k8s.CustomObjectsApi) -> None:
    """KubeVirt's LiveUpdate rollout (the KubeVirt CR): sockets up to maxSockets and memory up to maxGuest
    reach the running instance without RestartRequired; the provider plans them live and reports
    nothing pending."""
    ns = target["namespace"]
    vmp = VirtualMachineProvider()
    v1 = checked(vmp, {}, vm_inputs(target, "hot", cpu={"sockets": 1, "max_sockets": 4}))
    created = vmp.create(v1)
    v2 = checked(vmp, v1, {**user_inputs(v1), "memory": "2Gi", "cpu": {"sockets": 2, "max_sockets": 4}})
    assert v2["planned_change"] == "live: cpu.sockets 1->2, memory 1Gi->2Gi"
    outs = dict(vmp.update(created.id, created.outs, v2).outs)
    assert outs["pending_restart"] is False and outs["pending_changes"] == []
    vmi = wait_for_object(
        custom.api_client,
        VIRTUAL_MACHINE_INSTANCES,
        "hot",
        lambda o: (
            field_path(o, "spec", "domain", "memory", "guest") == "2Gi"
            and field_path(o, "spec", "domain", "cpu", "sockets") == 2
        ),
        namespace=ns,
        what="virt-controller's live update of the instance",
    )
    assert vmi is not None
    assert condition(get(custom, "virtualmachines", ns, "hot"), "RestartRequired") is None
    vmp.delete(created.id, outs)


def _volume_names(obj: dict[str, Any] | None, *path: str) -> set[str]:
    return {v["name"] for v in field_path(obj, *path) or []}


def test_disk_hot_plug_is_live_through_addvolume_and_removevolume(
    target: dict[str, Any], custom: k8s.CustomObjectsApi
) -> None:
    """A DataVolume disk added to the running VM goes through virt-api's addvolume: virt-controller
    writes it into the VM (marked hotpluggable) and its instance, and nothing waits for a restart;
    the outputs record it as hot-plugged, so the plan of removing it again (what diff and update
    compute from the state) is live, and it is: removevolume, nothing pending. Removing a disk the
    VM booted with is planned restart, and KubeVirt does report RestartRequired for it."""
    ns = target["namespace"]
    dp = DiskProvider()
    data = dp.create(checked(dp, {}, {"name": "hp-data", "target": target, "size": "1Gi"}))
    base = dp.create(checked(dp, {}, {"name": "hp-base", "target": target, "size": "1Gi"}))
    vmp = VirtualMachineProvider()
    booted = {"name": "base", "data_volume": "hp-base", "bus": "scsi"}
    v1 = checked(vmp, {}, vm_inputs(target, "hp", disks=[*vm_inputs(target)["disks"], booted]))
    created = vmp.create(v1)
    assert created.outs["hot_plugged_disks"] == []
    disks = [*v1["disks"], {"name": "data", "data_volume": "hp-data", "bus": "scsi"}]
    v2 = checked(vmp, v1, {**user_inputs(v1), "disks": disks})
    assert v2["planned_change"] == "live: +disks[data]"
    outs = dict(vmp.update(created.id, created.outs, v2).outs)
    assert outs["pending_restart"] is False
    assert outs["hot_plugged_disks"] == ["data"]
    vm = get(custom, "virtualmachines", ns, "hp")
    volumes = {v["name"]: v for v in field_path(vm, "spec", "template", "spec", "volumes")}
    assert volumes["data"]["dataVolume"] == {"name": "hp-data", "hotpluggable": True}
    assert volumes["base"]["dataVolume"] == {"name": "hp-base"}
    assert condition(vm, "RestartRequired") is None
    wait_for_object(
        custom.api_client,
        VIRTUAL_MACHINE_INSTANCES,
        "hp",
        lambda o: "data" in _volume_names(o, "spec", "volumes"),
        namespace=ns,
        what="the volume hot-plugged into the instance",
    )
    read = vmp.read(created.id, outs)
    assert read.outs["hot_plugged_disks"] == ["data"]
    assert vmp.diff(created.id, read.outs, v2).changes is False

    v3 = checked(vmp, v2, {**user_inputs(v2), "disks": v1["disks"]})
    # check gets old inputs only (no outputs): which disk was hot-plugged it cannot know, so it
    # says a removal may need a restart; diff and update plan from the recorded outputs
    assert v3["planned_change"] == "restart: -disks[data]"
    assert _planned(vmp, read.outs, v3) == "live: -disks[data]"
    outs = dict(vmp.update(created.id, read.outs, v3).outs)
    assert outs["pending_restart"] is False and outs["pending_changes"] == []
    assert outs["planned_change"] == "live: -disks[data]"
    assert outs["hot_plugged_disks"] == []
    vm = get(custom, "virtualmachines", ns, "hp")
    assert "data" not in _volume_names(vm, "spec", "template", "spec", "volumes")
    assert condition(vm, "RestartRequired") is None
    wait_for_object(
        custom.api_client,
        VIRTUAL_MACHINE_INSTANCES,
        "hp",
        lambda o: "data" not in _volume_names(o, "spec", "volumes"),
        namespace=ns,
        what="the volume unplugged from the instance",
    )

    v4 = checked(vmp, v3, {**user_inputs(v3), "disks": [d for d in v3["disks"] if d["name"] != "base"]})
    assert v4["planned_change"] == "restart: -disks[base]"
    assert _planned(vmp, outs, v4) == "restart: -disks[base]"
    outs = dict(vmp.update(created.id, outs, v4).outs)
    assert outs["pending_restart"] is True and outs["pending_changes"]
    assert outs["planned_change"] == "restart: -disks[base]"
    vm = get(custom, "virtualmachines", ns, "hp")
    assert "base" not in _volume_names(vm, "spec", "template", "spec", "volumes")
    restart = condition(vm, "RestartRequired")
    assert restart is not None and restart["status"] == "True"
    # the running instance keeps the disk it booted with until the restart
    vmi = get(custom, "virtualmachineinstances", ns, "hp")
    assert "base" in _volume_names(vmi, "spec", "volumes")
    vmp.delete(created.id, outs)
    dp.delete(data.id, data.outs)
    dp.delete(base.id, base.outs)


def _planned(vmp: VirtualMachineProvider, state: dict[str, Any], news: dict[str, Any]) -> str:
    """The plan diff and update make of `news` against the resource's state (its recorded outputs too)."""
    kind = vmp.kind
    return kind.plan(state, dump(kind.parse(news, resource=str(news["name"])))).summary()
