"""VM features of issue 12 on a real kube-apiserver with the vendored KubeVirt CRDs: every field
render.py writes survives the apiserver's structural schema (an unknown field would be pruned
silently, and the next read would show it as drift), the real virt-api accepts it, and the VM reads
back without drift; what virt-api's webhook refuses, check refuses first, on the same field."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from pulumi_kubevirt.provider.core import OWNER, PLANNED_CHANGE
from pulumi_kubevirt.provider.kinds import VIRTUAL_MACHINE
from pulumi_kubevirt.provider.kubevirt.parse import parse_cause_field, parse_status_causes
from pulumi_kubevirt.provider.kubevirt.render import FIELD_MANAGER, owner_annotations, render_vm
from pulumi_kubevirt.provider.models import VirtualMachineArgs
from pulumi_kubevirt.provider.ownership import Owner
from pulumi_kubevirt.provider.resources import VirtualMachineProvider
from tests.harness.kube_fixtures import field_path

from ..libvirt.test_resources import checked
from ..unit.test_upgrade_drift import OLD as UPGRADE
from .test_resources import get

FEATURES: dict[str, Any] = {
    "run_state": "stopped",
    "firmware": "uefi",
    "secure_boot": True,
    "smm": True,
    "kernel_boot": {
        "container_image": "quay.io/kubevirt/alpine-ext-kernel-boot-demo:v1.8.0",
        "kernel": "/boot/vmlinuz-virt",
        "initrd": "/boot/initramfs-virt",
        "cmdline": "console=ttyS0",
    },
    "disks": [
        {"name": "containerdisk", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"},
        {"name": "scratch", "empty_disk": "2Gi"},
    ],
    "interfaces": [
        {"name": "default", "pod": True, "ports": [{"name": "http", "port": 80}, {"port": 53, "protocol": "UDP"}]}
    ],
    "usb_host_devices": [{"name": "token", "resource_name": "kubevirt.io/storage"}],
}


def test_every_new_field_survives_the_apiserver_and_reads_back(
    target: dict[str, Any], custom: k8s.CustomObjectsApi
) -> None:
    ns = target["namespace"]
    vmp = VirtualMachineProvider()
    inputs = checked(vmp, {}, {"name": "features", "target": target, "memory": "256Mi", **FEATURES})
    created = vmp.create(inputs)
    vm = get(custom, "virtualmachines", ns, "features")
    domain = field_path(vm, "spec", "template", "spec", "domain")
    # virt-controller's firmware synchronizer stamps a uuid and a serial into the VM: KubeVirt's, not drift
    stamped = {k: domain["firmware"].pop(k, None) for k in ("uuid", "serial")}
    assert all(stamped.values()), stamped
    assert domain["firmware"] == {
        "bootloader": {"efi": {"secureBoot": True}},
        "kernelBoot": {
            "container": {
                "image": "quay.io/kubevirt/alpine-ext-kernel-boot-demo:v1.8.0",
                "kernelPath": "/boot/vmlinuz-virt",
                "initrdPath": "/boot/initramfs-virt",
            },
            "kernelArgs": "console=ttyS0",
        },
    }
    assert domain["features"]["smm"] == {"enabled": True}  # (virt-api's VM mutator adds acpi: {} beside it)
    assert domain["devices"]["hostDevices"] == [{"name": "token", "deviceName": "kubevirt.io/storage"}]
    assert domain["devices"]["interfaces"][0]["ports"] == [
        {"name": "http", "port": 80, "protocol": "TCP"},
        {"port": 53, "protocol": "UDP"},
    ]
    assert "autoattachGraphicsDevice" not in domain["devices"]  # vnc unset: KubeVirt's default
    volumes = field_path(vm, "spec", "template", "spec", "volumes")
    assert {"name": "scratch", "emptyDisk": {"capacity": "2Gi"}} in volumes
    read = vmp.read(created.id, created.outs)
    assert vmp.diff(created.id, read.outs, inputs).changes is False, read.inputs
    vmp.delete(created.id, created.outs)
    assert get(custom, "virtualmachines", ns, "features") is None


def test_a_vm_sized_by_an_instancetype_carries_no_sizes(target: dict[str, Any], custom: k8s.CustomObjectsApi) -> None:
    ns = target["namespace"]
    vmp = VirtualMachineProvider()
    sized = {"instancetype": {"name": "u1.small"}, "preference": {"name": "fedora"}}
    refused = vmp.check({}, {"name": "sized", "target": target, "memory": "1Gi", "kubevirt": sized})
    assert [f.property for f in refused.failures] == ["memory"]
    inputs = checked(vmp, {}, {"name": "sized", "target": target, "run_state": "stopped", "kubevirt": sized})
    assert "memory" not in inputs and "cpu" not in inputs
    created = vmp.create(inputs)
    vm = get(custom, "virtualmachines", ns, "sized")
    assert field_path(vm, "spec", "instancetype") == {"name": "u1.small", "kind": "VirtualMachineClusterInstancetype"}
    domain = field_path(vm, "spec", "template", "spec", "domain")
    assert "memory" not in domain and "cpu" not in domain
    read = vmp.read(created.id, created.outs)
    assert vmp.diff(created.id, read.outs, inputs).changes is False, read.inputs
    vmp.delete(created.id, created.outs)


# -- what the real virt-api webhook refuses, check refuses first, on the same field ----------------
KERNEL = FEATURES["kernel_boot"]


def _drop_paths(domain: dict[str, Any]) -> None:
    container = domain["firmware"]["kernelBoot"]["container"]
    del container["kernelPath"], container["initrdPath"]


def _secure_without_smm(domain: dict[str, Any]) -> None:
    domain["firmware"]["bootloader"]["efi"]["secureBoot"] = True


def _bad_port_name(domain: dict[str, Any]) -> None:
    domain["devices"]["interfaces"][0]["ports"][0]["name"] = "HTTP"


WEBHOOK_CASES: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], None], dict[str, Any], str, str]] = [
    # (id, valid inputs, how the manifest is spoiled, the same mistake as inputs, field, the webhook's words)
    (
        "instancetype-memory",
        {"kubevirt": {"instancetype": {"name": "INSTANCETYPE"}}},
        lambda d: d.update(memory={"guest": "1Gi"}),
        {"memory": "1Gi"},
        "memory",
        "conflicts with selected instance type",
    ),
    (
        "instancetype-sockets",
        {"kubevirt": {"instancetype": {"name": "INSTANCETYPE"}}},
        lambda d: d.update(cpu={"sockets": 2}),
        {"cpu": {"sockets": 2}},
        "cpu.sockets",
        "conflicts with selected instance type",
    ),
    (
        "secure-boot-without-smm",
        {"firmware": "uefi"},
        _secure_without_smm,
        {"secure_boot": True},
        "smm",
        "requires SMM",
    ),
    (
        "kernel-boot-without-paths",
        {"kernel_boot": KERNEL},
        _drop_paths,
        {"kernel_boot": {"container_image": KERNEL["container_image"]}},
        "kernel_boot.kernel",
        "kernelBoot.container",
    ),
    (
        "port-name",
        {"interfaces": [{"name": "default", "pod": True, "ports": [{"name": "http", "port": 80}]}]},
        _bad_port_name,
        {"interfaces": [{"name": "default", "pod": True, "ports": [{"name": "HTTP", "port": 80}]}]},
        "interfaces[0].ports[0].name",
        "Invalid name of the port",
    ),
]


@pytest.fixture
def instancetype(custom: k8s.CustomObjectsApi) -> Iterator[str]:
    name = f"test-{secrets.token_hex(3)}"
    body = {
        "apiVersion": "instancetype.kubevirt.io/v1beta1",
        "kind": "VirtualMachineClusterInstancetype",
        "metadata": {"name": name},
        "spec": {"cpu": {"guest": 1}, "memory": {"guest": "128Mi"}},
    }
    custom.create_cluster_custom_object(
        "instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterinstancetypes", body
    )
    yield name
    custom.delete_cluster_custom_object(
        "instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterinstancetypes", name
    )


def _with_instancetype(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return {k: _with_instancetype(v, name) for k, v in value.items()}
    return name if value == "INSTANCETYPE" else value


@pytest.mark.parametrize(
    ("valid", "spoil", "mistake", "field", "words"), [c[1:] for c in WEBHOOK_CASES], ids=[c[0] for c in WEBHOOK_CASES]
)
def test_the_real_webhook_refuses_what_check_refuses_on_the_same_field(
    target: dict[str, Any],
    custom: k8s.CustomObjectsApi,
    instancetype: str,
    valid: dict[str, Any],
    spoil: Callable[[dict[str, Any]], None],
    mistake: dict[str, Any],
    field: str,
    words: str,
) -> None:
    ns = target["namespace"]
    base = _with_instancetype({"name": "spoiled", "target": target, "run_state": "stopped", **valid}, instancetype)
    args = VirtualMachineArgs.model_validate(base)
    manifest = render_vm(args, namespace=ns, owner=Owner("pkv-tests/webhooks", "spoiled"))
    spoil(manifest["spec"]["template"]["spec"]["domain"])
    with pytest.raises(k8s.ApiException) as err:
        custom.create_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", manifest)
    assert err.value.status == 422, err.value.body
    status = json.loads(err.value.body)
    assert words in status["message"], status["message"]
    webhook_fields = {parse_cause_field(f) for f in parse_status_causes(status)}
    # check refuses the same mistake offline, on the field the webhook's cause maps to (when it names one)...
    _checked, found = VIRTUAL_MACHINE.check(None, {**base, **mistake}, unknown=object())
    assert [f.property for f in found] == [field], [(f.property, f.reason) for f in found]
    # ... or inside it: the webhook names kernelBoot.container, check the kernel path itself
    assert all(w is None or w == field or field.startswith((w + ".", w + "[")) for w in webhook_fields), webhook_fields
    assert get(custom, "virtualmachines", ns, "spoiled") is None


# -- an upgrade shows no false drift -------------------------------------------------------------
@pytest.mark.parametrize("program", ["minimal", "sized"])
def test_a_vm_made_by_an_older_version_with_vnc_unset_plans_no_change(
    target: dict[str, Any], custom: k8s.CustomObjectsApi, instancetype: str, program: str
) -> None:
    """The VM as the version at c404d4a rendered it for `vnc` unset (autoattachGraphicsDevice false,
    recorded in tests/unit/recorded/upgrade_c404d4a.json) and applied it (server-side apply, our field
    manager), with the state it recorded: today's provider previews the unchanged program as no change,
    before and after a refresh; an update for another reason keeps the VM's false (not dropped by the
    apply, so no graphics device appears); setting vnc is still a planned change. `sized`: a VM sized by
    an instancetype, whose old state carried default memory/cpu next to it (refresh, update and destroy
    read that state)."""
    ns, name = target["namespace"], "oldvnc"
    vmp = VirtualMachineProvider()
    # a copy, the recorded instancetype renamed to this test's (sized: its state carried default sizes)
    recorded = json.loads(json.dumps(UPGRADE[program]).replace('"u1.small"', json.dumps(instancetype)))
    inputs = {**recorded["inputs"], "name": name, "target": target}
    marker = checked(vmp, {}, inputs)[OWNER]
    owner = Owner.parse(marker, resource=name)
    manifest = recorded["manifest"]
    manifest["metadata"].update(name=name, namespace=ns, annotations=owner_annotations(owner))
    manifest["spec"]["template"]["metadata"]["labels"]["kubevirt.io/domain"] = name
    custom.patch_namespaced_custom_object(
        "kubevirt.io", "v1", ns, "virtualmachines", name, manifest,
        field_manager=FIELD_MANAGER, _content_type="application/apply-patch+yaml",
    )  # fmt: skip
    old_state = {**recorded["state"], "name": name, "target": {**recorded["state"]["target"], **target}, OWNER: marker}
    vm_id = f"kubevirt:{ns}/{name}"
    try:
        news = checked(vmp, old_state, inputs)
        assert news[PLANNED_CHANGE] == "no change"
        assert vmp.diff(vm_id, old_state, news).changes is False  # preview without refresh
        read = vmp.read(vm_id, old_state)
        assert read.inputs["vnc"] is False  # as the old state says (it dumped vnc false): read back the same
        assert vmp.diff(vm_id, read.outs, news).changes is False  # after a refresh
        relabelled = checked(vmp, read.outs, {**inputs, "labels": {"app": "upgraded"}})
        assert relabelled[PLANNED_CHANGE] == "live: labels.app unset->upgraded"
        outs = vmp.update(vm_id, read.outs, relabelled).outs
        vm = get(custom, "virtualmachines", ns, name)
        assert field_path(vm, "metadata", "labels", "app") == "upgraded"
        assert field_path(vm, "spec", "template", "spec", "domain", "devices", "autoattachGraphicsDevice") is False
        assert not outs["pending_restart"], outs
        on = checked(vmp, outs, {**inputs, "labels": {"app": "upgraded"}, "vnc": True})
        assert on[PLANNED_CHANGE] == "restart: vnc unset->True"
        assert vmp.diff(vm_id, outs, on).changes is True
        vmp.update(vm_id, outs, on)
        vm = get(custom, "virtualmachines", ns, name)
        assert field_path(vm, "spec", "template", "spec", "domain", "devices", "autoattachGraphicsDevice") is True
    finally:
        vmp.delete(vm_id, {**old_state, **inputs, OWNER: marker})
    assert get(custom, "virtualmachines", ns, name) is None
