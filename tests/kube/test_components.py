"""Server (with its SSH Service), Router on BridgedNetworks and VmPool made for real on the apiserver.

The component programs run in-process under tests.support.provider_engine: every
dynamic resource is checked and created (later diffed and updated) by its real
provider against the real kube-apiserver, KubeVirt's controllers played by the
test double; the pulumi-kubernetes Service is created from its registered inputs
with the Kubernetes client, so the apiserver validates it and allocates its
cluster IP.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from pulumi_kubevirt.components import POD_NETWORK, BridgedNetwork, Router, Server, VmPool
from tests.harness.kube_fixtures import KubeCluster
from tests.support.provider_engine import ProviderEngine

SERVICE = "kubernetes:core/v1:Service"
CIRROS = "quay.io/kubevirt/cirros-container-disk-demo"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey ops@test"


def suffix() -> str:
    return secrets.token_hex(3)


def integral(value: Any) -> Any:
    """Pulumi's wire carries every number as a double; Kubernetes wants the integers back."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


@pytest.fixture
def api(kube_cluster: KubeCluster) -> Iterator[k8s.ApiClient]:
    client = kube_cluster.api_client()
    yield client
    client.close()


@pytest.fixture
def engine(api: k8s.ApiClient) -> Iterator[ProviderEngine]:
    """The engine; pulumi-kubernetes Services are created/deleted with the Kubernetes client."""
    core = k8s.CoreV1Api(api)

    def create_service(name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        body = integral({k: inputs[k] for k in ("apiVersion", "kind", "metadata", "spec") if k in inputs})
        namespace = body["metadata"]["namespace"]
        made = core.create_namespaced_service(namespace, body)
        return f"{namespace}/{made.metadata.name}", api.sanitize_for_serialization(made)

    def delete_service(name: str, id_: str, outs: dict[str, Any]) -> None:
        namespace, _, service = id_.partition("/")
        core.delete_namespaced_service(service, namespace)

    eng = ProviderEngine(handlers={SERVICE: create_service}, deleters={SERVICE: delete_service}, stack=f"s-{suffix()}")
    yield eng
    assert eng.destroy() == []


def custom_get(api: k8s.ApiClient, group: str, version: str, plural: str, name: str, ns: str | None) -> Any:
    custom = k8s.CustomObjectsApi(api)
    if ns is None:
        return custom.get_cluster_custom_object(group, version, plural, name)
    return custom.get_namespaced_custom_object(group, version, ns, plural, name)


def test_server_with_a_datavolume_root_cloud_config_and_an_ssh_service(
    engine: ProviderEngine, target: dict[str, Any], api: k8s.ApiClient
) -> None:
    ns, name = target["namespace"], f"web-{suffix()}"

    def program() -> Any:
        server = Server(
            name,
            target=target,
            image="http://images.test/debian.qcow2",
            disk_size="2Gi",
            memory="256Mi",
            user="ops",
            ssh_authorized_keys=[KEY],
            packages=["nginx"],
            expose_ports={"ssh": 22, "http": 80},
        )
        return {"ssh": server.ssh_endpoints, "status": server.vm.printable_status}

    out = engine.run(program)
    assert out["status"] == "Running"

    vm = custom_get(api, "kubevirt.io", "v1", "virtualmachines", name, ns)
    spec = vm["spec"]["template"]["spec"]
    assert spec["networks"] == [{"name": "default", "pod": {}}]
    assert spec["domain"]["devices"]["interfaces"][0]["name"] == "default"
    assert "masquerade" in spec["domain"]["devices"]["interfaces"][0]
    root = next(v for v in spec["volumes"] if v["name"] == "root")
    assert root["dataVolume"]["name"] == f"{name}-root"
    dv = custom_get(api, "cdi.kubevirt.io", "v1beta1", "datavolumes", f"{name}-root", ns)
    assert dv["spec"]["source"]["http"]["url"] == "http://images.test/debian.qcow2"

    secret = k8s.CoreV1Api(api).read_namespaced_secret(f"{name}-cloudinit", ns)
    user_data = base64.b64decode(secret.data["userdata"]).decode()
    assert user_data.startswith("#cloud-config\n")
    doc = yaml.safe_load(user_data)
    assert doc["hostname"] == name and doc["packages"] == ["nginx"]
    assert doc["users"][1] == {
        "name": "ops",
        "shell": "/bin/bash",
        "sudo": "ALL=(ALL) NOPASSWD:ALL",
        "lock_passwd": True,
        "ssh_authorized_keys": [KEY],
    }

    service = k8s.CoreV1Api(api).read_namespaced_service(name, ns)
    assert service.spec.selector == {"vm.kubevirt.io/name": name}
    assert [(p.name, p.port, p.target_port, p.protocol) for p in service.spec.ports] == [
        ("ssh", 22, 22, "TCP"),
        ("http", 80, 80, "TCP"),
    ]
    assert service.spec.type == "ClusterIP" and service.spec.cluster_ip  # allocated by the apiserver
    assert out["ssh"] == [f"{name}.{ns}.svc:22", f"{service.spec.cluster_ip}:22"]

    assert engine.destroy() == []
    assert k8s.CoreV1Api(api).list_namespaced_service(ns).items == []
    with pytest.raises(k8s.ApiException) as gone:
        custom_get(api, "kubevirt.io", "v1", "virtualmachines", name, ns)
    assert gone.value.status == 404


def test_router_on_bridged_vlan_networks_with_a_migratable_root(
    engine: ProviderEngine, target: dict[str, Any], api: k8s.ApiClient
) -> None:
    ns, tag = target["namespace"], suffix()
    lan_name, web_name, name = f"test-lan-{tag}", f"test-web-{tag}", f"rtr-{tag}"

    def program() -> Any:
        lan = BridgedNetwork(lan_name, target=target, bridge_device=f"brl-{tag}", ports=["eth1"])
        web = BridgedNetwork(
            web_name, target=target, bridge_device=f"brw-{tag}", vlan=6, ports=["eth1"], vlan_on_node=True
        )
        router = Router(
            name,
            target=target,
            wan=POD_NETWORK,
            lan=lan,
            dmz=web,
            image="http://images.test/opnsense.qcow2",
            disk_size="2Gi",
            root_disk_options={"volume_mode": "Filesystem"},
            hostname="opnsense",
            live_migratable=True,
        )
        return {"ipv4": router.vm.ipv4, "nics": router.nics, "status": router.vm.printable_status}

    out = engine.run(program)
    assert out["status"] == "Running" and out["nics"] == ["wan", "lan", "dmz"]
    assert "wan" in out["ipv4"]

    vm = custom_get(api, "kubevirt.io", "v1", "virtualmachines", name, ns)
    spec = vm["spec"]["template"]["spec"]
    assert spec["networks"] == [
        {"name": "wan", "pod": {}},
        {"name": "lan", "multus": {"networkName": lan_name}},
        {"name": "dmz", "multus": {"networkName": web_name}},
    ]
    assert spec["evictionStrategy"] == "LiveMigrate"
    dv = custom_get(api, "cdi.kubevirt.io", "v1beta1", "datavolumes", f"{name}-root", ns)
    storage = dv["spec"].get("storage") or dv["spec"].get("pvc")
    assert storage["accessModes"] == ["ReadWriteMany"] and storage["volumeMode"] == "Filesystem"
    for nad in (lan_name, web_name):
        assert custom_get(api, "k8s.cni.cncf.io", "v1", "network-attachment-definitions", nad, ns)
    web_policy = custom_get(api, "nmstate.io", "v1", "nodenetworkconfigurationpolicies", web_name, None)
    interfaces = web_policy["spec"]["desiredState"]["interfaces"]
    assert any(i.get("type") == "vlan" and i.get("vlan", {}).get("id") == 6 for i in interfaces), interfaces
    user_data = base64.b64decode(k8s.CoreV1Api(api).read_namespaced_secret(f"{name}-cloudinit", ns).data["userdata"])
    assert yaml.safe_load(user_data) == {"hostname": "opnsense"}


def test_vm_pool_rolls_a_restart_class_change_one_vm_at_a_time(
    engine: ProviderEngine, target: dict[str, Any], api: k8s.ApiClient
) -> None:
    ns, name = target["namespace"], f"pool-{suffix()}"

    def pool(memory: str) -> Any:
        def program() -> Any:
            vms = VmPool(
                name,
                count=2,
                target=target,
                template={
                    "memory": memory,
                    "disks": [
                        {"name": "containerdisk", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"}
                    ],
                    "interfaces": [{"name": "default", "pod": True}],
                },
                update_timeout="2m",
            )
            return [vm.printable_status for vm in vms.vms]

        return program

    assert engine.run(pool("128Mi")) == ["Running", "Running"]
    engine.events.clear()
    assert engine.run(pool("192Mi")) == ["Running", "Running"]
    updated = engine.ops("update")
    assert sorted(updated) == [f"{name}-0", f"{name}-1"]
    assert updated[f"{name}-0"].end <= updated[f"{name}-1"].start
    for i in range(2):
        vm = custom_get(api, "kubevirt.io", "v1", "virtualmachines", f"{name}-{i}", ns)
        assert vm["spec"]["template"]["spec"]["domain"]["memory"]["guest"] == "192Mi"
        assert vm["spec"]["runStrategy"] == "Always"
        assert not any(c["type"] == "RestartRequired" for c in vm.get("status", {}).get("conditions") or [])
