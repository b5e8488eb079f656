"""TEST DOUBLE of KubeVirt's virt-handler (a node daemon: it needs a node, libvirt in a pod).

Real component: ``virt-handler`` (kubevirt.io/kubevirt ``pkg/virt-handler``), one per
node, which runs the domain of every VMI scheduled to its node and reports it in the VMI
status. The real virt-controller does everything before (VMI Pending -> Scheduling ->
Scheduled with ``nodeName``, the launcher pod) and after (VM status, pod cleanup,
finalizers, migration objects); this double only writes what virt-handler writes, on
VMIs of its nodes, through the API, as the ``kubevirt-handler`` service account (whose
writes of ``kubevirt.io/`` labels virt-api's webhook allows):

- Nodes: the labels virt-handler's node labeller sets (``kubevirt.io/schedulable``,
  ``machine-type.node.kubevirt.io/q35``, a CPU model), which launcher pods select.
- VMI ``Scheduled`` on one of ``nodes`` -> ``Running``: ``interfaces`` (name, mac,
  ipAddress/ipAddresses, interfaceName, infoSource), conditions LiveMigratable and
  AgentConnected, ``guestOSInfo``, ``currentCPUTopology``, ``memory``, ``machine``,
  ``migrationMethod``. While Running it keeps ``currentCPUTopology``/``memory`` in line
  with the spec (the guest took the hot-plugged CPUs/memory).
- A VMI being deleted (``deletionTimestamp``) while its domain runs: the domain is shut
  down, phase ``Succeeded`` (virt-controller then deletes the pod and the finalizers).
- Migration (the node side of what the migration controller hands over in
  ``status.migrationState``): target prepared (``targetNodeAddress``), migration
  started (``startTimestamp``, ``mode``), completed (``completed``, ``endTimestamp``,
  domain on the target: ``nodeName`` and label ``kubevirt.io/nodeName`` move), or
  failed (``failed``, ``failureReason``); an abort requested by virt-controller
  (``abortRequested``, when the VMIM is deleted) ends with ``abortStatus: Succeeded``.

Switches (annotations; on a VM put them in ``spec.template.metadata.annotations``,
which virt-controller copies to the VMI):

- ``test-double.pulumi-kubevirt.io/fail: "<Reason>"`` on a VMI: the domain does not
  start; phase Failed with that ``reason``. On a VMIM: the migration fails.
- ``test-double.pulumi-kubevirt.io/message``: the failure message.
- ``test-double.pulumi-kubevirt.io/hold: "<Phase>"`` on a VMI (``Scheduled``) or VMIM
  (``TargetReady``, ``Running``): the node does not go on while it is there.
  A ``hold: "Scheduled"`` on the VMI's owning VM (its metadata, where the provider's
  ``kubevirt.annotations`` go) holds its instances too; the double only reads the VM.
- ``test-double.pulumi-kubevirt.io/ips: "default=10.244.0.9,net1=192.168.1.5"``,
  ``test-double.pulumi-kubevirt.io/guest-agent: "false"``: what the guest reports.
- ``test-double.pulumi-kubevirt.io/step-delay: "<seconds>"``: time between steps.
"""

from __future__ import annotations

import copy
import hashlib
import time
import zlib
from typing import Any

from kubernetes import client as k8s

from .engine import (
    DEFAULT_MESSAGE,
    FAIL,
    HOLD,
    MESSAGE,
    NODE,
    PREFIX,
    VM,
    VMI,
    VMIM,
    Controller,
    Key,
    Kind,
    Obj,
    annotations_of,
    cond,
    key_of,
    merge_conditions,
    meta,
    now,
)

IPS = PREFIX + "ips"
GUEST_AGENT = PREFIX + "guest-agent"
NODE_LABEL = "kubevirt.io/nodeName"
# What virt-handler (its node labeller) puts on its node; virt-controller's launcher pods
# select them (kubevirt.io/schedulable, the VMI's machine type).
NODE_LABELS = {
    "kubevirt.io/schedulable": "true",
    "machine-type.node.kubevirt.io/q35": "true",
    "machine-type.node.kubevirt.io/pc-q35-rhel9.6.0": "true",
    "cpu-model.node.kubevirt.io/Skylake-Client-IBRS": "true",
    "host-model-cpu.node.kubevirt.io/Skylake-Client-IBRS": "true",
    "cpu-model-migration.node.kubevirt.io/Skylake-Client-IBRS": "true",
}


