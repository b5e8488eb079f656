"""Bridge: the Pulumi resource and its dynamic provider."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from ..kinds import BRIDGE
from ._dynamic import DynamicAdapter, resource_props


class BridgeProvider(DynamicAdapter):
    """Dynamic provider of Bridge."""

    kind = BRIDGE


class Bridge(Resource):
    """An L2 segment: a libvirt network, or on KubeVirt an NNCP + a NAD.

    Attach a VM NIC with `{"name": "nic0", "bridge": this}`.
    """

    network_name: pulumi.Output[str]
    bridge_device: pulumi.Output[str]
    active: pulumi.Output[bool]
    pending_restart: pulumi.Output[bool]
    pending_changes: pulumi.Output[list[str]]
    planned_change: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **fields: Any,
    ) -> None:
        inputs: dict[str, Any] = {"name": name or resource_name, **fields}
        super().__init__(BridgeProvider(), resource_name, resource_props(BRIDGE, inputs, opts), opts)
