"""How each KubeVirt change is applied: classification rules for plan.py. Pure.

KubeVirt's own semantics (VM rollout strategy LiveUpdate, the default since
v1.2): cpu sockets up to maxSockets and guest memory up to maxGuest are hot
plugged; a claim or DataVolume disk on the virtio/scsi bus is hot-plugged
(virt-api's addvolume) and a hot-plugged one detached (removevolume), with the
HotplugVolumes feature gate; labels, annotations, run strategy and eviction
strategy are object edits; everything else in the template sets the VM's
RestartRequired condition and applies at the next start. A disk the VM booted
with is not hot-pluggable in KubeVirt (removevolume refuses it): removing one
is a template edit KubeVirt reports as RestartRequired (`pending_restart`).
Which disks were hot-plugged, the VM's outputs record (`hot_plugged_disks`):
the disk rule reads them (a `plan.Recorded` verdict).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..plan import Kind, Recorded, Rule, memory_within_ceiling, sockets_within_ceiling


def hot_pluggable(disk: Mapping[str, Any]) -> bool:
    """KubeVirt can attach (addvolume) or detach (removevolume) this disk on the running VM: a claim
    or an existing DataVolume (its hotplug sources) as a plain disk on the virtio or scsi bus
    (v1.8 storage/admitters ValidateHotplugDiskConfiguration), not a boot disk. `disk` is the
    disks[] item as the model dumps it."""
    source = disk.get("pvc") is not None or disk.get("data_volume") is not None
    return (
        source
        and disk.get("bus", "virtio") in ("virtio", "scsi")
        and not disk.get("cdrom")
        and disk.get("boot_order") is None
    )


HOT_PLUGGED = "hot_plugged_disks"
"""The VM output recording the disks hot-plugged into it (parse.parse_hotplugged at its last write)."""


def _disk_plug(before: Any, after: Any, recorded: Mapping[str, Any]) -> Kind:
    """Adding a hot-pluggable disk is live (addvolume). Removing one is live only when it was
    hot-plugged (removevolume): a disk the VM booted with is in its template, and dropping it is a
    template edit KubeVirt applies at the next start. Which disks were hot-plugged only the recorded
    outputs say; where they do not (check, which gets no outputs, or state written before
    `hot_plugged_disks` was recorded) the removal may need a restart, and the plan says so."""
    if before is None:
        return "live" if isinstance(after, dict) and hot_pluggable(after) else "restart"
    if after is not None:
        return "restart"
    plugged = recorded.get(HOT_PLUGGED)
    name = before.get("name") if isinstance(before, dict) else None
    return "live" if isinstance(plugged, (list, tuple)) and name in plugged else "restart"


def _graphics(before: Any, after: Any, old: Mapping[str, Any], new: Mapping[str, Any]) -> Kind | None:
    """`vnc` unset keeps the VM's graphics device as it is (render_vm sends the VM's own
    autoattachGraphicsDevice again): unsetting it changes nothing, so a VM made by a version that
    rendered vnc unset as false plans no change after an upgrade. Setting it is a template edit
    KubeVirt applies at the next start."""
    return None if after is None else "restart"


VM_RULES: list[Rule] = [
    ("name", "replace"),
    ("target*", "replace"),
    ("timeouts*", "none"),
    ("restart_policy*", "none"),
    ("run_state", "live"),
    ("kubevirt.run_strategy", "live"),
    ("description", "live"),
    ("labels*", "live"),
    ("kubevirt.annotations*", "live"),
    ("kubevirt.eviction_strategy", "live"),
    ("memory", memory_within_ceiling),
    ("cpu.sockets", sockets_within_ceiling),
    ("disks[]", Recorded(_disk_plug)),
    ("vnc", _graphics),
]

DATA_VOLUME_RULES: list[Rule] = [
    ("timeouts*", "none"),
    ("retain_on_delete", "none"),
    ("size", "live"),
]
"""Size grows the claim (volume expansion); everything else about a DataVolume is immutable: replace."""

BRIDGE_RULES: list[Rule] = [
    ("name", "replace"),
    ("target*", "replace"),
    ("timeouts*", "none"),
    ("autostart", "none"),
    ("stp", "live"),
    ("mtu", "live"),
    ("ports", "live"),
    ("bond*", "live"),
    ("node_selector*", "live"),
    ("manage_node_bridge", "live"),
]
"""nmstate re-applies a changed policy on the nodes (live). A changed NAD (bridge,
VLAN, CNI options) reaches a VM's NIC only when the VM restarts: restart."""

INSTANCETYPE_RULES: list[Rule] = [
    ("name", "replace"),
    ("target*", "replace"),
    ("cluster", "replace"),
    ("timeouts*", "none"),
]
"""Instancetypes and preferences: every other field is an in-place edit of the object (live).
What a user sees: the object changes at once, but each VM that already uses it runs on the
ControllerRevision KubeVirt captured when the VM first referenced it (status.instancetypeRef /
preferenceRef), so neither the running VM nor its next restart picks the change up; VMs created
afterwards (or a VM whose revision reference is cleared) get the new sizes."""

SNAPSHOT_RULES: list[Rule] = [
    ("timeouts*", "none"),
]
"""A snapshot is one point in time, and a restore one event: any other change takes a new
snapshot / runs a new restore (replace). Shared by both backends."""