class VirtHandlerDouble(Controller):
    """Plays virt-handler on `nodes` (a test double)."""

    name = "virt-handler-double"
    kinds = (VMI, VMIM)

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        nodes: tuple[str, ...] = ("node01", "node02", "node03"),
        boot_seconds: float = 0.0,
        **kw: Any,
    ) -> None:
        super().__init__(api_client, **kw)
        self.nodes = nodes
        self.boot_seconds = boot_seconds
        """Opt-in (the slow-boot benchmark): a Scheduled VMI turns Running this long after it was
        first seen Scheduled, at the earliest."""
        self._scheduled_at: dict[Key, float] = {}

    def setup(self) -> None:
        for node in self.nodes:
            if self.get(NODE, "", node) is not None:
                self.call(
                    "PATCH",
                    NODE.path("", node),
                    {"metadata": {"labels": NODE_LABELS}},
                    content_type="application/merge-patch+json",
                )

    def owners(self, kind: Kind, obj: Obj) -> list[Key]:
        # A change of a migration object (its switches) is a reason to look at its VMI.
        if kind is VMIM:
            vmi = (obj.get("spec") or {}).get("vmiName")
            if vmi:
                return [(VMI.kind, meta(obj).get("namespace", ""), vmi)]
        return []

    def _held(self, vmi: Obj) -> bool:
        """The hold switch at Scheduled, on the VMI or on the VM that owns it."""
        if annotations_of(vmi).get(HOLD) == "Scheduled":
            return True
        for ref in meta(vmi).get("ownerReferences") or []:
            if ref.get("kind") == "VirtualMachine":
                vm = self.get(VM, meta(vmi).get("namespace", ""), ref.get("name", ""))
                return vm is not None and annotations_of(vm).get(HOLD) == "Scheduled"
        return False

    def reconcile(self, kind: Kind, namespace: str, name: str) -> None:
        if kind is VMIM:
            return  # only read (see owners)
        vmi = self.get(VMI, namespace, name)
        if vmi is None:
            return
        status: Obj = copy.deepcopy(vmi.get("status") or {})
        phase = status.get("phase") or ""
        node = status.get("nodeName")
        if node not in self.nodes:
            return
        key = key_of(VMI, vmi)
        if meta(vmi).get("deletionTimestamp"):
            if phase in ("Scheduled", "Running"):
                status["phase"] = "Succeeded"
                status["conditions"] = merge_conditions(
                    status.get("conditions"), [cond("Ready", False, "GuestNotRunning", "Guest VM is not running")]
                )
                self.write_status(VMI, vmi, status)
            return
        if not self.due(key):
            return
        if phase == "Scheduled":
            if self._held(vmi) or self._booting(key):
                return
            self._start_domain(vmi, status, node)
            self.write_status(VMI, vmi, status)
            return
        if phase == "Running":
            changed = self._track_spec(vmi, status)
            changed = self._migrate(vmi, status) or changed
            if changed:
                self.write_status(VMI, vmi, status)

    def _booting(self, key: Key) -> bool:
        """Within `boot_seconds` of first seeing the VMI Scheduled (then come back when it is over)."""
        if self.boot_seconds <= 0:
            return False
        left = self._scheduled_at.setdefault(key, time.monotonic()) + self.boot_seconds - time.monotonic()
        if left > 0:
            self.queue.put(key, left)
            return True
        self._scheduled_at.pop(key, None)
        return False

    # -- the domain ----------------------------------------------------------------------

    def _start_domain(self, vmi: Obj, status: Obj, node: str) -> None:
        notes = annotations_of(vmi)
        fail = notes.get(FAIL)
        if fail:
            status["phase"] = "Failed"
            status["reason"] = fail
            status["conditions"] = merge_conditions(
                status.get("conditions"), [cond("Ready", False, fail, notes.get(MESSAGE, DEFAULT_MESSAGE))]
            )
            return
        agent = notes.get(GUEST_AGENT, "true").lower() != "false"
        conditions = [cond("LiveMigratable", True)]
        if agent:
            conditions.append(cond("AgentConnected", True))
            status["guestOSInfo"] = {
                "id": "testdouble",
                "name": "Test Double Linux",
                "prettyName": "Test Double Linux 1.0",
                "version": "1.0",
                "versionId": "1.0",
                "kernelRelease": "6.1.0-test-double",
                "kernelVersion": "#1 SMP",
                "machine": "x86_64",
            }
        status["phase"] = "Running"
        history = list(status.get("phaseTransitionTimestamps") or [])
        history.append({"phase": "Running", "phaseTransitionTimestamp": now()})
        status["phaseTransitionTimestamps"] = history
        status["conditions"] = merge_conditions(status.get("conditions"), conditions)
        status["interfaces"] = self._interfaces(vmi, node, agent)
        status["migrationMethod"] = "LiveMigration"
        # What virt-handler reports on a node without SELinux; virt-controller needs it to
        # render a migration target pod.
        status["selinuxContext"] = "none"
        domain = (vmi.get("spec") or {}).get("domain") or {}
        status["machine"] = {"type": (domain.get("machine") or {}).get("type") or "q35"}
        self._track_spec(vmi, status)

    def _track_spec(self, vmi: Obj, status: Obj) -> bool:
        """currentCPUTopology and memory follow the (hot-plugged) spec; True if changed."""
        before = copy.deepcopy(status)
        domain = (vmi.get("spec") or {}).get("domain") or {}
        cpu = domain.get("cpu") or {}
        status["currentCPUTopology"] = {k: int(cpu.get(k) or 1) for k in ("cores", "sockets", "threads")}
        guest = (domain.get("memory") or {}).get("guest") or (
            (domain.get("resources") or {}).get("requests") or {}
        ).get("memory")
        if guest:
            memory: Obj = dict(status.get("memory") or {})
            memory.setdefault("guestAtBoot", guest)
            memory.update({"guestCurrent": guest, "guestRequested": guest})
            status["memory"] = memory
        return bool(status != before)

    def _interfaces(self, vmi: Obj, node: str, agent: bool) -> list[Obj]:
        spec = vmi.get("spec") or {}
        devices = (spec.get("domain") or {}).get("devices") or {}
        interfaces = list(devices.get("interfaces") or [])
        networks = {n.get("name"): n for n in spec.get("networks") or []}
        overrides = _parse_ips(annotations_of(vmi).get(IPS, ""))
        uid = meta(vmi).get("uid", "")
        host = 2 + zlib.crc32(uid.encode()) % 250
        node_index = self.nodes.index(node) if node in self.nodes else 250
        out: list[Obj] = []
        for i, iface in enumerate(interfaces):
            iface_name = iface["name"]
            network = networks.get(iface_name, {"pod": {}})
            multus = "multus" in network
            ip = overrides.get(iface_name, f"192.168.{100 + i}.{host}" if multus else f"10.244.{node_index}.{host}")
            digest = hashlib.sha256(f"{uid}/{iface_name}".encode()).digest()
            entry: Obj = {
                "name": iface_name,
                "mac": iface.get("macAddress") or "02:" + ":".join(f"{b:02x}" for b in digest[:5]),
                "interfaceName": f"eth{i}",
                "infoSource": "domain, guest-agent" if agent else "domain",
                "queueCount": 1,
                "linkState": "up",
                "podInterfaceName": f"pod{digest.hex()[:11]}" if multus else "eth0",
            }
            if agent or not multus:
                entry["ipAddress"] = ip
                entry["ipAddresses"] = [ip]
            out.append(entry)
        return out

    # -- migration (node side) ---------------------------------------------------------

    def _migrate(self, vmi: Obj, status: Obj) -> bool:
        state: Obj = dict(status.get("migrationState") or {})
        uid = state.get("migrationUid")
        if not uid or state.get("completed") or not state.get("targetNode"):
            return False
        vmim = self._migration(meta(vmi).get("namespace", ""), uid)
        notes = annotations_of(vmim or {})
        hold = notes.get(HOLD)
        if state.get("abortRequested"):
            state.update(
                {
                    "abortStatus": "Succeeded",
                    "completed": True,
                    "failed": True,
                    "endTimestamp": now(),
                    "failureReason": "Live migration aborted",
                }
            )
            state.setdefault("startTimestamp", state["endTimestamp"])
        elif not state.get("targetNodeAddress"):
            index = self.nodes.index(state["targetNode"]) + 1 if state["targetNode"] in self.nodes else 250
            state["targetNodeAddress"] = f"192.0.2.{index}"
        elif not state.get("startTimestamp"):
            if hold == "TargetReady":
                return False
            state.update({"startTimestamp": now(), "mode": "PreCopy"})
        else:
            if hold == "Running":
                return False
            if notes.get(FAIL):
                state.update(
                    {
                        "completed": True,
                        "failed": True,
                        "endTimestamp": now(),
                        "failureReason": f"{notes[FAIL]}: {notes.get(MESSAGE, DEFAULT_MESSAGE)}",
                    }
                )
            else:
                target = state["targetNode"]
                state.update(
                    {
                        "completed": True,
                        "endTimestamp": now(),
                        "targetNodeDomainDetected": True,
                        "targetNodeDomainReadyTimestamp": now(),
                    }
                )
                status["nodeName"] = target
                meta(vmi).setdefault("labels", {})[NODE_LABEL] = target
                agent = annotations_of(vmi).get(GUEST_AGENT, "true").lower() != "false"
                status["interfaces"] = self._interfaces(vmi, target, agent)
        # Only truthy values, as Go's omitempty writes them: virt-controller patches
        # migrationState with a JSON-patch "test" of what it read, which must match exactly.
        status["migrationState"] = {k: v for k, v in state.items() if v not in (False, "", None)}
        if not state.get("completed"):
            self.next_step(key_of(VMI, vmi), vmim or vmi)
        return True

    def _migration(self, namespace: str, uid: str) -> Obj | None:
        for vmim in self.list(VMIM, namespace):
            if meta(vmim).get("uid") == uid:
                return vmim
        return None


def _parse_ips(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in raw.split(","):
        name, sep, ip = part.strip().partition("=")
        if sep and name and ip:
            out[name.strip()] = ip.strip()
    return out
