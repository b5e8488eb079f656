"""libvirt VirtualMachine reconciler: fetch / apply / delete / wait for domains.

I/O. Decisions come from plan.py (what changed and how) and render.py (the
XML); this module only does what the plan says:

- create: seed volume -> define -> start as requested -> bounded wait; any
  failure rolls back exactly what this call created.
- update: `defineXML` in place (never undefine-then-define), then the live
  operations of the plan on a running domain. A stopped VM is never started as
  a side effect; restart-class changes wait for the next boot unless
  restart_policy is auto.
- delete: first the disk-only snapshots this stack took of the domain are
  merged back (libvirt deletes each, newest first, committing its overlays
  into the disks and removing the overlay files: they only mean something with
  the domain, and the disks, which may outlive the VM, keep every write); then
  graceful shutdown within the policy's timeout, then destroy, then undefine
  with the flags that remove managed save, snapshot/checkpoint metadata and
  NVRAM. Idempotent: interrupted, the next delete merges what is left. Another
  stack's or a hand-made snapshot is not merged (its overlays stay, as before).

Ownership: every domain this provider defines carries `<pkv:owner>` in its
metadata (render.py), written by the define itself; the cloud-init seed volume
is claimed in the pool's ledger before it is written (ledger.py). A domain or
seed that is not ours is a Conflict at create (nothing touched) unless
`adopt=True`, is never updated, and is left in place by delete (with a note).
A domain defined before markers existed is recognised by the UUID in the state.

Crash safety: create is idempotent on the owner marker. When libvirtd or the
provider dies, or a wait times out, mid-create, the rollback removes what this
call made; if the rollback cannot run (libvirtd gone), what is left is marked
as ours, and the next create of the same resource finds it and finishes it
(redefines in place, rewrites the seed unless the guest already booted from
it, starts it as requested). Progress reports name each completed step
("seed written", "defined", "started"): the fault-injection tests kill
libvirtd exactly there.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial
from typing import Any

import libvirt

from ..core import Call
from ..errors import Conflict, InvalidSpec, NotFound, OperationFailed, ProviderError, WaitTimeout
from ..models import VirtualMachineArgs
from ..models.common import parse_duration
from ..outputs import VmOutputs
from ..ownership import Owner, readable
from ..plan import Plan, plan_changes
from ..waiting import Deadline, Poll, Progress, Wait, wait
from . import ledger, render
from .base import LibvirtReconciler, take_over, target_uri
from .connection import lookup
from .jobs import bounded_job
from .parse import parse_disk_only_owner, parse_domain, parse_macs, parse_owner, parse_snapshot
from .rules import VM_RULES
from .streams import upload_bytes

_STATE_NAMES = {
    libvirt.VIR_DOMAIN_NOSTATE: "nostate",
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "running",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutting-down",
    libvirt.VIR_DOMAIN_SHUTOFF: "stopped",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "suspended",
}
_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
    | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
)
_LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
_SHUTDOWN_REPEAT = 5.0
"""Seconds between two ACPI shutdown requests while waiting for a guest to stop."""


def power_state(dom: libvirt.virDomain) -> str:
    state, _reason = dom.state()
    return _STATE_NAMES.get(state, "unknown")


class DomainReconciler(LibvirtReconciler):
    """CRUD of one VM kind on libvirt, sharing the provider process' connections."""

    # -- create ---------------------------------------------------------------
    def create(self, call: Call[VirtualMachineArgs]) -> VmOutputs:
        args, owner, progress, deadline = call.args, call.owner, call.progress, call.deadline
        name = args.name
        with self._call(args, "creating the domain") as conn:
            existing = lookup(conn.lookupByName, name, resource=name, what="domain")
            found = parse_owner(existing.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)) if existing is not None else None
            adopted = existing is not None and take_over(
                found, args, what="domain", called="domain", owner=owner, progress=progress
            )
            seed = self._seed_placement(args)
            seed_taken_over = False
            try:
                if seed is not None:
                    # A guest that booted already read its seed: leave the volume in use alone.
                    booted = existing is not None and bool(existing.isActive())
                    seed_taken_over = self._write_seed(
                        conn, args, seed, owner, progress, adopt=args.adopt, write=not booted
                    )
                progress("defining the domain")
                uuid = existing.UUIDString() if existing is not None else None
                dom = conn.defineXML(render.render_domain(args, seed=seed, uuid=uuid, owner=str(owner)))
                progress(f"defined domain {name}")
                self._apply_run_state(dom, args, deadline, progress)
                if dom.isActive():
                    progress(f"started domain {name}")
                outputs = self._outputs(dom, args, deadline, progress, fresh=True)
            except BaseException as err:
                self._rollback(
                    conn, args, seed, owner, keep_domain=adopted, keep_seed=seed_taken_over, cause=err,
                    progress=progress,
                )  # fmt: skip
                raise
        return outputs

    def _rollback(
        self,
        conn: libvirt.virConnect,
        args: VirtualMachineArgs,
        seed: render.SeedPlacement | None,
        owner: Owner,
        *,
        keep_domain: bool,
        keep_seed: bool,
        cause: BaseException,
        progress: Progress,
    ) -> None:
        """Remove what a failed create leaves that is ours (never what adopt took over)."""
        name = args.name
        left = [f"domain {name}"]
        if seed is not None and not keep_seed:
            left.append(f"seed volume {seed.pool}/{seed.volume}")
        try:
            dom = lookup(conn.lookupByName, name, resource=name, what="domain")
            if dom is not None and not keep_domain and _marker(dom) == str(owner):
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(_UNDEFINE_FLAGS)
            left.pop(0)
            if seed is not None and not keep_seed:
                with self._conns.pool_lock(target_uri(args), seed.pool):
                    ledger.delete_owned_volume(conn, seed.pool, seed.volume, owner, resource=name, progress=progress)
                    ledger.remove_pool_if_unused(conn, seed.pool, resource=name, progress=progress)
                left.pop(0)
        except (libvirt.libvirtError, ProviderError) as err:
            # The original error is what the user must see; say what is left and what happens to it.
            message = err.get_error_message() if isinstance(err, libvirt.libvirtError) else str(err)
            raise OperationFailed(
                f"creation failed ({cause}) and rolling back failed too ({message}): {', '.join(left)} may be "
                f"left, marked as owned by {owner}; the next `pulumi up` adopts and finishes them",
                resource=name,
            ) from err

    def _seed_placement(self, args: VirtualMachineArgs) -> render.SeedPlacement | None:
        if args.cloud_init is None:
            return None
        pool = next((d.volume.pool for d in args.disks if d.volume is not None), "default")
        return render.SeedPlacement(pool=pool, volume=render.seed_volume_name(args.name))

    def _write_seed(
        self,
        conn: libvirt.virConnect,
        args: VirtualMachineArgs,
        seed: render.SeedPlacement,
        owner: Owner,
        progress: Progress,
        *,
        adopt: bool,
        legacy: bool = False,
        write: bool = True,
    ) -> bool:
        """Claim the seed volume for `owner` (Conflict if foreign) and (re)write it; True when
        `adopt` took over a volume that was not ours."""
        ci = args.cloud_init
        assert ci is not None
        name = args.name
        with self._conns.pool_lock(target_uri(args), seed.pool):
            pool = ledger.ensure_pool(conn, seed.pool, None, resource=name, progress=progress)
            claim = ledger.claim(
                conn, pool, seed.volume, owner, adopt=adopt, legacy=legacy, resource=name, field="cloud_init"
            )
        if not write:
            return claim.taken_over
        progress(f"writing the cloud-init seed {seed.pool}/{seed.volume}")
        data = render.render_seed(
            instance_id=f"iid-{name}",
            hostname=name,
            user_data=ci.user_data,
            network_data=ci.network_data,
            ssh_authorized_keys=list(ci.ssh_authorized_keys),
        )
        old = lookup(pool.storageVolLookupByName, seed.volume, resource=name, what="volume")
        if old is not None:
            old.delete(0)  # ours (claimed above): its size changes with the content
        vol = pool.createXML(render.render_seed_volume(seed.volume, len(data)), 0)
        upload_bytes(conn, vol, data)
        progress(f"seed written ({seed.pool}/{seed.volume})")
        return claim.taken_over

    def locate(
        self,
        args: VirtualMachineArgs,
        state: Mapping[str, Any],
        *,
        owner: Owner | None = None,
        progress: Progress | None = None,
        adopt: bool = False,
    ) -> tuple[str, libvirt.virConnect, libvirt.virDomain] | None:
        """Where the domain is now: its last known host, its target, then `hosts` (after a Migration).

        None only when every candidate answered "no such domain" (or, with `owner`, had only a
        domain of that name that is not `owner`'s); an unreachable candidate is an error, never
        proof that the VM is gone.
        """
        candidates: list[str] = []
        for uri in (state.get("host_uri"), target_uri(args), *args.hosts):
            if isinstance(uri, str) and uri and uri not in candidates:
                candidates.append(uri)
        for uri in candidates:
            with self._conns.call(uri, resource=args.name, doing="looking for the domain") as conn:
                dom = lookup(conn.lookupByName, args.name, resource=args.name, what="domain")
                if dom is None:
                    continue
                if owner is not None and not _is_ours(dom, owner, state, adopt=adopt):
                    if progress is not None:
                        progress(f"domain {args.name} on {uri} is not owned by {owner}: not this resource's")
                    continue
                return uri, conn, dom
        return None

    # -- read -----------------------------------------------------------------
    def read(self, call: Call[VirtualMachineArgs]) -> tuple[dict[str, Any], VmOutputs] | None:
        args, progress = call.args, call.progress
        found = self.locate(args, call.state, owner=call.owner, progress=progress, adopt=args.adopt)
        if found is None:
            # Gone everywhere: the resource leaves the state, so an owned seed left behind
            # (e.g. by an interrupted delete) would be orphaned for good. Remove it now.
            self._delete_seed(args, call.owner, progress)
            return None
        uri, _conn, dom = found
        with self._conns.call(uri, resource=args.name, doing="reading the domain"):
            inactive = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
            observed = parse_domain(inactive, args)
            power = power_state(dom)
            observed["run_state"] = power if power in ("running", "paused", "stopped") else args.run_state
            outputs = self._outputs(dom, args, call.deadline, progress, fresh=False, host_uri=uri)
        return observed, outputs

    def _pending(self, dom: libvirt.virDomain, args: VirtualMachineArgs) -> list[str]:
        """Restart-class fields whose persistent config differs from the running guest.

        Live-class differences are not pending: e.g. the live currentMemory is the
        balloon's actual size, which lags the target while the guest deflates.
        """
        if not dom.isActive():
            return []
        live = parse_domain(dom.XMLDesc(0), args)
        config = parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), args)
        return plan_changes(live, config, VM_RULES).paths("restart")

    def _outputs(
        self,
        dom: libvirt.virDomain,
        args: VirtualMachineArgs,
        deadline: Deadline,
        progress: Progress,
        *,
        fresh: bool,
        host_uri: str | None = None,
    ) -> VmOutputs:
        live_xml = dom.XMLDesc(0)
        macs = parse_macs(live_xml)
        addresses = self._addresses(dom, macs, agent=args.guest_agent)
        if fresh and args.run_state == "running" and args.interfaces and args.wait_for_ip:
            progress("waiting for a DHCP lease")
            addresses = wait(
                Wait(
                    f"an IPv4 address on {args.name} (DHCP lease)",
                    Poll(lambda: self._addresses(dom, macs, agent=args.guest_agent), maximum=3.0),
                    _found,
                    deadline,
                    resource=args.name,
                )
            )
        pending = self._pending(dom, args)
        return {
            "uuid": dom.UUIDString(),
            "state": power_state(dom),
            "macs": macs,
            "ipv4": addresses,
            "serial_log_path": render.serial_log_path(args.name) if args.serial_console else None,
            "pending_restart": bool(pending),
            "pending_changes": pending,
            "host_uri": host_uri or target_uri(args),
        }

    def _addresses(self, dom: libvirt.virDomain, macs: dict[str, str], *, agent: bool) -> dict[str, str]:
        """IPv4 per NIC: DHCP leases of libvirt networks, then the guest agent when the VM has one."""
        if not dom.isActive():
            return {}
        by_mac: dict[str, str] = {}
        sources = [libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE]
        if agent:
            sources.append(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
        for source in sources:
            try:
                found = dom.interfaceAddresses(source, 0)
            except libvirt.libvirtError as err:
                if err.get_error_code() in (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_AGENT_UNRESPONSIVE):
                    continue
                raise
            for info in found.values():
                for addr in info.get("addrs") or []:
                    if addr.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV4 and info.get("hwaddr"):
                        by_mac.setdefault(info["hwaddr"].lower(), addr["addr"])
        return {nic: by_mac[mac] for nic, mac in macs.items() if mac in by_mac}

    # -- update ---------------------------------------------------------------
    def update(self, call: Call[VirtualMachineArgs], old: VirtualMachineArgs, plan: Plan) -> VmOutputs:
        new, owner, progress, deadline = call.args, call.owner, call.progress, call.deadline
        name = new.name
        found = self.locate(new, call.state, owner=owner, progress=progress, adopt=new.adopt)
        if found is None:
            if self.locate(new, call.state) is not None:
                raise Conflict(
                    f"domain {name!r} is not owned by {owner} (replaced out of band?): not updated",
                    resource=name,
                    field="name",
                )
            raise NotFound(f"domain {name!r} is gone; run `pulumi refresh`", resource=name)
        uri, conn, dom = found
        with self._conns.call(uri, resource=name, doing="updating the domain"):
            seed = self._seed_placement(new)
            if seed is not None and any(c.field == "cloud_init" for c in plan.changes):
                progress("rewriting the cloud-init seed (used on next boot)")
                # A seed our own domain already uses is ours even without a record (made before records).
                legacy = seed.volume in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
                self._write_seed(conn, new, seed, owner, progress, adopt=new.adopt, legacy=legacy)
            if plan.of_kind("restart") or plan.of_kind("live") or _marker(dom) != str(owner):
                progress("redefining the domain in place")
                conn.defineXML(render.render_domain(new, seed=seed, uuid=dom.UUIDString(), owner=str(owner)))
            if dom.isActive():
                self._apply_live(dom, old, new, plan, owner, progress)
            if old.cloud_init is not None and new.cloud_init is None:
                pool, volume = self._old_seed(old)
                with self._conns.pool_lock(uri, pool):
                    ledger.delete_owned_volume(conn, pool, volume, owner, resource=name, progress=progress)
                    ledger.remove_pool_if_unused(conn, pool, resource=name, progress=progress)
            restart = bool(plan.of_kind("restart")) and dom.isActive()
            if restart and new.restart_policy.mode == "auto" and new.run_state != "stopped":
                progress("restart-class change and restart_policy=auto: restarting")
                self._shutdown(dom, new, deadline)
                dom.create()
                self._wait_state(dom, "running", deadline, name)
            self._apply_run_state(dom, new, deadline, progress)
            return self._outputs(dom, new, deadline, progress, fresh=False, host_uri=uri)

    def _old_seed(self, old: VirtualMachineArgs) -> tuple[str, str]:
        seed = self._seed_placement(old)
        assert seed is not None
        return seed.pool, seed.volume

    def _apply_live(
        self,
        dom: libvirt.virDomain,
        old: VirtualMachineArgs,
        new: VirtualMachineArgs,
        plan: Plan,
        owner: Owner,
        progress: Progress,
    ) -> None:
        live = sorted({c.path for c in plan.of_kind("live")})
        new_xml = render.render_domain(new, seed=self._seed_placement(new), owner=str(owner))
        if ("memory",) in live:
            progress(f"setting memory to {new.memory} live")
            dom.setMemoryFlags(int(render.kib(new.memory)), _LIVE)
        if ("cpu", "sockets") in live:
            progress(f"setting {new.cpu.vcpus} vCPUs live")
            dom.setVcpusFlags(new.cpu.vcpus, _LIVE)
        old_disks = {d.name for d in old.disks}
        new_disks = {d.name for d in new.disks}
        old_nics = {i.name: i for i in old.interfaces}
        for path in live:
            if path[:1] == ("disks",) and len(path) == 2:
                disk = path[1]
                alias = render.disk_alias(disk)
                if disk in new_disks and disk not in old_disks:
                    progress(f"hot-plugging disk {disk}")
                    dom.attachDeviceFlags(_device(new_xml, alias), _LIVE)
                elif disk in old_disks and disk not in new_disks:
                    progress(f"unplugging disk {disk}")
                    dom.detachDeviceFlags(_device(dom.XMLDesc(0), alias), _LIVE)
            elif path[:1] == ("interfaces",) and len(path) >= 2:
                nic = path[1]
                alias = render.nic_alias(nic)
                if len(path) == 2:
                    if nic in old_nics and nic not in {i.name for i in new.interfaces}:
                        progress(f"unplugging NIC {nic}")
                        dom.detachDeviceFlags(_device(dom.XMLDesc(0), alias), _LIVE)
                    else:
                        progress(f"hot-plugging NIC {nic}")
                        dom.attachDeviceFlags(_device(new_xml, alias), _LIVE)
                else:
                    progress(f"moving NIC {nic} live")
                    update = render.render_interface_update(_device(new_xml, alias), _device(dom.XMLDesc(0), alias))
                    dom.updateDeviceFlags(update, _LIVE)
        if ("description",) in live:
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, new.description or "", None, None, _LIVE)
        if any(p[:1] == ("labels",) for p in live):
            dom.setMetadata(
                libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                render.render_labels_metadata(new, owner=str(owner)),
                "pkv",
                render.XMLNS,
                _LIVE,
            )

    def _apply_run_state(
        self, dom: libvirt.virDomain, args: VirtualMachineArgs, deadline: Deadline, progress: Progress
    ) -> None:
        state = power_state(dom)
        want = args.run_state
        if want == state:
            return
        if want == "stopped":
            progress("stopping (graceful shutdown first)")
            self._shutdown(dom, args, deadline)
        elif want == "running" and state == "paused":
            progress("resuming")
            dom.resume()
        elif want == "running":
            progress("starting")
            dom.create()
            self._wait_state(dom, "running", deadline, args.name)
        elif want == "paused":
            if state == "stopped":
                dom.create()
                self._wait_state(dom, "running", deadline, args.name)
            progress("pausing")
            dom.suspend()

    def _shutdown(self, dom: libvirt.virDomain, args: VirtualMachineArgs, deadline: Deadline) -> None:
        """ACPI shutdown bounded by the policy's timeout, then power off.

        The request is repeated every few seconds: a guest still booting (no
        ACPI listener yet) drops the first power-button event.
        """
        if not dom.isActive():
            return
        grace = min(parse_duration(args.restart_policy.shutdown_timeout), deadline.left())
        try:
            stopping = Poll(_AcpiShutdown(dom), maximum=1.0)
            wait(Wait("the guest to shut down", stopping, _off, Deadline(grace), resource=args.name))
        except WaitTimeout:
            pass  # the guest ignored ACPI within the grace period: power it off below
        if dom.isActive():
            dom.destroy()

    def _wait_state(self, dom: libvirt.virDomain, want: str, deadline: Deadline, name: str) -> None:
        wait(
            Wait(
                f"domain {name!r} to be {want}",
                Poll(lambda: power_state(dom)),
                lambda state: True if state == want else None,
                deadline,
                resource=name,
            )
        )

    # -- delete ---------------------------------------------------------------
    def delete(self, call: Call[VirtualMachineArgs]) -> None:
        args, owner, progress = call.args, call.owner, call.progress
        name = args.name
        found = self.locate(args, call.state, owner=owner, progress=progress)
        if found is not None:
            uri, _conn, dom = found
            with self._conns.call(uri, resource=name, doing="deleting the domain"):
                _merge_disk_only_snapshots(dom, owner, call.deadline, name=name, progress=progress)
                if dom.isActive():
                    progress("shutting down")
                    self._shutdown(dom, args, call.deadline)
                progress("undefining")
                dom.undefineFlags(_UNDEFINE_FLAGS)
                progress(f"undefined domain {name}")
        self._delete_seed(args, owner, progress)

    def _delete_seed(self, args: VirtualMachineArgs, owner: Owner, progress: Progress) -> None:
        """Remove the VM's seed volume if `owner` owns it (then its pool if ours and empty)."""
        seed = self._seed_placement(args)
        if seed is None:
            return
        name, home = args.name, target_uri(args)
        with self._conns.call(home, resource=name, doing="deleting the cloud-init seed") as conn:
            with self._conns.pool_lock(home, seed.pool):
                if ledger.delete_owned_volume(conn, seed.pool, seed.volume, owner, resource=name, progress=progress):
                    progress(f"deleted the cloud-init seed {seed.pool}/{seed.volume}")
                ledger.remove_pool_if_unused(conn, seed.pool, resource=name, progress=progress)


