"""Server, Router, BridgedNetwork and VmPool compose the right resources, inputs and parents.

Pulumi's mocks stand in for the engine (no backend, no CLI). A monitor subclass
records each registration's parent and dependencies, so parenting and the
VmPool's depends_on chain are asserted exactly, not inferred.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dill
import pulumi
import pytest
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from pulumi_kubevirt.components import POD_NETWORK, BridgedNetwork, Router, Server, VmPool, render_cloud_config
from tests.support import pulumi_mocks
from tests.support.pulumi_mocks import RecordingMocks, is_secret, plain

KUBE = {"kind": "kubevirt", "namespace": "vms", "kubeconfig": "/etc/kube/config"}
LIBVIRT = {"kind": "libvirt", "uri": "qemu:///system"}
SERVICE = "kubernetes:core/v1:Service"


@dataclass
class Registered:
    typ: str
    kind: str | None
    name: str
    inputs: dict[str, Any]
    urn: str
    secret_cloud_init: bool
    parent: str
    dependencies: list[str]


def provider_kind(inputs: dict[str, Any]) -> str | None:
    """The class name of a dynamic resource's provider (pickled into its inputs by Pulumi)."""
    serialized = plain(inputs.get("__provider"))
    return type(dill.loads(base64.b64decode(serialized))).__name__ if serialized else None


def backend_outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """Outputs a backend would compute, by resource: Disk ref, Bridge network, VM addresses."""
    outs: dict[str, Any] = {}
    kind = provider_kind(args.inputs)
    if kind == "DiskProvider":
        outs["ref"] = {"pool": "default", "volume": f"{args.name}.qcow2", "format": "qcow2"}
    if kind == "BridgeProvider":
        outs["network_name"] = plain(args.inputs["name"])
        outs["bridge_device"] = plain(args.inputs.get("bridge")) or f"virbr-{args.name}"[:15]
    if kind == "VirtualMachineProvider":
        nics = [i["name"] for i in plain(args.inputs.get("interfaces")) or []]
        outs["ipv4"] = {nic: f"10.0.0.{10 + n}" for n, nic in enumerate(nics)}
        outs["state"] = "running"
    if args.typ == SERVICE:
        outs["spec"] = {**args.inputs["spec"], "clusterIP": "10.96.0.7"}
        outs["status"] = {"loadBalancer": {}}
    return outs


