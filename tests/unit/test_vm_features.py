"""VM features of issue 12, each on both backends: rendered (KubeVirt manifests against the
vendored schema, libvirt XML against libvirt's RelaxNG), read back without drift, refused at
check where a backend cannot express it (the failure names the exact field), and classified
(live / restart / replace) for updates."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from pulumi_kubevirt.provider.core import PLANNED_CHANGE
from pulumi_kubevirt.provider.kinds import MIGRATION, VIRTUAL_MACHINE
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


# -- interface ports (masquerade port forwarding) ---------------------------------------------
PORTS = [{"name": "http", "port": 80}, {"port": 5353, "protocol": "UDP"}, {"name": "ssh", "port": 22}]


def test_ports_render_on_the_masquerade_interface() -> None:
    args = kube(interfaces=[{"name": "default", "pod": True, "ports": PORTS}])
    (nic,) = template(manifest_of(args))["domain"]["devices"]["interfaces"]
    assert nic == {
        "name": "default",
        "masquerade": {},
        "model": "virtio",
        "ports": [
            {"name": "http", "port": 80, "protocol": "TCP"},
            {"port": 5353, "protocol": "UDP"},
            {"name": "ssh", "port": 22, "protocol": "TCP"},
        ],
    }
    explicit = kube(interfaces=[{"name": "default", "pod": True, "binding": "masquerade", "ports": PORTS[:1]}])
    assert template(manifest_of(explicit))["domain"]["devices"]["interfaces"][0]["ports"] == [
        {"name": "http", "port": 80, "protocol": "TCP"}
    ]


def test_ports_defaulted_by_kubevirt_are_not_drift_and_a_lost_port_is() -> None:
    args = kube(interfaces=[{"name": "default", "pod": True, "ports": PORTS}])
    manifest = krender.render_vm(args, namespace="demo", owner=OWNER)
    live = template(manifest)["domain"]["devices"]["interfaces"][0]["ports"]
    del live[0]["protocol"]  # TCP is KubeVirt's default
    assert diff_data(dump(args), kparse.parse_vm(manifest, args)) == []
    del live[2]
    changed = [p for p, _o, _n in diff_data(dump(args), kparse.parse_vm(manifest, args))]
    assert changed == [("interfaces", "default", "ports")]


@pytest.mark.parametrize(
    ("nic", "path", "words"),
    [
        ({"name": "lan", "network": "br-lan", "ports": PORTS}, "interfaces[0].ports", "masquerade binding only"),
        (
            {"name": "d", "pod": True, "binding": "bridge", "ports": PORTS},
            "interfaces[0].ports",
            "masquerade binding only",
        ),
        (
            {"name": "d", "pod": True, "ports": [{"port": 0}]},
            "interfaces[0].ports[0].port",
            "greater than or equal to 1",
        ),
        ({"name": "d", "pod": True, "ports": [{"port": 65536}]}, "interfaces[0].ports[0].port", "less than or equal"),
        (
            {"name": "d", "pod": True, "ports": [{"port": 80, "protocol": "SCTP"}]},
            "interfaces[0].ports[0].protocol",
            "'TCP' or 'UDP'",
        ),
        (
            {"name": "d", "pod": True, "ports": [{"name": "HTTP", "port": 80}]},
            "interfaces[0].ports[0].name",
            "not a port name",
        ),
        (
            {"name": "d", "pod": True, "ports": [{"name": "a-very-long-name1", "port": 80}]},
            "interfaces[0].ports[0].name",
            "at most 15",
        ),
        (
            {"name": "d", "pod": True, "ports": [{"name": "8080", "port": 80}]},
            "interfaces[0].ports[0].name",
            "at least one letter",
        ),
        (
            {"name": "d", "pod": True, "ports": [{"name": "web", "port": 80}, {"name": "web", "port": 8080}]},
            "interfaces[0].ports",
            "name 'web' appears twice (ports[0] and ports[1])",
        ),
    ],
)
def test_bad_ports_are_refused_at_check_on_the_field(nic: dict[str, Any], path: str, words: str) -> None:
    found = failures({**KUBE, "interfaces": [nic]})
    assert path in found, found
    assert words in found[path], found[path]


def test_ports_are_refused_on_libvirt() -> None:
    found = failures({**LIBVIRT, "interfaces": [{"name": "lan", "network": "default", "ports": PORTS}]})
    assert found == {"interfaces[0].ports": "ports needs a kubevirt target"}


def test_port_changes_apply_at_the_next_start() -> None:
    old = {**KUBE, "interfaces": [{"name": "default", "pod": True, "ports": PORTS}]}
    new = {**KUBE, "interfaces": [{"name": "default", "pod": True, "ports": PORTS[:1]}]}
    assert classify(old, new) == {"interfaces[default].ports": "restart"}


def test_a_webhook_cause_on_a_port_names_the_port() -> None:
    field = "spec.template.spec.domain.devices.interfaces[1].ports[2].name"
    assert kparse.parse_cause_field(field) == "interfaces[1].ports[2].name"
    assert kparse.parse_cause_field(field.rsplit(".", 1)[0]) == "interfaces[1].ports[2]"


# -- EFI secure boot + SMM ----------------------------------------------------------------------
SECURE: dict[str, Any] = {"firmware": "uefi", "secure_boot": True, "smm": True}


def test_secure_boot_and_smm_on_kubevirt() -> None:
    domain = template(manifest_of(kube(**SECURE)))["domain"]
    assert domain["firmware"] == {"bootloader": {"efi": {"secureBoot": True}}}
    assert domain["features"] == {"smm": {"enabled": True}}
    plain = template(manifest_of(kube(firmware="uefi")))["domain"]
    assert plain["firmware"] == {"bootloader": {"efi": {"secureBoot": False}}}  # KubeVirt's default is true
    assert "features" not in plain
    assert template(manifest_of(kube(smm=False)))["domain"]["features"] == {"smm": {"enabled": False}}


def test_kubevirt_efi_without_secure_boot_key_reads_as_secure_boot() -> None:
    args = kube(firmware="uefi")
    manifest = krender.render_vm(args, namespace="demo", owner=OWNER)
    template(manifest)["domain"]["firmware"]["bootloader"]["efi"] = {}
    assert diff_data(dump(args), kparse.parse_vm(manifest, args)) == [(("secure_boot",), False, True)]


def test_secure_boot_and_smm_on_libvirt() -> None:
    root = domain_of(libvirt(machine="q35", **SECURE))
    assert root.find("os").get("firmware") == "efi"  # type: ignore[union-attr]
    assert root.find("os/loader").attrib == {"secure": "yes"}  # type: ignore[union-attr]
    assert root.find("os/firmware/feature").attrib == {"enabled": "yes", "name": "secure-boot"}  # type: ignore[union-attr]
    assert root.find("features/smm").attrib == {"state": "on"}  # type: ignore[union-attr]
    plain = domain_of(libvirt(firmware="uefi", smm=False))
    assert plain.find("os/loader") is None  # libvirt refuses secure='no' with firmware autoselection
    assert plain.find("os/firmware/feature").attrib == {"enabled": "no", "name": "secure-boot"}  # type: ignore[union-attr]
    assert plain.find("features/smm").attrib == {"state": "off"}  # type: ignore[union-attr]
    assert domain_of(libvirt()).find("features/smm") is None


def test_smm_libvirt_turns_on_by_itself_is_not_drift_unless_set() -> None:
    args = libvirt(firmware="uefi")
    root = etree.fromstring(lrender.render_domain(args).encode())
    root.find("features").append(etree.Element("smm", state="on"))  # type: ignore[union-attr]
    xml = etree.tostring(root, encoding="unicode")
    assert diff_data(dump(args), lparse.parse_domain(xml, args)) == []
    off = libvirt(firmware="uefi", smm=False)
    assert diff_data(dump(off), lparse.parse_domain(xml, off)) == [(("smm",), False, True)]


@pytest.mark.parametrize("base", [KUBE, LIBVIRT], ids=["kubevirt", "libvirt"])
@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ({"secure_boot": True, "smm": True}, "secure_boot", "set firmware='uefi'"),
        ({"firmware": "uefi", "secure_boot": True}, "smm", "set smm=True"),
        ({"firmware": "uefi", "secure_boot": True, "smm": False}, "smm", "set smm=True"),
    ],
)
def test_secure_boot_without_what_it_needs_is_refused(
    base: dict[str, Any], fields: dict[str, Any], path: str, words: str
) -> None:
    found = failures({**base, "machine": "q35", **fields})
    assert path in found, found
    assert words in found[path]


def test_secure_boot_on_libvirt_needs_q35() -> None:
    assert "set machine='q35'" in failures({**LIBVIRT, **SECURE})["machine"]
    assert "set machine='q35'" in failures({**LIBVIRT, **SECURE, "machine": "pc"})["machine"]
    assert failures({**LIBVIRT, **SECURE, "machine": "pc-q35-7.2"}) == {}
    assert failures({**KUBE, **SECURE}) == {}  # KubeVirt's machine is q35


@pytest.mark.parametrize("base", [KUBE, {**LIBVIRT, "machine": "q35"}], ids=["kubevirt", "libvirt"])
def test_secure_boot_and_smm_changes_apply_at_the_next_start(base: dict[str, Any]) -> None:
    assert classify({**base, "firmware": "uefi"}, {**base, **SECURE}) == {"secure_boot": "restart", "smm": "restart"}


# -- kernel boot from a container image -------------------------------------------------------
KERNEL_IMAGE = {
    "container_image": "quay.io/kubevirt/alpine-ext-kernel-boot-demo:v1.8.0",
    "kernel": "/boot/vmlinuz-virt",
    "initrd": "/boot/initramfs-virt",
    "cmdline": "console=ttyS0 quiet",
}


def test_kernel_boot_from_a_container_image_on_kubevirt() -> None:
    domain = template(manifest_of(kube(kernel_boot=KERNEL_IMAGE)))["domain"]
    assert domain["firmware"] == {
        "kernelBoot": {
            "container": {
                "image": "quay.io/kubevirt/alpine-ext-kernel-boot-demo:v1.8.0",
                "kernelPath": "/boot/vmlinuz-virt",
                "initrdPath": "/boot/initramfs-virt",
            },
            "kernelArgs": "console=ttyS0 quiet",
        }
    }
    initrd_only = {"container_image": "quay.io/x/k:1", "initrd": "/initrd.img"}
    both = template(manifest_of(kube(firmware="uefi", kernel_boot=initrd_only)))["domain"]["firmware"]
    assert both == {
        "bootloader": {"efi": {"secureBoot": False}},
        "kernelBoot": {"container": {"image": "quay.io/x/k:1", "initrdPath": "/initrd.img"}},
    }


def test_kernel_boot_drift_is_reported_by_field() -> None:
    args = kube(kernel_boot=KERNEL_IMAGE)
    manifest = krender.render_vm(args, namespace="demo", owner=OWNER)
    manifest["spec"]["template"]["spec"]["domain"]["firmware"]["kernelBoot"]["container"]["imagePullPolicy"] = "Always"
    assert diff_data(dump(args), kparse.parse_vm(manifest, args)) == []  # a server default, not ours
    del manifest["spec"]["template"]["spec"]["domain"]["firmware"]["kernelBoot"]["kernelArgs"]
    assert diff_data(dump(args), kparse.parse_vm(manifest, args)) == [
        (("kernel_boot", "cmdline"), "console=ttyS0 quiet", None)
    ]
    del manifest["spec"]["template"]["spec"]["domain"]["firmware"]
    assert diff_data(dump(args), kparse.parse_vm(manifest, args))[0][0] == ("kernel_boot",)


def test_libvirt_kernel_boot_from_host_paths_still_renders() -> None:
    root = domain_of(
        libvirt(kernel_boot={"kernel": "/k/vmlinuz", "initrd": "/k/initrd.gz", "cmdline": "console=ttyS0"})
    )
    assert [(el.tag, el.text) for el in root.find("os")[1:]] == [  # type: ignore[index]
        ("kernel", "/k/vmlinuz"),
        ("initrd", "/k/initrd.gz"),
        ("cmdline", "console=ttyS0"),
    ]


@pytest.mark.parametrize(
    ("base", "kernel_boot", "path", "words"),
    [
        (KUBE, {"kernel": "/boot/vmlinuz"}, "kernel_boot.container_image", "set container_image"),
        (KUBE, {"container_image": "quay.io/x/k:1"}, "kernel_boot.kernel", "give kernel and/or initrd"),
        (KUBE, {**KERNEL_IMAGE, "container_image": "Not An Image"}, "kernel_boot.container_image", "image"),
        (KUBE, {**KERNEL_IMAGE, "kernel": "boot/vmlinuz"}, "kernel_boot.kernel", "absolute"),
        (LIBVIRT, KERNEL_IMAGE, "kernel_boot.container_image", "needs a kubevirt target"),
        (LIBVIRT, {"initrd": "/k/initrd.gz"}, "kernel_boot.kernel", "set its path on the hypervisor"),
    ],
    ids=["kube-host-path", "kube-no-paths", "kube-bad-image", "kube-relative", "libvirt-image", "libvirt-no-kernel"],
)
def test_kernel_boot_refusals_name_the_field(
    base: dict[str, Any], kernel_boot: dict[str, Any], path: str, words: str
) -> None:
    found = failures({**base, "kernel_boot": kernel_boot})
    assert path in found, found
    assert words in found[path], found[path]


def test_kernel_boot_changes_apply_at_the_next_start() -> None:
    old = {**KUBE, "kernel_boot": KERNEL_IMAGE}
    new = {**KUBE, "kernel_boot": {**KERNEL_IMAGE, "cmdline": "console=ttyS0"}}
    assert classify(old, new) == {"kernel_boot.cmdline": "restart"}


def test_a_webhook_cause_on_kernel_boot_names_the_field() -> None:
    prefix = "spec.template.spec.domain.firmware.kernelBoot."
    assert kparse.parse_cause_field(prefix + "container.image") == "kernel_boot.container_image"
    assert kparse.parse_cause_field(prefix + "container.kernelPath") == "kernel_boot.kernel"
    assert kparse.parse_cause_field(prefix + "kernelArgs") == "kernel_boot.cmdline"
    assert kparse.parse_cause_field(prefix + "container") == "kernel_boot"


# -- USB host devices -----------------------------------------------------------------------------
def test_usb_host_devices_on_kubevirt_by_permitted_resource_name() -> None:
    usb = [
        {"name": "token", "resource_name": "kubevirt.io/storage"},
        {"name": "dongle", "resource_name": "acme.com/zw"},
    ]
    devices = template(manifest_of(kube(usb_host_devices=usb)))["domain"]["devices"]
    assert devices["hostDevices"] == [
        {"name": "token", "deviceName": "kubevirt.io/storage"},
        {"name": "dongle", "deviceName": "acme.com/zw"},
    ]
    assert "hostDevices" not in template(manifest_of(kube()))["domain"]["devices"]


def test_usb_host_devices_on_libvirt_by_vendor_and_product() -> None:
    usb = [{"name": "token", "vendor": "046D", "product": "0xc52b"}]
    args = libvirt(usb_host_devices=usb)
    assert args.usb_host_devices[0].vendor == "0x046d"  # lsusb's spelling, normalized to libvirt's
    (hostdev,) = domain_of(args).findall("devices/hostdev")
    assert hostdev.attrib == {"mode": "subsystem", "type": "usb"}
    assert hostdev.find("source/vendor").attrib == {"id": "0x046d"}  # type: ignore[union-attr]
    assert hostdev.find("source/product").attrib == {"id": "0xc52b"}  # type: ignore[union-attr]
    assert hostdev.find("alias").attrib == {"name": "ua-usb-token"}  # type: ignore[union-attr]


def test_usb_devices_read_back_by_alias_and_a_foreign_hostdev_is_ignored() -> None:
    args = libvirt(usb_host_devices=[{"name": "token", "vendor": "0x046d", "product": "0xc52b"}])
    root = etree.fromstring(lrender.render_domain(args).encode())
    devices = root.find("devices")
    assert devices is not None
    foreign = b"<hostdev mode='subsystem' type='pci' managed='yes'><source><address bus='0x01'/></source></hostdev>"
    devices.append(etree.fromstring(foreign))
    devices.find("hostdev/source/vendor").set("id", "0x46D")  # type: ignore[union-attr]  # libvirt's spelling
    xml = etree.tostring(root, encoding="unicode")
    assert diff_data(dump(args), lparse.parse_domain(xml, args)) == []
    devices.find("hostdev/source/product").set("id", "0xc52c")  # type: ignore[union-attr]
    xml = etree.tostring(root, encoding="unicode")
    assert diff_data(dump(args), lparse.parse_domain(xml, args)) == [
        (("usb_host_devices", "token", "product"), "0xc52b", "0xc52c")
    ]


@pytest.mark.parametrize(
    ("base", "usb", "path", "words"),
    [
        (KUBE, {"name": "t", "vendor": "046d", "product": "c52b"}, "usb_host_devices[0].vendor", "give resource_name"),
        (KUBE, {"name": "t"}, "usb_host_devices[0].resource_name", "permittedHostDevices.usb"),
        (
            LIBVIRT,
            {"name": "t", "resource_name": "kubevirt.io/storage"},
            "usb_host_devices[0].resource_name",
            "vendor and product",
        ),
        (LIBVIRT, {"name": "t", "vendor": "046d"}, "usb_host_devices[0].product", "set product"),
        (LIBVIRT, {"name": "t", "vendor": "46d", "product": "c52b"}, "usb_host_devices[0].vendor", "four hex digits"),
        (LIBVIRT, {"name": "T_1", "vendor": "046d", "product": "c52b"}, "usb_host_devices[0].name", "not a valid name"),
        (KUBE, {"name": "t", "resource_name": "not a name"}, "usb_host_devices[0].resource_name", "not a name"),
    ],
)
def test_usb_refusals_name_the_field(base: dict[str, Any], usb: dict[str, Any], path: str, words: str) -> None:
    found = failures({**base, "usb_host_devices": [usb]})
    assert path in found, found
    assert words in found[path], found[path]


def test_usb_device_names_are_unique_on_the_list() -> None:
    usb = [{"name": "t", "resource_name": "a.io/x"}, {"name": "t", "resource_name": "a.io/y"}]
    assert (
        "appears twice (usb_host_devices[0] and usb_host_devices[1])"
        in failures({**KUBE, "usb_host_devices": usb})["usb_host_devices"]
    )


@pytest.mark.parametrize(
    ("base", "usb"),
    [(KUBE, {"name": "t", "resource_name": "a.io/x"}), (LIBVIRT, {"name": "t", "vendor": "046d", "product": "c52b"})],
    ids=["kubevirt", "libvirt"],
)
def test_usb_changes_apply_at_the_next_start(base: dict[str, Any], usb: dict[str, Any]) -> None:
    assert classify(base, {**base, "usb_host_devices": [usb]}) == {"usb_host_devices[t]": "restart"}


def test_a_webhook_cause_on_a_host_device_names_it() -> None:
    field = "spec.template.spec.domain.devices.hostDevices[1].deviceName"
    assert kparse.parse_cause_field(field) == "usb_host_devices[1].resource_name"
    # e.g. "Host Devices feature gate is not enabled in kubevirt-config"
    assert kparse.parse_cause_field("spec.template.spec.domain.devices.hostDevices") == "usb_host_devices"


# -- defaults that follow the backend: vnc ------------------------------------------------------
def test_vnc_unset_follows_kubevirt_default_and_set_renders_explicitly() -> None:
    devices = template(manifest_of(kube()))["domain"]["devices"]
    assert "autoattachGraphicsDevice" not in devices  # KubeVirt's default: a graphics device
    assert template(manifest_of(kube(vnc=False)))["domain"]["devices"]["autoattachGraphicsDevice"] is False
    assert template(manifest_of(kube(vnc=True)))["domain"]["devices"]["autoattachGraphicsDevice"] is True
    checked, found = VIRTUAL_MACHINE.check(None, KUBE, unknown=UNKNOWN)
    assert found == [] and "vnc" not in checked


def test_vnc_false_left_on_a_kubevirt_vm_by_an_older_version_is_no_drift_from_unset() -> None:
    # unset leaves an existing VM's graphics device as it is (test_upgrade_drift.py: the upgrade)
    args = kube()
    manifest = krender.render_vm(args, namespace="demo", owner=OWNER)
    template(manifest)["domain"]["devices"]["autoattachGraphicsDevice"] = False
    assert diff_data(dump(args), kparse.parse_vm(manifest, args)) == []
    del template(manifest)["domain"]["devices"]["autoattachGraphicsDevice"]
    on = kube(vnc=True)
    assert diff_data(dump(on), kparse.parse_vm(manifest, on)) == []  # absent means attached


def test_vnc_unset_on_libvirt_is_no_graphics_and_set_renders_explicitly() -> None:
    assert domain_of(libvirt()).find("devices/graphics") is None
    assert domain_of(libvirt(vnc=False)).find("devices/graphics") is None
    assert domain_of(libvirt(vnc=True)).find("devices/graphics").get("type") == "vnc"  # type: ignore[union-attr]
    args = libvirt()
    root = etree.fromstring(lrender.render_domain(args).encode())
    root.find("devices").append(etree.Element("graphics", type="vnc"))  # type: ignore[union-attr]
    xml = etree.tostring(root, encoding="unicode")
    assert diff_data(dump(args), lparse.parse_domain(xml, args)) == [(("vnc",), None, True)]


# -- an instancetype sizes the VM -----------------------------------------------------------------
SIZED: dict[str, Any] = {**KUBE, "kubevirt": {"instancetype": {"name": "u1.medium"}}}


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"memory": "2Gi"}, "memory"),
        ({"memory": "512Mi"}, "memory"),  # the default value, given: still given
        ({"max_memory": "8Gi"}, "max_memory"),
        ({"cpu": {"sockets": 2}}, "cpu.sockets"),
        ({"cpu": {"cores": 1}}, "cpu.cores"),
        ({"cpu": {"threads": 2}}, "cpu.threads"),
        ({"cpu": {"model": "host-passthrough"}}, "cpu.model"),
        ({"cpu": {"max_sockets": 4}}, "cpu.max_sockets"),
    ],
)
def test_sizes_next_to_an_instancetype_are_refused_on_the_field(fields: dict[str, Any], path: str) -> None:
    found = failures({**SIZED, **fields})
    assert list(found) == [path], found
    assert "the instancetype sizes the VM: KubeVirt refuses " + path in found[path]
    assert "conflicts with the selected instance type" in found[path]


def test_an_instancetype_alone_checks_again_from_its_own_output_and_renders_no_sizes() -> None:
    checked, found = VIRTUAL_MACHINE.check(None, {**SIZED, "cpu": {}}, unknown=UNKNOWN)
    assert found == []
    assert "memory" not in checked and "cpu" not in checked  # defaults would read as given next time
    again, found = VIRTUAL_MACHINE.check(checked, checked, unknown=UNKNOWN)
    assert found == [] and again[PLANNED_CHANGE] == "no change"
    domain = template(manifest_of(VirtualMachineArgs.model_validate(SIZED)))["domain"]
    assert "memory" not in domain and "cpu" not in domain


def test_a_preference_never_conflicts_with_sizes() -> None:
    assert failures({**KUBE, "memory": "2Gi", "cpu": {"sockets": 2}, "kubevirt": {"preference": {"name": "p"}}}) == {}


def test_moving_onto_an_instancetype_restarts() -> None:
    old = {**KUBE, "memory": "2Gi", "cpu": {"sockets": 2}}
    assert classify(old, SIZED) == {"memory": "restart", "cpu": "restart", "kubevirt": "restart"}


def test_usb_host_devices_make_a_kubevirt_vm_not_live_migratable_but_not_a_libvirt_one() -> None:
    kube_vm = {
        "name": "web",
        "target": {"kind": "kubevirt"},
        "usb_host_devices": [{"name": "t", "resource_name": "a.io/x"}],
    }
    _inputs, found = MIGRATION.check(
        None, {"name": "m", "vm": "web", "target": {"kind": "kubevirt"}, "vm_spec": kube_vm}, unknown=UNKNOWN
    )
    assert [f.property for f in found] == ["vm"]
    assert "usb_host_devices" in found[0].reason and "allow_unsafe" in found[0].reason
    libvirt_vm = {"name": "web", "usb_host_devices": [{"name": "t", "vendor": "046d", "product": "c52b"}]}
    migration = {"name": "m", "vm": "web", "destination_uri": "qemu+tcp://b/system", "vm_spec": libvirt_vm}
    assert MIGRATION.check(None, migration, unknown=UNKNOWN)[1] == []  # libvirt re-attaches USB devices
