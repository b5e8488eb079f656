"""The computed outputs of each resource kind (beside its redacted inputs). Pure.

One TypedDict per kind is the single source: the reconcilers return it (mypy
checks every key they write), and the key sets the adapters declare on the
Pulumi resources are derived from it. A backend fills the keys it knows
(`total=False`); tests/unit/test_schema.py checks every reconciler returns its
kind's TypedDict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, TypeVar, cast


class VmOutputs(TypedDict, total=False):
    uuid: str | None
    state: str | None
    macs: dict[str, str]
    ipv4: dict[str, str]
    serial_log_path: str | None
    pending_restart: bool
    pending_changes: list[str]
    host_uri: str
    printable_status: str | None
    phase: str | None
    node: str | None
    conditions: dict[str, str]
    hot_plugged_disks: list[str]
    """KubeVirt: the disks hot-plugged into the VM (addvolume), the ones removevolume can detach live."""


class DiskOutputs(TypedDict, total=False):
    ref: dict[str, str]
    path: str | None
    capacity: int | None
    allocation: int | None
    phase: str | None
    claim_name: str


class BridgeOutputs(TypedDict, total=False):
    network_name: str
    bridge_device: str | None
    active: bool
    pending_restart: bool
    pending_changes: list[str]


class MigrationOutputs(TypedDict, total=False):
    source_host: str | None
    source_uri: str | None
    destination_host: str | None
    elapsed_ms: int | None
    downtime_ms: int | None
    bytes_transferred: int | None
    vm_state: str | None
    phase: str | None


class InstancetypeOutputs(TypedDict, total=False):
    ref: dict[str, str]
    """What a VM's kubevirt.instancetype / kubevirt.preference takes: {name, kind}."""


class SnapshotOutputs(TypedDict, total=False):
    ready: bool
    phase: str | None
    creation_time: str | None
    vm_state: str | None


class RestoreOutputs(TypedDict, total=False):
    complete: bool
    phase: str | None
    restore_time: str | None
    vm_state: str | None


OutputsT = TypeVar(
    "OutputsT",
    VmOutputs,
    DiskOutputs,
    BridgeOutputs,
    MigrationOutputs,
    InstancetypeOutputs,
    SnapshotOutputs,
    RestoreOutputs,
)


def output_keys(outputs: type[Any]) -> frozenset[str]:
    """The keys of an outputs TypedDict."""
    return frozenset(outputs.__annotations__)


VM_OUTPUTS = output_keys(VmOutputs)
DISK_OUTPUTS = output_keys(DiskOutputs)
BRIDGE_OUTPUTS = output_keys(BridgeOutputs)
MIGRATION_OUTPUTS = output_keys(MigrationOutputs)
INSTANCETYPE_OUTPUTS = output_keys(InstancetypeOutputs)
SNAPSHOT_OUTPUTS = output_keys(SnapshotOutputs)
RESTORE_OUTPUTS = output_keys(RestoreOutputs)


def carried(state: Mapping[str, Any], outputs: type[OutputsT]) -> OutputsT:
    """The recorded outputs of a resource whose read/update changes nothing (e.g. a past migration)."""
    return cast(OutputsT, {key: state.get(key) for key in sorted(output_keys(outputs))})
