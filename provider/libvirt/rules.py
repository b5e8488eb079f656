"""How each libvirt change is applied: the classification rules of plan.py.

Pure. Live means: done on the running domain without reboot — memory within the
balloon ceiling, vCPUs within the hot-plug maximum, NIC/disk hot plug on buses
that support it, NIC network/VLAN updates, power state and metadata.
"""

from __future__ import annotations

from typing import Any

from ..plan import Kind, Rule, memory_within_ceiling, sockets_within_ceiling


def _disk_plug(before: Any, after: Any, old: dict[str, Any], new: dict[str, Any]) -> Kind:
    disk = after if after is not None else before
    hotpluggable = disk.get("bus") in ("virtio", "scsi") and not disk.get("cdrom") and not disk.get("boot_order")
    return "live" if hotpluggable else "restart"


def _graphics(before: Any, after: Any, old: dict[str, Any], new: dict[str, Any]) -> Kind | None:
    """On libvirt `vnc` unset renders no graphics device, as false does: between the two there is
    no change (state from a version that stored false for unset plans none after an upgrade).
    Adding or removing the device is a restart."""
    return None if not before and not after else "restart"


VM_RULES: list[Rule] = [
    ("name", "replace"),
    ("target*", "replace"),
    ("timeouts*", "none"),
    ("restart_policy*", "none"),
    ("hosts", "none"),
    ("run_state", "live"),
    ("description", "live"),
    ("labels*", "live"),
    ("vnc", _graphics),
    ("memory", memory_within_ceiling),
    ("cpu.sockets", sockets_within_ceiling),
    ("disks[]", _disk_plug),
    ("interfaces[]", "live"),
    ("interfaces[].network", "live"),
    ("interfaces[].vlan", "live"),
]
"""Everything else (machine, firmware, cpu model/topology, cloud-init, devices) is restart."""

NETWORK_RULES: list[Rule] = [
    ("name", "replace"),
    ("target*", "replace"),
    ("timeouts*", "none"),
    ("autostart", "live"),
    ("ipv4.dhcp_*", "live"),
    ("ports", "none"),
    ("node_selector*", "none"),
]
"""A libvirt network cannot change mode/bridge/addresses while active: those are
`restart` (the network is redefined and restarted; attached NICs are re-plugged)."""

VOLUME_RULES: list[Rule] = [
    ("timeouts*", "none"),
    ("retain_on_delete", "none"),
    ("size", "live"),
]
"""Anything else about a volume (name, pool, format, source) is a replacement."""

MIGRATION_RULES: list[Rule] = [
    ("timeouts*", "none"),
    ("vm_spec*", "none"),
    ("allow_unsafe", "none"),
]
"""Any other change (destination, options, trigger) is a new migration: replace."""
