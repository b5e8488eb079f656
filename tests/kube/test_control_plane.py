"""The kube tier's real control plane is real: virt-api's admission webhooks and aggregated
API, kube-controller-manager's garbage collector and namespace controller.

These prove the components answer, with KubeVirt's and Kubernetes' own behaviour, so a
green kube tier means the provider was checked against them (not against our double).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from pulumi_kubevirt.provider.errors import InvalidSpec
from pulumi_kubevirt.provider.kinds import VIRTUAL_MACHINE
from pulumi_kubevirt.provider.kubevirt import render
from pulumi_kubevirt.provider.kubevirt.client import translate
from pulumi_kubevirt.provider.ownership import OWNER, Owner
from pulumi_kubevirt.provider.resources import VirtualMachineProvider
from tests.harness import kubevirt_control_plane as control_plane
from tests.harness import tools
from tests.harness.doubles.engine import rest_json
from tests.harness.kube_fixtures import SETTLE_TIMEOUT, KubeCluster

from ..libvirt.test_resources import checked

MASQUERADE_ON_MULTUS = "Masquerade interface only implemented with pod network"


@pytest.fixture
def api_client(kube_cluster: KubeCluster) -> Iterator[k8s.ApiClient]:
    client = kube_cluster.api_client()
    try:
        yield client
    finally:
        client.close()


def multus_inputs(kube_cluster: KubeCluster, namespace: str, name: str, binding: str) -> dict[str, Any]:
    return {
        "name": name,
        "target": {"kind": "kubevirt", "kubeconfig": str(kube_cluster.kubeconfig), "namespace": namespace},
        "memory": "128Mi",
        "run_state": "stopped",
        "disks": [{"name": "containerdisk", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"}],
        "interfaces": [{"name": "net1", "network": "lan", "binding": binding}],
    }


def _refused_by_virt_api(
    api_client: k8s.ApiClient, namespace: str, manifest: dict[str, Any]
) -> tuple[pytest.ExceptionInfo[ApiException], dict[str, Any]]:
    """The VM create refused by KubeVirt's VM validating webhook (422): the exception and its Status."""
    with pytest.raises(ApiException) as caught:
        k8s.CustomObjectsApi(api_client).create_namespaced_custom_object(
            "kubevirt.io", "v1", namespace, "virtualmachines", manifest
        )
    status: dict[str, Any] = json.loads(caught.value.body)
    assert caught.value.status == 422, status
    assert 'admission webhook "virtualmachine-validator.kubevirt.io" denied the request' in status["message"]
    return caught, status


def test_components_are_up_with_their_pinned_versions(kube_cluster: KubeCluster) -> None:
    plane = kube_cluster.control_plane
    assert isinstance(plane, control_plane.KubevirtControlPlane)
    plane.check_alive()
    versions = {c.name: c.version for c in plane.components}
    pins = tools.versions()
    assert versions["virt-api"] == "v" + pins["KUBEVIRT_VERSION"]
    assert versions["virt-controller"] == "v" + pins["KUBEVIRT_VERSION"]
    assert all(" running (log " in line for line in plane.version_lines())
    assert versions["kube-controller-manager"] == "Kubernetes v" + pins["KUBERNETES_VERSION"]
    assert versions["kube-scheduler"] == "Kubernetes v" + pins["KUBERNETES_VERSION"]


