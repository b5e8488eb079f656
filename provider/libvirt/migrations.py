"""libvirt Migration reconciler: one live migration per resource.

I/O. create: find the VM (its home, then `hosts`), check the destination
answers before anything changes, set downtime, then run `migrateToURI3`
(peer-to-peer: the source libvirtd drives it) or `migrate3` (this process holds
both connections) on a worker thread while this thread reports job progress
and enforces the deadline (`abortJob` on timeout, so a migration never outlives
its resource's customTimeouts). The measurements come from the destination's
completed-job statistics. Deleting the record moves nothing.
"""

from __future__ import annotations

import time
from typing import Any

import libvirt

from ..core import Call, MigrationRecord
from ..errors import NotFound, OperationFailed
from ..models import MigrationArgs, VirtualMachineArgs
from ..outputs import MigrationOutputs, carried
from ..waiting import Deadline, Progress
from . import render
from .base import LibvirtReconciler
from .connection import Connections, translate
from .domains import DomainReconciler, power_state
from .jobs import bounded_job


def _memory_sent(dom: libvirt.virDomain) -> int | None:
    try:
        stats = dom.jobStats(0)
    except libvirt.libvirtError:
        return None  # the job finished (or the domain left) between two polls
    total = int(stats.get("memory_total") or 0)
    remaining = int(stats.get("memory_remaining") or 0)
    return int(100 * (total - remaining) / total) if total else None


def _job_note(percent: int | None) -> str:
    """Progress by tens of percent, so the log gets a line per step, not per poll."""
    return f"{percent // 10 * 10}% of memory sent" if percent is not None else ""


class MigrationReconciler(MigrationRecord, LibvirtReconciler):
    """CRUD of Migration resources on libvirt."""

    def __init__(self, connections: Connections) -> None:
        super().__init__(connections)
        self._domains = DomainReconciler(connections)

    def create(self, call: Call[MigrationArgs]) -> MigrationOutputs:
        args, progress = call.args, call.progress
        assert args.destination_uri is not None  # the model requires it on libvirt
        client_uri = args.destination_client_uri or args.destination_uri
        vm = self._vm(args)
        found = self._domains.locate(vm, {})
        if found is None:
            raise NotFound(f"VM {args.vm!r} was found on none of its hosts", resource=args.name, field="vm")
        source_uri, source, dom = found
        if source_uri == client_uri:
            raise OperationFailed(f"VM {args.vm!r} already runs on {client_uri}", resource=args.name)
        # Fail before anything changes when the destination does not answer.
        dest = self._conns.get(client_uri, resource=args.name)
        with self._conns.call(client_uri, resource=args.name, doing="checking the destination"):
            dest_host = dest.getHostname()
        with self._conns.call(source_uri, resource=args.name, doing="preparing the migration"):
            source_host = source.getHostname()
            if args.live and power_state(dom) not in ("running", "paused"):
                raise OperationFailed(
                    f"VM {args.vm!r} is {power_state(dom)}: a live migration needs it running (or set live=False)",
                    resource=args.name,
                )
            if args.max_downtime_ms is not None:
                dom.migrateSetMaxDowntime(args.max_downtime_ms, 0)
        progress(f"migrating {args.vm} from {source_host} to {dest_host}")
        started = time.monotonic()
        self._run(args, dom, dest, call.deadline, progress)
        wall_ms = int((time.monotonic() - started) * 1000)
        with self._conns.call(client_uri, resource=args.name, doing="reading the completed migration"):
            moved = dest.lookupByName(args.vm)
            # KEEP_COMPLETED: reading must not clear them for `virsh domjobinfo --completed` users
            stats = moved.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED | libvirt.VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED)
            state = power_state(moved)
        progress(f"done in {stats.get('time_elapsed', wall_ms)} ms, downtime {stats.get('downtime', '?')} ms")
        return {
            "source_host": source_host,
            "source_uri": source_uri,
            "destination_host": dest_host,
            "elapsed_ms": int(stats.get("time_elapsed", wall_ms)),
            "downtime_ms": int(stats.get("downtime", 0)),
            "bytes_transferred": int(stats.get("data_processed", stats.get("memory_processed", 0))),
            "vm_state": state,
            "phase": "Succeeded",
        }

    def _vm(self, args: MigrationArgs) -> VirtualMachineArgs:
        spec = {k: v for k, v in (args.vm_spec or {}).items() if k in VirtualMachineArgs.model_fields}
        return VirtualMachineArgs.model_validate({**spec, "name": args.vm, "target": args.target.model_dump()})

    def _run(
        self,
        args: MigrationArgs,
        dom: libvirt.virDomain,
        dest: libvirt.virConnect,
        deadline: Deadline,
        progress: Progress,
    ) -> None:
        """The blocking libvirt call, bounded by the deadline (`jobs.bounded_job`: progress, abort)."""
        flags, params = render.render_migration_flags(args), render.render_migration_params(args)

        def work() -> None:
            if args.peer_to_peer:
                dom.migrateToURI3(args.destination_uri, params, flags)
            else:
                dom.migrate3(dest, params, flags)

        try:
            bounded_job(
                dom,
                work,
                deadline=deadline,
                resource=args.name,
                what="the migration",
                timed_out="the migration did not finish in time and was aborted; the VM stays on its source "
                "(raise customTimeouts, bandwidth_mib_s or max_downtime_ms, or enable auto_converge)",
                progress=progress,
                observe=lambda: _job_note(_memory_sent(dom)),
            )
        except libvirt.libvirtError as err:
            raise translate(err, resource=args.name, doing="migrating") from err

    def read(self, call: Call[MigrationArgs]) -> tuple[dict[str, Any], MigrationOutputs] | None:
        """A migration is a record of something that happened: it reads back as recorded."""
        return call.args.model_dump(mode="json", exclude_none=True), carried(call.state, MigrationOutputs)

    def delete(self, call: Call[MigrationArgs]) -> None:
        call.progress("forgetting the migration record (the VM stays where it is)")


__all__ = ["MigrationReconciler"]
