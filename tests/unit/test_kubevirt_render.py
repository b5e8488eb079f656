"""KubeVirt manifests: the field scenarios through the Python API, validated against the official schemas."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pulumi_kubevirt.provider.kubevirt import render
from pulumi_kubevirt.provider.models import BridgeArgs, DiskArgs, VirtualMachineArgs
from pulumi_kubevirt.provider.ownership import Owner
from tests.support.k8s_schema import API_REFERENCE, validate

KUBE = {"kind": "kubevirt", "namespace": "demo"}
OWNER = Owner("demo-project/dev", "router")
MARKER = {"pulumi-kubevirt.dev/stack": "demo-project/dev", "pulumi-kubevirt.dev/resource": "router"}


def vm(**fields: Any) -> VirtualMachineArgs:
    return VirtualMachineArgs.model_validate({"target": KUBE, **fields})


def tpl(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_scenario1_tutorial_vm_cloud_init_secret_probe_eviction() -> None:
    args = vm(
        name="ma-machine-virtuelle",
        memory="1024M",
        disks=[{"name": "containerdisk", "container_image": "quay.io/containerdisks/centos-stream:9"}],
        cloud_init={"secret_name": "my-vmi-secret-config"},
        kubevirt={
            "termination_grace_period_seconds": 0,
            "eviction_strategy": "LiveMigrate",
            "readiness_probe": {
                "http_get_port": 1500,
                "initial_delay_seconds": 420,
                "period_seconds": 20,
                "timeout_seconds": 10,
                "failure_threshold": 10,
            },
        },
    )
    manifest = render.render_vm(args, namespace="demo", owner=OWNER)
    validate(manifest)
    spec = tpl(manifest)
    assert spec["domain"]["memory"] == {"guest": "1024M"}
    assert spec["domain"]["devices"]["disks"] == [
        {"name": "containerdisk", "disk": {"bus": "virtio"}},
        {"name": "cloudinitdisk", "disk": {"bus": "virtio"}},
    ]
    assert {
        "name": "cloudinitdisk",
        "cloudInitNoCloud": {
            "secretRef": {"name": "my-vmi-secret-config"},
            "networkDataSecretRef": {"name": "my-vmi-secret-config"},
        },
    } in spec["volumes"]
    assert spec["terminationGracePeriodSeconds"] == 0
    assert spec["evictionStrategy"] == "LiveMigrate"
    assert spec["readinessProbe"] == {
        "httpGet": {"port": 1500, "path": "/"},
        "initialDelaySeconds": 420,
        "periodSeconds": 20,
        "timeoutSeconds": 10,
        "failureThreshold": 10,
    }
    assert render.render_cloud_init_secrets(args, namespace="demo", owner=OWNER) == []  # the user's own Secret


def test_scenario3_testvm_halted_cirros_masquerade() -> None:
    args = vm(
        name="testvm",
        memory="64M",
        run_state="stopped",
        labels={"kubevirt.io/size": "small", "kubevirt.io/domain": "testvm"},
        disks=[{"name": "containerdisk", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"}],
        interfaces=[{"name": "default", "pod": True}],
        cloud_init={"user_data": "#!/bin/sh\necho 'printed from cloud-init userdata'\n"},
    )
    manifest = render.render_vm(args, namespace="demo", owner=OWNER)
    validate(manifest)
    assert manifest["spec"]["runStrategy"] == "Halted"
    assert "running" not in manifest["spec"]
    assert manifest["metadata"]["labels"]["kubevirt.io/size"] == "small"
    spec = tpl(manifest)
    assert spec["networks"] == [{"name": "default", "pod": {}}]
    assert spec["domain"]["devices"]["interfaces"] == [{"name": "default", "masquerade": {}, "model": "virtio"}]
    # the user data lives in a Secret, not in the VM object
    assert "userData" not in json.dumps(manifest)
    (secret,) = render.render_cloud_init_secrets(args, namespace="demo", owner=OWNER)
    assert secret["metadata"]["name"] == "testvm-cloudinit"
    assert base64.b64decode(secret["data"]["userdata"]).startswith(b"#!/bin/sh")


def test_scenario2_router_vm_two_bridged_nics_and_vlan_nad() -> None:
    lan = BridgeArgs(name="br-lan", target=KUBE, bridge="br-lan", ports=["enp13s0f0"])
    web = BridgeArgs(name="br-web", target=KUBE, bridge="br-web", vlan=6, ports=["enp13s0f0"])
    for bridge in (lan, web):
        validate(render.render_nncp(bridge, owner=OWNER))
        validate(render.render_nad(bridge, namespace="demo", owner=OWNER))
    nad = render.render_nad(web, namespace="demo", owner=OWNER)
    assert json.loads(nad["spec"]["config"])["vlan"] == 6
    nncp = render.render_nncp(lan, owner=OWNER)
    (bridge_if,) = nncp["spec"]["desiredState"]["interfaces"]
    assert bridge_if["bridge"] == {"options": {"stp": {"enabled": False}}, "port": [{"name": "enp13s0f0"}]}
    assert bridge_if["ipv4"] == {"enabled": False}
    router = vm(
        name="opnsense",
        memory="4Gi",
        disks=[
            {
                "name": "root",
                "template": {
                    "size": "20Gi",
                    "access_modes": ["ReadWriteMany"],
                    "source": {"kind": "url", "url": "http://web.server/opnsense.qcow2"},
                },
            }
        ],
        interfaces=[{"name": "lan", "network": "br-lan"}, {"name": "web", "network": "br-web"}],
        kubevirt={"eviction_strategy": "LiveMigrate"},
    )
    manifest = render.render_vm(router, namespace="demo", owner=OWNER)
    validate(manifest)
    spec = tpl(manifest)
    assert spec["networks"] == [
        {"name": "lan", "multus": {"networkName": "br-lan"}},
        {"name": "web", "multus": {"networkName": "br-web"}},
    ]
    assert [i.get("bridge") for i in spec["domain"]["devices"]["interfaces"]] == [{}, {}]
    (dvt,) = manifest["spec"]["dataVolumeTemplates"]
    assert dvt["metadata"]["name"] == "opnsense-root"
    assert dvt["spec"]["storage"]["accessModes"] == ["ReadWriteMany"]


def test_scenario4_bond_bridge_nncp_and_vlan93_nad() -> None:
    br1 = BridgeArgs(
        name="bond1-br1",
        target=KUBE,
        bridge="br1",
        bond={"name": "bond1", "mode": "balance-alb", "ports": ["eth2", "eth3"], "miimon": 100, "mtu": 1450},
        node_selector={"node-role.kubernetes.io/worker": ""},
        vlan=93,
        cni_type="cnv-bridge",
    )
    nncp = render.render_nncp(br1, owner=OWNER)
    validate(nncp)
    bond, bridge = nncp["spec"]["desiredState"]["interfaces"]
    assert bond["link-aggregation"] == {"mode": "balance-alb", "port": ["eth2", "eth3"], "options": {"miimon": 100}}
    assert bond["mtu"] == 1450 and bond["ipv4"] == {"enabled": False}
    assert bridge["bridge"]["port"] == [{"name": "bond1"}]
    assert nncp["spec"]["nodeSelector"] == {"node-role.kubernetes.io/worker": ""}
    nad = render.render_nad(br1, namespace="demo", owner=OWNER)
    validate(nad)
    assert nad["metadata"]["annotations"] == {
        "k8s.v1.cni.cncf.io/resourceName": "bridge.network.kubevirt.io/br1",
        **MARKER,
    }
    assert json.loads(nad["spec"]["config"]) == {
        "cniVersion": "0.3.1",
        "name": "bond1-br1",
        "type": "cnv-bridge",
        "bridge": "br1",
        "vlan": 93,
        "macspoofchk": True,
        "ipam": {},
        "preserveDefaultVlan": False,
    }
    demo = vm(name="demo-vm", interfaces=[{"name": "nic-0", "network": "bond1-br1", "binding": "bridge"}])
    validate(render.render_vm(demo, namespace="demo", owner=OWNER))


def test_scenario5_datavolumes_http_import_and_pvc_clone() -> None:
    imported = DiskArgs(
        name="vm-rootdisk",
        target=KUBE,
        size="20Gi",
        source={"kind": "url", "url": "http://web.server/disk-image.qcow2"},
        access_modes=["ReadWriteMany"],
        volume_mode="Filesystem",
        storage_class="longhorn",
    )
    dv = render.render_data_volume(imported, namespace="demo", owner=OWNER)
    validate(dv)
    assert dv["spec"] == {
        "source": {"http": {"url": "http://web.server/disk-image.qcow2"}},
        "storage": {
            "resources": {"requests": {"storage": "20Gi"}},
            "storageClassName": "longhorn",
            "accessModes": ["ReadWriteMany"],
            "volumeMode": "Filesystem",
        },
    }
    cloned = DiskArgs(
        name="rhel8",
        target=KUBE,
        size="30Gi",
        source={"kind": "clone", "pvc": "rhel8-cloud-image", "pvc_namespace": "os-images"},
    )
    dv2 = render.render_data_volume(cloned, namespace="demo", owner=OWNER)
    validate(dv2)
    assert dv2["spec"]["source"] == {"pvc": {"name": "rhel8-cloud-image", "namespace": "os-images"}}
    assert dv2["spec"]["storage"] == {"resources": {"requests": {"storage": "30Gi"}}}  # StorageProfile fills the rest


def test_full_vm_options_validate() -> None:
    args = vm(
        name="full",  # no memory/cpu: the instancetype sizes the VM
        machine="q35",
        firmware="uefi",
        disks=[
            {"name": "root", "data_volume": "root-dv", "boot_order": 1},
            {"name": "scratch", "pvc": "scratch", "bus": "scsi"},
            {"name": "iso", "container_image": "quay.io/x/iso:1", "cdrom": True, "bus": "sata"},
            {"name": "cfg", "config_map": "app-config"},
            {"name": "creds", "secret": "app-secret"},
        ],
        interfaces=[
            {"name": "default", "pod": True, "mac": "02:00:00:00:00:01"},
            {"name": "fast", "network": "sriov-net", "binding": "sriov"},
        ],
        cloud_init={
            "user_data": "#cloud-config\n",
            "network_data": "version: 2\n",
            "ssh_authorized_keys": ["ssh-ed25519 AAAA a"],
        },
        vnc=True,
        rng=True,
        kubevirt={
            "node_selector": {"kubernetes.io/arch": "amd64"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoSchedule"}],
            "affinity": {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 100,
                            "podAffinityTerm": {
                                "topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": {"app": "db"}},
                            },
                        }
                    ]
                }
            },
            "liveness_probe": {"guest_agent_ping": True, "period_seconds": 10},
            "instancetype": {"name": "u1.medium"},
            "preference": {"name": "fedora", "kind": "VirtualMachinePreference"},
            "annotations": {"team": "db"},
        },
    )
    manifest = render.render_vm(args, namespace="demo", owner=OWNER)
    validate(manifest)
    assert manifest["spec"]["instancetype"] == {"name": "u1.medium", "kind": "VirtualMachineClusterInstancetype"}
    assert "memory" not in tpl(manifest)["domain"]  # sizes come from the instancetype
    assert tpl(manifest)["accessCredentials"][0]["sshPublicKey"]["propagationMethod"] == {"noCloud": {}}
    secrets = render.render_cloud_init_secrets(args, namespace="demo", owner=OWNER)
    assert [s["metadata"]["name"] for s in secrets] == ["full-cloudinit", "full-ssh-keys"]


def test_validator_catches_typos() -> None:
    manifest = render.render_vm(vm(name="x"), namespace="demo", owner=OWNER)
    manifest["spec"]["template"]["spec"]["domain"]["devices"]["interfcaes"] = []
    with pytest.raises(jsonschema.ValidationError, match="interfcaes"):
        validate(manifest)


def test_oversized_cloud_init_fails_clearly() -> None:
    args = vm(name="big", cloud_init={"user_data": "#" * 1_200_000})
    with pytest.raises(ValueError, match="at most ~1 MiB"):
        render.render_cloud_init_secrets(args, namespace="demo", owner=OWNER)


@pytest.mark.parametrize(
    "path", sorted((API_REFERENCE / "examples" / "kubevirt").glob("vm-*.yaml")), ids=lambda p: p.name
)
def test_validator_accepts_official_examples(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and (doc.get("apiVersion"), doc.get("kind")) == ("kubevirt.io/v1", "VirtualMachine"):
            validate(doc)


ROUND_TRIP_VMS = [
    vm(name="min"),
    vm(name="stopped", run_state="stopped", description="x <y>", labels={"a": "b"}),
    vm(
        name="rt",
        memory="1Gi",  # KubeVirt hot-plugs memory (max_memory) only from 1Gi up, in 2Mi blocks
        max_memory="4Gi",
        cpu={"sockets": 2, "max_sockets": 4, "cores": 2, "model": "host-model"},
        machine="q35",
        firmware="uefi",
        disks=[
            {"name": "root", "template": {"size": "20Gi", "source": {"kind": "url", "url": "http://x/y.qcow2"}}},
            {"name": "data", "data_volume": "data-dv", "bus": "scsi", "boot_order": 2},
            {"name": "cd", "container_image": "quay.io/x:1", "cdrom": True, "bus": "sata"},
            {"name": "ro", "pvc": "shared", "readonly": True},
        ],
        interfaces=[
            {"name": "default", "pod": True},
            {"name": "lan", "network": "br-lan", "mac": "02:00:00:00:00:02"},
            {"name": "fast", "network": "sriov", "binding": "sriov", "model": "e1000e"},
        ],
        cloud_init={"user_data": "#cloud-config\n"},
        vnc=True,
        rng=True,
        kubevirt={
            "eviction_strategy": "LiveMigrate",
            "node_selector": {"a": "b"},
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "toleration_seconds": 30}],
            "termination_grace_period_seconds": 0,
            "annotations": {"x": "y"},
            "preference": {"name": "p"},
        },
    ),
]


@pytest.mark.parametrize("args", ROUND_TRIP_VMS, ids=lambda a: a.name)
def test_vm_round_trip(args: VirtualMachineArgs) -> None:
    from pulumi_kubevirt.provider.kubevirt.parse import parse_vm
    from pulumi_kubevirt.provider.models.common import dump
    from pulumi_kubevirt.provider.plan import diff_data

    manifest = render.render_vm(args, namespace="demo", owner=OWNER)
    # what the apiserver and webhooks add must not read back as drift
    manifest["status"] = {"ready": True}
    manifest["metadata"]["managedFields"] = [{"manager": "virt-controller"}]
    manifest["spec"]["template"]["spec"]["domain"].setdefault("features", {"acpi": {"enabled": True}})
    manifest["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"] = [
        {**i, "macAddress": i.get("macAddress")} if i.get("macAddress") else i
        for i in manifest["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]
    ]
    assert diff_data(dump(args), parse_vm(manifest, args)) == []


def test_scenario2_br_web_over_a_vlan6_subinterface() -> None:
    web = BridgeArgs(name="br-web", target=KUBE, bridge="br-web", vlan=6, ports=["enp13s0f0"], vlan_on_node=True)
    nncp = render.render_nncp(web, owner=OWNER)
    validate(nncp)
    sub, bridge = nncp["spec"]["desiredState"]["interfaces"]
    assert sub == {
        "name": "enp13s0f0.6",
        "type": "vlan",
        "state": "up",
        "ipv4": {"enabled": False},
        "vlan": {"base-iface": "enp13s0f0", "id": 6},
    }
    assert bridge["bridge"]["port"] == [{"name": "enp13s0f0.6"}]
    assert "vlan" not in json.loads(render.render_nad(web, namespace="demo", owner=OWNER)["spec"]["config"])
    from pulumi_kubevirt.provider.kubevirt.parse import parse_bridge
    from pulumi_kubevirt.provider.models.common import dump
    from pulumi_kubevirt.provider.plan import diff_data

    assert diff_data(dump(web), parse_bridge(nncp, render.render_nad(web, namespace="demo", owner=OWNER), web)) == []
