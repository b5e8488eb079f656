"""BridgeArgs: an L2 segment VMs attach NICs to.

libvirt: a libvirt network, either `bridge` mode over an existing host bridge or
libvirt-managed (nat/route/isolated/open) with its own bridge and DHCP.
KubeVirt: a NodeNetworkConfigurationPolicy (the host bridge, by nmstate) and/or a
NetworkAttachmentDefinition (the bridge CNI config VMs use).
Pure.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .common import INT32_MAX, Adopt, Bool, Int, Model, Name, Timeouts, field_error
from .syntax import Annotations, IfName, Labels, echo
from .target import LibvirtTarget, Target


def _address(value: str | None) -> str | None:
    if value is not None:
        try:
            ipaddress.IPv4Address(value)
        except ValueError as err:
            raise ValueError(f"{echo(value)} is not an IPv4 address") from err
    return value


class Ipv4(Model):
    """The host side address of a managed network, and its DHCP range."""

    address: str = Field(description="Host address with prefix, e.g. 192.168.150.1/24")
    dhcp_start: str | None = Field(None, description="First DHCP address (default: .2 of the subnet)")
    dhcp_end: str | None = Field(None, description="Last DHCP address (default: last host of the subnet)")
    dhcp: Bool = Field(True, description="Serve DHCP on this network")

    @field_validator("address")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            iface = ipaddress.IPv4Interface(value)
        except ValueError as err:
            raise ValueError(f"{echo(value)} is not an IPv4 address with prefix (e.g. 10.0.0.1/24)") from err
        if "/" not in value:
            raise ValueError(f"{echo(value)} has no prefix length: write e.g. {iface.ip}/24")
        if iface.network.prefixlen > 30:
            raise ValueError(f"{echo(value)}: a managed network needs at least a /30 (two host addresses)")
        if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
            raise ValueError(f"{echo(value)} is the network or broadcast address")
        return value

    @field_validator("dhcp_start", "dhcp_end")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        return _address(value)

    @property
    def interface(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(self.address)

    def dhcp_range(self) -> tuple[str, str]:
        net = self.interface.network
        first, last = net.network_address + 1, net.broadcast_address - 1
        start = self.dhcp_start or str(first + 1 if first == self.interface.ip else first)
        end = self.dhcp_end or str(last)
        return start, end

    @model_validator(mode="after")
    def _range(self) -> Ipv4:
        net = self.interface.network
        for f in ("dhcp_start", "dhcp_end"):
            value = getattr(self, f)
            if value is not None and ipaddress.IPv4Address(value) not in net:
                raise field_error((f,), f"{value} is outside {net}")
        start, end = self.dhcp_range()
        if ipaddress.IPv4Address(start) > ipaddress.IPv4Address(end):
            raise field_error(("dhcp_start",), f"dhcp_start ({start}) is after dhcp_end ({end})")
        return self


class Bond(Model):
    """KubeVirt/nmstate: a bond under the bridge."""

    name: IfName = Field(description="Bond interface name, e.g. bond1")
    mode: Literal["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"]
    ports: list[IfName] = Field(min_length=1, description="Member NICs")
    miimon: Int | None = Field(None, ge=0, le=INT32_MAX, description="MII link monitoring interval (ms)")
    mtu: Int | None = Field(None, ge=576, le=9216, description="MTU")


class BridgeArgs(Model):
    """A bridge / network segment."""

    name: Name = Field(description="libvirt network name / NAD name")
    target: Target = Field(default_factory=LibvirtTarget, description="Where the bridge lives")
    mode: Literal["bridge", "nat", "route", "isolated", "open"] = Field(
        "nat", description="bridge: over an existing host bridge; others: libvirt-managed"
    )
    bridge: IfName | None = Field(None, description="Host bridge device name (max 15 chars)")
    ipv4: Ipv4 | None = Field(None, description="Managed networks: host address and DHCP")
    vlan: Int | None = Field(None, ge=1, le=4094, description="VLAN tag of the ports (libvirt portgroup / NAD)")
    stp: Bool = Field(False, description="Spanning tree on the bridge")
    mtu: Int | None = Field(None, ge=576, le=9216, description="MTU")
    autostart: Bool = Field(True, description="libvirt: start the network with libvirtd")
    ports: list[IfName] = Field(default_factory=list, description="KubeVirt/nmstate: host NICs to enslave")
    bond: Bond | None = Field(None, description="KubeVirt/nmstate: enslave a bond made of these ports")
    node_selector: Labels = Field(default_factory=dict, description="KubeVirt/nmstate: which nodes")
    manage_node_bridge: Bool = Field(True, description="KubeVirt: also create the host bridge with an NNCP")
    vlan_on_node: Bool = Field(
        False,
        description="KubeVirt: bridge a VLAN sub-interface PORT.VLAN on the node (untagged NAD) instead of tagging "
        "in the bridge CNI",
    )
    mac_spoof_check: Bool = Field(True, description="KubeVirt: bridge CNI macspoofchk")
    annotations: Annotations = Field(default_factory=dict, description="KubeVirt: NNCP and NAD annotations")
    cni_type: Literal["bridge", "cnv-bridge"] = Field(
        "bridge", description="KubeVirt: CNI plugin of the NAD (cnv-bridge on OpenShift Virtualization)"
    )
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")
    adopt: Adopt = False

    @model_validator(mode="after")
    def _consistent(self) -> BridgeArgs:
        if isinstance(self.target, LibvirtTarget):
            if self.mode == "bridge" and not self.bridge:
                raise field_error(("bridge",), "mode 'bridge' needs the name of an existing host bridge")
            if self.mode == "bridge" and self.ipv4 is not None:
                raise field_error(("ipv4",), "a 'bridge' mode network has no libvirt-managed address")
            if self.mode in ("nat", "route") and self.ipv4 is None:
                raise field_error(
                    ("ipv4",), f"mode {self.mode!r} needs an address, e.g. ipv4={{'address': '192.168.150.1/24'}}"
                )
            for f in ("ports", "bond", "node_selector", "annotations"):
                if getattr(self, f):
                    raise field_error((f,), f"{f} describes node networking on a kubevirt target")
        elif not self.bridge:
            raise field_error(("bridge",), "a KubeVirt bridge needs the node bridge name, e.g. br1")
        elif self.vlan_on_node and (self.vlan is None or len(self.ports) != 1 or self.bond is not None):
            raise field_error(
                ("vlan_on_node",), "vlan_on_node needs vlan and exactly one port (the sub-interface's base), no bond"
            )
        return self
