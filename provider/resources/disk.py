"""Disk: the Pulumi resource and its dynamic provider."""

from __future__ import annotations

from typing import Any

import pulumi

from ..kinds import DISK
from ._dynamic import DynamicAdapter
from .inputs import TypedDisk


class DiskProvider(DynamicAdapter):
    """Dynamic provider of Disk."""

    kind = DISK


class Disk(TypedDisk, module="kubevirt", name="Disk"):
    """A disk image: a libvirt volume or a KubeVirt DataVolume.

    Pass it to a VirtualMachine disk as `{"name": "root", "disk": this}`; to
    another Disk's source as `source={"kind": "clone", "volume": this.ref}`.
    """

    ref: pulumi.Output[dict[str, str]]
    path: pulumi.Output[str]
    capacity: pulumi.Output[int]
    allocation: pulumi.Output[int]
    phase: pulumi.Output[str | None]
    claim_name: pulumi.Output[str | None]
    planned_change: pulumi.Output[str]

    provider_class = DiskProvider

    @property
    def attachment(self) -> pulumi.Output[dict[str, Any]]:
        """What a VM disk attachment needs to reference this disk."""
        return self.ref.apply(
            lambda ref: {"data_volume": ref["data_volume"]} if "data_volume" in ref else {"volume": dict(ref)}
        )
