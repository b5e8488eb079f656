"""VirtualMachine: the Pulumi resource and its dynamic provider."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi

from ..kinds import VIRTUAL_MACHINE
from ._dynamic import DynamicAdapter, KindResource
from .bridge import Bridge
from .disk import Disk
from .inputs import TypedVirtualMachine


class VirtualMachineProvider(DynamicAdapter):
    """Dynamic provider of VirtualMachine (see provider/core.py for the contract)."""

    kind = VIRTUAL_MACHINE


def _resolved(item: object, key: str, kind: type[Any], resolve: Callable[[Any, dict[str, Any]], Any]) -> Any:
    """A dict item whose `key` is a `kind` resource, as `resolve(resource, the other keys)`; any other item
    as given (a non-dict goes to check unchanged, which names the field)."""
    if not isinstance(item, Mapping):
        return item
    found = item.get(key)
    if not isinstance(found, kind):
        return dict(item)
    return resolve(found, {k: v for k, v in item.items() if k != key})


def _attachment(item: object) -> Any:
    """`disk=<Disk>` becomes the Disk's attachment source (volume or data_volume)."""
    return _resolved(item, "disk", Disk, lambda disk, rest: disk.attachment.apply(lambda src: {**rest, **src}))


def _interface(item: object) -> Any:
    """`bridge=<Bridge>` becomes the Bridge's network name."""
    return _resolved(item, "bridge", Bridge, lambda br, rest: br.network_name.apply(lambda n: {**rest, "network": n}))


class VirtualMachine(TypedVirtualMachine, module="kubevirt", name="VirtualMachine"):
    """A virtual machine on libvirt or KubeVirt.

    Every field of `VirtualMachineArgs` is a keyword argument (typed: TypedVirtualMachine). Disks may name a
    `Disk` resource (`{"name": "root", "disk": root}`), interfaces a `Bridge`
    (`{"name": "nic0", "bridge": lan}`). `planned_change` shows, in preview,
    whether an update is applied live, at the next restart, or by replacement.
    """

    uuid: pulumi.Output[str]
    state: pulumi.Output[str]
    macs: pulumi.Output[dict[str, str]]
    ipv4: pulumi.Output[dict[str, str]]
    serial_log_path: pulumi.Output[str | None]
    pending_restart: pulumi.Output[bool]
    pending_changes: pulumi.Output[list[str]]
    host_uri: pulumi.Output[str]
    printable_status: pulumi.Output[str | None]
    phase: pulumi.Output[str | None]
    node: pulumi.Output[str | None]
    conditions: pulumi.Output[dict[str, str]]
    hot_plugged_disks: pulumi.Output[list[str] | None]
    planned_change: pulumi.Output[str]
    provider_class = VirtualMachineProvider

    def _construct(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str] | None = None,
        disks: Sequence[Mapping[str, Any]] | None = None,
        interfaces: Sequence[Mapping[str, Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **fields: Any,
    ) -> None:
        inputs: dict[str, Any] = dict(fields)
        # Anything but a list of dicts (`disks="root"`, one dict, an Output) goes to check as
        # given, which names the field; only dict items can name a Disk or a Bridge.
        if disks is not None:
            inputs["disks"] = [_attachment(d) for d in disks] if isinstance(disks, (list, tuple)) else disks
        if interfaces is not None:
            inputs["interfaces"] = (
                [_interface(i) for i in interfaces] if isinstance(interfaces, (list, tuple)) else interfaces
            )
        KindResource.__init__(self, resource_name, name=name, opts=opts, **inputs)

    if not TYPE_CHECKING:  # the type checker sees TypedVirtualMachine's typed signature
        __init__ = _construct
