"""The computed outputs of each resource kind (beside its redacted inputs). Pure.

The reconcilers return these keys; the adapters declare them on the Pulumi
resources; tests/unit/test_schema.py checks the reconcilers stay within them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

VM_OUTPUTS = frozenset(
    {
        "uuid",
        "state",
        "macs",
        "ipv4",
        "serial_log_path",
        "pending_restart",
        "pending_changes",
        "host_uri",
        "printable_status",
        "phase",
        "node",
        "conditions",
    }
)
DISK_OUTPUTS = frozenset({"ref", "path", "capacity", "allocation", "phase", "claim_name"})
BRIDGE_OUTPUTS = frozenset({"network_name", "bridge_device", "active", "pending_restart", "pending_changes"})
MIGRATION_OUTPUTS = frozenset(
    {
        "source_host",
        "source_uri",
        "destination_host",
        "elapsed_ms",
        "downtime_ms",
        "bytes_transferred",
        "vm_state",
        "phase",
    }
)


def carried(state: Mapping[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """The recorded outputs of a resource whose read/update changes nothing (e.g. a past migration)."""
    return {key: state.get(key) for key in sorted(keys)}