class RecordingMonitor(MockMonitor):
    """The mock monitor, also recording each registration's parent and dependencies."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = rpc.deserialize_properties(request.object)
            with self._lock:
                self.registered.append(
                    Registered(
                        typ=request.type,
                        kind=provider_kind(inputs),
                        name=request.name,
                        inputs=plain(dict(inputs)),
                        urn=response.urn,
                        secret_cloud_init=is_secret(inputs.get("cloud_init")),
                        parent=request.parent,
                        dependencies=list(request.dependencies),
                    )
                )
        return response

    def one(self, name: str, typ: str | None = None) -> Registered:
        found = [
            r
            for r in self.registered
            if r.name == name
            and (typ in (r.typ, r.kind) if typ else not r.typ.startswith("pulumi-kubevirt:components:"))
        ]
        assert len(found) == 1, f"{name}: {[(r.typ, r.name) for r in self.registered]}"
        return found[0]

    def named(self) -> set[tuple[str, str]]:
        return {(r.typ.rsplit(":", 1)[-1], r.name) for r in self.registered}


@pytest.fixture
def monitor() -> Iterator[RecordingMonitor]:
    mocks = RecordingMocks(extra=backend_outputs)
    mon = RecordingMonitor(mocks)
    pulumi_mocks.use(mocks, preview=False, monitor=mon)
    yield mon
    pulumi.runtime.set_config("pulumi-kubevirt:targetKind", "")
    pulumi.runtime.set_config("pulumi-kubevirt:namespace", "")


def component_urn(typ: str, name: str) -> str:
    return f"urn:pulumi:stack::project::pulumi:pulumi:Stack$pulumi-kubevirt:components:{typ}::{name}"


def is_child(reg: Registered, typ: str, name: str) -> bool:
    return reg.parent == component_urn(typ, name) and f"pulumi-kubevirt:components:{typ}$" in reg.urn


# -- cloud-config (pure) ----------------------------------------------------------------


def test_cloud_config_is_yaml_data_whatever_the_strings() -> None:
    tricky_key = 'ssh-ed25519 AAAA"x: y #not a comment\n'
    text = render_cloud_config(
        hostname="web",
        user="ops",
        ssh_authorized_keys=[tricky_key],
        packages=["nginx", "yes"],
        extra={"runcmd": [["echo", "a: b"]]},
    )
    assert text.startswith("#cloud-config\n")
    assert yaml.safe_load(text) == {
        "hostname": "web",
        "users": [
            "default",
            {
                "name": "ops",
                "shell": "/bin/bash",
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "lock_passwd": True,
                "ssh_authorized_keys": [tricky_key],
            },
        ],
        "package_update": True,
        "packages": ["nginx", "yes"],
        "runcmd": [["echo", "a: b"]],
    }
    # without a user the keys belong to the image's default user
    assert yaml.safe_load(render_cloud_config(ssh_authorized_keys=["k1"])) == {"ssh_authorized_keys": ["k1"]}
    with pytest.raises(ValueError, match="'hostname' is already set"):
        render_cloud_config(hostname="a", extra={"hostname": "b"})


# -- BridgedNetwork -------------------------------------------------------------------


@pulumi.runtime.test
def test_bridged_network_kubevirt_is_one_bridge_with_vlan_on_the_node(monitor: RecordingMonitor) -> Any:
    net = BridgedNetwork(
        "br-web", target=KUBE, bridge_device="br-web", vlan=6, ports=["enp13s0f0"], vlan_on_node=True, mtu=1500
    )

    def check(values: list[Any]) -> None:
        network_name, interface = values[0], net.interface("web", model="e1000")
        bridge = monitor.one("br-web")
        assert is_child(bridge, "BridgedNetwork", "br-web")
        want = {
            "name": "br-web",
            "target": KUBE,
            "bridge": "br-web",
            "vlan": 6,
            "ports": ["enp13s0f0"],
            "vlan_on_node": True,
            "stp": False,
            "mtu": 1500,
            "manage_node_bridge": True,
        }
        assert {k: bridge.inputs.get(k) for k in want} == want
        assert "mode" not in bridge.inputs or bridge.inputs["mode"] in (None, "nat")  # libvirt-only field: unset
        assert network_name == "br-web"
        assert interface == {"name": "web", "bridge": net.bridge, "model": "e1000"}

    return pulumi.Output.all(net.network_name).apply(check)


@pulumi.runtime.test
def test_bridged_network_libvirt_mode_follows_what_is_given(monitor: RecordingMonitor) -> Any:
    over_host = BridgedNetwork("lan", target=LIBVIRT, bridge_device="br0")
    managed = BridgedNetwork("nat", target=LIBVIRT, ipv4={"address": "10.9.0.1/24"})
    isolated = BridgedNetwork("iso", target=LIBVIRT, network_name="test-iso")

    def check(_: Any) -> None:
        assert monitor.one("lan").inputs["mode"] == "bridge"
        nat = monitor.one("nat").inputs
        assert nat["mode"] == "nat" and nat["ipv4"] == {"address": "10.9.0.1/24"}
        iso = monitor.one("iso")
        assert iso.inputs["mode"] == "isolated" and iso.inputs["name"] == "test-iso"
        assert "ports" not in nat or nat["ports"] is None

    return pulumi.Output.all(over_host.network_name, managed.network_name, isolated.network_name).apply(check)


# -- Server ------------------------------------------------------------------------------


@pulumi.runtime.test
def test_server_on_libvirt_root_disk_cloud_init_nics_and_ssh_endpoints(monitor: RecordingMonitor) -> Any:
    lan = BridgedNetwork("lan", target=LIBVIRT, ipv4={"address": "10.9.0.1/24"})
    server = Server(
        "web",
        target=LIBVIRT,
        image="/var/lib/images/debian.qcow2",
        disk_size="4Gi",
        memory="2Gi",
        cpus=2,
        user="ops",
        ssh_authorized_keys=[pulumi.Output.secret("ssh-ed25519 AAAAkey ops@lab")],
        packages=["nginx"],
        networks=[lan, "default"],
        vm_options={
            "accelerator": "tcg",
            "disks": [{"name": "iso", "path": "/srv/x.iso", "cdrom": True, "bus": "sata"}],
        },
    )
    assert server.service is None and server.ssh_user == "ops"

    def check(endpoints: list[str]) -> None:
        disk = monitor.one("web-root")
        vm = monitor.one("web", "VirtualMachineProvider")
        assert is_child(disk, "Server", "web") and is_child(vm, "Server", "web")
        assert disk.inputs["source"] == {"kind": "image", "path": "/var/lib/images/debian.qcow2"}
        assert disk.inputs["size"] == "4Gi" and disk.inputs["target"] == LIBVIRT
        assert vm.inputs["memory"] == "2Gi" and vm.inputs["cpu"] == {"sockets": 2}
        assert vm.inputs["accelerator"] == "tcg"
        root, iso = vm.inputs["disks"]
        assert root == {
            "name": "root",
            "boot_order": 1,
            "volume": {"pool": "default", "volume": "web-root.qcow2", "format": "qcow2"},
        }
        assert iso["name"] == "iso" and iso["cdrom"] is True
        assert vm.inputs["interfaces"] == [{"name": "nic0", "network": "lan"}, {"name": "nic1", "network": "default"}]
        assert vm.secret_cloud_init
        doc = yaml.safe_load(vm.inputs["cloud_init"]["user_data"])
        assert doc["hostname"] == "web" and doc["packages"] == ["nginx"]
        assert doc["users"][1]["name"] == "ops"
        assert doc["users"][1]["ssh_authorized_keys"] == ["ssh-ed25519 AAAAkey ops@lab"]
        assert endpoints == ["10.0.0.10:22", "10.0.0.11:22"]
        assert not any(r.typ == SERVICE for r in monitor.registered)

    return server.ssh_endpoints.apply(check)


@pulumi.runtime.test
def test_server_on_kubevirt_exposes_ssh_with_a_service_selecting_the_launcher_pod(monitor: RecordingMonitor) -> Any:
    server = Server(
        "web",
        target=KUBE,
        container_image="quay.io/containerdisks/fedora:40",
        ssh_authorized_keys=["ssh-ed25519 AAAAkey"],
        expose_ports={"ssh": 22, "http": 80},
        service_type="LoadBalancer",
    )
    assert server.root_disk is None and server.service is not None and server.kubernetes_provider is not None

    def check(endpoints: list[str]) -> None:
        vm = monitor.one("web", "VirtualMachineProvider")
        service = monitor.one("web", SERVICE)
        provider = monitor.one("web-kubernetes")
        assert (
            is_child(vm, "Server", "web") and is_child(service, "Server", "web") and is_child(provider, "Server", "web")
        )
        assert provider.inputs["kubeconfig"] == "/etc/kube/config"
        assert vm.urn in service.dependencies
        assert vm.inputs["disks"] == [
            {"name": "root", "container_image": "quay.io/containerdisks/fedora:40", "boot_order": 1}
        ]
        assert vm.inputs["interfaces"] == [{"name": "default", "pod": True}]
        assert service.inputs["metadata"] == {
            "name": "web",
            "namespace": "vms",
            "labels": {"app.kubernetes.io/managed-by": "pulumi-kubevirt"},
        }
        assert service.inputs["spec"] == {
            "type": "LoadBalancer",
            "selector": {"vm.kubevirt.io/name": "web"},
            "ports": [
                {"name": "ssh", "port": 22, "targetPort": 22, "protocol": "TCP"},
                {"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"},
            ],
        }
        assert endpoints == ["web.vms.svc:22", "10.96.0.7:22"]

    return server.ssh_endpoints.apply(check)


@pulumi.runtime.test
def test_server_root_as_datavolume_template_and_target_from_stack_config(monitor: RecordingMonitor) -> Any:
    pulumi.runtime.set_config("pulumi-kubevirt:targetKind", "kubevirt")
    pulumi.runtime.set_config("pulumi-kubevirt:namespace", "lab")
    server = Server(
        "db",
        image="docker://quay.io/containerdisks/debian:12",
        disk_size="20Gi",
        root_disk_template=True,
        root_disk_options={"access_modes": ["ReadWriteMany"]},
        expose_ports={"postgres": 5432},
        ssh_port=2222,
    )

    def check(endpoints: list[str]) -> None:
        vm = monitor.one("db", "VirtualMachineProvider")
        assert vm.inputs["target"] == {"kind": "kubevirt", "namespace": "lab"}
        # the Service follows the VM's resolved target: its namespace, its cluster (ambient kubeconfig)
        service = monitor.one("db", SERVICE)
        assert service.inputs["metadata"]["namespace"] == "lab"
        assert "kubeconfig" not in monitor.one("db-kubernetes").inputs
        assert endpoints == []  # the Service maps no port to SSH
        assert vm.inputs["disks"] == [
            {
                "name": "root",
                "boot_order": 1,
                "template": {
                    "size": "20Gi",
                    "access_modes": ["ReadWriteMany"],
                    "source": {"kind": "registry", "url": "docker://quay.io/containerdisks/debian:12"},
                },
            }
        ]
        assert vm.inputs["interfaces"] == [{"name": "default", "pod": True}]
        assert server.root_disk is None
        # nothing to say to cloud-init: no seed at all
        assert server.user_data is None and vm.inputs.get("cloud_init") is None

    return server.ssh_endpoints.apply(check)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": LIBVIRT, "image": "/i.qcow2", "expose_ports": {"ssh": 22}}, "expose_ports: a Service needs"),
        ({"target": LIBVIRT, "container_image": "quay.io/x/y:1"}, "container_image: a containerDisk needs"),
        ({"target": LIBVIRT, "image": "debian.qcow2"}, "image: 'debian.qcow2' is no image"),
        ({"target": LIBVIRT}, "image: give image or container_image"),
        ({"target": LIBVIRT, "image": "/i.qcow2", "cloud_config": {"hostname": "x"}}, "cloud_config: 'hostname'"),
        ({"target": LIBVIRT, "image": "/i.qcow2", "pod_network": True}, "pod_network: the pod network needs"),
    ],
)
def test_server_argument_errors_name_the_server_and_the_argument(
    monitor: RecordingMonitor, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(pulumi.RunError, match=rf"^Server 'bad': {message}"):
        Server("bad", **kwargs)


# -- Router ------------------------------------------------------------------------------


@pulumi.runtime.test
def test_router_nics_by_role_on_bridged_vlans_with_a_migratable_root(monitor: RecordingMonitor) -> Any:
    lan = BridgedNetwork("br-lan", target=KUBE, bridge_device="br-lan", ports=["enp13s0f0"])
    web = BridgedNetwork("br-web", target=KUBE, bridge_device="br-web", vlan=6, ports=["enp13s0f0"], vlan_on_node=True)
    router = Router(
        "opnsense",
        target=KUBE,
        wan=POD_NETWORK,
        lan=lan,
        dmz=web,
        extra_nics={"mgmt": "infra/mgmt-net"},
        image="http://images.lab/opnsense.qcow2",
        disk_size="20Gi",
        root_disk_options={"volume_mode": "Filesystem"},
        hostname="opnsense",
        live_migratable=True,
    )
    assert router.nics == ["wan", "lan", "dmz", "mgmt"]

    def check(_: Any) -> None:
        disk = monitor.one("opnsense-root")
        vm = monitor.one("opnsense")
        assert is_child(disk, "Router", "opnsense") and is_child(vm, "Router", "opnsense")
        assert disk.inputs["source"] == {"kind": "url", "url": "http://images.lab/opnsense.qcow2"}
        assert disk.inputs["access_modes"] == ["ReadWriteMany"] and disk.inputs["volume_mode"] == "Filesystem"
        assert disk.inputs["size"] == "20Gi" and disk.inputs["target"] == KUBE
        assert vm.inputs["interfaces"] == [
            {"name": "wan", "pod": True},
            {"name": "lan", "network": "br-lan"},
            {"name": "dmz", "network": "br-web"},
            {"name": "mgmt", "network": "infra/mgmt-net"},
        ]
        assert vm.inputs["disks"][0]["name"] == "root" and vm.inputs["disks"][0]["boot_order"] == 1
        assert vm.inputs["kubevirt"] == {"eviction_strategy": "LiveMigrate"}
        assert vm.inputs["memory"] == "2Gi" and vm.inputs["cpu"] == {"sockets": 2}
        assert vm.secret_cloud_init
        assert yaml.safe_load(vm.inputs["cloud_init"]["user_data"]) == {"hostname": "opnsense"}
        assert vm.inputs["cloud_init"]["user_data"].startswith("#cloud-config\n")

    return router.vm.ipv4.apply(check)


def test_router_refuses_a_role_name_as_an_extra_nic_and_migration_on_libvirt(monitor: RecordingMonitor) -> None:
    with pytest.raises(pulumi.RunError, match=r"^Router 'r': extra_nics.lan: use the wan/lan/dmz argument"):
        Router("r", target=KUBE, lan="a", image="/x", extra_nics={"lan": "b"})
    with pytest.raises(pulumi.RunError, match=r"^Router 'r': live_migratable: needs a kubevirt target"):
        Router("r", target=LIBVIRT, lan="a", image="/x", live_migratable=True)


# -- VmPool ------------------------------------------------------------------------------


@pulumi.runtime.test
def test_vm_pool_chains_vms_with_own_root_disks_and_auto_restart(monitor: RecordingMonitor) -> Any:
    pool = VmPool(
        "web",
        count=3,
        target=LIBVIRT,
        template={"memory": "256Mi", "interfaces": [{"name": "nic0", "network": "default"}]},
        root_disk={"source": {"kind": "url", "url": "http://images.lab/base.qcow2"}},
        update_timeout="5m",
    )
    assert pool.names == ["web-0", "web-1", "web-2"]

    def check(ipv4: list[dict[str, str]]) -> None:
        vms = [monitor.one(f"web-{i}") for i in range(3)]
        disks = [monitor.one(f"web-{i}-root") for i in range(3)]
        for i, (vm, disk) in enumerate(zip(vms, disks, strict=True)):
            assert is_child(vm, "VmPool", "web") and is_child(disk, "VmPool", "web")
            assert vm.inputs["restart_policy"] == {"mode": "auto", "shutdown_timeout": "2m"}
            assert vm.inputs["timeouts"] == {"update": "5m"}
            assert vm.inputs["memory"] == "256Mi" and vm.inputs["target"] == LIBVIRT
            assert vm.inputs["disks"][0]["volume"]["volume"] == f"web-{i}-root.qcow2"
            assert disk.urn in vm.dependencies
            # the rolling chain: each VM waits for the one before it, and only for that one
            others = [v.urn for v in vms if v is not vm]
            assert [u for u in others if u in vm.dependencies] == ([vms[i - 1].urn] if i else [])
            assert [u for u in others if u in disk.dependencies] == ([vms[i - 1].urn] if i else [])
        assert ipv4 == [{"nic0": "10.0.0.10"}] * 3

    return pool.ipv4.apply(check)


@pulumi.runtime.test
def test_vm_pool_without_rolling_has_no_chain_and_keeps_an_explicit_restart_policy(monitor: RecordingMonitor) -> Any:
    pool = VmPool(
        "batch",
        count=2,
        target=LIBVIRT,
        rolling=False,
        template={"memory": "128Mi", "restart_policy": {"mode": "never"}},
    )

    def check(_: Any) -> None:
        first, second = monitor.one("batch-0"), monitor.one("batch-1")
        assert first.urn not in second.dependencies
        assert second.inputs["restart_policy"] == {"mode": "never"}
        assert not any(r.name.endswith("-root") for r in monitor.registered)

    return pool.ipv4.apply(check)


def test_vm_pool_count_and_template_name_errors(monitor: RecordingMonitor) -> None:
    with pytest.raises(pulumi.RunError, match=r"^VmPool 'p': count: 101 is not between 0 and 100"):
        VmPool("p", count=101, template={})
    with pytest.raises(pulumi.RunError, match=r"^VmPool 'p': template.name: the VMs are named"):
        VmPool("p", count=1, template={"name": "x"})


def test_server_cloud_init_only_when_something_is_asked_of_it(monitor: RecordingMonitor) -> None:
    assert Server("plain", target=LIBVIRT, image="/i.qcow2", ssh_authorized_keys=[]).user_data is None
    assert Server("keyed", target=LIBVIRT, image="/i.qcow2", ssh_authorized_keys=["k"]).user_data is not None
    assert Server("forced", target=LIBVIRT, image="/i.qcow2", cloud_init=True).user_data is not None
    assert Server("off", target=LIBVIRT, image="/i.qcow2", user="ops", cloud_init=False).user_data is None