def _merge_disk_only_snapshots(
    dom: libvirt.virDomain, owner: Owner, deadline: Deadline, *, name: str, progress: Progress
) -> None:
    """Delete (merge back) the disk-only snapshots of `dom` marked by `owner`'s stack, newest first,
    each bounded by `deadline` (past it the merge job is aborted: the next delete merges again)."""
    ours: list[tuple[int, str, libvirt.virDomainSnapshot]] = []
    for snap in dom.listAllSnapshots(0):
        xml = snap.getXMLDesc(0)
        marker = parse_disk_only_owner(xml)
        if marker is not None and marker.partition("::")[0] == owner.stack:
            ours.append((parse_snapshot(xml)[3] or 0, snap.getName(), snap))
    for _created, snapshot, snap in sorted(ours, key=lambda item: (item[0], item[1]), reverse=True):
        progress(f"merging disk-only snapshot {snapshot} back into the disks")
        try:
            bounded_job(
                dom,
                partial(snap.delete, 0),
                deadline=deadline,
                resource=name,
                what=f"merging snapshot {snapshot}",
                timed_out=f"merging disk-only snapshot {snapshot} back into the disks did not finish within the "
                "resource's timeout and was aborted; raise customTimeouts (a destroy again merges what is left)",
            )
        except libvirt.libvirtError as err:
            # Its Snapshot resource deleted it meanwhile (a VM named by a plain string is not waited for).
            if err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                raise
        progress(f"merged disk-only snapshot {snapshot}")


