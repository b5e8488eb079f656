"""Field paths of a webhook refusal (the real virt-api names the device or volume entry) map to the input."""

from __future__ import annotations

import pytest

from pulumi_kubevirt.provider.kubevirt.parse import parse_cause_field

SPEC = "spec.template.spec."


@pytest.mark.parametrize(
    ("cause", "field"),
    [
        # what KubeVirt v1.8's VM webhook says for a masquerade binding on a Multus network
        (SPEC + "domain.devices.interfaces[0].name", "interfaces[0]"),
        (SPEC + "domain.devices.disks[2].name", "disks[2]"),
        (SPEC + "volumes[1].containerDisk", "disks[1]"),
        (SPEC + "domain.devices.disks[0].disk.bus", "disks[0].bus"),
        # v1.8's "Host Devices feature gate is not enabled in kubevirt-config" names this path
        (SPEC + "HostDevices", "usb_host_devices"),
        # its LiveUpdate memory rules name the guest memory (for maxGuest's too)
        (SPEC + "domain.memory.guest", "memory"),
    ],
)
def test_device_and_volume_entries_name_the_input_entry(cause: str, field: str) -> None:
    assert parse_cause_field(cause) == field
