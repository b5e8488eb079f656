"""KubeVirt Migration reconciler: a VirtualMachineInstanceMigration per resource.

I/O. create applies the VMIM and watches it to Succeeded (Failed ends the wait
with the reason KubeVirt recorded in the VMI's migrationState); the outputs
come from that migrationState. Deleting the resource while the migration runs
deletes the VMIM, which is how KubeVirt cancels a migration. The VMIM carries
the owner marker (owned.py): a rerun after an interruption follows the VMIM it
made (a failed one is replaced), and someone else's VMIM of that name is a
Conflict, never watched, cancelled or deleted.
"""

from __future__ import annotations

from typing import Any

from ..core import Call, MigrationRecord
from ..errors import OperationFailed
from ..models import MigrationArgs
from ..outputs import MigrationOutputs, carried
from ..ownership import Owner
from ..waiting import Deadline, Progress, wait
from .base import KubevirtReconciler
from .client import VMI, VMIM, Api
from .judges import MIGRATION_FINAL, gone, migration_final, migration_settled
from .owned import apply_owned, delete_owned, foreign, owned_or_left
from .parse import owned, parse_migration_outputs, phase
from .render import render_vmim
from .watching import Watch

_CANCEL = 60.0
"""Seconds to wait for KubeVirt to report an aborted migration."""


class VmimReconciler(MigrationRecord, KubevirtReconciler):
    """CRUD of Migration resources on KubeVirt."""

    def create(self, call: Call[MigrationArgs]) -> MigrationOutputs:
        args, owner, progress, deadline = call.args, call.owner, call.progress, call.deadline
        api, ns = self._open(call)
        existing = api.get(VMIM, args.name, ns)
        if existing is not None and not owned(existing, owner):
            raise foreign(VMIM, args.name, ns, existing, owner, args.name)
        if existing is not None and phase(existing) == "Failed":
            # An earlier, interrupted attempt of this resource that failed: a VMIM is one-shot, start anew.
            delete_owned(api, VMIM, args.name, ns, owner=owner, progress=progress)
            wait(Watch(api, VMIM, args.name, ns).until(gone, "the failed migration object to go", deadline, progress))
            existing = None
        if existing is not None:
            progress(f"following the migration {ns}/{args.name} an interrupted create started")
            return self._finish(api, args, ns, owner, deadline, progress, None)
        vmi = api.get(VMI, args.vm, ns)
        if vmi is None or phase(vmi) != "Running":
            raise OperationFailed(
                f"VM {args.vm!r} has no running instance to migrate (phase {phase(vmi) or 'none'})",
                resource=args.name,
                field="vm",
            )
        source_node = (vmi.get("status") or {}).get("nodeName")
        progress(f"migrating {args.vm} away from {source_node}")
        body = render_vmim(args, namespace=ns, owner=owner)
        apply_owned(api, VMIM, body, owner=owner, progress=progress, deadline=deadline)
        return self._finish(api, args, ns, owner, deadline, progress, source_node)

    def _finish(
        self,
        api: Api,
        args: MigrationArgs,
        ns: str,
        owner: Owner,
        deadline: Deadline,
        progress: Progress,
        source_node: str | None,
    ) -> MigrationOutputs:
        """Watch our VMIM to a final phase (cancelling it when the wait ends otherwise); the outputs."""

        try:
            final = wait(
                Watch(api, VMIM, args.name, ns).until(migration_final, "the migration to finish", deadline, progress)
            )
        except BaseException:
            # A migration that outlives its resource's create is cancelled: deleting the VMIM aborts it.
            self._cancel(api.within(_CANCEL), args, ns, owner, progress)
            raise
        state = ((api.get(VMI, args.vm, ns) or {}).get("status") or {}).get("migrationState") or {}
        if final == "Failed":
            reason = state.get("failureReason") or "no reason recorded"
            raise OperationFailed(f"the migration failed: {reason}", resource=args.name)
        return parse_migration_outputs(state, source_node=source_node, phase=final)

    def _cancel(self, api: Api, args: MigrationArgs, ns: str, owner: Owner, progress: Progress) -> None:
        """Delete our VMIM (KubeVirt's way to abort) and wait until the VMI reports the abort."""
        progress("cancelling the unfinished migration")
        vmim = api.get(VMIM, args.name, ns)
        if not owned(vmim, owner):
            return
        uid = (vmim or {}).get("metadata", {}).get("uid")
        delete_owned(api, VMIM, args.name, ns, owner=owner, progress=progress)

        wait(
            Watch(api, VMI, args.vm, ns).until(
                migration_settled(uid), "the migration to be aborted", Deadline(_CANCEL), progress
            )
        )

    def read(self, call: Call[MigrationArgs]) -> tuple[dict[str, Any], MigrationOutputs] | None:
        args = call.args
        api, ns = self._open(call)
        obj = api.get(VMIM, args.name, ns)
        outputs = dict(call.state)
        if owned(obj, call.owner):
            outputs["phase"] = phase(obj)
        # A finished migration whose record was cleaned up is still history, not drift.
        return args.model_dump(mode="json", exclude_none=True), carried(outputs, MigrationOutputs)

    def delete(self, call: Call[MigrationArgs]) -> None:
        args, owner, progress, deadline = call.args, call.owner, call.progress, call.deadline
        api, ns = self._open(call)
        obj = owned_or_left(api, VMIM, args.name, ns, owner=owner, progress=progress)
        if obj is None:
            return
        if phase(obj) not in MIGRATION_FINAL:
            self._cancel(api, args, ns, owner, progress)
            return
        if delete_owned(api, VMIM, args.name, ns, owner=owner, progress=progress) == "deleted":
            wait(Watch(api, VMIM, args.name, ns).until(gone, "the migration object to go", deadline, progress))