def _marker(dom: libvirt.virDomain) -> str | None:
    return parse_owner(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


def _is_ours(dom: libvirt.virDomain, owner: Owner, state: Mapping[str, Any], *, adopt: bool = False) -> bool:
    """Marked as `owner`'s, or unmarked and either the very domain the state recorded (defined before
    markers existed, or imported) or adopted (`adopt`); another owner's with `adopt` is a Conflict."""
    marker = _marker(dom)
    if marker is None and bool(state.get("uuid")) and state.get("uuid") == dom.UUIDString():
        return True
    return readable(marker, owner, adopt=adopt, what=f"domain {dom.name()}", resource=dom.name())


def _found(addresses: dict[str, str]) -> dict[str, str] | None:
    return addresses or None


def _off(active: bool) -> bool | None:
    return None if active else True


class _AcpiShutdown:
    """Observes whether the guest still runs, repeating the ACPI shutdown request every
    _SHUTDOWN_REPEAT seconds meanwhile: a guest still booting (no ACPI listener yet) drops
    the first power-button event."""

    def __init__(self, dom: libvirt.virDomain) -> None:
        self._dom = dom
        self._last_request = 0.0

    def __call__(self) -> bool:
        if not self._dom.isActive():
            return False
        if time.monotonic() - self._last_request >= _SHUTDOWN_REPEAT:
            try:
                self._dom.shutdown()
            except libvirt.libvirtError as err:
                # OPERATION_INVALID: it stopped on its own between the check and the call.
                if err.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                    raise
            self._last_request = time.monotonic()
        return True


def _device(domain_xml: str, alias: str) -> str:
    xml = render.render_device_xml(domain_xml, alias)
    if xml is None:
        raise InvalidSpec(f"device {alias} not found in the domain definition")
    return xml


__all__ = ["DomainReconciler"]
