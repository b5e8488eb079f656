"""KubeVirt Snapshot and SnapshotRestore reconcilers: VirtualMachineSnapshot / VirtualMachineRestore.

I/O. Both objects are one-shot records that KubeVirt's snapshot controller (in
virt-controller) acts on:

- Snapshot create checks the VM is there, applies the VirtualMachineSnapshot
  (ownership-checked: someone else's of that name is a Conflict, left as it is)
  and watches it to `readyToUse` (a Failed phase ends the wait with the
  controller's error). A snapshot that did not become ready in time is
  removed again; a rerun after an interruption finds its own snapshot and
  waits again; a Failed one of ours is replaced.
- SnapshotRestore create applies the VirtualMachineRestore the same way and
  watches it to `complete` (a Failure condition ends it). A restore that
  finished is history: its object going away later is not drift.
- delete removes only our object and waits (bounded) for it to go; KubeVirt's
  finalizer on a snapshot removes its VirtualMachineSnapshotContent (the volume
  snapshots) first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import Call
from ..errors import OperationFailed
from ..models.common import dump
from ..models.snapshot import SnapshotArgs, SnapshotRestoreArgs
from ..outputs import RestoreOutputs, SnapshotOutputs, carried
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Progress, wait
from .base import KubevirtReconciler
from .client import VM, Api, Gvr
from .judges import gone, restore_complete, snapshot_ready
from .owned import apply_owned, delete_owned, fetch_owned, refuse_foreign, wait_or_roll_back
from .parse import parse_vm_restore_outputs, parse_vm_snapshot_outputs, phase
from .render import VM_RESTORE, VM_SNAPSHOT, render_vm_restore, render_vm_snapshot
from .watching import Watch


def _run_once(
    api: Api,
    gvr: Gvr,
    body: dict[str, Any],
    judge: Callable[[dict[str, Any] | None], dict[str, Any] | None],
    what: str,
    call: Call[Any],
) -> dict[str, Any]:
    """Write a one-shot object (unless ours is already there) and watch it until `judge` is done.

    Someone else's object of that name is a Conflict (left untouched); a Failed one of ours (an
    earlier, interrupted attempt) is deleted and made anew; one of ours still running is followed.
    The object (ours either way) is removed again when the wait fails or runs out, so that the next
    `up` starts anew rather than following a one-shot object that will not finish.
    """
    owner, progress, deadline = call.owner, call.progress, call.deadline
    name, ns = body["metadata"]["name"], body["metadata"]["namespace"]
    refuse_foreign(api, [(gvr, body)], owner=owner)
    existing = fetch_owned(api, gvr, name, ns, owner=owner)
    if existing is not None and phase(existing) == "Failed":
        delete_owned(api, gvr, name, ns, owner=owner, progress=progress)
        wait(Watch(api, gvr, name, ns).until(gone, f"the failed {gvr.kind} to go", deadline, progress))
        existing = None
    if existing is not None:
        progress(f"following the {gvr.describe(name, ns)} an interrupted create made")
    else:
        apply_owned(api, gvr, body, owner=owner, progress=progress)
    return wait_or_roll_back(
        api,
        Watch(api, gvr, name, ns).until(judge, what, deadline, progress),
        [(gvr, name, ns)],
        owner=owner,
        progress=progress,
    )


def _require(api: Api, gvr: Gvr, name: str, ns: str, purpose: str, *, resource: str, field: str) -> None:
    """OperationFailed on `field` when the object the resource names is not there."""
    if api.get(gvr, name, ns) is None:
        raise OperationFailed(f"there is no {gvr.kind} {ns}/{name} {purpose}", resource=resource, field=field)


def _remove(api: Api, gvr: Gvr, name: str, ns: str, *, owner: Owner, deadline: Deadline, progress: Progress) -> None:
    if delete_owned(api, gvr, name, ns, owner=owner, progress=progress) == "deleted":
        wait(Watch(api, gvr, name, ns).until(gone, f"the {gvr.kind} to be deleted", deadline, progress))


class VmSnapshotReconciler(KubevirtReconciler):
    """CRUD of Snapshot resources on KubeVirt."""

    def create(self, call: Call[SnapshotArgs]) -> SnapshotOutputs:
        args = call.args
        api, ns = self._open(call)
        _require(api, VM, args.vm, ns, "to snapshot", resource=args.name, field="vm")
        body = render_vm_snapshot(args, namespace=ns, owner=call.owner)
        ready = _run_once(api, VM_SNAPSHOT, body, snapshot_ready, "the snapshot to be ready to use", call)
        return parse_vm_snapshot_outputs(ready)

    def read(self, call: Call[SnapshotArgs]) -> tuple[dict[str, Any], SnapshotOutputs] | None:
        obj = self._fetch(call, VM_SNAPSHOT)
        if obj is None:
            return None
        # The spec is immutable (KubeVirt's webhook refuses edits): only the outputs move.
        return dump(call.args), parse_vm_snapshot_outputs(obj)

    def update(self, call: Call[SnapshotArgs], old: SnapshotArgs, plan: Plan) -> SnapshotOutputs:
        # SNAPSHOT_RULES: only the wait bounds can change in place, which touches nothing.
        return carried(call.state, SnapshotOutputs)

    def delete(self, call: Call[SnapshotArgs]) -> None:
        api, ns = self._open(call)
        _remove(api, VM_SNAPSHOT, call.args.name, ns, owner=call.owner, deadline=call.deadline, progress=call.progress)


class VmRestoreReconciler(KubevirtReconciler):
    """CRUD of SnapshotRestore resources on KubeVirt."""

    def create(self, call: Call[SnapshotRestoreArgs]) -> RestoreOutputs:
        args = call.args
        api, ns = self._open(call)
        _require(api, VM_SNAPSHOT, args.snapshot, ns, "to restore", resource=args.name, field="snapshot")
        body = render_vm_restore(args, namespace=ns, owner=call.owner)
        done = _run_once(api, VM_RESTORE, body, restore_complete, "the restore to complete", call)
        return parse_vm_restore_outputs(done)

    def read(self, call: Call[SnapshotRestoreArgs]) -> tuple[dict[str, Any], RestoreOutputs] | None:
        obj = self._fetch(call, VM_RESTORE)
        # A finished restore whose record was cleaned up is still history, not drift.
        outputs = parse_vm_restore_outputs(obj) if obj is not None else carried(call.state, RestoreOutputs)
        return dump(call.args), outputs

    def update(self, call: Call[SnapshotRestoreArgs], old: SnapshotRestoreArgs, plan: Plan) -> RestoreOutputs:
        return carried(call.state, RestoreOutputs)

    def delete(self, call: Call[SnapshotRestoreArgs]) -> None:
        api, ns = self._open(call)
        _remove(api, VM_RESTORE, call.args.name, ns, owner=call.owner, deadline=call.deadline, progress=call.progress)
