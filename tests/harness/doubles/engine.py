"""The machinery every test double of ``tests.harness.doubles`` shares: watch, queue, write.

Role: a double is a small controller. It watches some kinds through the real apiserver,
queues the keys of changed objects, and one worker thread reconciles them one at a time,
writing only through the API, as a real controller does. ``Controller`` is that loop;
subclasses say which kinds they watch (``kinds``) and implement ``reconcile``.

Invariants: every wait is bounded (watch timeouts, ``STOP_JOIN_SECONDS``); a failed
write is retried when transient (409 stale read, 429/5xx, apiserver down) and otherwise
recorded in ``errors`` (the kube fixtures fail the test on it); a crash of the worker is
kept in ``crash`` with its traceback.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (kind, namespace or "", name)

WATCH_TIMEOUT_SECONDS = 60
STOP_JOIN_SECONDS = 10.0
RETRY_SECONDS = 1.0

# Per-object switches a test puts on an object (or, for a VM, in its template's metadata,
# which virt-controller copies to the VMI and its pod). Each double documents the ones it reads.
PREFIX = "test-double.pulumi-kubevirt.io/"
FAIL = PREFIX + "fail"
MESSAGE = PREFIX + "message"
HOLD = PREFIX + "hold"
STEP_DELAY = PREFIX + "step-delay"
DEFAULT_MESSAGE = "failure injected by the test double"


@dataclass(frozen=True)
class Kind:
    """A resource type a double reads or writes (core kinds have group "")."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    status_subresource: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str = "", name: str = "", sub: str = "") -> str:
        """The REST path of the collection, an object, or one of its subresources."""
        parts = ["/api/v1" if not self.group else f"/apis/{self.group}/{self.version}"]
        if namespace and self.namespaced:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        if name:
            parts.append(name)
        if sub:
            parts.append(sub)
        return "/".join(parts)


POD = Kind("Pod", "", "v1", "pods")
NODE = Kind("Node", "", "v1", "nodes", namespaced=False)
PVC = Kind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims")
VM = Kind("VirtualMachine", "kubevirt.io", "v1", "virtualmachines")
VMI = Kind("VirtualMachineInstance", "kubevirt.io", "v1", "virtualmachineinstances", status_subresource=False)
VMIM = Kind("VirtualMachineInstanceMigration", "kubevirt.io", "v1", "virtualmachineinstancemigrations")
DV = Kind("DataVolume", "cdi.kubevirt.io", "v1beta1", "datavolumes")
NNCP = Kind("NodeNetworkConfigurationPolicy", "nmstate.io", "v1", "nodenetworkconfigurationpolicies", namespaced=False)
NNCE = Kind(
    "NodeNetworkConfigurationEnactment", "nmstate.io", "v1beta1", "nodenetworkconfigurationenactments", namespaced=False
)


def rest(
    api_client: k8s.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    query: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
    timeout: Any = 30,
) -> Any:
    """One raw REST call (the response is not read yet: `.read()`, or `.response.stream()`)."""
    method, url, headers, payload, post = api_client.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params={"Accept": "application/json, */*", "Content-Type": content_type},
        body=body,
        auth_settings=["BearerToken"],
    )
    return api_client.call_api(
        method, url, header_params=headers, body=payload, post_params=post, _request_timeout=timeout
    )


