"""Router: a VM with WAN / LAN (/ DMZ) NICs on bridged networks — the home-lab OPNsense story.

Composition only (house rule 10): a root Disk from an image and a VirtualMachine
whose NICs are named after their role (`wan`, `lan`, `dmz`, then `extra_nics` in
order), each on a BridgedNetwork, a Bridge, an existing network/NAD or (KubeVirt,
WAN only makes sense) the pod network. VLANs belong to the networks (BridgedNetwork
`vlan=`). `live_migratable` (KubeVirt) asks for ReadWriteMany storage and the
LiveMigrate eviction strategy, so node drains move the router instead of stopping it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from pulumi_kubevirt.provider import Disk, VirtualMachine

from ._parts import ImageRef, NetworkRef, child_options, component_error, disk_source, interface, target_kind
from .cloud_config import render_cloud_config


class Router(pulumi.ComponentResource):
    """A router/firewall VM with one NIC per role."""

    vm: VirtualMachine
    root_disk: Disk
    nics: list[str]
    """The NIC names, in device order (keys of `vm.ipv4`)."""

    def __init__(
        self,
        name: str,
        *,
        lan: NetworkRef,
        image: ImageRef,
        target: Mapping[str, Any] | None = None,
        wan: NetworkRef | None = None,
        dmz: NetworkRef | None = None,
        extra_nics: Mapping[str, NetworkRef] | None = None,
        disk_size: str | None = None,
        root_disk_options: Mapping[str, Any] | None = None,
        memory: str = "2Gi",
        cpus: int = 2,
        hostname: str | None = None,
        cloud_config: Mapping[str, Any] | None = None,
        live_migratable: bool = False,
        vm_options: Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the router.

        Args:
            name: logical name; also the VM's name. The root disk is `<name>-root`.
            lan: the inside network.
            image: root disk content (see components._parts.ImageRef), e.g. an OPNsense qcow2 URL.
            target: where it lives (default: the stack-config target).
            wan: the uplink network (first NIC when given).
            dmz: a third, demilitarized network (e.g. a VLAN BridgedNetwork).
            extra_nics: further `{nic name: network}`, after the roles.
            disk_size: root disk size (required for a KubeVirt import).
            root_disk_options: further Disk fields (storage_class, volume_mode, format, ...).
            memory: guest memory.
            cpus: vCPUs (sockets).
            hostname: set through cloud-init when given (routers that run cloud-init).
            cloud_config: further #cloud-config keys (implies cloud-init user data).
            live_migratable: KubeVirt: ReadWriteMany root disk and evictionStrategy LiveMigrate.
            vm_options: further VirtualMachine fields (kubevirt, firmware, restart_policy, ...).
            opts: resource options of the component.
        """
        super().__init__("pulumi-kubevirt:components:Router", name, None, opts)
        kubevirt = target_kind(target) == "kubevirt"
        if live_migratable and not kubevirt:
            raise component_error("Router", name, "live_migratable", "needs a kubevirt target (libvirt: Migration)")
        named = (("wan", wan), ("lan", lan), ("dmz", dmz))
        roles: list[tuple[str, NetworkRef]] = [(role, net) for role, net in named if net is not None]
        for nic_name, network in (extra_nics or {}).items():
            if nic_name in ("wan", "lan", "dmz"):
                raise component_error("Router", name, f"extra_nics.{nic_name}", "use the wan/lan/dmz argument")
            roles.append((nic_name, network))
        self.nics = [role for role, _network in roles]

        try:
            source = disk_source(image)
        except ValueError as err:
            raise component_error("Router", name, "image", str(err)) from err
        disk_fields: dict[str, Any] = {"source": source}
        if live_migratable:
            disk_fields["access_modes"] = ["ReadWriteMany"]
        disk_fields.update(root_disk_options or {})
        if disk_size is not None:
            disk_fields["size"] = disk_size
        if target is not None:
            disk_fields["target"] = dict(target)
        self.root_disk = Disk(f"{name}-root", opts=child_options(self), **disk_fields)

        fields: dict[str, Any] = dict(vm_options or {})
        if target is not None:
            fields["target"] = dict(target)
        fields["memory"] = memory
        fields["cpu"] = {**dict(fields.get("cpu") or {}), "sockets": cpus}
        fields["disks"] = [{"name": "root", "disk": self.root_disk, "boot_order": 1}, *list(fields.get("disks") or [])]
        fields["interfaces"] = [interface(role, network) for role, network in roles]
        if live_migratable:
            fields["kubevirt"] = {"eviction_strategy": "LiveMigrate", **dict(fields.get("kubevirt") or {})}
        if hostname or cloud_config:
            try:
                user_data = render_cloud_config(hostname=hostname, extra=cloud_config)
            except ValueError as err:
                raise component_error("Router", name, "cloud_config", str(err)) from err
            fields["cloud_init"] = {"user_data": pulumi.Output.secret(user_data)}
        self.vm = VirtualMachine(name, opts=child_options(self), **fields)
        self.register_outputs({"state": self.vm.state, "ipv4": self.vm.ipv4})
