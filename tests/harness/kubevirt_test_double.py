"""A TEST DOUBLE of KubeVirt's controllers, CDI and kubernetes-nmstate, for the kube tier.

Role: the kube tier runs the real kube-apiserver with the real CRDs, but none of
the real controllers can run here (no container runtime, no nodes). This module
plays them, and only them, by watching the real apiserver and writing ``status``
(and the objects those controllers create) the way they do. It is not KubeVirt:
there is no admission webhook, no virt-api subresource (start/stop/migrate), no
pod, no guest. Everything it writes is visible through the apiserver like any
other client's writes.

What it plays (``KubevirtTestDouble``):

- virt-controller, VirtualMachine: for runStrategy ``Always``/``RerunOnFailure``
  (and ``Once``; and ``Manual`` after a ``Start`` entry in
  ``status.stateChangeRequests``, which is what virt-api's ``start`` subresource
  writes) it creates the DataVolumes of ``spec.dataVolumeTemplates`` (owned by
  the VM; always, also for halted VMs), waits for them (printableStatus
  ``Provisioning``; ``DataVolumeError`` when one failed), then creates a
  VirtualMachineInstance (same name, controller ownerReference to the VM, spec =
  ``spec.template.spec``, annotation ``kubevirt.io/vm-generation``) and mirrors it
  into the VM status: ``created``, ``ready``, ``printableStatus`` (Provisioning,
  Starting, Running, Migrating, Stopping, Stopped, CrashLoopBackOff,
  ErrorUnschedulable, ...), ``runStrategy``, ``conditions`` (Ready; Failure;
  RestartRequired when ``spec.template.spec`` changed under a running VMI),
  ``desiredGeneration`` (= ``metadata.generation``) and ``observedGeneration``
  (the generation the running VMI was created from; = generation when stopped or
  when the template is unchanged). ``Halted`` (or a ``Stop`` request): Stopping
  for one step, then the VMI is deleted; VM Stopped, Ready False reason
  VMINotExists. ``ready``/``created`` are left out when false (``omitempty``,
  as KubeVirt serializes them). Deleting a VM deletes its VMI and owned DataVolumes (no garbage
  collector here).
- virt-handler, VirtualMachineInstance: phase Pending -> Scheduling -> Scheduled
  (``nodeName``, label ``kubevirt.io/nodeName``) -> Running with ``interfaces``
  (name, mac, ipAddress/ipAddresses, interfaceName, infoSource), conditions
  Ready/LiveMigratable/AgentConnected, ``guestOSInfo``, ``volumeStatus``,
  ``phaseTransitionTimestamps``. A VMI with no interfaces gets the auto-attached
  pod interface ``default``. The VMI CRD has no status subresource: its status
  is written through the main resource, as KubeVirt does.
- virt-controller/virt-handler, VirtualMachineInstanceMigration: phase Pending ->
  Scheduling -> Scheduled -> PreparingTarget -> TargetReady -> Running ->
  Succeeded, writing the VMI's ``status.migrationState`` (migrationUid,
  sourceNode, targetNode, sourcePod, targetPod, startTimestamp, endTimestamp,
  completed, failed, mode) and a copy into the VMIM status; on success the VMI
  moves to the target node. Failure: phase Failed, ``migrationState.failed`` and
  ``failureReason``. Deleting a VMIM before it finished aborts it: the VMI's
  migrationState gets ``abortRequested``, ``abortStatus: Succeeded``,
  ``failed``, ``completed``; the VMI stays on its node. A VMIM for a VMI that
  does not exist or is not Running fails at once.
- CDI, DataVolume: import sources (http, registry, s3, gcs, imageio, vddk, blank)
  Pending -> ImportScheduled -> ImportInProgress (``progress`` 10.00%, 40.00%,
  70.00%) -> Succeeded (100.0%); clone sources (pvc, snapshot, sourceRef)
  CloneScheduled -> CloneInProgress -> Succeeded; upload: UploadScheduled ->
  UploadReady (and stays there). Conditions Bound/Ready/Running, ``claimName``.
  No PVC is created (there is no PV controller).
- kubernetes-nmstate, NodeNetworkConfigurationPolicy: one
  NodeNetworkConfigurationEnactment ``<node>.<policy>`` per matching node (the
  nodeSelector key ``kubernetes.io/hostname`` narrows the node list; other keys
  match every node), with ``policyGeneration``; policy conditions Progressing,
  then Available True reason SuccessfullyConfigured, or Degraded True reason
  FailedToConfigure ("N/M nodes failed to configure"; the detailed message is in
  each enactment's Failing condition, as in nmstate). A new generation of the
  policy goes through Progressing again.

Per-object switches, as annotations (on a VM they are copied to its VMI when
the VMI is created, so later changes go to the VMI itself; on a VMIM,
DataVolume or NNCP they act on that object):

- ``test-double.pulumi-kubevirt.io/fail: "<Reason>"``: make the object fail with
  that reason. VM/VMI: reasons ``ErrorUnschedulable``, ``ErrImagePull``,
  ``ImagePullBackOff``, ``ErrorPvcNotFound`` leave the VMI in Scheduling with the
  condition KubeVirt derives that printableStatus from; any other reason makes
  the VMI phase Failed (``status.reason``) and the VM CrashLoopBackOff
  (``startFailure``) or Stopped, with a Failure condition. VMIM: fails in the
  Running phase. DataVolume: in ImportInProgress/CloneInProgress the Running
  condition turns False with this reason and ``restartCount`` grows each step,
  then phase Failed (see max-restarts). NNCP: Degraded/FailedToConfigure.
- ``test-double.pulumi-kubevirt.io/message: "<text>"``: the failure message.
- ``test-double.pulumi-kubevirt.io/step-delay: "<seconds>"``: time between two
  phase steps of this object (default ``KubevirtTestDouble.step_seconds``), so
  a test can act "while Running".
- ``test-double.pulumi-kubevirt.io/hold: "<Phase>"``: do not leave that phase
  while the annotation is there (VMI, VMIM and DataVolume phases; ``Progressing``
  for an NNCP). Removing or changing it lets the object go on: the
  deterministic way to act "while Running".
- ``test-double.pulumi-kubevirt.io/node: "<node>"``: VM/VMI node (default: the
  first of ``nodes``).
- ``test-double.pulumi-kubevirt.io/target-node: "<node>"``: VMIM target node
  (default: ``spec.addedNodeSelector["kubernetes.io/hostname"]``, else the next
  node of ``nodes``).
- ``test-double.pulumi-kubevirt.io/ips: "default=10.244.0.9,net1=192.168.1.5"``:
  interface addresses reported for the VMI (default: derived from the VMI uid;
  pod network 10.244.<node index>.x, which changes on migration as a pod IP
  does; Multus networks 192.168.<100+i>.x).
- ``test-double.pulumi-kubevirt.io/guest-agent: "false"``: no guest agent: no
  guestOSInfo, no AgentConnected, and only pod-network interfaces carry an IP.
- ``test-double.pulumi-kubevirt.io/max-restarts: "<n>"``: DataVolume import
  restarts before phase Failed (default 2; negative: never Failed, keeps
  restarting, at most 50 steps).

Not played: finalizers, VMI restarts after failure (crash-loop backoff), live
updates of a running VMI, hotplug, snapshots, pools, replica sets, PVCs.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import itertools
import json
import secrets
import threading
import time
import traceback
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

Obj = dict[str, Any]

PREFIX = "test-double.pulumi-kubevirt.io/"
FAIL = PREFIX + "fail"
MESSAGE = PREFIX + "message"
STEP_DELAY = PREFIX + "step-delay"
HOLD = PREFIX + "hold"
NODE = PREFIX + "node"
TARGET_NODE = PREFIX + "target-node"
IPS = PREFIX + "ips"
GUEST_AGENT = PREFIX + "guest-agent"
MAX_RESTARTS = PREFIX + "max-restarts"
TEMPLATE_HASH = PREFIX + "template-hash"  # written on VMIs by the double
VM_GENERATION = "kubevirt.io/vm-generation"  # KubeVirt's own VMI annotation
NODE_LABEL = "kubevirt.io/nodeName"

WATCH_TIMEOUT_SECONDS = 60
STOP_JOIN_SECONDS = 10.0
RETRY_SECONDS = 1.0
DEFAULT_MESSAGE = "failure injected by the test double"

# fail reason -> (VMI condition type, condition reason) that KubeVirt derives that
# VM printableStatus from; the VMI stays in Scheduling.
_PENDING_FAILURES: dict[str, tuple[str, str]] = {
    "ErrorUnschedulable": ("PodScheduled", "Unschedulable"),
    "ErrImagePull": ("Synchronized", "ErrImagePull"),
    "ImagePullBackOff": ("Synchronized", "ImagePullBackOff"),
    "ErrorPvcNotFound": ("Synchronized", "FailedPvcNotFound"),
}
_PRINTABLE_FROM_CONDITION = {reason: status for status, (_, reason) in _PENDING_FAILURES.items()}

_IMPORT_SOURCES = ("http", "registry", "s3", "gcs", "imageio", "vddk", "blank")
_CLONE_SOURCES = ("pvc", "snapshot")
_PROGRESS_STEPS = (10.0, 40.0, 70.0)


@dataclass(frozen=True)
class Kind:
    """A custom resource type the double reads or writes."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    status_subresource: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