def rest_json(api_client: k8s.ApiClient, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    """A REST call's decoded JSON answer; ApiException (with status and body) unless 2xx."""
    response = rest(api_client, method, path, body, **kw)
    data = response.read()
    if not 200 <= response.status < 300:
        raise ApiException(http_resp=response, body=data.decode(errors="replace") if data else None)
    return json.loads(data) if data else None


def now() -> str:
    """An RFC 3339 timestamp as Kubernetes writes them."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(obj: Obj) -> Obj:
    out: Obj = obj.setdefault("metadata", {})
    return out


def annotations_of(obj: Obj) -> dict[str, str]:
    return dict(meta(obj).get("annotations") or {})


def key_of(kind: Kind, obj: Obj) -> Key:
    m = meta(obj)
    return (kind.kind, m.get("namespace") or "", m["name"])


def owner_reference(kind: Kind, owner: Obj) -> Obj:
    m = meta(owner)
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "name": m["name"],
        "uid": m["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def cond(cond_type: str, status: bool | str, reason: str = "", message: str = "") -> Obj:
    value = status if isinstance(status, str) else ("True" if status else "False")
    return {"type": cond_type, "status": value, "reason": reason, "message": message}


def find_condition(obj: Obj | None, cond_type: str) -> Obj | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == cond_type:
            return dict(c)
    return None


def set_conditions(old: list[Obj] | None, new: list[Obj], heartbeat: bool = False) -> list[Obj]:
    """`new` conditions, keeping lastTransitionTime (and heartbeat) of unchanged ones."""
    previous = {c.get("type"): c for c in old or []}
    out: list[Obj] = []
    stamp = now()
    for c in new:
        merged = {k: v for k, v in c.items() if v not in (None, "")}
        before = previous.get(c["type"])
        if before is not None and before.get("status") == c["status"]:
            merged["lastTransitionTime"] = before.get("lastTransitionTime", stamp)
            if heartbeat:
                merged["lastHeartbeatTime"] = before.get("lastHeartbeatTime", stamp)
        else:
            merged["lastTransitionTime"] = stamp
            if heartbeat:
                merged["lastHeartbeatTime"] = stamp
        if not heartbeat:
            # As Go serializes a zero metav1.Time: virt-controller patches VMI conditions
            # with a JSON-patch "test" of the stored list, which must then match exactly.
            merged["lastProbeTime"] = None
        out.append(merged)
    return out


def merge_conditions(old: list[Obj] | None, new: list[Obj]) -> list[Obj]:
    """`old` with the conditions of `new` set (others, e.g. a controller's, are kept)."""
    types = {c["type"] for c in new}
    kept = [c for c in old or [] if c.get("type") not in types]
    return kept + set_conditions(old, new)


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _is_key(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) == 3 and all(isinstance(p, str) for p in item)


class DelayQueue:
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


class Controller:
    """One double: watch threads for `kinds`, one worker calling `reconcile`."""

    name = "double"
    kinds: tuple[Kind, ...] = ()

    def __init__(self, api_client: k8s.ApiClient, *, step_seconds: float = 0.05) -> None:
        self.api_client = api_client
        self.step_seconds = step_seconds
        self.errors: list[str] = []
        self.crash: str | None = None
        self.queue = DelayQueue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._responses: set[Any] = set()
        self._lock = threading.Lock()
        self._not_before: dict[Key, float] = {}
        self._written: dict[Key, tuple[str, str]] = {}

    # -- to implement ------------------------------------------------------------------

    def reconcile(self, kind: Kind, namespace: str, name: str) -> None:
        """Bring one object (and what it drives) one step further."""
        raise NotImplementedError

    def on_deleted(self, kind: Kind, obj: Obj) -> None:
        """React to a DELETED event (default: nothing)."""

    def owners(self, kind: Kind, obj: Obj) -> list[Key]:
        """Keys to reconcile as well when `obj` changes (default: none)."""
        return []

    def setup(self) -> None:
        """Called once before the threads start (e.g. to create Node objects)."""

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            raise RuntimeError(f"{self.name} already started")
        self.setup()
        for kind in self.kinds:
            self._threads.append(
                threading.Thread(
                    target=self._watch_loop, args=(kind,), name=f"{self.name}-watch-{kind.plural}", daemon=True
                )
            )
        self._threads.append(threading.Thread(target=self._worker, name=f"{self.name}-worker", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop all threads (bounded); raise if one does not end or the worker crashed."""
        self._stop.set()
        self.queue.close()
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
            raise RuntimeError(f"{self.name} threads did not stop within {STOP_JOIN_SECONDS}s: {alive}")
        if self.crash:
            raise RuntimeError(f"{self.name} worker crashed:\n{self.crash}")

    def check_alive(self) -> None:
        if self.crash:
            raise RuntimeError(f"{self.name} worker crashed:\n{self.crash}")
        dead = [t.name for t in self._threads if not t.is_alive()]
        if dead and not self._stop.is_set():
            raise RuntimeError(f"{self.name} threads ended: {dead}")

    # -- watching ----------------------------------------------------------------------

    def _watch_loop(self, kind: Kind) -> None:
        resource_version: str | None = None
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    listing = self.call("GET", kind.path(), timeout=30)
                    resource_version = listing["metadata"]["resourceVersion"]
                    for obj in listing.get("items", []):
                        self._on_event(kind, "ADDED", obj)
                resource_version = self._watch_once(kind, resource_version)
            except ApiException as err:
                if err.status != 410:
                    self._stop.wait(RETRY_SECONDS)
                resource_version = None
            except (urllib3.exceptions.HTTPError, OSError):
                self._stop.wait(RETRY_SECONDS)  # apiserver down or restarting: list again

    def _watch_once(self, kind: Kind, resource_version: str) -> str | None:
        """One watch request; returns the resource version to continue from (None: relist)."""
        response = rest(
            self.api_client,
            "GET",
            kind.path(),
            query=[
                ("watch", "true"),
                ("allowWatchBookmarks", "true"),
                ("resourceVersion", resource_version),
                ("timeoutSeconds", str(WATCH_TIMEOUT_SECONDS)),
            ],
            timeout=(10, WATCH_TIMEOUT_SECONDS + 15),
        )
        if response.status != 200:
            data = response.read()
            raise ApiException(http_resp=response, body=data.decode(errors="replace") if data else None)
        resp = response.response
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
                resource_version = meta(obj).get("resourceVersion", resource_version)
                if event.get("type") != "BOOKMARK":
                    self._on_event(kind, event["type"], obj)
            return resource_version
        finally:
            with self._lock:
                self._responses.discard(resp)
            resp.release_conn()

    def _on_event(self, kind: Kind, event_type: str, obj: Obj) -> None:
        if event_type == "DELETED":
            self.queue.put(("deleted", kind.kind, obj))
        else:
            self.queue.put(key_of(kind, obj))
        for owner in self.owners(kind, obj):
            self.queue.put(owner)

    # -- the worker --------------------------------------------------------------------

    def _worker(self) -> None:
        try:
            while not self._stop.is_set():
                item = self.queue.get()
                if item is None:
                    return
                self._handle(item)
        except BaseException:
            self.crash = traceback.format_exc()
            raise

    def _kind(self, name: str) -> Kind:
        return next(k for k in self.kinds if k.kind == name)

    def _handle(self, item: Any) -> None:
        try:
            if item[0] == "deleted":
                kind = self._kind(item[1])
                self._not_before.pop(key_of(kind, item[2]), None)
                self._written.pop(key_of(kind, item[2]), None)
                self.on_deleted(kind, item[2])
                return
            kind_name, namespace, name = item
            self.reconcile(self._kind(kind_name), namespace, name)
        except ApiException as err:
            if err.status == 409:
                self.queue.put(item, self.step_seconds)  # stale read: try again
            elif err.status == 404:
                pass  # gone meanwhile: its DELETED event is handled separately
            elif err.status == 403 and "NamespaceTerminating" in (err.body or ""):
                pass  # its namespace is being deleted: nothing more to do there
            elif err.status in (429, 500, 503, 504):
                self.queue.put(item, RETRY_SECONDS)
            else:
                self.errors.append(f"{self.name}: {_describe(item)}: HTTP {err.status} {err.reason}: {err.body}")
        except urllib3.exceptions.HTTPError:
            if not self._stop.is_set():
                self.queue.put(item, RETRY_SECONDS)  # apiserver down: try again later

    # -- API -----------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
        timeout: float = 30,
    ) -> Any:
        """One REST call as this double's identity; the decoded JSON answer."""
        return rest_json(self.api_client, method, path, body, query=query, content_type=content_type, timeout=timeout)

    def get(self, kind: Kind, namespace: str, name: str) -> Obj | None:
        try:
            obj = self.call("GET", kind.path(namespace, name))
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        assert isinstance(obj, dict)
        return obj

    def list(self, kind: Kind, namespace: str = "", label_selector: str = "") -> list[Obj]:
        query = [("labelSelector", label_selector)] if label_selector else []
        listing = self.call("GET", kind.path(namespace), query=query)
        items: list[Obj] = listing.get("items", [])
        return items

    def create(self, kind: Kind, body: Obj) -> Obj:
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **body}
        out = self.call("POST", kind.path(meta(body).get("namespace", "")), body)
        assert isinstance(out, dict)
        return out

    def replace(self, kind: Kind, obj: Obj) -> Obj:
        m = meta(obj)
        out = self.call("PUT", kind.path(m.get("namespace", ""), m["name"]), obj)
        assert isinstance(out, dict)
        return out

    def write_status(self, kind: Kind, obj: Obj, status: Obj) -> bool:
        """Write `status` if it differs; through /status when the kind has it. True if written.

        Also skipped when this very status was our last write and the stored one is
        what the apiserver made of it (defaulting/pruning must not loop).
        """
        k = key_of(kind, obj)
        wanted, stored = canon(status), canon(obj.get("status"))
        if wanted == stored or self._written.get(k) == (wanted, stored):
            return False
        body = dict(obj)
        body["status"] = status
        m = meta(obj)
        sub = "status" if kind.status_subresource else ""
        out = self.call("PUT", kind.path(m.get("namespace", ""), m["name"], sub), body)
        self._written[k] = (wanted, canon(out.get("status") if isinstance(out, dict) else None))
        return True

    def delete(
        self, kind: Kind, namespace: str, name: str, *, uid: str | None = None, grace: int | None = None
    ) -> None:
        body: Obj = {"propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        if grace is not None:
            body["gracePeriodSeconds"] = grace
        try:
            self.call("DELETE", kind.path(namespace, name), body)
        except ApiException as err:
            if err.status not in (404, 409):
                raise

    # -- timing --------------------------------------------------------------------------

    def step_delay(self, obj: Obj) -> float:
        raw = annotations_of(obj).get(STEP_DELAY)
        if raw is None:
            return self.step_seconds
        try:
            return max(0.0, float(raw))
        except ValueError:
            self.errors.append(f"{meta(obj).get('name')}: bad {STEP_DELAY} annotation {raw!r}")
            return self.step_seconds

    def due(self, key: Key) -> bool:
        """Whether the next timed step of `key` may happen now; if not, come back then."""
        remaining = self._not_before.get(key, 0.0) - time.monotonic()
        if remaining > 0:
            self.queue.put(key, remaining)
            return False
        return True

    def next_step(self, key: Key, obj: Obj) -> None:
        delay = self.step_delay(obj)
        self._not_before[key] = time.monotonic() + delay
        self.queue.put(key, delay)


def _describe(item: Any) -> str:
    if item and item[0] == "deleted":
        return f"deleted {item[1]} {meta(item[2]).get('namespace', '')}/{meta(item[2]).get('name')}"
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
