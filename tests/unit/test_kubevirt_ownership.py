"""Ownership markers on every KubeVirt/Kubernetes object the provider renders, and reading them back."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_kubevirt.provider.kubevirt import render
from pulumi_kubevirt.provider.kubevirt.parse import owned, parse_owner, parse_vm
from pulumi_kubevirt.provider.models import BridgeArgs, DiskArgs, MigrationArgs, VirtualMachineArgs
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.ownership import Owner
from tests.support.k8s_schema import validate

KUBE = {"kind": "kubevirt", "namespace": "demo"}
OWNER = Owner("demo-project/a-stack-name-that-is-long-enough-to-break-a-label-value-limit", "router")
MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi-kubevirt"}


def every_object() -> list[dict[str, Any]]:
    """One of each kind the provider creates, all for OWNER."""
    vm = VirtualMachineArgs.model_validate(
        {
            "target": KUBE,
            "name": "router",
            "disks": [
                {
                    "name": "root",
                    "template": {"size": "2Gi", "source": {"kind": "url", "url": "http://web.server/r.qcow2"}},
                }
            ],
            "cloud_init": {"user_data": "#cloud-config\n", "ssh_authorized_keys": ["ssh-ed25519 AAAA k"]},
            "kubevirt": {"annotations": {"team": "net", render.OWNER_STACK: "spoofed/stack"}},
        }
    )
    disk = DiskArgs.model_validate({"target": KUBE, "name": "data", "size": "1Gi"})
    bridge = BridgeArgs.model_validate(
        {"target": KUBE, "name": "br-lan", "bridge": "br-lan", "ports": ["eth1"], "annotations": {"a": "b"}}
    )
    migration = MigrationArgs.model_validate({"target": KUBE, "name": "m1", "vm": "router"})
    return [
        render.render_vm(vm, namespace="demo", owner=OWNER),
        *render.render_cloud_init_secrets(vm, namespace="demo", owner=OWNER),
        render.render_data_volume(disk, namespace="demo", owner=OWNER),
        render.render_nncp(bridge, owner=OWNER),
        render.render_nncp(bridge, owner=OWNER, absent=True),
        render.render_nad(bridge, namespace="demo", owner=OWNER),
        render.render_vmim(migration, namespace="demo", owner=OWNER),
    ]


@pytest.mark.parametrize("obj", every_object(), ids=lambda o: f"{o['kind']}-{o['metadata']['name']}")
def test_every_object_carries_the_label_and_the_full_owner(obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "pulumi-kubevirt"
    assert meta["annotations"][render.OWNER_STACK] == OWNER.stack  # longer than a label value may be
    assert meta["annotations"][render.OWNER_RESOURCE] == OWNER.resource
    assert len(OWNER.stack) > 63
    assert parse_owner(obj) == OWNER and owned(obj, OWNER)
    if obj["kind"] != "Secret":
        validate(obj)


def test_data_volume_templates_carry_the_owner_too() -> None:
    vm = every_object()[0]
    (template,) = vm["spec"]["dataVolumeTemplates"]
    assert parse_owner(template) == OWNER
    assert template["metadata"]["labels"] == MANAGED_BY


def test_a_user_annotation_cannot_spoof_the_owner() -> None:
    vm = every_object()[0]
    assert vm["metadata"]["annotations"][render.OWNER_STACK] == OWNER.stack
    assert vm["metadata"]["annotations"]["team"] == "net"


@pytest.mark.parametrize(
    "obj",
    [
        None,
        {"metadata": {"name": "x"}},
        {"metadata": {"labels": MANAGED_BY}},  # managed-by alone is not an owner
        {"metadata": {"annotations": {render.OWNER_STACK: "p/s"}}},
        {"metadata": {"annotations": {render.OWNER_STACK: "", render.OWNER_RESOURCE: "r"}}},
        {"metadata": {"annotations": "not a map"}},
    ],
)
def test_objects_without_a_complete_marker_have_no_owner(obj: dict[str, Any] | None) -> None:
    assert parse_owner(obj) is None
    assert not owned(obj, OWNER)


def test_another_stack_or_resource_is_not_the_owner() -> None:
    vm = every_object()[0]
    assert not owned(vm, Owner(OWNER.stack, "other"))
    assert not owned(vm, Owner("demo-project/prod", OWNER.resource))


def test_the_owner_marker_is_not_drift() -> None:
    args = VirtualMachineArgs.model_validate(
        {"target": KUBE, "name": "vm", "kubevirt": {"annotations": {"team": "net"}}}
    )
    live = render.render_vm(args, namespace="demo", owner=OWNER)
    assert parse_vm(live, args) == dump(args)


def test_absent_policy_removes_every_interface_it_made() -> None:
    bridge = BridgeArgs.model_validate(
        {
            "target": KUBE,
            "name": "br1",
            "bridge": "br1",
            "bond": {"name": "bond0", "ports": ["eth1", "eth2"], "mode": "active-backup"},
        }
    )
    present = render.render_nncp(bridge, owner=OWNER)["spec"]["desiredState"]["interfaces"]
    absent = render.render_nncp(bridge, owner=OWNER, absent=True)["spec"]["desiredState"]["interfaces"]
    assert [i["name"] for i in absent] == [i["name"] for i in present] == ["bond0", "br1"]
    assert {i["state"] for i in absent} == {"absent"} and {i["state"] for i in present} == {"up"}


def test_secret_names_match_the_rendered_secrets() -> None:
    vm = VirtualMachineArgs.model_validate(
        {"target": KUBE, "name": "v", "cloud_init": {"user_data": "x", "ssh_authorized_keys": ["k"]}}
    )
    rendered = [s["metadata"]["name"] for s in render.render_cloud_init_secrets(vm, namespace="d", owner=OWNER)]
    assert render.secret_names(vm) == rendered == ["v-cloudinit", "v-ssh-keys"]
    own_secret = vm.model_copy(update={"cloud_init": vm.cloud_init.model_copy(update={"secret_name": "mine"})})  # type: ignore[union-attr]
    assert render.secret_names(own_secret) == ["v-ssh-keys"]
