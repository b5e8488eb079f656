"""Server, BridgedNetwork, Router and VmPool made for real on qemu:///system.

The component programs run in-process under tests.support.provider_engine: Pulumi's
SDK resolves Outputs and depends_on as under the engine, and every resource is
checked and created (later diffed and updated) by its real provider against
libvirtd, with the tiny guest (TCG, 128Mi) reporting on its serial console.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import libvirt
import pycdlib
import pytest
import yaml
from lxml import etree

from pulumi_kubevirt.components import BridgedNetwork, Router, Server, VmPool
from tests.harness.guest import (
    BOOT_TIMEOUT,
    BOOTED,
    DISK_LABEL_RE,
    IP_RE,
    GuestImage,
    read_serial,
    serial_log_path,
    unique_name,
    wait_for_serial,
)
from tests.harness.libvirt_fixtures import free_ipv4_subnet
from tests.support.provider_engine import ProviderEngine


@pytest.fixture
def engine() -> Iterator[ProviderEngine]:
    eng = ProviderEngine(stack=unique_name("stack"))
    yield eng
    assert eng.destroy() == []


def guest_boot(guest: GuestImage, **extra: Any) -> dict[str, Any]:
    """VirtualMachine fields booting the tiny guest (its disks and NICs come from the component)."""
    return {
        "accelerator": "tcg",
        "kernel_boot": {"kernel": str(guest.kernel), "initrd": str(guest.initrd), "cmdline": "console=ttyS0 panic=-1"},
        **extra,
    }


def labelled_image(path: Path, label: str) -> Path:
    """A raw image whose first line the guest reports as the disk's label."""
    path.write_bytes(label.encode() + b"\n" + b"\0" * (4 << 20))
    return path


def seed_user_data(conn: libvirt.virConnect, vm: str) -> dict[str, Any]:
    """The user data in the VM's NoCloud seed ISO, parsed."""
    vol = conn.storagePoolLookupByName("default").storageVolLookupByName(f"{vm}-cidata.iso")
    iso = pycdlib.PyCdlib()
    iso.open(vol.path())
    try:
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, joliet_path="/user-data")
    finally:
        iso.close()
    text = out.getvalue().decode()
    assert text.startswith("#cloud-config\n")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def interface_networks(dom: libvirt.virDomain) -> list[str]:
    xml = etree.fromstring(dom.XMLDesc(0).encode())
    return [str(s.get("network")) for s in xml.findall("./devices/interface/source")]


def test_server_on_a_bridged_network_boots_its_image_with_cloud_init_and_reports_ssh(
    engine: ProviderEngine, libvirt_uri: str, libvirt_conn: libvirt.virConnect, guest: GuestImage, tmp_path: Path
) -> None:
    target = {"kind": "libvirt", "uri": libvirt_uri}
    subnet = free_ipv4_subnet()
    net_name, name = unique_name("net"), unique_name("srv")
    image = labelled_image(tmp_path / "root.raw", "PKV-SERVER-ROOT")
    serial_log_path(name).unlink(missing_ok=True)

    def program() -> Any:
        lan = BridgedNetwork(
            net_name, target=target, ipv4={"address": f"{subnet.network_address + 1}/{subnet.prefixlen}"}
        )
        server = Server(
            name,
            target=target,
            image=str(image),
            root_disk_options={"format": "raw"},
            memory="128Mi",
            user="ops",
            ssh_authorized_keys=["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey ops@test"],
            packages=["htop"],
            networks=[lan],
            vm_options=guest_boot(guest, wait_for_ip=True),
        )
        return {"ssh": server.ssh_endpoints, "ipv4": server.vm.ipv4, "network": lan.network_name}

    out = engine.run(program)
    assert out["network"] == net_name
    ip = out["ipv4"]["nic0"]
    assert IPv4Address(ip) in subnet
    assert out["ssh"] == [f"{ip}:22"]

    # the root disk is the image, attached first: the guest reads its label on vda
    lines = wait_for_serial(serial_log_path(name), IP_RE, BOOT_TIMEOUT)
    assert IP_RE.match(lines[0]).group(2).split("/")[0] == ip  # type: ignore[union-attr]
    log = read_serial(serial_log_path(name))
    assert log.count(BOOTED) == 1
    labels = {m.group(1): m.group(2) for line in log if (m := DISK_LABEL_RE.match(line))}
    assert labels.get("vda") == "PKV-SERVER-ROOT"
    dom = libvirt_conn.lookupByName(name)
    assert dom.isActive() and interface_networks(dom) == [net_name]
    # the cloud-config reached the seed as YAML data
    doc = seed_user_data(libvirt_conn, name)
    assert doc["hostname"] == name and doc["packages"] == ["htop"]
    assert doc["users"][1]["name"] == "ops"
    assert doc["users"][1]["ssh_authorized_keys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey ops@test"]

    assert engine.destroy() == []
    assert name not in [d.name() for d in libvirt_conn.listAllDomains()]
    assert net_name not in [n.name() for n in libvirt_conn.listAllNetworks()]


