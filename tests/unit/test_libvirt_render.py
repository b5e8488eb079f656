"""libvirt XML: golden files, libvirt's own schemas, render -> parse round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from pulumi_kubevirt.provider.libvirt import parse, render
from pulumi_kubevirt.provider.models import BridgeArgs, DiskArgs, VirtualMachineArgs
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.plan import diff_data, path_text

from .conftest import Golden, validate_xml

FULL_VM = VirtualMachineArgs.model_validate(
    {
        "name": "vm-full",
        "description": "router <&'\"> VM",
        "labels": {"role": "router", "odd": "<&'\">"},
        "memory": "1Gi",
        "max_memory": "2Gi",
        "cpu": {"sockets": 2, "max_sockets": 4, "cores": 2, "threads": 1, "model": "host-model"},
        "machine": "q35",
        "accelerator": "tcg",
        "kernel_boot": {"kernel": "/boot/vmlinuz", "initrd": "/boot/initrd.img", "cmdline": "console=ttyS0 a=<b>"},
        "disks": [
            {"name": "root", "volume": {"pool": "default", "volume": "root.qcow2"}, "boot_order": 1},
            {"name": "data", "volume": {"pool": "fast", "volume": "data.raw"}, "bus": "scsi"},
            {"name": "iso", "path": "/isos/install.iso", "cdrom": True, "bus": "sata"},
        ],
        "interfaces": [
            {"name": "lan", "network": "br-lan", "mac": "52:54:00:12:34:56"},
            {"name": "web", "network": "br-web", "model": "e1000e", "vlan": 6},
        ],
        "cloud_init": {"user_data": "#cloud-config\n", "ssh_authorized_keys": ["ssh-ed25519 AAAA x"]},
        "vnc": True,
        "guest_agent": True,
        "rng": True,
    }
)
MINIMAL_VM = VirtualMachineArgs(name="vm-min")
SEED = render.SeedPlacement(pool="default", volume="vm-full-cidata.iso")


@pytest.mark.parametrize(
    ("args", "seed", "golden_name"), [(FULL_VM, SEED, "vm-full.xml"), (MINIMAL_VM, None, "vm-min.xml")]
)
def test_domain_golden_and_schema_valid(args: VirtualMachineArgs, seed: Any, golden_name: str, golden: Golden) -> None:
    xml = render.render_domain(args, seed=seed)
    golden.check(golden_name, xml)
    validate_xml(xml, "domain")


@pytest.mark.parametrize("args", [FULL_VM, MINIMAL_VM])
def test_domain_round_trip(args: VirtualMachineArgs) -> None:
    xml = render.render_domain(args, seed=SEED if args.cloud_init else None)
    assert diff_data(dump(args), parse.parse_domain(xml, args)) == []


def test_specials_cannot_inject_xml() -> None:
    xml = render.render_domain(FULL_VM, seed=SEED)
    root = etree.fromstring(xml.encode())
    assert root.findtext("description") == "router <&'\"> VM"
    assert root.findtext("os/cmdline") == "console=ttyS0 a=<b>"
    assert len(root.findall("devices/interface")) == 2  # nothing smuggled in


def test_libvirt_defaults_are_not_drift() -> None:
    """What libvirt adds on define (expanded machine, MACs, controllers, addresses) reads back as no change."""
    args = MINIMAL_VM.model_copy(update={"machine": "pc"})
    root = etree.fromstring(render.render_domain(args).encode())
    root.find("os/type").set("machine", "pc-i440fx-7.2")  # type: ignore[union-attr]
    devices = root.find("devices")
    assert devices is not None
    devices.append(etree.fromstring(b"<controller type='usb' index='0' model='piix3-uhci'/>"))
    devices.append(etree.fromstring(b"<memballoon model='virtio'/>"))
    observed = parse.parse_domain(etree.tostring(root, encoding="unicode"), args)
    assert diff_data(dump(args), observed) == []


def test_drift_is_reported_by_field() -> None:
    root = etree.fromstring(render.render_domain(FULL_VM, seed=SEED).encode())
    root.find("currentMemory").text = str(1536 * 1024)  # type: ignore[union-attr]
    root.find("devices/interface/source").set("network", "other")  # type: ignore[union-attr]
    changes = {
        path_text(p): (o, n)
        for p, o, n in diff_data(dump(FULL_VM), parse.parse_domain(etree.tostring(root, encoding="unicode"), FULL_VM))
    }
    assert changes == {"memory": ("1Gi", "1536Mi"), "interfaces[lan].network": ("br-lan", "other")}


@pytest.mark.parametrize(
    ("bridge", "golden_name"),
    [
        (BridgeArgs(name="lan", mode="nat", ipv4={"address": "192.168.150.1/24"}, vlan=6), "net-nat.xml"),
        (BridgeArgs(name="web", mode="bridge", bridge="br-web"), "net-bridge.xml"),
        (BridgeArgs(name="iso", mode="isolated", bridge="pkv-iso0", stp=True, mtu=1450), "net-isolated.xml"),
    ],
)
def test_network_golden_schema_round_trip(bridge: BridgeArgs, golden_name: str, golden: Golden) -> None:
    xml = render.render_network(bridge)
    golden.check(golden_name, xml)
    validate_xml(xml, "network")
    assert diff_data(dump(bridge), parse.parse_network(xml, bridge)) == []


def test_pool_and_volume_schema_valid(golden: Golden) -> None:
    validate_xml(render.render_pool("fast", "/var/lib/libvirt/pools/fast"), "storagepool")
    disk = DiskArgs(name="root", size="10Gi")
    xml = render.render_volume(disk, capacity=10 * 2**30, backing=("/var/lib/libvirt/images/base.qcow2", "qcow2"))
    golden.check("vol-overlay.xml", xml)
    validate_xml(xml, "storagevol")


def test_seed_is_a_cidata_iso() -> None:
    import io

    import pycdlib

    data = render.render_seed(
        instance_id="iid-x",
        hostname="x",
        user_data="#cloud-config\nusers: []\n",
        network_data=None,
        ssh_authorized_keys=["ssh-ed25519 AAAA k"],
    )
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(data))
    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, rr_path="/user-data")
    assert out.getvalue() == b"#cloud-config\nusers: []\n"
    meta = io.BytesIO()
    iso.get_file_from_iso_fp(meta, rr_path="/meta-data")
    assert b"instance-id: iid-x" in meta.getvalue() and b"ssh-ed25519 AAAA k" in meta.getvalue()
    assert iso.pvd.volume_identifier.strip() == b"cidata"
    iso.close()


_names = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)


@st.composite
def vm_inputs(draw: st.DrawFn) -> dict[str, Any]:
    sockets = draw(st.integers(1, 4))
    disks = draw(
        st.lists(st.tuples(_names, st.sampled_from(["virtio", "sata", "scsi"])), max_size=4, unique_by=lambda t: t[0])
    )
    nics = draw(st.lists(_names, max_size=3, unique=True))
    usb = draw(st.lists(_names, max_size=2, unique=True))
    usb_id = st.integers(0, 0xFFFF).map(lambda n: f"{n:04x}")
    machine = draw(st.none() | st.sampled_from(["pc", "q35"]))
    firmware = draw(st.sampled_from(["bios", "uefi"]))
    secure_boot = firmware == "uefi" and machine == "q35" and draw(st.booleans())
    inputs: dict[str, Any] = {
        "name": draw(_names),
        "description": draw(st.none() | _text),
        "labels": draw(st.dictionaries(_names, _text, max_size=3)),
        "memory": f"{draw(st.integers(16, 4096))}Mi",
        "cpu": {
            "sockets": sockets,
            "max_sockets": draw(st.none() | st.integers(sockets, 8)),
            "cores": draw(st.integers(1, 4)),
            "threads": draw(st.integers(1, 2)),
        },
        "machine": machine,
        "firmware": firmware,
        "secure_boot": secure_boot,
        "smm": True if secure_boot else draw(st.none() | st.booleans()),
        "accelerator": draw(st.sampled_from(["kvm", "tcg"])),
        "disks": [{"name": n, "volume": {"pool": "default", "volume": f"{n}.qcow2"}, "bus": b} for n, b in disks],
        "interfaces": [
            {"name": n, "network": draw(_names), "vlan": draw(st.none() | st.integers(1, 4094))} for n in nics
        ],
        "usb_host_devices": [{"name": n, "vendor": draw(usb_id), "product": draw(usb_id)} for n in usb],
        "vnc": draw(st.none() | st.booleans()),
        "rng": draw(st.booleans()),
    }
    return {k: v for k, v in inputs.items() if v is not None}  # None: unset, as Pulumi sends it


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vm_inputs())
def test_any_valid_model_renders_schema_valid_xml_and_round_trips(inputs: dict[str, Any]) -> None:
    args = VirtualMachineArgs.model_validate(inputs)
    xml = render.render_domain(args)
    validate_xml(xml, "domain")
    assert diff_data(dump(args), parse.parse_domain(xml, args)) == []


@settings(max_examples=50, deadline=None)
@given(vm_inputs(), st.sampled_from(["memory", "name", "cpu", "disks"]), st.sampled_from(["", "-1", "x<y", 7]))
def test_any_invalid_model_is_a_clean_validation_error(inputs: dict[str, Any], field: str, bad: Any) -> None:
    broken = {**inputs, field: bad}
    with pytest.raises(ValidationError) as err:
        VirtualMachineArgs.model_validate(broken)
    assert all(isinstance(e["msg"], str) and e["msg"] for e in err.value.errors())
