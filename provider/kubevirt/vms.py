"""KubeVirt VirtualMachine reconciler.

I/O. Server-side apply of the rendered objects (one field manager), then bounded
watches. Start/stop is a runStrategy edit (never a replacement); pause/unpause
go through virt-api's subresources.kubevirt.io. Restart-class changes set
KubeVirt's RestartRequired condition: reported as `pending_restart`, or, with
restart_policy auto, applied by a stop/start cycle of the runStrategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Conflict, NotFound, OperationFailed, WaitTimeout
from ..models import KubevirtTarget, VirtualMachineArgs
from ..models.common import parse_duration
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Progress
from . import render
from .client import SECRET, VM, VMI, Api, Clusters, Gvr
from .parse import parse_vm
from .watching import gone, vm_ready, vm_stopped, wait_until

_OBSERVE = 15.0
"""Seconds to wait for virt-controller to observe an edit before reading its conditions."""


def _target(args: VirtualMachineArgs) -> KubevirtTarget:
    assert isinstance(args.target, KubevirtTarget)
    return args.target


def _condition(obj: Mapping[str, Any] | None, kind: str) -> Mapping[str, Any] | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


class VmReconciler:
    """CRUD of VirtualMachine resources on KubeVirt."""

    def __init__(self, clusters: Clusters) -> None:
        self._clusters = clusters

    def _api(self, args: VirtualMachineArgs) -> Api:
        return self._clusters.api(_target(args), resource=args.name)

    def create(self, args: VirtualMachineArgs, *, owner: Owner, progress: Progress) -> dict[str, Any]:
        api, ns = self._api(args), _target(args).namespace
        deadline = Deadline(parse_duration(args.timeouts.create))
        if api.get(VM, args.name, ns) is not None:
            raise Conflict(
                f"VirtualMachine {ns}/{args.name} already exists: pick another name or delete it",
                resource=args.name,
                field="name",
            )
        created: list[tuple[Gvr, str]] = []
        try:
            for secret in self._secrets(args, ns):
                api.apply(SECRET, secret)
                created.append((SECRET, secret["metadata"]["name"]))
            progress("applying the VirtualMachine")
            api.apply(VM, render.render_vm(args, namespace=ns))
            created.append((VM, args.name))
            self._settle(api, args, ns, deadline, progress)
            return self._outputs(api, args, ns)
        except BaseException:
            for gvr, name in reversed(created):
                api.delete(gvr, name, ns)
            raise

    def _secrets(self, args: VirtualMachineArgs, ns: str) -> list[dict[str, Any]]:
        try:
            return render.render_cloud_init_secrets(args, namespace=ns)
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

        def seen(obj: dict[str, Any] | None) -> bool | None:
            desired = ((obj or {}).get("status") or {}).get("desiredGeneration")
            return True if obj is None or (isinstance(desired, int) and desired >= generation) else None

        try:
            wait_until(
                api,
                VM,
                args.name,
                ns,
                seen,
                deadline=Deadline(min(_OBSERVE, deadline.left())),
                what="virt-controller to observe the change",
                progress=progress,
            )
        except WaitTimeout:
            progress(f"virt-controller did not report generation {generation}; conditions may lag")

    def _settle(self, api: Api, args: VirtualMachineArgs, ns: str, deadline: Deadline, progress: Progress) -> None:
        strategy = render.run_strategy(args)
        if strategy in ("Always", "RerunOnFailure"):
            progress("waiting for the VM to be Ready")
            wait_until(
                api, VM, args.name, ns, vm_ready, deadline=deadline, what="the VM to be Ready", progress=progress
            )
        elif strategy == "Halted":
            wait_until(api, VM, args.name, ns, vm_stopped, deadline=deadline, what="the VM to stop", progress=progress)
        vmi = api.get(VMI, args.name, ns)
        paused = _condition(vmi, "Paused") is not None
        if args.run_state == "paused" and not paused:
            progress("pausing")
            api.subresource(VMI, args.name, ns, "pause")
        elif args.run_state == "running" and paused:
            progress("unpausing")
            api.subresource(VMI, args.name, ns, "unpause")

    def read(
        self, args: VirtualMachineArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        api, ns = self._api(args), _target(args).namespace
        obj = api.get(VM, args.name, ns)
        if obj is None:
            return None
        observed = parse_vm(obj, args)
        vmi = api.get(VMI, args.name, ns)
        if _condition(vmi, "Paused") is not None:
            observed["run_state"] = "paused"
        return observed, self._outputs(api, args, ns, vm=obj, vmi=vmi)

    def update(
        self,
        old: VirtualMachineArgs,
        new: VirtualMachineArgs,
        plan: Plan,
        state: Mapping[str, Any],
        *,
        owner: Owner,
        progress: Progress,
    ) -> dict[str, Any]:
        api, ns = self._api(new), _target(new).namespace
        deadline = Deadline(parse_duration(new.timeouts.update))
        if api.get(VM, new.name, ns) is None:
            raise NotFound(f"VirtualMachine {ns}/{new.name} is gone; run `pulumi refresh`", resource=new.name)
        for secret in self._secrets(new, ns):
            api.apply(SECRET, secret)
        progress("applying the VirtualMachine in place")
        applied = api.apply(VM, render.render_vm(new, namespace=ns))
        self._observed(api, new, ns, applied, deadline, progress)
        wanted = {s["metadata"]["name"] for s in self._secrets(new, ns)}
        for stale in {s["metadata"]["name"] for s in self._secrets(old, ns)} - wanted:
            api.delete(SECRET, stale, ns)
        running = render.run_strategy(new) in ("Always", "RerunOnFailure")
        if plan.of_kind("restart") and new.restart_policy.mode == "auto" and running:
            progress("restart-class change and restart_policy=auto: stopping and starting")
            api.apply(VM, render.render_vm(new.model_copy(update={"run_state": "stopped"}), namespace=ns))
            wait_until(api, VM, new.name, ns, vm_stopped, deadline=deadline, what="the VM to stop", progress=progress)
            api.apply(VM, render.render_vm(new, namespace=ns))
        self._settle(api, new, ns, deadline, progress)
        return self._outputs(api, new, ns)

    def delete(self, args: VirtualMachineArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress) -> None:
        api, ns = self._api(args), _target(args).namespace
        deadline = Deadline(parse_duration(args.timeouts.delete))
        if api.delete(VM, args.name, ns):
            progress("waiting for the VM and its instance to go")
            wait_until(
                api,
                VM,
                args.name,
                ns,
                gone,
                deadline=deadline,
                what="the VM to be deleted",
                progress=progress,
            )
        wait_until(
            api,
            VMI,
            args.name,
            ns,
            gone,
            deadline=deadline,
            what="the VM instance to be deleted",
            progress=progress,
        )
        for secret in self._secrets(args, ns):
            api.delete(SECRET, secret["metadata"]["name"], ns)

    def _outputs(
        self,
        api: Api,
        args: VirtualMachineArgs,
        ns: str,
        *,
        vm: Mapping[str, Any] | None = None,
        vmi: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        vm = vm if vm is not None else api.get(VM, args.name, ns) or {}
        vmi = vmi if vmi is not None else api.get(VMI, args.name, ns) or {}
        vm_status = vm.get("status") or {}
        vmi_status = vmi.get("status") or {}
        macs: dict[str, str] = {}
        ipv4: dict[str, str] = {}
        for iface in vmi_status.get("interfaces") or []:
            name = iface.get("name")
            if not name:
                continue
            if iface.get("mac"):
                macs[name] = str(iface["mac"]).lower()
            addrs = [iface.get("ipAddress"), *(iface.get("ipAddresses") or [])]
            v4 = next((a for a in addrs if a and ":" not in a), None)
            if v4:
                ipv4[name] = v4
        restart = _condition(vm, "RestartRequired")
        pending = restart is not None and restart.get("status") == "True"
        return {
            "uuid": (vm.get("metadata") or {}).get("uid"),
            "state": vm_status.get("printableStatus"),
            "printable_status": vm_status.get("printableStatus"),
            "phase": vmi_status.get("phase"),
            "node": vmi_status.get("nodeName"),
            "conditions": {
                str(c.get("type")): str(c.get("status")) for c in vm_status.get("conditions") or [] if c.get("type")
            },
            "macs": macs,
            "ipv4": ipv4,
            "serial_log_path": None,
            "pending_restart": pending,
            "pending_changes": [str(restart.get("message") or "RestartRequired")] if pending and restart else [],
            "host_uri": f"kubevirt:{ns}/{vmi_status.get('nodeName') or ''}",
        }
