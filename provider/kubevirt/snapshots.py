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

from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, TypeVar

from ..core import Call
from ..errors import OperationFailed
from ..models.common import dump
from ..models.snapshot import SnapshotArgs, SnapshotRestoreArgs
from ..outputs import RestoreOutputs, SnapshotOutputs, carried
from ..ownership import Owner
from ..plan import Plan
from ..waiting import wait
from .base import KubevirtReconciler
from .client import VM, Api, Gvr
from .judges import deleting, gone, restore_complete, snapshot_ready
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
    earlier, interrupted attempt) is deleted and made anew; one of ours still running is followed; one
    of ours being deleted (a roll back that ran out of time) is waited for until gone and made anew.
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
    if existing is not None and not deleting(existing):
        progress(f"following the {gvr.describe(name, ns)} an interrupted create made")
    else:
        apply_owned(api, gvr, body, owner=owner, progress=progress, deadline=deadline)
    return wait_or_roll_back(
        api,
        Watch(api, gvr, name, ns).until(judge, what, deadline, progress),
        [(gvr, name, ns)],
        owner=owner,
        progress=progress,
    )


A = TypeVar("A", SnapshotArgs, SnapshotRestoreArgs)
OutT = TypeVar("OutT", SnapshotOutputs, RestoreOutputs)


class _OneShotReconciler(KubevirtReconciler, Generic[A, OutT]):
    """CRUD of one one-shot object per resource that a KubeVirt controller acts on once.

    create: the object it names must be there, then the rendered object is run once (`_run_once`) and
    its outputs parsed; read: its outputs again (the spec is immutable: KubeVirt's webhook refuses
    edits); update: only the wait bounds can change in place (SNAPSHOT_RULES), which touches nothing;
    delete: only our object, waited for (bounded) until it is gone. A subclass declares the rest.
    """

    gvr: Gvr
    """The one-shot object, named as the resource, in its namespace."""
    requires: tuple[Gvr, str, str]
    """What it acts on: that object's kind, the input field naming it, and what for (for the error)."""
    until: tuple[Callable[[dict[str, Any] | None], dict[str, Any] | None], str]
    """The judge of the object that ends the wait, and what the wait is for."""
    outputs: type[OutT]
    """The outputs TypedDict (for the outputs carried over)."""
    missing: Literal["gone", "history"]
    """How read takes our object's absence: the resource is gone, or it is history (the outputs it had)."""

    @staticmethod
    def _render(args: A, *, namespace: str, owner: Owner) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def _parse(obj: Mapping[str, Any] | None) -> OutT:
        raise NotImplementedError

    def create(self, call: Call[A]) -> OutT:
        args = call.args
        api, ns = self._open(call)
        gvr, field, purpose = self.requires
        name = getattr(args, field)
        if api.get(gvr, name, ns) is None:
            raise OperationFailed(f"there is no {gvr.kind} {ns}/{name} {purpose}", resource=args.name, field=field)
        body = self._render(args, namespace=ns, owner=call.owner)
        judge, what = self.until
        return self._parse(_run_once(api, self.gvr, body, judge, what, call))

    def read(self, call: Call[A]) -> tuple[dict[str, Any], OutT] | None:
        obj = self._fetch(call, self.gvr)
        if obj is not None:
            outputs = self._parse(obj)
        elif self.missing == "history":
            outputs = carried(call.state, self.outputs)
        else:
            return None
        return dump(call.args), outputs

    def update(self, call: Call[A], old: A, plan: Plan) -> OutT:
        return carried(call.state, self.outputs)

    def delete(self, call: Call[A]) -> None:
        api, ns = self._open(call)
        gvr, name, progress = self.gvr, call.args.name, call.progress
        if delete_owned(api, gvr, name, ns, owner=call.owner, progress=progress) == "deleted":
            wait(Watch(api, gvr, name, ns).until(gone, f"the {gvr.kind} to be deleted", call.deadline, progress))


class VmSnapshotReconciler(_OneShotReconciler[SnapshotArgs, SnapshotOutputs]):
    """CRUD of Snapshot resources on KubeVirt: a VirtualMachineSnapshot of the VM, waited for until ready."""

    gvr = VM_SNAPSHOT
    requires = (VM, "vm", "to snapshot")
    until = (snapshot_ready, "the snapshot to be ready to use")
    outputs = SnapshotOutputs
    missing = "gone"  # the snapshot is the resource: without it there is nothing to restore
    _render = staticmethod(render_vm_snapshot)
    _parse = staticmethod(parse_vm_snapshot_outputs)


class VmRestoreReconciler(_OneShotReconciler[SnapshotRestoreArgs, RestoreOutputs]):
    """CRUD of SnapshotRestore resources on KubeVirt: a VirtualMachineRestore, waited for until complete."""

    gvr = VM_RESTORE
    requires = (VM_SNAPSHOT, "snapshot", "to restore")
    until = (restore_complete, "the restore to complete")
    outputs = RestoreOutputs
    missing = "history"  # a finished restore whose record was cleaned up is still history, not drift
    _render = staticmethod(render_vm_restore)
    _parse = staticmethod(parse_vm_restore_outputs)
