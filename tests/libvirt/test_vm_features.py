"""VM features of issue 12 on a real libvirtd (qemu:///system): what each renders is accepted by
libvirt's define, reads back without drift, and where this machine can run it, runs.

No OVMF is installed on the test machines, so secure boot is defined (and read back) but not
started; SMM itself is started on a q35 guest under TCG. A USB device is passed by vendor/product,
which libvirt resolves only at start: starting without the device is a clean provider error.
"""

from __future__ import annotations

from typing import Any

import libvirt
import pytest
from lxml import etree

from pulumi_kubevirt.provider.errors import ProviderError
from pulumi_kubevirt.provider.resources import VirtualMachineProvider
from tests.harness.guest import BOOT_TIMEOUT, BOOTED, GuestImage, serial_log_path, unique_name, wait_for_serial
from tests.libvirt.test_resources import Made, checked, create, made, user_inputs, vm_inputs

__all__ = ["made"]  # the fixture, shared with test_resources


def inactive_xml(conn: libvirt.virConnect, name: str) -> etree._Element:
    return etree.fromstring(conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())


def new_vm(made: list[Made], guest: GuestImage, **fields: Any) -> tuple[VirtualMachineProvider, dict[str, Any], Made]:
    """A VM of the tiny guest with `fields`, created through the provider (deleted by `made`)."""
    vmp = VirtualMachineProvider()
    name = unique_name("vm")
    serial_log_path(name).unlink(missing_ok=True)
    inputs = checked(vmp, {}, vm_inputs(guest, name, **fields))
    return vmp, inputs, create(made, vmp, inputs)


def no_drift(vmp: VirtualMachineProvider, vm: Made, inputs: dict[str, Any]) -> None:
    read = vmp.read(vm.id, vm.outs)
    assert read.id == vm.id
    diff = vmp.diff(vm.id, read.outs, inputs)
    assert diff.changes is False, read.inputs


def test_secure_boot_domain_is_defined_as_rendered_and_reads_back(
    made: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    fields = {"machine": "q35", "firmware": "uefi", "secure_boot": True, "smm": True, "run_state": "stopped"}
    vmp, inputs, vm = new_vm(made, guest, **fields)
    name = inputs["name"]
    root = inactive_xml(libvirt_conn, name)
    assert root.find("os").get("firmware") == "efi"  # type: ignore[union-attr]
    assert root.find("os/loader").get("secure") == "yes"  # type: ignore[union-attr]
    assert root.find("os/firmware/feature[@name='secure-boot']").get("enabled") == "yes"  # type: ignore[union-attr]
    assert root.find("features/smm").get("state") == "on"  # type: ignore[union-attr]
    no_drift(vmp, vm, inputs)
    # turning secure boot off is a restart-class redefine in place, read back as such
    off = checked(vmp, inputs, {**user_inputs(inputs), "secure_boot": False})
    assert off["planned_change"] == "restart: secure_boot True->False"
    vm.outs = dict(vmp.update(vm.id, vm.outs, off).outs)
    feature = inactive_xml(libvirt_conn, name).find("os/firmware/feature[@name='secure-boot']")
    assert feature is not None and feature.get("enabled") == "no"
    no_drift(vmp, vm, off)


def test_smm_guest_boots_on_q35_and_has_no_graphics_by_default(
    made: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    vmp, inputs, vm = new_vm(made, guest, machine="q35", smm=True)
    name = inputs["name"]
    assert "vnc" not in inputs  # unset: libvirt's default, no graphics
    assert vm.outs["state"] == "running"
    assert len(wait_for_serial(serial_log_path(name), BOOTED, BOOT_TIMEOUT)) == 1
    live = etree.fromstring(libvirt_conn.lookupByName(name).XMLDesc(0).encode())
    assert live.find("features/smm").get("state") == "on"  # type: ignore[union-attr]
    assert live.find("devices/graphics") is None
    no_drift(vmp, vm, inputs)


def test_usb_host_device_is_defined_by_vendor_and_product_and_a_missing_device_fails_cleanly(
    made: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    usb = [{"name": "token", "vendor": "0x1d6b", "product": "0x0104"}]  # no such device on the test machines
    vmp, inputs, vm = new_vm(made, guest, usb_host_devices=usb, run_state="stopped")
    name = inputs["name"]
    (hostdev,) = inactive_xml(libvirt_conn, name).findall("devices/hostdev")
    assert (hostdev.get("mode"), hostdev.get("type")) == ("subsystem", "usb")
    assert hostdev.find("source/vendor").get("id") == "0x1d6b"  # type: ignore[union-attr]
    assert hostdev.find("source/product").get("id") == "0x0104"  # type: ignore[union-attr]
    assert hostdev.find("alias").get("name") == "ua-usb-token"  # type: ignore[union-attr]
    no_drift(vmp, vm, inputs)
    running = checked(vmp, inputs, {**user_inputs(inputs), "run_state": "running"})
    with pytest.raises(ProviderError) as err:
        vmp.update(vm.id, vm.outs, running)
    assert name in str(err.value)
    assert not libvirt_conn.lookupByName(name).isActive()
