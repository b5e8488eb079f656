"""Bridge: the Pulumi resource and its dynamic provider."""

from __future__ import annotations

import pulumi

from ..kinds import BRIDGE
from ._dynamic import DynamicAdapter
from .inputs import TypedBridge


class BridgeProvider(DynamicAdapter):
    """Dynamic provider of Bridge."""

    kind = BRIDGE


class Bridge(TypedBridge, module="kubevirt", name="Bridge"):
    """An L2 segment: a libvirt network, or on KubeVirt an NNCP + a NAD.

    Attach a VM NIC with `{"name": "nic0", "bridge": this}`.
    """

    network_name: pulumi.Output[str]
    bridge_device: pulumi.Output[str]
    active: pulumi.Output[bool]
    pending_restart: pulumi.Output[bool]
    pending_changes: pulumi.Output[list[str]]
    planned_change: pulumi.Output[str]

    provider_class = BridgeProvider
