"""KubeVirt Migration reconciler: a VirtualMachineInstanceMigration per resource.

I/O. create applies the VMIM and watches it to Succeeded (Failed ends the wait
with the reason KubeVirt recorded in the VMI's migrationState); the outputs
come from that migrationState. Deleting the resource while the migration runs
deletes the VMIM, which is how KubeVirt cancels a migration.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..errors import Conflict, OperationFailed
from ..models import KubevirtTarget, MigrationArgs
from ..models.common import parse_duration
from ..outputs import MIGRATION_OUTPUTS, carried
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Progress
from .client import VMI, VMIM, Api, Clusters
from .render import MANAGED_BY
from .watching import gone, wait_until

FINAL = ("Succeeded", "Failed")
_CANCEL = 60.0
"""Seconds to wait for KubeVirt to report an aborted migration."""


def render_vmim(args: MigrationArgs, *, namespace: str) -> dict[str, Any]:
    """The kubevirt.io/v1 VirtualMachineInstanceMigration. Pure."""
    spec: dict[str, Any] = {"vmiName": args.vm}
    if args.target_node_selector:
        spec["addedNodeSelector"] = dict(args.target_node_selector)
    meta: dict[str, Any] = {"name": args.name, "namespace": namespace, "labels": dict(MANAGED_BY)}
    if args.annotations:
        meta["annotations"] = dict(args.annotations)
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration", "metadata": meta, "spec": spec}


def _target(args: MigrationArgs) -> KubevirtTarget:
    assert isinstance(args.target, KubevirtTarget)
    return args.target


def _phase(obj: Mapping[str, Any] | None) -> str | None:
    return ((obj or {}).get("status") or {}).get("phase")


def _ms(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return int((_time(end) - _time(start)).total_seconds() * 1000)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class VmimReconciler:
    """CRUD of Migration resources on KubeVirt."""

    def __init__(self, clusters: Clusters) -> None:
        self._clusters = clusters

    def _api(self, args: MigrationArgs) -> Api:
        return self._clusters.api(_target(args), resource=args.name)

    def create(self, args: MigrationArgs, *, owner: Owner, progress: Progress) -> dict[str, Any]:
        api, ns = self._api(args), _target(args).namespace
        deadline = Deadline(parse_duration(args.timeouts.create))
        if api.get(VMIM, args.name, ns) is not None:
            raise Conflict(f"VirtualMachineInstanceMigration {ns}/{args.name} already exists", resource=args.name)
        vmi = api.get(VMI, args.vm, ns)
        if vmi is None or _phase(vmi) != "Running":
            raise OperationFailed(
                f"VM {args.vm!r} has no running instance to migrate (phase {_phase(vmi) or 'none'})",
                resource=args.name,
                field="vm",
            )
        source_node = (vmi.get("status") or {}).get("nodeName")
        progress(f"migrating {args.vm} away from {source_node}")
        api.apply(VMIM, render_vmim(args, namespace=ns))

        def judge(obj: dict[str, Any] | None) -> str | None:
            phase = _phase(obj)
            if obj is None:
                raise OperationFailed("the migration object was deleted while running", resource=args.name)
            return phase if phase in FINAL else None

        try:
            phase = wait_until(
                api, VMIM, args.name, ns, judge, deadline=deadline, what="the migration to finish", progress=progress
            )
        except BaseException:
            # A migration that outlives its resource's create is cancelled: deleting the VMIM aborts it.
            self._cancel(api, args, ns, progress)
            raise
        state = ((api.get(VMI, args.vm, ns) or {}).get("status") or {}).get("migrationState") or {}
        if phase == "Failed":
            reason = state.get("failureReason") or "no reason recorded"
            raise OperationFailed(f"the migration failed: {reason}", resource=args.name)
        return {
            "source_host": state.get("sourceNode") or source_node,
            "source_uri": None,
            "destination_host": state.get("targetNode"),
            "elapsed_ms": _ms(state.get("startTimestamp"), state.get("endTimestamp")),
            "downtime_ms": None,
            "bytes_transferred": None,
            "vm_state": "Running",
            "phase": phase,
        }

    def _cancel(self, api: Api, args: MigrationArgs, ns: str, progress: Progress) -> None:
        """Delete the VMIM (KubeVirt's way to abort) and wait until the VMI reports the abort."""
        progress("cancelling the unfinished migration")
        uid = (api.get(VMIM, args.name, ns) or {}).get("metadata", {}).get("uid")
        api.delete(VMIM, args.name, ns)

        def settled(vmi: dict[str, Any] | None) -> bool | None:
            state = ((vmi or {}).get("status") or {}).get("migrationState") or {}
            if vmi is None or state.get("abortStatus") in ("Succeeded", "Failed") or state.get("completed"):
                return True
            return True if uid is not None and state.get("migrationUid") not in (None, uid) else None

        wait_until(
            api,
            VMI,
            args.vm,
            ns,
            settled,
            deadline=Deadline(_CANCEL),
            what="the migration to be aborted",
            progress=progress,
        )

    def read(
        self, args: MigrationArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        obj = self._api(args).get(VMIM, args.name, _target(args).namespace)
        outputs = dict(state)
        if obj is not None:
            outputs["phase"] = _phase(obj)
        # A finished migration whose record was cleaned up is still history, not drift.
        return args.model_dump(mode="json", exclude_none=True), carried(outputs, MIGRATION_OUTPUTS)

    def update(
        self,
        old: MigrationArgs,
        new: MigrationArgs,
        plan: Plan,
        state: Mapping[str, Any],
        *,
        owner: Owner,
        progress: Progress,
    ) -> dict[str, Any]:
        return carried(state, MIGRATION_OUTPUTS)

    def delete(self, args: MigrationArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress) -> None:
        api, ns = self._api(args), _target(args).namespace
        obj = api.get(VMIM, args.name, ns)
        if obj is None:
            return
        if _phase(obj) not in FINAL:
            self._cancel(api, args, ns, progress)
            return
        api.delete(VMIM, args.name, ns)
        wait_until(
            api,
            VMIM,
            args.name,
            ns,
            gone,
            deadline=Deadline(parse_duration(args.timeouts.delete)),
            what="the migration object to go",
            progress=progress,
        )
