"""VM features of issue 12 on a real kube-apiserver with the vendored KubeVirt CRDs: every field
render.py writes survives the apiserver's structural schema (an unknown field would be pruned
silently, and the next read would show it as drift), and the VM reads back without drift."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from pulumi_kubevirt.provider.resources import VirtualMachineProvider
from tests.harness.kube_fixtures import field_path

from ..libvirt.test_resources import checked
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
