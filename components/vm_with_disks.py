"""VmWithDisks: a VirtualMachine and the Disks it boots from, as one component.

Composition only (house rule 10): each disk spec becomes a Disk child, attached
to a VirtualMachine child in the given order; no CRUD logic lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import pulumi

from pulumi_kubevirt.provider import Disk, VirtualMachine
from pulumi_kubevirt.provider.resources.inputs import DiskAttachmentArgs

_ATTACHMENT_KEYS = ("bus", "readonly", "cdrom", "boot_order")


class VmWithDisks(pulumi.ComponentResource):
    """A VM plus its disks. `disks` items are Disk arguments plus optional attachment keys
    (bus, readonly, cdrom, boot_order); the first disk boots first unless told otherwise."""

    vm: VirtualMachine
    disks: dict[str, Disk]

    def __init__(
        self,
        name: str,
        *,
        target: Mapping[str, Any] | None = None,
        disks: Sequence[Mapping[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
        **vm_fields: Any,
    ) -> None:
        super().__init__("pulumi-kubevirt:components:VmWithDisks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.disks = {}
        attachments: list[DiskAttachmentArgs] = []
        for index, spec in enumerate(disks):
            disk_name = spec["name"]
            disk_args = {k: v for k, v in spec.items() if k not in _ATTACHMENT_KEYS and k != "name"}
            if target is not None:
                disk_args.setdefault("target", target)
            disk = Disk(f"{name}-{disk_name}", opts=child, **disk_args)
            self.disks[disk_name] = disk
            attachment = cast(
                DiskAttachmentArgs,
                {"name": disk_name, "disk": disk, **{k: spec[k] for k in _ATTACHMENT_KEYS if k in spec}},
            )
            if index == 0 and not any("boot_order" in s for s in disks):
                attachment["boot_order"] = 1
            attachments.append(attachment)
        if target is not None:
            vm_fields["target"] = target
        self.vm = VirtualMachine(name, disks=attachments, opts=child, **vm_fields)
        self.register_outputs({"state": self.vm.state, "ipv4": self.vm.ipv4})