def test_router_nics_follow_the_roles_on_two_networks(
    engine: ProviderEngine, libvirt_uri: str, libvirt_conn: libvirt.virConnect, guest: GuestImage, tmp_path: Path
) -> None:
    target = {"kind": "libvirt", "uri": libvirt_uri}
    wan_name, lan_name, name = unique_name("wan"), unique_name("lan"), unique_name("rtr")
    image = labelled_image(tmp_path / "router.raw", "PKV-ROUTER")

    def program() -> Any:
        wan = BridgedNetwork(wan_name, target=target)
        lan = BridgedNetwork(lan_name, target=target)
        router = Router(
            name,
            target=target,
            wan=wan,
            lan=lan,
            image=str(image),
            root_disk_options={"format": "raw"},
            memory="128Mi",
            cpus=1,
            vm_options=guest_boot(guest, run_state="stopped"),
        )
        return router.vm.state

    assert engine.run(program) in ("stopped", "shutoff")
    dom = libvirt_conn.lookupByName(name)
    assert not dom.isActive()
    assert interface_networks(dom) == [wan_name, lan_name]
    for net in (wan_name, lan_name):
        assert libvirt_conn.networkLookupByName(net).isActive()
    disk_sources = etree.fromstring(dom.XMLDesc(0).encode()).findall("./devices/disk/source")
    assert [s.get("volume") for s in disk_sources] == [f"{name}-root.raw"]


def test_vm_pool_scales_and_rolls_a_restart_class_change_one_vm_at_a_time(
    engine: ProviderEngine, libvirt_uri: str, libvirt_conn: libvirt.virConnect, guest: GuestImage
) -> None:
    target = {"kind": "libvirt", "uri": libvirt_uri}
    name = unique_name("pool")

    def pool(count: int, memory: str) -> Any:
        def program() -> Any:
            vms = VmPool(
                name,
                count=count,
                target=target,
                template=guest_boot(guest, memory=memory),
                root_disk={"size": "8Mi"},
                update_timeout="3m",
                shutdown_timeout="30s",
            )
            return {"names": vms.names, "states": [vm.state for vm in vms.vms]}

        return program

    for i in range(3):
        serial_log_path(f"{name}-{i}").unlink(missing_ok=True)
    out = engine.run(pool(3, "128Mi"))
    assert out == {"names": [f"{name}-0", f"{name}-1", f"{name}-2"], "states": ["running"] * 3}
    created = engine.ops("create")
    # the chain also orders creation
    assert (
        created[f"{name}-0"].end <= created[f"{name}-1"].start <= created[f"{name}-1"].end <= created[f"{name}-2"].start
    )

    # scale down: the highest index goes, the others stay untouched
    assert engine.run(pool(2, "128Mi"))["names"] == [f"{name}-0", f"{name}-1"]
    assert engine.delete_missing() == []
    domains = {d.name() for d in libvirt_conn.listAllDomains() if d.name().startswith(name)}
    assert domains == {f"{name}-0", f"{name}-1"}

    # a restart-class change rolls: VM 1 is updated only after VM 0 restarted and runs again
    for i in range(2):
        wait_for_serial(serial_log_path(f"{name}-{i}"), "^PKV-ACPI-READY$", BOOT_TIMEOUT)
    engine.events.clear()
    out = engine.run(pool(2, "160Mi"))
    assert out["states"] == ["running", "running"]
    updated = engine.ops("update")
    assert sorted(updated) == [f"{name}-0", f"{name}-1"]
    assert updated[f"{name}-0"].end <= updated[f"{name}-1"].start
    for i in range(2):
        dom = libvirt_conn.lookupByName(f"{name}-{i}")
        assert dom.isActive() and dom.maxMemory() == 160 * 1024
        # rebooted once into the new config (the update returns once the domain runs; the guest boots on)
        assert len(wait_for_serial(serial_log_path(f"{name}-{i}"), f"^{BOOTED}$", BOOT_TIMEOUT, count=2)) == 2
