"""BridgedNetwork: a node bridge, its optional VLAN and the attachment VMs use, in one declaration.

Composition only (house rule 10): one Bridge child, which on KubeVirt renders the
NodeNetworkConfigurationPolicy (the node bridge, by nmstate) and the
NetworkAttachmentDefinition (what a VM NIC names), and on libvirt a network (over an
existing host bridge, or a libvirt-managed one). Many VMs share it: pass the
component itself wherever a component takes a network, or `interface(...)` to a
VirtualMachine's `interfaces`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pulumi

from pulumi_kubevirt.provider import Bridge

from ._parts import child_options, target_kind

LibvirtMode = Literal["bridge", "nat", "route", "isolated", "open"]


class BridgedNetwork(pulumi.ComponentResource):
    """An L2 segment VMs attach to, backed by a host bridge.

    The child Bridge has the component's name, so the NAD / libvirt network is
    named `network_name or name`.
    """

    bridge: Bridge
    """The Bridge resource (NNCP + NAD, or a libvirt network)."""
    network_name: pulumi.Output[str]
    """What a VM interface names: the NAD (KubeVirt) or the libvirt network."""
    bridge_device: pulumi.Output[str]
    """The host bridge device."""
    vlan: int | None
    """The VLAN tag of this segment, if any."""

    def __init__(
        self,
        name: str,
        *,
        target: Mapping[str, Any] | None = None,
        bridge_device: str | None = None,
        vlan: int | None = None,
        ports: Sequence[str] = (),
        vlan_on_node: bool = False,
        stp: bool = False,
        mtu: int | None = None,
        node_selector: Mapping[str, str] | None = None,
        manage_node_bridge: bool = True,
        mode: LibvirtMode | None = None,
        ipv4: Mapping[str, Any] | None = None,
        network_name: str | None = None,
        bridge_options: Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the segment.

        Args:
            name: logical name; also the NAD / libvirt network name unless `network_name`.
            target: where it lives (default: the stack-config target).
            bridge_device: host bridge device (max 15 chars), e.g. `br-lan`. KubeVirt: required;
                libvirt: the existing host bridge of a `bridge` mode network, or the name
                libvirt gives a managed network's bridge.
            vlan: VLAN tag of the segment (KubeVirt: in the bridge CNI, or on the node with
                `vlan_on_node`; libvirt: the ports' tag).
            ports: KubeVirt: host NICs enslaved to the node bridge (nmstate).
            vlan_on_node: KubeVirt: bridge the sub-interface PORT.VLAN on the node (untagged NAD).
            stp: spanning tree on the bridge (off by default, as home labs and KubeVirt docs do).
            mtu: MTU of the bridge.
            node_selector: KubeVirt: the nodes the NNCP configures.
            manage_node_bridge: KubeVirt: also create the node bridge (False: it exists already).
            mode: libvirt: network mode (default: `bridge` over `bridge_device` when no `ipv4`,
                else `nat`; `isolated` when neither is given).
            ipv4: libvirt managed networks: `{"address": "10.0.0.1/24", ...}` (host address + DHCP).
            network_name: NAD / libvirt network name (default: `name`).
            bridge_options: further Bridge fields (annotations, cni_type, bond, mac_spoof_check, ...).
            opts: resource options of the component.
        """
        super().__init__("pulumi-kubevirt:components:BridgedNetwork", name, None, opts)
        fields: dict[str, Any] = {"stp": stp, **dict(bridge_options or {})}
        if target is not None:
            fields["target"] = dict(target)
        for key, value in (("bridge", bridge_device), ("vlan", vlan), ("mtu", mtu), ("ipv4", ipv4)):
            if value is not None:
                fields[key] = dict(value) if isinstance(value, Mapping) else value
        if target_kind(target) == "kubevirt":
            fields.update(ports=list(ports), manage_node_bridge=manage_node_bridge)
            if vlan_on_node:
                fields["vlan_on_node"] = True
            if node_selector:
                fields["node_selector"] = dict(node_selector)
            if mode is not None:
                fields["mode"] = mode
        else:
            # node-networking fields are passed through only when set, so the Bridge's own check
            # names them if they were given for a hypervisor
            if ports:
                fields["ports"] = list(ports)
            if node_selector:
                fields["node_selector"] = dict(node_selector)
            fields["mode"] = mode or ("nat" if ipv4 is not None else "bridge" if bridge_device else "isolated")
        self.vlan = vlan
        self.bridge = Bridge(name, name=network_name, opts=child_options(self), **fields)
        self.network_name = self.bridge.network_name
        self.bridge_device = self.bridge.bridge_device
        self.register_outputs({"network_name": self.network_name, "bridge_device": self.bridge_device})

    def interface(self, name: str, **options: Any) -> dict[str, Any]:
        """A VirtualMachine `interfaces` item on this segment (options: model, mac, ...)."""
        return {"name": name, "bridge": self.bridge, **options}
