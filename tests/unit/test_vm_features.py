"""VM features of issue 12, each on both backends: rendered (KubeVirt manifests against the
vendored schema, libvirt XML against libvirt's RelaxNG), read back without drift, refused at
check where a backend cannot express it (the failure names the exact field), and classified
(live / restart / replace) for updates."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from pulumi_kubevirt.provider.kinds import VIRTUAL_MACHINE
from pulumi_kubevirt.provider.kubevirt import parse as kparse
from pulumi_kubevirt.provider.kubevirt import render as krender
from pulumi_kubevirt.provider.libvirt import parse as lparse
from pulumi_kubevirt.provider.libvirt import render as lrender
from pulumi_kubevirt.provider.models import VirtualMachineArgs
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.ownership import Owner
from pulumi_kubevirt.provider.plan import diff_data
from tests.support.k8s_schema import validate

from .conftest import validate_xml

KUBE: dict[str, Any] = {"name": "vm1", "target": {"kind": "kubevirt", "namespace": "demo"}}
LIBVIRT: dict[str, Any] = {"name": "vm1", "accelerator": "tcg"}
OWNER = Owner("demo-project/dev", "vm1")
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def kube(**fields: Any) -> VirtualMachineArgs:
    return VirtualMachineArgs.model_validate({**KUBE, **fields})


def libvirt(**fields: Any) -> VirtualMachineArgs:
    return VirtualMachineArgs.model_validate({**LIBVIRT, **fields})


def manifest_of(args: VirtualMachineArgs) -> dict[str, Any]:
    """The VM manifest, valid against the vendored schema and read back without drift."""
    manifest = krender.render_vm(args, namespace="demo", owner=OWNER)
    validate(manifest)
    assert diff_data(dump(args), kparse.parse_vm(manifest, args)) == []
    return manifest


def domain_of(args: VirtualMachineArgs) -> etree._Element:
    """The domain XML, valid against libvirt's schema and read back without drift."""
    xml = lrender.render_domain(args)
    validate_xml(xml, "domain")
    assert diff_data(dump(args), lparse.parse_domain(xml, args)) == []
    return etree.fromstring(xml.encode())


def template(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def failures(inputs: dict[str, Any]) -> dict[str, str]:
    _checked, found = VIRTUAL_MACHINE.check(None, inputs, unknown=UNKNOWN)
    return {f.property: f.reason for f in found}


def classify(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    """Each changed path's class, as check plans an update from `old` to `new` inputs."""
    before, after = (dump(VirtualMachineArgs.model_validate(d)) for d in (old, new))
    return {c.text: c.kind for c in VIRTUAL_MACHINE.plan(before, after).changes}


# -- emptyDisk ------------------------------------------------------------------------------
EMPTY = [{"name": "scratch", "empty_disk": "2Gi", "bus": "scsi"}]


def test_empty_disk_renders_an_empty_disk_volume() -> None:
    spec = template(manifest_of(kube(disks=EMPTY)))
    assert spec["volumes"] == [{"name": "scratch", "emptyDisk": {"capacity": "2Gi"}}]
    assert spec["domain"]["devices"]["disks"] == [{"name": "scratch", "disk": {"bus": "scsi"}}]


def test_empty_disk_capacity_respelled_by_the_apiserver_is_not_drift() -> None:
    args = kube(disks=EMPTY)
    manifest = krender.render_vm(args, namespace="demo", owner=OWNER)
    template(manifest)["volumes"][0]["emptyDisk"]["capacity"] = "2048Mi"
    assert diff_data(dump(args), kparse.parse_vm(manifest, args)) == []
    template(manifest)["volumes"][0]["emptyDisk"]["capacity"] = "3Gi"
    assert [(p, o, n) for p, o, n in diff_data(dump(args), kparse.parse_vm(manifest, args))] == [
        (("disks", "scratch", "empty_disk"), "2Gi", "3Gi")
    ]


def test_empty_disk_is_refused_on_libvirt_pointing_to_a_blank_disk() -> None:
    found = failures({**LIBVIRT, "disks": EMPTY})
    assert list(found) == ["disks[0].empty_disk"]
    assert "needs a kubevirt target" in found["disks[0].empty_disk"]
    assert "blank source" in found["disks[0].empty_disk"]


@pytest.mark.parametrize(
    ("disk", "path", "words"),
    [
        ({"name": "s", "empty_disk": "10"}, "disks[0].empty_disk", "below the 1Mi"),
        ({"name": "s", "empty_disk": 2**30}, "disks[0].empty_disk", "give a quantity with its unit"),
        ({"name": "s", "empty_disk": "1Gi", "pvc": "p"}, "disks[0]", "exactly one source"),
    ],
)
def test_bad_empty_disks_name_the_field(disk: dict[str, Any], path: str, words: str) -> None:
    found = failures({**KUBE, "disks": [disk]})
    assert path in found, found
    assert words in found[path]


def test_empty_disk_changes_apply_at_the_next_start() -> None:
    assert classify(KUBE, {**KUBE, "disks": EMPTY}) == {"disks[scratch]": "restart"}
    grown = [{**EMPTY[0], "empty_disk": "4Gi"}]
    assert classify({**KUBE, "disks": EMPTY}, {**KUBE, "disks": grown}) == {"disks[scratch].empty_disk": "restart"}