def test_virt_api_webhook_refuses_what_our_check_refuses_first(
    kube_cluster: KubeCluster, kube_namespace: str, api_client: k8s.ApiClient
) -> None:
    """Masquerade on a Multus network: our check refuses it at preview on the field; a manifest
    that says it anyway (the CRD schema accepts it) is refused by KubeVirt's own webhook, and the
    provider's translator reports that refusal on the same input field."""
    vmp = VirtualMachineProvider()
    refused = vmp.check(
        {}, {OWNER: "pkv-tests/cp::masq", **multus_inputs(kube_cluster, kube_namespace, "masq", "masquerade")}
    )
    assert [f.property for f in refused.failures] == ["interfaces[0].binding"]

    inputs = checked(vmp, {}, multus_inputs(kube_cluster, kube_namespace, "masq", "bridge"))
    args = VIRTUAL_MACHINE.parse(inputs, resource="masq")
    manifest = render.render_vm(args, namespace=kube_namespace, owner=Owner("pkv-tests/cp", "masq"))
    iface = manifest["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]
    iface.pop("bridge")
    iface["masquerade"] = {}
    caught, status = _refused_by_virt_api(api_client, kube_namespace, manifest)
    assert MASQUERADE_ON_MULTUS in status["message"]
    assert {"field": "spec.template.spec.domain.devices.interfaces[0].name", "message": MASQUERADE_ON_MULTUS} in [
        {k: c.get(k) for k in ("field", "message")} for c in status["details"]["causes"]
    ]
    error = translate(caught.value, resource="masq", doing="creating the VirtualMachine")
    assert isinstance(error, InvalidSpec) and error.field == "interfaces[0]" and MASQUERADE_ON_MULTUS in str(error)

    # With the bridge binding (what our check accepts) KubeVirt takes the same VM.
    iface.pop("masquerade")
    iface["bridge"] = {}
    k8s.CustomObjectsApi(api_client).create_namespaced_custom_object(
        "kubevirt.io", "v1", kube_namespace, "virtualmachines", manifest
    )


def test_virt_api_serves_subresources_through_the_aggregator(kube_namespace: str, api_client: k8s.ApiClient) -> None:
    """`start` of a VM that does not exist: answered by virt-api (a Status naming the VM), not by a missing route."""
    with pytest.raises(ApiException) as caught:
        rest_json(
            api_client,
            "PUT",
            f"/apis/subresources.kubevirt.io/v1/namespaces/{kube_namespace}/virtualmachines/nope/start",
            {},
        )
    assert caught.value.status == 404
    assert "nope" in caught.value.body and '"kind":"Status"' in caught.value.body.replace(" ", "")


def test_garbage_collector_and_namespace_controller_run(kube_cluster: KubeCluster, api_client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api_client)
    namespace = f"test-gc-{secrets.token_hex(3)}"
    core.create_namespace({"metadata": {"name": namespace}})
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(
        namespace,
        {
            "metadata": {
                "name": "dependent",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
                ],
            }
        },
    )
    core.delete_namespaced_config_map("owner", namespace)
    _wait_gone(lambda: core.read_namespaced_config_map("dependent", namespace), "the dependent ConfigMap")
    core.delete_namespace(namespace)
    _wait_gone(lambda: core.read_namespace(namespace), f"namespace {namespace}")


def _wait_gone(read: Any, what: str, timeout: float = SETTLE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            read()
        except ApiException as err:
            if err.status == 404:
                return
            raise
        time.sleep(0.5)
    raise AssertionError(f"{what} still there after {timeout}s")


@pytest.mark.parametrize(
    ("guest", "kubevirt_says"),
    [
        ("512Mi", "Memory hotplug is only available for VMs with at least 1Gi of guest memory"),
        ("1100M", "Guest memory must be 2Mi aligned"),
    ],
)
def test_virt_api_refuses_memory_hotplug_rules_on_the_field_our_check_names(
    kube_cluster: KubeCluster, kube_namespace: str, api_client: k8s.ApiClient, guest: str, kubevirt_says: str
) -> None:
    """maxGuest under LiveUpdate: KubeVirt's VM webhook refuses too little or unaligned guest memory on
    spec.template.spec.domain.memory.guest; our check refuses the same inputs at preview on `memory`,
    and the provider's translator maps KubeVirt's refusal to that field too."""
    vmp = VirtualMachineProvider()
    inputs = {
        **multus_inputs(kube_cluster, kube_namespace, "mem", "bridge"),
        "interfaces": [{"name": "default", "pod": True}],
        "max_memory": "4Gi",
    }
    refused = vmp.check({}, {OWNER: "pkv-tests/cp::mem", **inputs, "memory": guest})
    assert [f.property for f in refused.failures] == ["memory"]

    args = VIRTUAL_MACHINE.parse(checked(vmp, {}, {**inputs, "memory": "1Gi"}), resource="mem")
    manifest = render.render_vm(args, namespace=kube_namespace, owner=Owner("pkv-tests/cp", "mem"))
    manifest["spec"]["template"]["spec"]["domain"]["memory"]["guest"] = guest
    caught, status = _refused_by_virt_api(api_client, kube_namespace, manifest)
    assert {"field": "spec.template.spec.domain.memory.guest", "message": kubevirt_says} in [
        {k: c.get(k) for k in ("field", "message")} for c in status["details"]["causes"]
    ]
    error = translate(caught.value, resource="mem", doing="creating the VirtualMachine")
    assert isinstance(error, InvalidSpec) and error.field == "memory" and kubevirt_says in str(error)
