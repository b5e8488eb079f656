"""Smoke tests of the kube tier's test bed itself.

(a) The real kube-apiserver enforces the vendored CRD schemas: it rejects what
    they forbid (type errors, CEL rules) and accepts the official examples.
(b) The KubeVirt/CDI/nmstate test double drives VMs, VMIs, DataVolumes, NNCPs
    and migrations through the phases the real controllers do.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.harness import crds as crd_data
from tests.harness import kubevirt_test_double as td
from tests.harness.kube_fixtures import (
    DATA_VOLUMES,
    MIGRATIONS,
    NADS,
    NNCES,
    NNCPS,
    VIRTUAL_MACHINE_INSTANCES,
    VIRTUAL_MACHINES,
    KubeCluster,
    Resource,
    condition,
    field_path,
    wait_for_object,
)
from tests.harness.kubevirt_test_double import KubevirtTestDouble

EXAMPLES = Path(__file__).resolve().parents[2] / "third_party" / "api-reference" / "examples"

Obj = dict[str, Any]


def load_example(relative: str) -> Obj:
    """The first document of an official example manifest."""
    for doc in yaml.safe_load_all((EXAMPLES / relative).read_text()):
        if doc:
            assert isinstance(doc, dict)
            return doc
    raise AssertionError(f"{relative}: empty")


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@pytest.fixture
def api(kube_cluster: KubeCluster) -> Iterator[Any]:
    """A CustomObjectsApi on the test apiserver."""
    api_client = kube_cluster.api_client()
    try:
        yield k8s.CustomObjectsApi(api_client)
    finally:
        api_client.close()


def create(api: Any, resource: Resource, body: Obj, namespace: str | None = None) -> Obj:
    if resource.namespaced:
        out = api.create_namespaced_custom_object(resource.group, resource.version, namespace, resource.plural, body)
    else:
        out = api.create_cluster_custom_object(resource.group, resource.version, resource.plural, body)
    assert isinstance(out, dict)
    return out


def vm_body(name: str, run_strategy: str = "Always", annotations: dict[str, str] | None = None) -> Obj:
    vm = load_example("kubevirt/vm-cirros.yaml")
    vm["metadata"] = {"name": name, "annotations": dict(annotations or {})}
    vm["spec"]["runStrategy"] = run_strategy
    template = vm["spec"]["template"]
    template["metadata"]["labels"] = {"kubevirt.io/vm": name}
    template["spec"]["domain"]["devices"]["interfaces"] = [{"name": "default", "masquerade": {}}]
    template["spec"]["networks"] = [{"name": "default", "pod": {}}]
    return vm


def dv_body(name: str, annotations: dict[str, str] | None = None) -> Obj:
    dv = load_example("cdi/import-kubevirt-datavolume.yaml")
    dv["metadata"] = {"name": name, "annotations": dict(annotations or {})}
    return dv


# -- (a) the real apiserver enforces the real schemas ------------------------------


def test_all_crds_installed_as_assembled(api: Any) -> None:
    served = {
        c["metadata"]["name"]: c
        for c in api.list_cluster_custom_object("apiextensions.k8s.io", "v1", "customresourcedefinitions")["items"]
    }
    wanted = [c["metadata"]["name"] for c in crd_data.all_crds()]
    assert len(wanted) == 36 and set(wanted) <= set(served)
    assert len(crd_data.kubevirt_crds()) == 20

    def subresources(name: str, version: str) -> Obj:
        spec = served[name]["spec"]
        return next(v for v in spec["versions"] if v["name"] == version).get("subresources") or {}

    assert subresources("virtualmachineinstances.kubevirt.io", "v1") == {}
    assert subresources("virtualmachines.kubevirt.io", "v1") == {"status": {}}
    assert subresources("virtualmachinepools.pool.kubevirt.io", "v1beta1")["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.labelSelector",
    }
    vm_versions = {v["name"]: v for v in served["virtualmachines.kubevirt.io"]["spec"]["versions"]}
    assert vm_versions["v1"]["storage"] and vm_versions["v1alpha3"].get("deprecated")
    assert served["virtualmachineclusterpreferences.instancetype.kubevirt.io"]["spec"]["scope"] == "Cluster"
    assert served["kubevirts.kubevirt.io"]["metadata"]["labels"] == {"operator.kubevirt.io": ""}


def test_apiserver_rejects_vm_violating_schema(api: Any, kube_namespace: str) -> None:
    vm = vm_body("bad-vm")
    vm["spec"]["runStrategy"] = 123
    with pytest.raises(ApiException) as caught:
        create(api, VIRTUAL_MACHINES, vm, kube_namespace)
    assert caught.value.status == 422
    assert "spec.runStrategy" in caught.value.body
    assert "must be of type string" in caught.value.body


def test_apiserver_rejects_bad_nested_type(api: Any, kube_namespace: str) -> None:
    vm = vm_body("bad-disk")
    vm["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["bootOrder"] = "first"
    with pytest.raises(ApiException) as caught:
        create(api, VIRTUAL_MACHINES, vm, kube_namespace)
    assert caught.value.status == 422
    assert "bootOrder" in caught.value.body


def test_apiserver_enforces_cel_rule_of_nncp(api: Any) -> None:
    nncp = load_example("nmstate/linux-bridge.yaml")
    nncp["metadata"] = {"name": unique("bad-nncp")}
    nncp["spec"]["nodeSelector"] = {"not a qualified/name/at all": "x"}
    with pytest.raises(ApiException) as caught:
        create(api, NNCPS, nncp)
    assert caught.value.status == 422
    assert "nodeSelector keys must be valid qualified names" in caught.value.body


@pytest.mark.parametrize(
    ("example", "resource"),
    [
        ("kubevirt/vm-cirros.yaml", VIRTUAL_MACHINES),
        ("kubevirt/vmi-multus-ptp.yaml", VIRTUAL_MACHINE_INSTANCES),
        ("cdi/import-kubevirt-datavolume.yaml", DATA_VOLUMES),
        ("cdi/registry-image-datavolume.yaml", DATA_VOLUMES),
        ("network-attachment-definition/my-network.yaml", NADS),
        ("nmstate/linux-bridge.yaml", NNCPS),
        ("nmstate/linux-bridge-vlan.yaml", NNCPS),
    ],
)
def test_apiserver_accepts_official_example(api: Any, kube_namespace: str, example: str, resource: Resource) -> None:
    body = load_example(example)
    name = unique(body["metadata"]["name"]) if not resource.namespaced else body["metadata"]["name"]
    body["metadata"] = {"name": name}
    created = create(api, resource, copy.deepcopy(body), kube_namespace)
    assert created["metadata"]["uid"] and created["kind"] == body["kind"]
    if not resource.namespaced:
        api.delete_cluster_custom_object(resource.group, resource.version, resource.plural, name)


def test_vmi_status_is_part_of_main_resource_but_vm_status_is_not(api: Any, kube_namespace: str) -> None:
    vm = vm_body("status-check", run_strategy="Halted")
    vm["status"] = {"printableStatus": "Bogus"}
    created = create(api, VIRTUAL_MACHINES, vm, kube_namespace)
    assert "status" not in created or created["status"].get("printableStatus") != "Bogus"
    vmi = load_example("kubevirt/vmi-ephemeral.yaml")
    vmi["metadata"] = {"name": unique("vmi"), "annotations": {td.FAIL: "ErrorUnschedulable"}}
    vmi["status"] = {"phase": "Pending"}
    created_vmi = create(api, VIRTUAL_MACHINE_INSTANCES, vmi, kube_namespace)
    assert created_vmi["status"]["phase"] == "Pending"  # no status subresource on the VMI CRD


# -- (b) the test double --------------------------------------------------------------


def test_vm_always_runs_then_halted_stops(
    api: Any, kube_cluster: KubeCluster, kube_namespace: str, kubevirt_double: KubevirtTestDouble
) -> None:
    client = kube_cluster.api_client()
    create(api, VIRTUAL_MACHINES, vm_body("web", annotations={td.NODE: "node02"}), kube_namespace)

    vmi = wait_for_object(
        client,
        VIRTUAL_MACHINE_INSTANCES,
        "web",
        lambda o: field_path(o, "status", "phase") == "Running",
        namespace=kube_namespace,
        what="VMI Running",
    )
    assert vmi is not None
    assert vmi["status"]["nodeName"] == "node02"
    assert vmi["metadata"]["ownerReferences"][0]["kind"] == "VirtualMachine"
    iface = vmi["status"]["interfaces"][0]
    assert iface["name"] == "default" and iface["ipAddress"].startswith("10.244.") and iface["mac"]
    assert (condition(vmi, "Ready") or {}).get("status") == "True"
    assert [p["phase"] for p in vmi["status"]["phaseTransitionTimestamps"]] == [
        "Pending",
        "Scheduling",
        "Scheduled",
        "Running",
    ]

    vm = wait_for_object(
        client,
        VIRTUAL_MACHINES,
        "web",
        lambda o: field_path(o, "status", "printableStatus") == "Running",
        namespace=kube_namespace,
        what="VM Running",
    )
    assert vm is not None
    assert vm["status"]["ready"] is True and vm["status"]["created"] is True
    assert (condition(vm, "Ready") or {}).get("status") == "True"
    assert vm["status"]["observedGeneration"] == vm["status"]["desiredGeneration"] == vm["metadata"]["generation"]

    api.patch_namespaced_custom_object(
        VIRTUAL_MACHINES.group,
        VIRTUAL_MACHINES.version,
        kube_namespace,
        VIRTUAL_MACHINES.plural,
        "web",
        {"spec": {"runStrategy": "Halted"}},
    )
    wait_for_object(
        client, VIRTUAL_MACHINE_INSTANCES, "web", lambda o: o is None, namespace=kube_namespace, what="VMI deleted"
    )
    vm = wait_for_object(
        client,
        VIRTUAL_MACHINES,
        "web",
        lambda o: field_path(o, "status", "printableStatus") == "Stopped",
        namespace=kube_namespace,
        what="VM Stopped",
    )
    assert vm is not None
    assert "ready" not in vm["status"] and "created" not in vm["status"]
    ready = condition(vm, "Ready") or {}
    assert (ready.get("status"), ready.get("reason")) == ("False", "VMINotExists")
    client.close()


def test_vm_template_change_requires_restart(
    api: Any, kube_cluster: KubeCluster, kube_namespace: str, kubevirt_double: KubevirtTestDouble
) -> None:
    client = kube_cluster.api_client()
    create(api, VIRTUAL_MACHINES, vm_body("gen"), kube_namespace)
    wait_for_object(
        client, VIRTUAL_MACHINES, "gen", lambda o: field_path(o, "status", "ready") is True, namespace=kube_namespace
    )
    api.patch_namespaced_custom_object(
        VIRTUAL_MACHINES.group,
        VIRTUAL_MACHINES.version,
        kube_namespace,
        VIRTUAL_MACHINES.plural,
        "gen",
        {"spec": {"template": {"spec": {"domain": {"memory": {"guest": "256Mi"}}}}}},
    )
    vm = wait_for_object(
        client,
        VIRTUAL_MACHINES,
        "gen",
        lambda o: condition(o, "RestartRequired") is not None,
        namespace=kube_namespace,
        what="RestartRequired",
    )
    assert vm is not None
    assert vm["status"]["desiredGeneration"] == vm["metadata"]["generation"]
    assert vm["status"]["observedGeneration"] < vm["status"]["desiredGeneration"]
    client.close()


def test_data_volume_import_succeeds(
    api: Any, kube_cluster: KubeCluster, kube_namespace: str, kubevirt_double: KubevirtTestDouble
) -> None:
    client = kube_cluster.api_client()
    create(api, DATA_VOLUMES, dv_body("disk"), kube_namespace)
    dv = wait_for_object(
        client,
        DATA_VOLUMES,
        "disk",
        lambda o: field_path(o, "status", "phase") == "Succeeded",
        namespace=kube_namespace,
        what="DataVolume Succeeded",
    )
    assert dv is not None
    assert dv["status"]["progress"] == "100.0%"
    assert dv["status"]["claimName"] == "disk"
    assert (condition(dv, "Ready") or {}).get("status") == "True"
    assert (condition(dv, "Bound") or {}).get("status") == "True"
    client.close()


def test_data_volume_failure_is_annotated(
    api: Any, kube_cluster: KubeCluster, kube_namespace: str, kubevirt_double: KubevirtTestDouble
) -> None:
    client = kube_cluster.api_client()
    message = "Unable to connect to http data source: expected status code 200, got 404"
    create(api, DATA_VOLUMES, dv_body("broken", {td.FAIL: "ImportFailed", td.MESSAGE: message}), kube_namespace)
    dv = wait_for_object(
        client,
        DATA_VOLUMES,
        "broken",
        lambda o: field_path(o, "status", "phase") == "Failed",
        namespace=kube_namespace,
        what="DataVolume Failed",
    )
    assert dv is not None
    running = condition(dv, "Running") or {}
    assert (running.get("status"), running.get("reason"), running.get("message")) == ("False", "ImportFailed", message)
    assert dv["status"]["restartCount"] == 3
    client.close()


def test_nncp_becomes_available(api: Any, kube_cluster: KubeCluster, kubevirt_double: KubevirtTestDouble) -> None:
    client = kube_cluster.api_client()
    name = unique("br1")
    nncp = load_example("nmstate/linux-bridge.yaml")
    nncp["metadata"] = {"name": name}
    nncp["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "node01"}
    create(api, NNCPS, nncp)
    done = wait_for_object(
        client, NNCPS, name, lambda o: (condition(o, "Available") or {}).get("status") == "True", what="NNCP Available"
    )
    assert done is not None
    available = condition(done, "Available") or {}
    assert available["reason"] == "SuccessfullyConfigured"
    assert available["message"] == "1/1 nodes successfully configured"
    nnce = wait_for_object(client, NNCES, f"node01.{name}", lambda o: o is not None)
    assert field_path(nnce, "status", "policyGeneration") == 1

    failing = unique("bad-br")
    nncp["metadata"] = {"name": failing, "annotations": {td.FAIL: "FailedToConfigure", td.MESSAGE: "no such port eth9"}}
    create(api, NNCPS, nncp)
    degraded = wait_for_object(
        client, NNCPS, failing, lambda o: (condition(o, "Degraded") or {}).get("status") == "True", what="NNCP Degraded"
    )
    assert (condition(degraded, "Degraded") or {})["reason"] == "FailedToConfigure"
    enactment = wait_for_object(
        client, NNCES, f"node01.{failing}", lambda o: (condition(o, "Failing") or {}).get("status") == "True"
    )
    assert "no such port eth9" in (condition(enactment, "Failing") or {})["message"]
    for policy in (name, failing):
        api.delete_cluster_custom_object(NNCPS.group, NNCPS.version, NNCPS.plural, policy)
    client.close()


def test_migration_moves_vmi_and_delete_aborts(
    api: Any, kube_cluster: KubeCluster, kube_namespace: str, kubevirt_double: KubevirtTestDouble
) -> None:
    client = kube_cluster.api_client()
    create(api, VIRTUAL_MACHINES, vm_body("mig"), kube_namespace)
    wait_for_object(
        client,
        VIRTUAL_MACHINE_INSTANCES,
        "mig",
        lambda o: field_path(o, "status", "phase") == "Running",
        namespace=kube_namespace,
    )
    create(
        api,
        MIGRATIONS,
        {
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachineInstanceMigration",
            "metadata": {"name": "mig-1"},
            "spec": {"vmiName": "mig"},
        },
        kube_namespace,
    )
    vmim = wait_for_object(
        client,
        MIGRATIONS,
        "mig-1",
        lambda o: field_path(o, "status", "phase") == "Succeeded",
        namespace=kube_namespace,
        what="migration Succeeded",
    )
    assert [p["phase"] for p in field_path(vmim, "status", "phaseTransitionTimestamps")] == [
        "Pending",
        "Scheduling",
        "Scheduled",
        "PreparingTarget",
        "TargetReady",
        "Running",
        "Succeeded",
    ]
    vmi = wait_for_object(
        client,
        VIRTUAL_MACHINE_INSTANCES,
        "mig",
        lambda o: field_path(o, "status", "migrationState", "completed") is True,
        namespace=kube_namespace,
    )
    state = field_path(vmi, "status", "migrationState")
    assert (state["sourceNode"], state["targetNode"]) == ("node01", "node02")
    assert field_path(vmi, "status", "nodeName") == "node02"
    assert state["startTimestamp"] and state["endTimestamp"] and not state.get("failed")

    # A migration held in Running, deleted: cancelled, the VMI stays put.
    create(
        api,
        MIGRATIONS,
        {
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachineInstanceMigration",
            "metadata": {"name": "mig-2", "annotations": {td.HOLD: "Running"}},
            "spec": {"vmiName": "mig"},
        },
        kube_namespace,
    )
    wait_for_object(
        client,
        MIGRATIONS,
        "mig-2",
        lambda o: field_path(o, "status", "phase") == "Running",
        namespace=kube_namespace,
        what="migration Running",
    )
    wait_for_object(
        client,
        VIRTUAL_MACHINES,
        "mig",
        lambda o: field_path(o, "status", "printableStatus") == "Migrating",
        namespace=kube_namespace,
    )
    api.delete_namespaced_custom_object(
        MIGRATIONS.group, MIGRATIONS.version, kube_namespace, MIGRATIONS.plural, "mig-2"
    )
    vmi = wait_for_object(
        client,
        VIRTUAL_MACHINE_INSTANCES,
        "mig",
        lambda o: field_path(o, "status", "migrationState", "abortStatus") == "Succeeded",
        namespace=kube_namespace,
        what="migration aborted",
    )
    assert field_path(vmi, "status", "nodeName") == "node02"
    assert field_path(vmi, "status", "migrationState", "failed") is True
    client.close()


def test_double_converges_after_apiserver_restart(
    api: Any, kube_cluster: KubeCluster, kube_namespace: str, kubevirt_double: KubevirtTestDouble
) -> None:
    client = kube_cluster.api_client()
    create(api, VIRTUAL_MACHINES, vm_body("held", annotations={td.HOLD: "Scheduling"}), kube_namespace)
    wait_for_object(
        client,
        VIRTUAL_MACHINE_INSTANCES,
        "held",
        lambda o: field_path(o, "status", "phase") == "Scheduling",
        namespace=kube_namespace,
    )
    assert kube_cluster.restart_apiserver() < 15
    assert kube_cluster.restart_apiserver(crash=True) < 15
    # The held VMI goes on once released; a VM created after the restarts runs too.
    vmi = api.get_namespaced_custom_object(
        VIRTUAL_MACHINE_INSTANCES.group,
        VIRTUAL_MACHINE_INSTANCES.version,
        kube_namespace,
        VIRTUAL_MACHINE_INSTANCES.plural,
        "held",
    )
    vmi["metadata"]["annotations"].pop(td.HOLD)
    api.replace_namespaced_custom_object(
        VIRTUAL_MACHINE_INSTANCES.group,
        VIRTUAL_MACHINE_INSTANCES.version,
        kube_namespace,
        VIRTUAL_MACHINE_INSTANCES.plural,
        "held",
        vmi,
    )
    create(api, VIRTUAL_MACHINES, vm_body("after"), kube_namespace)
    for name in ("held", "after"):
        wait_for_object(
            client,
            VIRTUAL_MACHINES,
            name,
            lambda o: field_path(o, "status", "printableStatus") == "Running",
            namespace=kube_namespace,
            timeout=30,
            what="VM Running after restart",
        )
    client.close()


def test_vm_manual_start_failures_and_data_volume_templates(
    api: Any, kube_cluster: KubeCluster, kube_namespace: str, kubevirt_double: KubevirtTestDouble
) -> None:
    client = kube_cluster.api_client()

    def status_is(name: str, printable: str) -> Obj | None:
        return wait_for_object(
            client,
            VIRTUAL_MACHINES,
            name,
            lambda o: field_path(o, "status", "printableStatus") == printable,
            namespace=kube_namespace,
            what=f"printableStatus {printable}",
        )

    # Manual: nothing runs until a Start request (what virt-api's start subresource writes).
    create(api, VIRTUAL_MACHINES, vm_body("manual", run_strategy="Manual"), kube_namespace)
    status_is("manual", "Stopped")
    api.patch_namespaced_custom_object_status(
        VIRTUAL_MACHINES.group,
        VIRTUAL_MACHINES.version,
        kube_namespace,
        VIRTUAL_MACHINES.plural,
        "manual",
        {"status": {"stateChangeRequests": [{"action": "Start"}]}},
    )
    vm = status_is("manual", "Running")
    assert "stateChangeRequests" not in field_path(vm, "status")

    # Injected failures surface the way KubeVirt reports them.
    create(
        api,
        VIRTUAL_MACHINES,
        vm_body("panics", annotations={td.FAIL: "GuestPanicked", td.MESSAGE: "kernel panic"}),
        kube_namespace,
    )
    vm = status_is("panics", "CrashLoopBackOff")
    failure = condition(vm, "Failure") or {}
    assert (failure.get("reason"), failure.get("message")) == ("GuestPanicked", "kernel panic")
    assert field_path(vm, "status", "startFailure", "consecutiveFailCount") == 1
    create(api, VIRTUAL_MACHINES, vm_body("pending", annotations={td.FAIL: "ErrorUnschedulable"}), kube_namespace)
    status_is("pending", "ErrorUnschedulable")

    # dataVolumeTemplates: the VM provisions its DataVolume first, then runs.
    vm_dv = vm_body("with-disk")
    vm_dv["spec"]["dataVolumeTemplates"] = [{"metadata": {"name": "with-disk-root"}, "spec": dv_body("x")["spec"]}]
    create(api, VIRTUAL_MACHINES, vm_dv, kube_namespace)
    status_is("with-disk", "Running")
    dv = wait_for_object(client, DATA_VOLUMES, "with-disk-root", lambda o: o is not None, namespace=kube_namespace)
    assert field_path(dv, "status", "phase") == "Succeeded"
    assert field_path(dv, "metadata", "ownerReferences", 0, "name") == "with-disk"
    client.close()
