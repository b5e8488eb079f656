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

from .common import Model, Name, Timeouts
from .target import LibvirtTarget, Target


class Ipv4(Model):
    """The host side address of a managed network, and its DHCP range."""

    address: str = Field(description="Host address with prefix, e.g. 192.168.150.1/24")
    dhcp_start: str | None = Field(None, description="First DHCP address (default: .2 of the subnet)")
    dhcp_end: str | None = Field(None, description="Last DHCP address (default: last host of the subnet)")
    dhcp: bool = Field(True, description="Serve DHCP on this network")

    @field_validator("address")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            iface = ipaddress.IPv4Interface(value)
        except ValueError as err:
            raise ValueError(f"{value!r} is not an IPv4 address with prefix (e.g. 10.0.0.1/24)") from err
        if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
            raise ValueError(f"{value!r} is the network or broadcast address")
        return value

    @property
    def interface(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(self.address)

    def dhcp_range(self) -> tuple[str, str]:
        hosts = list(self.interface.network.hosts())
        start = self.dhcp_start or str(hosts[1] if hosts[0] == self.interface.ip else hosts[0])
        end = self.dhcp_end or str(hosts[-1])
        return start, end

    @model_validator(mode="after")
    def _range(self) -> Ipv4:
        net = self.interface.network
        for f in ("dhcp_start", "dhcp_end"):
            value = getattr(self, f)
            if value is not None:
                try:
                    addr = ipaddress.IPv4Address(value)
                except ValueError as err:
                    raise ValueError(f"{f}: {value!r} is not an IPv4 address") from err
                if addr not in net:
                    raise ValueError(f"{f}: {value} is outside {net}")
        start, end = self.dhcp_range()
        if ipaddress.IPv4Address(start) > ipaddress.IPv4Address(end):
            raise ValueError(f"dhcp_start ({start}) is after dhcp_end ({end})")
        return self


class Bond(Model):
    """KubeVirt/nmstate: a bond under the bridge."""

    name: str = Field(description="Bond interface name, e.g. bond1")
    mode: Literal["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"]
    ports: list[str] = Field(min_length=1, description="Member NICs")
    miimon: int | None = Field(None, ge=0, description="MII link monitoring interval (ms)")
    mtu: int | None = Field(None, ge=576, le=9216, description="MTU")


class BridgeArgs(Model):
    """A bridge / network segment."""

    name: Name = Field(description="libvirt network name / NAD name")
    target: Target = Field(default_factory=LibvirtTarget, description="Where the bridge lives")
    mode: Literal["bridge", "nat", "route", "isolated", "open"] = Field(
        "nat", description="bridge: over an existing host bridge; others: libvirt-managed"
    )
    bridge: str | None = Field(None, description="Host bridge device name (max 15 chars)")
    ipv4: Ipv4 | None = Field(None, description="Managed networks: host address and DHCP")
    vlan: int | None = Field(None, ge=1, le=4094, description="VLAN tag of the ports (libvirt portgroup / NAD)")
    stp: bool = Field(False, description="Spanning tree on the bridge")
    mtu: int | None = Field(None, ge=576, le=9216, description="MTU")
    autostart: bool = Field(True, description="libvirt: start the network with libvirtd")
    ports: list[str] = Field(default_factory=list, description="KubeVirt/nmstate: host NICs to enslave")
    bond: Bond | None = Field(None, description="KubeVirt/nmstate: enslave a bond made of these ports")
    node_selector: dict[str, str] = Field(default_factory=dict, description="KubeVirt/nmstate: which nodes")
    manage_node_bridge: bool = Field(True, description="KubeVirt: also create the host bridge with an NNCP")
    vlan_on_node: bool = Field(
        False,
        description="KubeVirt: bridge a VLAN sub-interface PORT.VLAN on the node (untagged NAD) instead of tagging "
        "in the bridge CNI",
    )
    mac_spoof_check: bool = Field(True, description="KubeVirt: bridge CNI macspoofchk")
    annotations: dict[str, str] = Field(default_factory=dict, description="KubeVirt: NNCP and NAD annotations")
    cni_type: Literal["bridge", "cnv-bridge"] = Field(
        "bridge", description="KubeVirt: CNI plugin of the NAD (cnv-bridge on OpenShift Virtualization)"
    )
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")
    adopt: bool = Field(
        False,
        description="Take over an existing object of this name that this stack did not create (it is marked as "
        "owned from then on, and deleted with the resource). Default: refuse with a Conflict",
    )

    @field_validator("bridge")
    @classmethod
    def _ifname(cls, value: str | None) -> str | None:
        if value is not None and (not 1 <= len(value) <= 15 or "/" in value or " " in value):
            raise ValueError(f"{value!r} is not a Linux interface name (1-15 chars, no '/' or spaces)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BridgeArgs:
        if isinstance(self.target, LibvirtTarget):
            if self.mode == "bridge" and not self.bridge:
                raise ValueError("bridge: mode 'bridge' needs the name of an existing host bridge")
            if self.mode == "bridge" and self.ipv4 is not None:
                raise ValueError("ipv4: a 'bridge' mode network has no libvirt-managed address")
            if self.mode in ("nat", "route") and self.ipv4 is None:
                raise ValueError(
                    f"ipv4: mode {self.mode!r} needs an address, e.g. ipv4={{'address': '192.168.150.1/24'}}"
                )
            if self.ports or self.bond or self.node_selector or self.annotations:
                raise ValueError("ports/bond/node_selector/annotations describe node networking on a kubevirt target")
        elif not self.bridge:
            raise ValueError("bridge: a KubeVirt bridge needs the node bridge name, e.g. br1")
        elif self.vlan_on_node and (self.vlan is None or len(self.ports) != 1 or self.bond is not None):
            raise ValueError("vlan_on_node: needs vlan and exactly one port (the sub-interface's base), no bond")
        return self