VM = Kind("VirtualMachine", "kubevirt.io", "v1", "virtualmachines")
VMI = Kind("VirtualMachineInstance", "kubevirt.io", "v1", "virtualmachineinstances", status_subresource=False)
VMIM = Kind("VirtualMachineInstanceMigration", "kubevirt.io", "v1", "virtualmachineinstancemigrations")
DV = Kind("DataVolume", "cdi.kubevirt.io", "v1beta1", "datavolumes")
NNCP = Kind("NodeNetworkConfigurationPolicy", "nmstate.io", "v1", "nodenetworkconfigurationpolicies", namespaced=False)
NNCE = Kind(
    "NodeNetworkConfigurationEnactment", "nmstate.io", "v1beta1", "nodenetworkconfigurationenactments", namespaced=False
)
WATCHED = (VM, VMI, VMIM, DV, NNCP)
_BY_KIND = {k.kind: k for k in (VM, VMI, VMIM, DV, NNCP, NNCE)}

Key = tuple[str, str, str]  # (kind, namespace or "", name)


def now() -> str:
    """An RFC 3339 timestamp as Kubernetes writes them."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj.setdefault("metadata", {})
    return meta


def _annotations(obj: Obj) -> dict[str, str]:
    return dict(_meta(obj).get("annotations") or {})


def _key(kind: Kind, obj: Obj) -> Key:
    meta = _meta(obj)
    return (kind.kind, meta.get("namespace") or "", meta["name"])


def _owner_keys(obj: Obj) -> list[Key]:
    meta = _meta(obj)
    keys: list[Key] = []
    for ref in meta.get("ownerReferences") or []:
        kind = _BY_KIND.get(ref.get("kind", ""))
        if kind is not None and kind in WATCHED:
            keys.append((kind.kind, (meta.get("namespace") or "") if kind.namespaced else "", ref["name"]))
    return keys


def _owned_by(obj: Obj, owner: Obj) -> bool:
    uid = _meta(owner).get("uid")
    return any(ref.get("uid") == uid for ref in _meta(obj).get("ownerReferences") or [])


def _owner_reference(kind: Kind, owner: Obj) -> Obj:
    meta = _meta(owner)
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def set_conditions(old: list[Obj] | None, new: list[Obj], heartbeat: bool = False) -> list[Obj]:
    """`new` conditions, keeping lastTransitionTime (and heartbeat) of unchanged ones."""
    previous = {c.get("type"): c for c in old or []}
    out: list[Obj] = []
    stamp = now()
    for cond in new:
        merged = {k: v for k, v in cond.items() if v not in (None, "")}
        before = previous.get(cond["type"])
        if before is not None and before.get("status") == cond["status"]:
            merged["lastTransitionTime"] = before.get("lastTransitionTime", stamp)
            if heartbeat:
                merged["lastHeartbeatTime"] = before.get("lastHeartbeatTime", stamp)
        else:
            merged["lastTransitionTime"] = stamp
            if heartbeat:
                merged["lastHeartbeatTime"] = stamp
        if not heartbeat:
            merged["lastProbeTime"] = None
        out.append(merged)
    return out


def _cond(cond_type: str, status: bool | str, reason: str = "", message: str = "") -> Obj:
    value = status if isinstance(status, str) else ("True" if status else "False")
    return {"type": cond_type, "status": value, "reason": reason, "message": message}


def _find_condition(obj: Obj | None, cond_type: str) -> Obj | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == cond_type:
            return dict(cond)
    return None


def _phase_history(status: Obj, phase: str) -> list[Obj]:
    history = list(status.get("phaseTransitionTimestamps") or [])
    if not history or history[-1].get("phase") != phase:
        history.append({"phase": phase, "phaseTransitionTimestamp": now()})
    return history


def _template_hash(vm: Obj) -> str:
    spec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def run_strategy(vm: Obj) -> str:
    """spec.runStrategy, or the one the deprecated spec.running stands for."""
    spec = vm.get("spec") or {}
    if spec.get("runStrategy"):
        return str(spec["runStrategy"])
    if "running" in spec:
        return "Always" if spec["running"] else "Halted"
    return "Halted"


def _is_key(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) == 3 and all(isinstance(p, str) for p in item)


class _DelayQueue:
    """A work queue whose items become available after a delay; dedups pending keys."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any]] = []
        self._pending: dict[Key, float] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item: Any, delay: float = 0.0) -> None:
        due = time.monotonic() + max(0.0, delay)
        with self._cond:
            if self._closed:
                return
            if _is_key(item):
                pending = self._pending.get(item)
                if pending is not None and pending <= due:
                    return
                self._pending[item] = due
            heapq.heappush(self._heap, (due, next(self._seq), item))
            self._cond.notify()

    def get(self) -> Any | None:
        """The next due item, or None once closed."""
        with self._cond:
            while not self._closed:
                if self._heap and self._heap[0][0] <= time.monotonic():
                    due, _, item = heapq.heappop(self._heap)
                    if _is_key(item) and self._pending.get(item) == due:
                        del self._pending[item]
                    return item
                timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                self._cond.wait(timeout)
            return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class KubevirtTestDouble:
    """Plays virt-controller/virt-handler, CDI and nmstate against a real apiserver (a test double).

    ``start()`` runs one watch thread per watched kind and one worker thread that
    does every write; ``stop()`` ends them (bounded). Failures of the double's
    own writes are collected in ``errors``; ``check()`` raises on them.
    """

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        nodes: tuple[str, ...] = ("node01", "node02", "node03"),
        step_seconds: float = 0.05,
        boot_seconds: float = 0.0,
    ) -> None:
        self.api_client = api_client
        # Any: the client's stubs type every custom object as `object`.
        self.api: Any = k8s.CustomObjectsApi(api_client)
        self.nodes = nodes
        self.step_seconds = step_seconds
        self.boot_seconds = boot_seconds
        """Opt-in: a Scheduled VMI turns Running this long after it was scheduled, at the earliest (a slow boot)."""
        self.errors: list[str] = []
        self._queue = _DelayQueue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._responses: set[Any] = set()
        self._lock = threading.Lock()
        self._not_before: dict[Key, float] = {}
        self._written: dict[Key, tuple[str, str]] = {}
        self._stopping_since: dict[Key, float] = {}
        self._once_started: set[str] = set()
        self._crash: str | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Start the watch threads and the worker."""
        if self._threads:
            raise RuntimeError("already started")
        for kind in WATCHED:
            self._threads.append(
                threading.Thread(target=self._watch_loop, args=(kind,), name=f"double-watch-{kind.plural}", daemon=True)
            )
        self._threads.append(threading.Thread(target=self._worker, name="double-worker", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop all threads (bounded); raise if one does not end or the worker crashed."""
        self._stop.set()
        self._queue.close()
        with self._lock:
            responses = list(self._responses)
        for resp in responses:
            _shutdown(resp)
        deadline = time.monotonic() + STOP_JOIN_SECONDS
        alive = []
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                alive.append(thread.name)
        if alive:
            raise RuntimeError(f"test double threads did not stop within {STOP_JOIN_SECONDS}s: {alive}")
        if self._crash:
            raise RuntimeError(f"test double worker crashed:\n{self._crash}")

    def check_alive(self) -> None:
        """Raise if the worker crashed or a thread ended."""
        if self._crash:
            raise RuntimeError(f"test double worker crashed:\n{self._crash}")
        dead = [t.name for t in self._threads if not t.is_alive()]
        if dead and not self._stop.is_set():
            raise RuntimeError(f"test double threads ended: {dead}")

    def check(self) -> None:
        """Raise if the worker crashed or any write of the double failed."""
        self.check_alive()
        if self.errors:
            raise RuntimeError("test double errors:\n" + "\n".join(self.errors))

    def __enter__(self) -> KubevirtTestDouble:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- watching ----------------------------------------------------------

    def _watch_loop(self, kind: Kind) -> None:
        resource_version: str | None = None
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    listing = self.api.list_cluster_custom_object(
                        kind.group, kind.version, kind.plural, _request_timeout=30
                    )
                    resource_version = listing["metadata"]["resourceVersion"]
                    for obj in listing.get("items", []):
                        self._on_event(kind, "ADDED", obj)
                    if kind is VM:
                        # A VM deleted while this watch was down sent no DELETED event:
                        # resync every VMI so orphans are collected (see _orphaned).
                        vmis = self.api.list_cluster_custom_object(
                            VMI.group, VMI.version, VMI.plural, _request_timeout=30
                        )
                        for vmi in vmis.get("items", []):
                            self._queue.put(_key(VMI, vmi))
                resource_version = self._watch_once(kind, resource_version)
            except ApiException as err:
                if err.status != 410:
                    self._stop.wait(RETRY_SECONDS)
                resource_version = None
            except (urllib3.exceptions.HTTPError, OSError):
                self._stop.wait(RETRY_SECONDS)  # apiserver down or restarting: list again

    def _watch_once(self, kind: Kind, resource_version: str) -> str | None:
        """One watch request; returns the resource version to continue from (None: relist)."""
        resp = self.api.list_cluster_custom_object(
            kind.group,
            kind.version,
            kind.plural,
            watch=True,
            allow_watch_bookmarks=True,
            resource_version=resource_version,
            timeout_seconds=WATCH_TIMEOUT_SECONDS,
            _preload_content=False,
            _request_timeout=(10, WATCH_TIMEOUT_SECONDS + 15),
        )
        with self._lock:
            self._responses.add(resp)
        try:
            if self._stop.is_set():
                return None
            for event in _watch_events(resp):
                if self._stop.is_set():
                    return None
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    return None  # e.g. 410 Gone: relist
                resource_version = _meta(obj).get("resourceVersion", resource_version)
                if event.get("type") != "BOOKMARK":
                    self._on_event(kind, event["type"], obj)
            return resource_version
        finally:
            with self._lock:
                self._responses.discard(resp)
            resp.release_conn()

    def _on_event(self, kind: Kind, event_type: str, obj: Obj) -> None:
        if event_type == "DELETED":
            self._queue.put(("deleted", kind.kind, obj))
        else:
            self._queue.put(_key(kind, obj))
        for owner in _owner_keys(obj):
            self._queue.put(owner)

    # -- the worker --------------------------------------------------------

    def _worker(self) -> None:
        try:
            while not self._stop.is_set():
                item = self._queue.get()
                if item is None:
                    return
                self._handle(item)
        except BaseException:
            self._crash = traceback.format_exc()
            raise

    def _handle(self, item: Any) -> None:
        try:
            if item[0] == "deleted":
                self._on_deleted(_BY_KIND[item[1]], item[2])
                return
            kind, namespace, name = item
            handler = {
                VM.kind: self._reconcile_vm,
                VMI.kind: self._reconcile_vmi,
                VMIM.kind: self._reconcile_vmim,
                DV.kind: self._reconcile_dv,
                NNCP.kind: self._reconcile_nncp,
            }[kind]
            handler(namespace, name)
        except ApiException as err:
            if err.status == 409:
                self._queue.put(item, self.step_seconds)  # stale read: try again
            elif err.status == 404:
                pass  # gone meanwhile: its DELETED event is handled separately
            elif err.status in (429, 500, 503, 504):
                self._queue.put(item, RETRY_SECONDS)
            else:
                self.errors.append(f"{_describe(item)}: HTTP {err.status} {err.reason}: {err.body}")
        except urllib3.exceptions.HTTPError:
            if not self._stop.is_set():
                self._queue.put(item, RETRY_SECONDS)  # apiserver down: try again later

    # -- API helpers -------------------------------------------------------

    def _get(self, kind: Kind, namespace: str, name: str) -> Obj | None:
        try:
            if kind.namespaced:
                obj = self.api.get_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural, name)
            else:
                obj = self.api.get_cluster_custom_object(kind.group, kind.version, kind.plural, name)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        assert isinstance(obj, dict)
        return obj

    def _list(self, kind: Kind, namespace: str = "", label_selector: str = "") -> list[Obj]:
        if kind.namespaced and namespace:
            listing = self.api.list_namespaced_custom_object(
                kind.group, kind.version, namespace, kind.plural, label_selector=label_selector
            )
        else:
            listing = self.api.list_cluster_custom_object(
                kind.group, kind.version, kind.plural, label_selector=label_selector
            )
        items: list[Obj] = listing.get("items", [])
        return items

    def _create(self, kind: Kind, body: Obj) -> Obj:
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **body}
        if kind.namespaced:
            obj = self.api.create_namespaced_custom_object(
                kind.group, kind.version, body["metadata"]["namespace"], kind.plural, body
            )
        else:
            obj = self.api.create_cluster_custom_object(kind.group, kind.version, kind.plural, body)
        assert isinstance(obj, dict)
        return obj

    def _replace(self, kind: Kind, obj: Obj) -> Obj:
        """Write the whole object (for the VMI, whose status is part of the main resource)."""
        meta = _meta(obj)
        if kind.namespaced:
            out = self.api.replace_namespaced_custom_object(
                kind.group, kind.version, meta["namespace"], kind.plural, meta["name"], obj
            )
        else:
            out = self.api.replace_cluster_custom_object(kind.group, kind.version, kind.plural, meta["name"], obj)
        assert isinstance(out, dict)
        return out

    def _write_status(self, kind: Kind, obj: Obj, status: Obj) -> bool:
        """Write `status` if it differs; through /status when the CRD has it. True if written.

        Also skipped when this very status was our last write and the stored one
        is what the apiserver made of it (defaulting/pruning must not loop).
        """
        key = _key(kind, obj)
        wanted, stored = _canon(status), _canon(obj.get("status"))
        if wanted == stored or self._written.get(key) == (wanted, stored):
            return False
        body = dict(obj)
        body["status"] = status
        meta = _meta(obj)
        if not kind.status_subresource:
            out = self._replace(kind, body)
        elif kind.namespaced:
            out = self.api.replace_namespaced_custom_object_status(
                kind.group, kind.version, meta["namespace"], kind.plural, meta["name"], body
            )
        else:
            out = self.api.replace_cluster_custom_object_status(
                kind.group, kind.version, kind.plural, meta["name"], body
            )
        self._written[key] = (wanted, _canon(out.get("status") if isinstance(out, dict) else None))
        return True

    def _delete(self, kind: Kind, namespace: str, name: str, uid: str | None = None) -> None:
        body: Obj = {"propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            if kind.namespaced:
                self.api.delete_namespaced_custom_object(
                    kind.group, kind.version, namespace, kind.plural, name, body=body
                )
            else:
                self.api.delete_cluster_custom_object(kind.group, kind.version, kind.plural, name, body=body)
        except ApiException as err:
            if err.status not in (404, 409):
                raise

    # -- timing ------------------------------------------------------------

    def _step_delay(self, obj: Obj) -> float:
        raw = _annotations(obj).get(STEP_DELAY)
        if raw is None:
            return self.step_seconds
        try:
            return max(0.0, float(raw))
        except ValueError:
            self.errors.append(f"{_meta(obj).get('name')}: bad {STEP_DELAY} annotation {raw!r}")
            return self.step_seconds

    def _due(self, key: Key) -> bool:
        """Whether the next timed step of `key` may happen now; if not, come back then."""
        remaining = self._not_before.get(key, 0.0) - time.monotonic()
        if remaining > 0:
            self._queue.put(key, remaining)
            return False
        return True

    def _next_step(self, key: Key, obj: Obj, at_least: float = 0.0) -> None:
        delay = max(self._step_delay(obj), at_least)
        self._not_before[key] = time.monotonic() + delay
        self._queue.put(key, delay)

    # -- deletions (no garbage collector here) ------------------------------

    def _on_deleted(self, kind: Kind, obj: Obj) -> None:
        meta = _meta(obj)
        key = _key(kind, obj)
        self._not_before.pop(key, None)
        self._written.pop(key, None)
        namespace = meta.get("namespace") or ""
        if kind is VM:
            self._stopping_since.pop(key, None)
            vmi = self._get(VMI, namespace, meta["name"])
            if vmi is not None and _owned_by(vmi, obj):
                self._delete(VMI, namespace, meta["name"], _meta(vmi).get("uid"))
            for dv in self._list(DV, namespace):
                if _owned_by(dv, obj):
                    self._delete(DV, namespace, _meta(dv)["name"], _meta(dv).get("uid"))
        elif kind is VMIM:
            self._abort_migration(obj)
        elif kind is NNCP:
            for nnce in self._list(NNCE, label_selector=f"nmstate.io/policy={meta['name']}"):
                self._delete(NNCE, "", _meta(nnce)["name"], _meta(nnce).get("uid"))

    # -- VirtualMachine ----------------------------------------------------

    def _reconcile_vm(self, namespace: str, name: str) -> None:
        vm = self._get(VM, namespace, name)
        if vm is None or _meta(vm).get("deletionTimestamp"):
            return
        key = _key(VM, vm)
        uid = _meta(vm)["uid"]
        strategy = run_strategy(vm)
        status: Obj = copy.deepcopy(vm.get("status") or {})
        vmi = self._get(VMI, namespace, name)
        if vmi is not None and _meta(vmi).get("ownerReferences") and not _owned_by(vmi, vm):
            vmi = None  # somebody else's VMI of the same name
        if vmi is not None and _meta(vmi).get("deletionTimestamp"):
            vmi = None
        dv_state = self._ensure_data_volumes(vm)

        # virt-api's start/stop/restart subresources queue requests in the status.
        requests = list(status.get("stateChangeRequests") or [])
        stopped_now = False
        if requests and requests[0].get("action") == "Stop":
            if vmi is not None and requests[0].get("uid") in (None, "", _meta(vmi).get("uid")):
                self._delete(VMI, namespace, name, _meta(vmi).get("uid"))
                vmi, stopped_now = None, True
            requests.pop(0)
        start_requested = bool(requests) and requests[0].get("action") == "Start"

        if strategy == "Halted":
            want = False
        elif strategy == "Manual":
            want = start_requested or (vmi is not None and not stopped_now)
        elif strategy == "Once":
            want = vmi is not None or uid not in self._once_started
        elif strategy == "RerunOnFailure":
            want = not (vmi is not None and (vmi.get("status") or {}).get("phase") == "Succeeded")
        else:  # Always
            want = True

        printable: str | None = None
        if want and vmi is None:
            if dv_state == "provisioning":
                printable = "Provisioning"
            elif dv_state == "error":
                printable = "DataVolumeError"
            else:
                vmi = self._create_vmi(vm)
                if strategy == "Once":
                    self._once_started.add(uid)
                if start_requested:
                    requests.pop(0)
        elif want and start_requested:
            requests.pop(0)  # already running
        elif not want and vmi is not None:
            since = self._stopping_since.setdefault(key, time.monotonic())
            delay = self._step_delay(vm)
            if time.monotonic() - since >= delay:
                self._delete(VMI, namespace, name, _meta(vmi).get("uid"))
                self._stopping_since.pop(key, None)
                vmi = None
            else:
                printable = "Stopping"
                self._queue.put(key, delay - (time.monotonic() - since))
        if want:
            self._stopping_since.pop(key, None)

        observed = self._sync_generation(vm, vmi)
        self._vm_status(vm, vmi, status, strategy, printable, observed, requests)
        self._write_status(VM, vm, status)

    def _ensure_data_volumes(self, vm: Obj) -> str:
        """Create missing dataVolumeTemplates DVs; 'ready', 'provisioning' or 'error'."""
        meta = _meta(vm)
        state = "ready"
        names = []
        for template in (vm.get("spec") or {}).get("dataVolumeTemplates") or []:
            tmeta = template.get("metadata") or {}
            names.append(tmeta["name"])
            dv = self._get(DV, meta["namespace"], tmeta["name"])
            if dv is None:
                self._create(
                    DV,
                    {
                        "metadata": {
                            "name": tmeta["name"],
                            "namespace": meta["namespace"],
                            "labels": dict(tmeta.get("labels") or {}),
                            "annotations": dict(tmeta.get("annotations") or {}),
                            "ownerReferences": [_owner_reference(VM, vm)],
                        },
                        "spec": copy.deepcopy(template.get("spec") or {}),
                    },
                )
                state = "provisioning" if state == "ready" else state
                continue
            phase = (dv.get("status") or {}).get("phase")
            if phase == "Failed":
                state = "error"
            elif phase != "Succeeded" and state == "ready":
                state = "provisioning"
        # Standalone DataVolumes referenced by volumes are waited for as well.
        template_spec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
        for volume in template_spec.get("volumes") or []:
            dv_name = (volume.get("dataVolume") or {}).get("name")
            if not dv_name or dv_name in names:
                continue
            dv = self._get(DV, meta["namespace"], dv_name)
            phase = (dv.get("status") or {}).get("phase") if dv else None
            if phase == "Failed":
                state = "error"
            elif dv is not None and phase != "Succeeded" and state == "ready":
                state = "provisioning"
        return state

    def _create_vmi(self, vm: Obj) -> Obj:
        meta = _meta(vm)
        template = copy.deepcopy((vm.get("spec") or {}).get("template") or {})
        tmeta = template.get("metadata") or {}
        annotations = dict(tmeta.get("annotations") or {})
        annotations.update({k: v for k, v in _annotations(vm).items() if k.startswith(PREFIX)})
        annotations[VM_GENERATION] = str(meta.get("generation", 1))
        annotations[TEMPLATE_HASH] = _template_hash(vm)
        status = {"phase": "Pending", "phaseTransitionTimestamps": _phase_history({}, "Pending")}
        return self._create(
            VMI,
            {
                "metadata": {
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "labels": dict(tmeta.get("labels") or {}),
                    "annotations": annotations,
                    "ownerReferences": [_owner_reference(VM, vm)],
                },
                "spec": template.get("spec") or {},
                "status": status,
            },
        )

    def _sync_generation(self, vm: Obj, vmi: Obj | None) -> tuple[int, bool]:
        """(observedGeneration, restart required). Bumps the VMI's generation when the template is unchanged."""
        generation = int(_meta(vm).get("generation", 1))
        if vmi is None:
            return generation, False
        annotations = _annotations(vmi)
        try:
            observed = int(annotations.get(VM_GENERATION, generation))
        except ValueError:
            observed = generation
        if annotations.get(TEMPLATE_HASH) == _template_hash(vm):
            if observed != generation:
                _meta(vmi).setdefault("annotations", {})[VM_GENERATION] = str(generation)
                self._replace(VMI, vmi)
            return generation, False
        return observed, True

    def _vm_status(
        self,
        vm: Obj,
        vmi: Obj | None,
        status: Obj,
        strategy: str,
        printable: str | None,
        observed: tuple[int, bool],
        requests: list[Obj],
    ) -> None:
        vmi_status: Obj = (vmi or {}).get("status") or {}
        phase = vmi_status.get("phase", "")
        ready_cond = _find_condition(vmi, "Ready")
        ready = phase == "Running" and ready_cond is not None and ready_cond.get("status") == "True"
        conditions: list[Obj] = []
        failure: tuple[str, str] | None = None
        if vmi is None:
            conditions.append(_cond("Ready", False, "VMINotExists", "VMI does not exist"))
        elif ready_cond is not None:
            conditions.append(
                _cond("Ready", ready_cond["status"], ready_cond.get("reason", ""), ready_cond.get("message", ""))
            )
        else:
            conditions.append(_cond("Ready", False, "PodNotReady" if phase else "", ""))
        for cond_type in ("PodScheduled", "Synchronized", "LiveMigratable", "AgentConnected"):
            cond = _find_condition(vmi, cond_type)
            if cond is not None:
                conditions.append(_cond(cond_type, cond["status"], cond.get("reason", ""), cond.get("message", "")))
        if phase == "Failed":
            failure = (vmi_status.get("reason") or "Failed", (ready_cond or {}).get("message") or "the VMI failed")
            conditions.append(_cond("Failure", True, *failure))
        if observed[1]:
            conditions.append(
                _cond("RestartRequired", True, "", "a non-live-updatable field was changed in the template spec")
            )

        if printable is None:
            printable = self._printable_status(vmi, strategy)
        status["printableStatus"] = printable
        status["runStrategy"] = strategy
        status["desiredGeneration"] = int(_meta(vm).get("generation", 1))
        status["observedGeneration"] = observed[0]
        status["conditions"] = set_conditions(status.get("conditions"), conditions)
        _set_or_drop(status, "created", vmi is not None)
        _set_or_drop(status, "ready", ready)
        _set_or_drop(status, "stateChangeRequests", requests)
        if failure is not None and strategy in ("Always", "RerunOnFailure"):
            previous = status.get("startFailure") or {}
            if previous.get("lastFailedVMIUID") != _meta(vmi or {}).get("uid"):
                status["startFailure"] = {
                    "consecutiveFailCount": int(previous.get("consecutiveFailCount", 0)) + 1,
                    "lastFailedVMIUID": _meta(vmi or {}).get("uid"),
                    "retryAfterTimestamp": now(),
                }
        elif ready:
            status.pop("startFailure", None)

    @staticmethod
    def _printable_status(vmi: Obj | None, strategy: str) -> str:
        if vmi is None:
            return "Stopped"
        vmi_status = vmi.get("status") or {}
        phase = vmi_status.get("phase", "")
        migration = vmi_status.get("migrationState") or {}
        if phase == "Running":
            if migration.get("startTimestamp") and not migration.get("endTimestamp"):
                return "Migrating"
            return "Running"
        if phase == "Failed":
            return "CrashLoopBackOff" if strategy in ("Always", "RerunOnFailure") else "Stopped"
        if phase == "Succeeded":
            return "Stopped"
        for cond in vmi_status.get("conditions") or []:
            if cond.get("status") == "False" and cond.get("reason") in _PRINTABLE_FROM_CONDITION:
                return _PRINTABLE_FROM_CONDITION[cond["reason"]]
        return "Starting"

    # -- VirtualMachineInstance -----------------------------------------------

    def _reconcile_vmi(self, namespace: str, name: str) -> None:
        vmi = self._get(VMI, namespace, name)
        if vmi is None or _meta(vmi).get("deletionTimestamp"):
            return
        if self._orphaned(vmi, namespace):
            return
        key = _key(VMI, vmi)
        status: Obj = copy.deepcopy(vmi.get("status") or {})
        phase = status.get("phase") or "Pending"
        if phase in ("Running", "Failed", "Succeeded") or not self._due(key):
            return
        annotations = _annotations(vmi)
        if annotations.get(HOLD) == phase:
            return
        fail = annotations.get(FAIL)
        message = annotations.get(MESSAGE, DEFAULT_MESSAGE)
        node = annotations.get(NODE) or self.nodes[0]
        if phase == "Pending":
            status["phase"] = "Scheduling"
            status["conditions"] = set_conditions(
                status.get("conditions"),
                [
                    _cond("Ready", False, "PodNotReady", ""),
                ],
            )
        elif phase == "Scheduling":
            if fail in _PENDING_FAILURES:
                cond_type, reason = _PENDING_FAILURES[fail]
                status["conditions"] = set_conditions(
                    status.get("conditions"),
                    [
                        _cond("Ready", False, "PodNotReady", ""),
                        _cond(cond_type, False, reason, message),
                    ],
                )
                self._write_status(VMI, vmi, status)
                return  # stays there, as an unschedulable VMI does
            status["phase"] = "Scheduled"
            status["nodeName"] = node
            _meta(vmi).setdefault("labels", {})[NODE_LABEL] = node
            status["conditions"] = set_conditions(
                status.get("conditions"),
                [
                    _cond("Ready", False, "PodNotReady", ""),
                    _cond("PodScheduled", True),
                ],
            )
        elif phase == "Scheduled":
            if fail:
                status["phase"] = "Failed"
                status["reason"] = fail
                status["conditions"] = set_conditions(
                    status.get("conditions"),
                    [
                        _cond("Ready", False, fail, message),
                    ],
                )
            else:
                self._running_status(vmi, status, status.get("nodeName") or node)
        status["phaseTransitionTimestamps"] = _phase_history(status, status["phase"])
        self._write_status(VMI, vmi, status)
        if status["phase"] not in ("Running", "Failed", "Succeeded"):
            self._next_step(key, vmi, at_least=self.boot_seconds if status["phase"] == "Scheduled" else 0.0)

    def _running_status(self, vmi: Obj, status: Obj, node: str) -> None:
        spec = vmi.get("spec") or {}
        domain = spec.get("domain") or {}
        agent = _annotations(vmi).get(GUEST_AGENT, "true").lower() != "false"
        conditions = [_cond("Ready", True), _cond("LiveMigratable", True)]
        if agent:
            conditions.append(_cond("AgentConnected", True))
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
        status["nodeName"] = node
        status["conditions"] = set_conditions(status.get("conditions"), conditions)
        status["interfaces"] = self._interfaces(vmi, node, agent)
        status["qosClass"] = "Burstable"
        status["migrationTransport"] = "Unix"
        status["launcherContainerImageVersion"] = "test-double"
        status["machine"] = {"type": (domain.get("machine") or {}).get("type") or "q35"}
        cpu = domain.get("cpu") or {}
        status["currentCPUTopology"] = {k: int(cpu.get(k) or 1) for k in ("cores", "sockets", "threads")}
        memory = (domain.get("memory") or {}).get("guest") or (
            (domain.get("resources") or {}).get("requests") or {}
        ).get("memory")
        if memory:
            status["memory"] = {"guestAtBoot": memory, "guestCurrent": memory, "guestRequested": memory}
        disks = (domain.get("devices") or {}).get("disks") or []
        status["volumeStatus"] = [
            {"name": disk["name"], "target": f"vd{chr(ord('a') + i)}"} for i, disk in enumerate(disks)
        ]

    def _interfaces(self, vmi: Obj, node: str, agent: bool) -> list[Obj]:
        spec = vmi.get("spec") or {}
        devices = (spec.get("domain") or {}).get("devices") or {}
        interfaces = list(devices.get("interfaces") or [])
        networks = {n.get("name"): n for n in spec.get("networks") or []}
        if not interfaces and devices.get("autoattachPodInterface", True) is not False:
            interfaces = [{"name": "default", "masquerade": {}}]
            networks.setdefault("default", {"name": "default", "pod": {}})
        overrides = _parse_ips(_annotations(vmi).get(IPS, ""))
        uid = _meta(vmi).get("uid", "")
        host = 2 + zlib.crc32(uid.encode()) % 250
        node_index = self.nodes.index(node) if node in self.nodes else zlib.crc32(node.encode()) % 250
        out: list[Obj] = []
        for i, iface in enumerate(interfaces):
            name = iface["name"]
            network = networks.get(name, {"pod": {}})
            multus = "multus" in network
            ip = f"192.168.{100 + i}.{host}" if multus else f"10.244.{node_index}.{host}"
            ip = overrides.get(name, ip)
            digest = hashlib.sha256(f"{uid}/{name}".encode()).digest()
            entry: Obj = {
                "name": name,
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

    # -- VirtualMachineInstanceMigration ------------------------------------

    _MIGRATION_PHASES = ("Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running", "Succeeded")

    def _orphaned(self, vmi: Obj, namespace: str) -> bool:
        """Play the garbage collector: a VMI whose owning VM is gone (its DELETED event
        may have been missed while the apiserver restarted) is deleted."""
        for ref in _meta(vmi).get("ownerReferences") or []:
            if ref.get("kind") == VM.kind:
                vm = self._get(VM, namespace, ref.get("name", ""))
                if vm is None or _meta(vm).get("uid") != ref.get("uid"):
                    self._delete(VMI, namespace, _meta(vmi)["name"], uid=_meta(vmi).get("uid"))
                    return True
        return False

    def _reconcile_vmim(self, namespace: str, name: str) -> None:
        vmim = self._get(VMIM, namespace, name)
        if vmim is None or _meta(vmim).get("deletionTimestamp"):
            return
        key = _key(VMIM, vmim)
        status: Obj = copy.deepcopy(vmim.get("status") or {})
        phase = status.get("phase") or ""
        if phase in ("Succeeded", "Failed") or not self._due(key):
            return
        vmi_name = (vmim.get("spec") or {}).get("vmiName", "")
        vmi = self._get(VMI, namespace, vmi_name)
        uid = _meta(vmim)["uid"]
        annotations = _annotations(vmim)
        if phase and annotations.get(HOLD) == phase:
            return
        vmi_phase = ((vmi or {}).get("status") or {}).get("phase")
        if phase and phase not in self._MIGRATION_PHASES:
            return  # not a phase this double writes
        if vmi is None or (vmi_phase != "Running" and phase in ("", "Pending")):
            reason = f"VMI {vmi_name} does not exist" if vmi is None else f"VMI {vmi_name} is not running"
            status["phase"] = "Failed"
            failed_state: Obj = copy.deepcopy(status.get("migrationState") or {})
            failed_state.update(
                {"migrationUid": uid, "failed": True, "completed": True, "failureReason": reason, "endTimestamp": now()}
            )
            status["migrationState"] = failed_state
            status["phaseTransitionTimestamps"] = _phase_history(status, "Failed")
            self._write_status(VMIM, vmim, status)
            return
        vmi_status: Obj = copy.deepcopy(vmi.get("status") or {})
        state: Obj = copy.deepcopy(vmi_status.get("migrationState") or {})
        if state.get("migrationUid") != uid:
            state = {"migrationUid": uid}
        source = vmi_status.get("nodeName") or self.nodes[0]
        next_phase = "Pending" if not phase else self._MIGRATION_PHASES[self._MIGRATION_PHASES.index(phase) + 1]
        if next_phase == "Scheduling":
            state.update(
                {
                    "sourceNode": source,
                    "sourcePod": f"virt-launcher-{vmi_name}-{secrets.token_hex(3)[:5]}",
                    "targetPod": f"virt-launcher-{vmi_name}-{secrets.token_hex(3)[:5]}",
                }
            )
        elif next_phase == "Scheduled":
            state["targetNode"] = self._target_node(vmim, source)
        elif next_phase == "PreparingTarget":
            target = state.get("targetNode") or self._target_node(vmim, source)
            index = self.nodes.index(target) + 1 if target in self.nodes else 250
            state.update(
                {"targetNode": target, "targetNodeAddress": f"192.0.2.{index}", "targetNodeDomainDetected": False}
            )
        elif next_phase == "TargetReady":
            state.update({"targetNodeDomainDetected": True, "targetNodeDomainReadyTimestamp": now()})
        elif next_phase == "Running":
            state.update({"startTimestamp": now(), "mode": "PreCopy"})
            vmi_status.setdefault("migrationMethod", "LiveMigration")
        elif next_phase == "Succeeded":
            if annotations.get(FAIL):
                next_phase = "Failed"
                state.update(
                    {
                        "completed": True,
                        "failed": True,
                        "endTimestamp": now(),
                        "failureReason": f"{annotations[FAIL]}: {annotations.get(MESSAGE, DEFAULT_MESSAGE)}",
                    }
                )
            else:
                target = state.get("targetNode") or self._target_node(vmim, source)
                state.update({"completed": True, "endTimestamp": now()})
                vmi_status["nodeName"] = target
                _meta(vmi).setdefault("labels", {})[NODE_LABEL] = target
                agent = _annotations(vmi).get(GUEST_AGENT, "true").lower() != "false"
                vmi_status["interfaces"] = self._interfaces(vmi, target, agent)
        if next_phase != "Pending":
            vmi_status["migrationState"] = state
            vmi["status"] = vmi_status
            self._replace(VMI, vmi)
            status["migrationState"] = copy.deepcopy(state)
        status["phase"] = next_phase
        status["phaseTransitionTimestamps"] = _phase_history(status, next_phase)
        self._write_status(VMIM, vmim, status)
        if next_phase not in ("Succeeded", "Failed"):
            self._next_step(key, vmim)

    def _target_node(self, vmim: Obj, source: str) -> str:
        annotated = _annotations(vmim).get(TARGET_NODE)
        if annotated:
            return annotated
        selected = ((vmim.get("spec") or {}).get("addedNodeSelector") or {}).get("kubernetes.io/hostname")
        if selected:
            return str(selected)
        others = [n for n in self.nodes if n != source]
        return others[0] if others else source

    def _abort_migration(self, vmim: Obj) -> None:
        """A VMIM deleted before it finished: cancel the migration on its VMI."""
        phase = (vmim.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            return
        meta = _meta(vmim)
        vmi = self._get(VMI, meta["namespace"], (vmim.get("spec") or {}).get("vmiName", ""))
        if vmi is None:
            return
        status = vmi.get("status") or {}
        state = status.get("migrationState") or {}
        if state.get("migrationUid") != meta.get("uid") or state.get("completed"):
            return
        state.update(
            {
                "abortRequested": True,
                "abortStatus": "Succeeded",
                "completed": True,
                "failed": True,
                "endTimestamp": now(),
                "failureReason": "Live migration aborted",
            }
        )
        state.setdefault("startTimestamp", state["endTimestamp"])
        status["migrationState"] = state
        vmi["status"] = status
        self._replace(VMI, vmi)

    # -- DataVolume ----------------------------------------------------------

    def _reconcile_dv(self, namespace: str, name: str) -> None:
        dv = self._get(DV, namespace, name)
        if dv is None or _meta(dv).get("deletionTimestamp"):
            return
        key = _key(DV, dv)
        status: Obj = copy.deepcopy(dv.get("status") or {})
        phase = status.get("phase") or ""
        if phase in ("Succeeded", "Failed", "UploadReady") or not self._due(key):
            return
        spec = dv.get("spec") or {}
        source = spec.get("source") or {}
        if "upload" in source:
            flow = "Upload"
        elif spec.get("sourceRef") or any(s in source for s in _CLONE_SOURCES):
            flow = "Clone"
        else:
            flow = "Import"
        annotations = _annotations(dv)
        if phase and annotations.get(HOLD) == phase:
            return
        fail = annotations.get(FAIL)
        message = annotations.get(MESSAGE, DEFAULT_MESSAGE)
        bound = _cond("Bound", True, "Bound", f"PVC {name} Bound")
        if phase == "":
            status.update({"phase": "Pending", "progress": "N/A"})
            conds = [
                _cond("Bound", False, "Pending", f"PVC {name} Pending"),
                _cond("Ready", False),
                _cond("Running", False),
            ]
        elif phase == "Pending":
            status.update({"phase": f"{flow}Scheduled", "claimName": name})
            conds = [bound, _cond("Ready", False), _cond("Running", False)]
        elif phase == "UploadScheduled":
            status["phase"] = "UploadReady"
            conds = [bound, _cond("Ready", False), _cond("Running", True, "Pod is running")]
        elif phase.endswith("Scheduled"):
            status.update({"phase": f"{flow}InProgress", "progress": f"{_PROGRESS_STEPS[0]:.2f}%"})
            conds = [bound, _cond("Ready", False), _cond("Running", True, "Pod is running")]
        elif fail:
            restarts = int(status.get("restartCount", 0)) + 1
            status["restartCount"] = restarts
            try:
                limit = int(annotations.get(MAX_RESTARTS, "2"))
            except ValueError:
                limit = 2
            if (0 <= limit < restarts) or restarts >= 50:
                status["phase"] = "Failed"
            conds = [bound, _cond("Ready", False), _cond("Running", False, fail, message)]
        else:
            current = _parse_progress(status.get("progress"))
            later = [p for p in _PROGRESS_STEPS if p > current]
            if later:
                status["progress"] = f"{later[0]:.2f}%"
                conds = [bound, _cond("Ready", False), _cond("Running", True, "Pod is running")]
            else:
                status.update({"phase": "Succeeded", "progress": "100.0%"})
                conds = [bound, _cond("Ready", True), _cond("Running", False, "Completed", f"{flow} Complete")]
        status["conditions"] = set_conditions(status.get("conditions"), conds, heartbeat=True)
        self._write_status(DV, dv, status)
        if status["phase"] not in ("Succeeded", "Failed", "UploadReady"):
            self._next_step(key, dv)

    # -- NodeNetworkConfigurationPolicy -----------------------------------------

    def _reconcile_nncp(self, _namespace: str, name: str) -> None:
        nncp = self._get(NNCP, "", name)
        if nncp is None or _meta(nncp).get("deletionTimestamp"):
            return
        key = _key(NNCP, nncp)
        generation = int(_meta(nncp).get("generation", 1))
        spec = nncp.get("spec") or {}
        selector = spec.get("nodeSelector") or {}
        hostname = selector.get("kubernetes.io/hostname")
        nodes = [n for n in self.nodes if hostname in (None, n)]
        annotations = _annotations(nncp)
        fail = annotations.get(FAIL)
        message = annotations.get(MESSAGE, DEFAULT_MESSAGE)
        enactments = {n: self._get(NNCE, "", f"{n}.{name}") for n in nodes}
        current = all(
            e is not None and (e.get("status") or {}).get("policyGeneration") == generation for e in enactments.values()
        )
        finished = current and all(
            _find_condition(e, "Progressing") is not None
            and (_find_condition(e, "Progressing") or {}).get("status") == "False"
            for e in enactments.values()
        )
        status: Obj = copy.deepcopy(nncp.get("status") or {})
        total = len(nodes)
        if (
            finished
            and _find_condition(nncp, "Progressing") is not None
            and (_find_condition(nncp, "Progressing") or {}).get("status") == "False"
        ):
            return
        if not self._due(key):
            return
        if not current:
            for node, nnce in enactments.items():
                self._write_enactment(nncp, node, nnce, generation, "progressing", "")
            status["conditions"] = set_conditions(
                status.get("conditions"),
                [
                    _cond("Available", "Unknown", "ConfigurationProgressing", ""),
                    _cond("Degraded", "Unknown", "ConfigurationProgressing", ""),
                    _cond(
                        "Progressing",
                        True,
                        "ConfigurationProgressing",
                        f"Policy is progressing 0/{total} nodes finished",
                    ),
                ],
                heartbeat=True,
            )
            self._write_status(NNCP, nncp, status)
            self._next_step(key, nncp)
            return
        if annotations.get(HOLD) == "Progressing":
            return
        outcome = "failing" if fail else "available"
        for node, nnce in enactments.items():
            self._write_enactment(nncp, node, nnce, generation, outcome, message)
        if fail:
            conds = [
                _cond("Available", False, "FailedToConfigure", ""),
                _cond("Degraded", True, "FailedToConfigure", f"{total}/{total} nodes failed to configure"),
                _cond("Progressing", False, "FailedToConfigure", ""),
            ]
        else:
            conds = [
                _cond("Available", True, "SuccessfullyConfigured", f"{total}/{total} nodes successfully configured"),
                _cond("Degraded", False, "SuccessfullyConfigured", ""),
                _cond("Progressing", False, "SuccessfullyConfigured", ""),
            ]
        status["conditions"] = set_conditions(status.get("conditions"), conds, heartbeat=True)
        status["unavailableNodeCount"] = 0
        self._write_status(NNCP, nncp, status)

    def _write_enactment(
        self, nncp: Obj, node: str, nnce: Obj | None, generation: int, outcome: str, message: str
    ) -> None:
        policy = _meta(nncp)["name"]
        if nnce is None:
            nnce = self._create(
                NNCE,
                {
                    "metadata": {
                        "name": f"{node}.{policy}",
                        "labels": {"nmstate.io/node": node, "nmstate.io/policy": policy},
                        "ownerReferences": [_owner_reference(NNCP, nncp)],
                    }
                },
            )
        if outcome == "progressing":
            conds = [
                _cond("Failing", False, "ConfigurationProgressing", ""),
                _cond("Available", False, "ConfigurationProgressing", ""),
                _cond("Progressing", True, "ConfigurationProgressing", "Applying desired state"),
                _cond("Pending", False, "ConfigurationProgressing", ""),
                _cond("Aborted", False, "ConfigurationProgressing", ""),
            ]
        elif outcome == "failing":
            conds = [
                _cond(
                    "Failing",
                    True,
                    "FailedToConfigure",
                    f"error reconciling NodeNetworkConfigurationPolicy on node {node}: {message}",
                ),
                _cond("Available", False, "FailedToConfigure", ""),
                _cond("Progressing", False, "FailedToConfigure", ""),
                _cond("Pending", False, "FailedToConfigure", ""),
                _cond("Aborted", False, "FailedToConfigure", ""),
            ]
        else:
            conds = [
                _cond("Failing", False, "SuccessfullyConfigured", ""),
                _cond("Available", True, "SuccessfullyConfigured", "successfully reconciled"),
                _cond("Progressing", False, "SuccessfullyConfigured", ""),
                _cond("Pending", False, "SuccessfullyConfigured", ""),
                _cond("Aborted", False, "SuccessfullyConfigured", ""),
            ]
        status: Obj = copy.deepcopy(nnce.get("status") or {})
        status.update(
            {
                "policyGeneration": generation,
                "desiredState": copy.deepcopy((nncp.get("spec") or {}).get("desiredState") or {}),
                "conditions": set_conditions(status.get("conditions"), conds, heartbeat=True),
            }
        )
        self._write_status(NNCE, nnce, status)


# -- small helpers ---------------------------------------------------------------


def _set_or_drop(status: Obj, key: str, value: Any) -> None:
    """Set a field, or drop it when false/empty (KubeVirt's omitempty)."""
    if value:
        status[key] = value
    else:
        status.pop(key, None)


def _parse_ips(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in raw.split(","):
        name, sep, ip = part.strip().partition("=")
        if sep and name and ip:
            out[name.strip()] = ip.strip()
    return out


def _parse_progress(raw: Any) -> float:
    try:
        return float(str(raw).rstrip("%"))
    except ValueError:
        return 0.0


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _describe(item: Any) -> str:
    if item and item[0] == "deleted":
        return f"deleted {item[1]} {_meta(item[2]).get('namespace', '')}/{_meta(item[2]).get('name')}"
    return "/".join(p for p in item if p)


def _watch_events(resp: Any) -> Iterator[Obj]:
    """The JSON events of a raw watch response, one per line."""
    buffer = b""
    for chunk in resp.stream(65536, decode_content=True):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                event = json.loads(line)
                assert isinstance(event, dict)
                yield event
    if buffer.strip():
        event = json.loads(buffer)
        assert isinstance(event, dict)
        yield event


def _shutdown(resp: Any) -> None:
    """Unblock a thread reading a watch response (urllib3 >= 2.3 has shutdown())."""
    shutdown = getattr(resp, "shutdown", None)
    if shutdown is not None:
        shutdown()
