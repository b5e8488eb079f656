"""KubeVirt VirtualMachine reconciler.

I/O. Ownership-checked server-side apply of the rendered objects (owned.py: one
field manager, never onto a stranger's object), then bounded watches. Create is
idempotent per owner: a rerun after an interruption adopts the Secrets and the
VM it made and finishes; a failed create removes what it made. Start/stop is
a runStrategy edit (never a replacement); pause/unpause go through virt-api's
subresources.kubevirt.io, and so does disk hot-plug: a hot-pluggable disk added
to a running VM is attached with addvolume, a hot-plugged one removed with
removevolume (virt-controller writes both into the VM's template and instance,
marked hotpluggable, which the apply that follows keeps). Restart-class changes set KubeVirt's RestartRequired
condition: reported as `pending_restart`, or, with restart_policy auto, applied by a
stop/start cycle of the runStrategy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..core import Call
from ..errors import OperationFailed, WaitTimeout
from ..models import VirtualMachineArgs
from ..models.common import dump
from ..outputs import VmOutputs
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Progress, wait
from . import render
from .base import KubevirtReconciler
from .client import DATA_VOLUME, PVC, SECRET, VM, VMI, Api, Gvr
from .judges import claim_released, generation_observed, gone, vm_ready, vm_stopped, volumes_applied
from .owned import apply_owned, delete_owned, fetch_owned, foreign, refuse_foreign, roll_back
from .parse import condition, owned, parse_graphics, parse_hotplugged, parse_vm, parse_vm_outputs, parse_volume_names
from .rules import hot_pluggable
from .watching import Watch

_OBSERVE = 15.0
"""Seconds to wait for virt-controller to observe an edit before reading its conditions."""
_ROLLBACK = 10.0
"""Seconds a failed create may spend removing what it made (the create's own deadline may be spent)."""


class VmReconciler(KubevirtReconciler):
    """CRUD of VirtualMachine resources on KubeVirt."""

    def create(self, call: Call[VirtualMachineArgs]) -> VmOutputs:
        args, owner, progress = call.args, call.owner, call.progress
        api, ns = self._open(call)
        secrets = self._secrets(args, ns, owner)
        vm = render.render_vm(args, namespace=ns, owner=owner)
        refuse_foreign(api, [*((SECRET, s) for s in secrets), (VM, vm)], owner=owner, adopt=args.adopt)
        made: list[tuple[Gvr, str, str | None]] = []
        try:
            for secret in secrets:
                if (
                    apply_owned(
                        api, SECRET, secret, owner=owner, adopt=args.adopt, progress=progress, deadline=call.deadline
                    ).verb
                    != "adopted"
                ):
                    made.append((SECRET, secret["metadata"]["name"], ns))
            progress("applying the VirtualMachine")
            written = apply_owned(api, VM, vm, owner=owner, adopt=args.adopt, progress=progress, deadline=call.deadline)
            if written.verb != "adopted":
                # KubeVirt makes the template DataVolumes (marked ours by the template metadata) after the
                # VM; removed after it, so the VM controller cannot make them again meanwhile.
                made.extend((DATA_VOLUME, dv, ns) for dv in reversed(render.template_data_volumes(args)))
                made.append((VM, args.name, ns))
            seen, vmi = self._settle(api, args, ns, call.deadline, progress, written=written.obj)
            return self._outputs(api, args, ns, vm=seen, vmi=vmi)
        except BaseException:
            # Never what was adopted: that was the user's before this create.
            roll_back(api.within(_ROLLBACK), made, owner=owner, progress=progress)
            raise

    def _secrets(self, args: VirtualMachineArgs, ns: str, owner: Owner) -> list[dict[str, Any]]:
        try:
            return render.render_cloud_init_secrets(args, namespace=ns, owner=owner)
        except ValueError as err:
            raise OperationFailed(str(err), resource=args.name) from err

    def _observed(
        self,
        api: Api,
        args: VirtualMachineArgs,
        ns: str,
        applied: Mapping[str, Any] | None,
        deadline: Deadline,
        progress: Progress,
    ) -> None:
        """Wait (briefly) until virt-controller has seen our edit, so RestartRequired is current.

        KubeVirt reports the generation it processed in status.desiredGeneration;
        a controller that does not (older releases) costs at most _OBSERVE seconds.
        """
        generation = ((applied or {}).get("metadata") or {}).get("generation")
        if not isinstance(generation, int):
            return

        try:
            wait(
                Watch(api, VM, args.name, ns).until(
                    generation_observed(generation),
                    "virt-controller to observe the change",
                    Deadline(min(_OBSERVE, deadline.left())),
                    progress,
                )
            )
        except WaitTimeout:
            progress(f"virt-controller did not report generation {generation}; conditions may lag")

    def _settle(
        self,
        api: Api,
        args: VirtualMachineArgs,
        ns: str,
        deadline: Deadline,
        progress: Progress,
        *,
        written: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Wait for the run strategy's state; the VM and its instance as last seen, for the outputs
        (None: read them again). `written`: the VM as this create's apply returned it (the wait starts
        there, with no read)."""
        strategy = render.run_strategy(args)
        seen: dict[str, Any] | None = None
        if strategy in ("Always", "RerunOnFailure"):
            progress("waiting for the VM to be Ready")
            seen = wait(
                Watch(api, VM, args.name, ns, after=written).until(
                    _ready(deadline), "the VM to be Ready", deadline, progress
                )
            )
        elif strategy == "Halted":
            wait(Watch(api, VM, args.name, ns, after=written).until(vm_stopped, "the VM to stop", deadline, progress))
        vmi = self._instance(api, args, ns, seen if written is not None else None)
        paused = condition(vmi, "Paused") is not None
        if args.run_state == "paused" and not paused:
            progress("pausing")
            api.subresource(VMI, args.name, ns, "pause")
            return seen, None
        if args.run_state == "running" and paused:
            progress("unpausing")
            api.subresource(VMI, args.name, ns, "unpause")
            return seen, None
        return seen, vmi

    def _instance(
        self, api: Api, args: VirtualMachineArgs, ns: str, created: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The VMI. For a VM this create made and saw Ready, the VMI informer's copy when it is that VM's
        (its controller is the VM's UID, new with this create) and Ready: what made the VM Ready, with no
        request; otherwise a GET."""
        if created is not None:
            cached = api.peek(VMI, args.name, ns)
            uid = (created.get("metadata") or {}).get("uid")
            owners = [ref.get("uid") for ref in ((cached or {}).get("metadata") or {}).get("ownerReferences") or []]
            ready = condition(cached, "Ready")
            if cached is not None and uid in owners and ready is not None and ready.get("status") == "True":
                return cached
        return api.get(VMI, args.name, ns)

    def read(self, call: Call[VirtualMachineArgs]) -> tuple[dict[str, Any], VmOutputs] | None:
        args = call.args
        api, ns = self._open(call)
        obj = fetch_owned(api, VM, args.name, ns, owner=call.owner, adopt=args.adopt)
        if obj is None:
            return self._remnant(api, args, ns, call.owner)
        observed = parse_vm(obj, args)
        # The VMI from the namespace's shared informer (one list for a whole refresh, not a GET per VM):
        # as fresh as its watch, which is what a refresh is (a snapshot of a moving system) anyway.
        vmi = api.peek(VMI, args.name, ns)
        if condition(vmi, "Paused") is not None:
            observed["run_state"] = "paused"
        return observed, self._outputs(api, args, ns, vm=obj, vmi=vmi or {})

    def _remnant(
        self, api: Api, args: VirtualMachineArgs, ns: str, owner: Owner
    ) -> tuple[dict[str, Any], VmOutputs] | None:
        """The VM is gone (or is not ours). When Secrets of ours remain (an interrupted delete, a VM
        deleted by hand) the resource stays, observed as not running, so `destroy` removes them and
        `up` recreates the VM; with nothing of ours left it is gone."""
        if not any(fetch_owned(api, SECRET, name, ns, owner=owner) for name in render.secret_names(args)):
            return None
        observed = dump(args)
        if args.kubevirt is not None and args.kubevirt.run_strategy is not None:
            observed["kubevirt"]["run_strategy"] = "Halted"
        observed["run_state"] = "stopped"
        outputs = self._outputs(api, args, ns, vm={}, vmi={})
        outputs["state"] = outputs["printable_status"] = "Missing"
        return observed, outputs

    def update(self, call: Call[VirtualMachineArgs], old: VirtualMachineArgs, plan: Plan) -> VmOutputs:
        new, owner, progress, deadline = call.args, call.owner, call.progress, call.deadline
        api, ns = self._open(call)
        current = api.get(VM, new.name, ns)
        if current is not None and not owned(current, owner) and not new.adopt:
            raise foreign(VM, new.name, ns, current, owner, new.name)
        for secret in self._secrets(new, ns, owner):
            apply_owned(api, SECRET, secret, owner=owner, adopt=new.adopt, progress=progress, deadline=deadline)
        hotplugged = self._hot_plug(api, new, ns, current, deadline, progress)
        progress("applying the VirtualMachine in place")
        graphics = parse_graphics(current)
        vm = render.render_vm(new, namespace=ns, owner=owner, hotplugged=hotplugged, graphics=graphics)
        # A VM deleted out of band (its Secrets still ours, see `_remnant`) is made again.
        applied = apply_owned(api, VM, vm, owner=owner, adopt=new.adopt, progress=progress, deadline=deadline).obj
        self._observed(api, new, ns, applied, deadline, progress)
        for stale in set(render.secret_names(old)) - set(render.secret_names(new)):
            delete_owned(api, SECRET, stale, ns, owner=owner, progress=progress)
        running = render.run_strategy(new) in ("Always", "RerunOnFailure")
        if plan.of_kind("restart") and new.restart_policy.mode == "auto" and running:
            progress("restart-class change and restart_policy=auto: stopping and starting")
            halted = render.render_vm(
                new.model_copy(update={"run_state": "stopped"}),
                namespace=ns,
                owner=owner,
                hotplugged=hotplugged,
                graphics=graphics,
            )
            apply_owned(api, VM, halted, owner=owner, must_exist=True, progress=progress)
            wait(Watch(api, VM, new.name, ns).until(vm_stopped, "the VM to stop", deadline, progress))
            apply_owned(api, VM, vm, owner=owner, must_exist=True, progress=progress)
        self._settle(api, new, ns, deadline, progress)
        return self._outputs(api, new, ns)

    def _hot_plug(
        self,
        api: Api,
        args: VirtualMachineArgs,
        ns: str,
        current: Mapping[str, Any] | None,
        deadline: Deadline,
        progress: Progress,
    ) -> frozenset[str]:
        """Attach the hot-pluggable disks new to a running VM (addvolume) and detach the hot-plugged ones
        it no longer has (removevolume), then wait until virt-controller has written them into the VM.
        The disks hot-plugged that remain: their volumes keep KubeVirt's hotpluggable mark. A stopped
        VM (no instance) takes them as a template edit, like any other change."""
        wanted = {disk.name: disk for disk in args.disks}
        plugged = parse_hotplugged(current)
        if current is None or api.get(VMI, args.name, ns) is None:
            return frozenset(plugged & wanted.keys())
        have = parse_volume_names(current)
        pending = {
            str((r.get("addVolumeOptions") or r.get("removeVolumeOptions") or {}).get("name"))
            for r in (current.get("status") or {}).get("volumeRequests") or []
        }
        added = frozenset(
            name
            for name, disk in wanted.items()
            if name not in have and hot_pluggable(dump(disk)) and name not in pending
        )
        removed = frozenset(name for name in plugged - wanted.keys() if name not in pending)
        for name in sorted(added):
            progress(f"hot-plugging disk {name}")
            volume = render.render_volume(args.name, wanted[name], hotplugged=True)
            volume.pop("name")
            body = {"name": name, "disk": render.render_disk(wanted[name]), "volumeSource": volume}
            api.subresource(VM, args.name, ns, "addvolume", body)
        for name in sorted(removed):
            progress(f"unplugging disk {name}")
            api.subresource(VM, args.name, ns, "removevolume", {"name": name})
        if added or removed or pending:
            current = wait(
                Watch(api, VM, args.name, ns).until(
                    volumes_applied(added, removed), "virt-controller to hot-plug the disks", deadline, progress
                )
            )
        return frozenset(parse_hotplugged(current) & wanted.keys())

    def delete(self, call: Call[VirtualMachineArgs]) -> None:
        args, owner, progress, deadline = call.args, call.owner, call.progress, call.deadline
        api, ns = self._open(call)
        removal = delete_owned(api, VM, args.name, ns, owner=owner, progress=progress, adopt=args.adopt)
        if removal == "deleted":
            progress("waiting for the VM and its instance to go")
            wait(Watch(api, VM, args.name, ns).until(gone, "the VM to be deleted", deadline, progress))
        if removal != "foreign":
            wait(Watch(api, VMI, args.name, ns).until(gone, "the VM instance to be deleted", deadline, progress))
            # The garbage collector removes them with the VM, eventually; destroy waits for
            # them (and removes any left by an interrupted create), so nothing outlives the stack.
            for dv in render.template_data_volumes(args):
                if delete_owned(api, DATA_VOLUME, dv, ns, owner=owner, progress=progress) != "foreign":
                    wait(
                        Watch(api, DATA_VOLUME, dv, ns).until(
                            gone, "the VM's DataVolume to be deleted", deadline, progress
                        )
                    )
                    # its claim goes after it (garbage collector, then PVC protection): a next `up`
                    # making the DataVolume again must not find the old claim still being deleted
                    wait(
                        Watch(api, PVC, dv, ns).until(
                            claim_released(dv), "the DataVolume's claim to go", deadline, progress
                        )
                    )
        for name in render.secret_names(args):
            delete_owned(api, SECRET, name, ns, owner=owner, progress=progress)

    def _outputs(
        self,
        api: Api,
        args: VirtualMachineArgs,
        ns: str,
        *,
        vm: Mapping[str, Any] | None = None,
        vmi: Mapping[str, Any] | None = None,
    ) -> VmOutputs:
        vm = vm if vm is not None else api.get(VM, args.name, ns) or {}
        vmi = vmi if vmi is not None else api.get(VMI, args.name, ns) or {}
        return parse_vm_outputs(args, ns, vm, vmi)


def _ready(deadline: Deadline) -> Callable[[dict[str, Any] | None], dict[str, Any] | None]:
    """`vm_ready`, handing back the VM it judged Ready (its status is the outputs')."""
    ready = vm_ready(deadline)

    def judge(obj: dict[str, Any] | None) -> dict[str, Any] | None:
        return obj if ready(obj) else None

    return judge
