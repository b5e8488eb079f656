"""Kubernetes API access for the KubeVirt backend.

- `Clusters`: one ApiClient per (kubeconfig, context, in-cluster) target,
  created lazily in the provider process, shared by threads (urllib3 pools are
  thread-safe), never pickled.
- `translate`: this backend's one error translator. 404 is NotFound, 409
  Conflict, 400/422 InvalidSpec with the apiserver's message, 401/403 an
  authorization failure that says so; 5xx, 429 and connection errors are
  BackendUnavailable and are what `retrying` retries.
- `Api`: the few verbs the reconcilers need: server-side apply with one field
  manager (always conditional: see `apply`), get, delete (background
  propagation, with a UID precondition), subresource calls, watch. Retries are
  bounded by the resource's deadline (`within`). Ownership decisions are made
  by `owned.py` on top of these verbs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from ..errors import (
    BackendUnavailable,
    Conflict,
    InvalidSpec,
    NotAuthorized,
    NotFound,
    OperationFailed,
    ProviderError,
    WaitTimeout,
)
from ..models import KubevirtTarget
from .informer import Expired, Informer, Informers, comparable
from .parse import parse_cause_field, parse_status_causes
from .render import DATA_VOLUME, FIELD_MANAGER, NAD, NNCE, NNCP, PVC, SECRET, VM, VMI, VMIM, Gvr

__all__ = [
    "DATA_VOLUME",
    "NAD",
    "NNCE",
    "NNCP",
    "PVC",
    "SECRET",
    "VM",
    "VMI",
    "VMIM",
    "Api",
    "Clusters",
    "Gvr",
    "translate",
]

T = TypeVar("T")

INFORMED = (VM, VMI, VMIM, DATA_VOLUME, NNCP)
"""The kinds whose waits (and create-time peeks) are served by a shared informer per namespace."""


RETRY_BUDGET = 60.0
"""Seconds a call is retried while the apiserver is unreachable, at most (less when the deadline is nearer)."""

_NEVER_STORED = "1"
"""The resourceVersion `Api.create` sends: no stored object has it, so the apply only creates."""

INFORMER_WINDOW = 30.0
"""Seconds of one watch of an informer (server-side timeout) before it watches again."""
INFORMER_LINGER = 30.0
"""Seconds an informer keeps watching after its last user, for the next wait in the namespace: creates
that come in waves (the engine's parallelism, slow boots) find it warm instead of listing again; an idle
informer costs one open watch for at most a minute (this and one window)."""

_CORE_KINDS = {"secrets": "secret", "persistentvolumeclaims": "persistent_volume_claim"}
"""The core/v1 kinds this backend touches: plural -> the kind in CoreV1Api's method names."""


def _status(err: ApiException) -> dict[str, Any]:
    """The Kubernetes `Status` in an error's body ({} when there is none)."""
    try:
        body = json.loads(err.body or "{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _status_message(err: ApiException) -> str:
    return str(_status(err).get("message") or err.reason)


def _invalid_field(err: ApiException) -> str | None:
    """The input field a 400/422 is about: the first cause whose manifest path maps back to an input
    field (parse.parse_cause_field), else the first cause's raw path; None when it names no field."""
    fields = parse_status_causes(_status(err))
    mapped = [f for f in (parse_cause_field(raw) for raw in fields) if f is not None]
    return mapped[0] if mapped else (fields[0] if fields else None)


def translate(err: ApiException, *, resource: str, doing: str) -> ProviderError:
    message = f"{doing}: {_status_message(err)}"
    status = err.status or 0
    if status == 404:
        return NotFound(message, resource=resource)
    if status == 409:
        return Conflict(message, resource=resource)
    if status in (400, 422):
        return InvalidSpec(message, resource=resource, field=_invalid_field(err))
    if status == 401:
        return NotAuthorized(
            f"{message} (not authorized: the cluster rejected the kubeconfig's credentials; renew the token or "
            "certificate)",
            resource=resource,
        )
    if status == 403:
        return NotAuthorized(
            f"{message} (forbidden: the kubeconfig's user lacks the RBAC permission for this call)", resource=resource
        )
    if status == 429 or status >= 500:
        return BackendUnavailable(message, resource=resource)
    return OperationFailed(message, resource=resource)


def _served(err: ApiException) -> bool:
    """Whether a 404/503 came from a served subresource API (a Status naming the VM) rather than no route."""
    body = err.body or ""
    return '"kind":"Status"' in body.replace(" ", "") and "virtualmachine" in body.lower()


def _transient(err: BaseException) -> bool:
    if isinstance(err, ApiException):
        return err.status in (429, 500, 502, 503, 504) or err.status == 0
    return isinstance(err, (urllib3.exceptions.HTTPError, ConnectionError))


def retrying(fn: Callable[[], T], *, budget: float = RETRY_BUDGET) -> T:
    """`fn()`, retried with backoff while the apiserver is unreachable or overloaded (bounded)."""
    for attempt in Retrying(
        stop=stop_after_delay(budget),
        wait=wait_exponential(multiplier=0.2, max=2),  # back within ~2 s of the apiserver's return
        retry=retry_if_exception(_transient),
        reraise=True,
    ):
        with attempt:
            return fn()
    raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises


class Clusters:
    """Per-target cache of cluster connections (`Cluster`) for one provider process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clusters: dict[tuple[str | None, str | None, bool], Cluster] = {}

    def api(self, target: KubevirtTarget, *, resource: str) -> Api:
        key = (target.kubeconfig, target.context, target.in_cluster)
        with self._lock:
            cluster = self._clusters.get(key)
            if cluster is None:
                cluster = self._clusters[key] = Cluster(_new_client(target, resource=resource))
        return Api(cluster, resource=resource)


class _Lazy(Generic[T]):
    """A value built on first need, once: a caller that comes while it is being built waits for it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: T | None = None

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value


class Cluster:
    """One cluster's ApiClient, the API wrappers built on it, and its informers.

    Each wrapper is built on first need: CoreV1Api alone costs 0.6-0.9 s of CPU
    to build (the client's core module is large), and only Secrets and PVCs need it.
    """

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        # `client.CoreV1Api` looked up only when built: the lookup imports the client's core module
        self._custom = _Lazy(lambda: client.CustomObjectsApi(api_client))
        self._core = _Lazy(lambda: client.CoreV1Api(api_client))
        self.informers = Informers(self._informer)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return self._custom.get()

    @property
    def core(self) -> client.CoreV1Api:
        return self._core.get()

    def _informer(self, group: str, plural: str, namespace: str | None) -> Informer:
        gvr = next(g for g in INFORMED if (g.group, g.plural) == (group, plural))
        where = f"{gvr.plural} in {namespace}" if namespace else gvr.plural
        return Informer(
            partial(self._list_all, gvr, namespace),
            partial(self._watch_all, gvr, namespace),
            transient=lambda err: isinstance(err, BackendUnavailable),
            name=where,
            window=INFORMER_WINDOW,
            linger=INFORMER_LINGER,
        )

    def _list_args(self, gvr: Gvr, namespace: str | None) -> tuple[Callable[..., Any], tuple[str, ...]]:
        if gvr.namespaced:
            return self.custom.list_namespaced_custom_object, (gvr.group, gvr.version, namespace or "", gvr.plural)
        return self.custom.list_cluster_custom_object, (gvr.group, gvr.version, gvr.plural)

    def _list_all(self, gvr: Gvr, namespace: str | None) -> tuple[list[dict[str, Any]], str]:
        """Every object of the kind in the namespace, and the list's resourceVersion (for an informer)."""
        func, args = self._list_args(gvr, namespace)
        doing = f"listing {gvr.plural}"
        with _translated(doing, resource=None):
            response = func(*args, _preload_content=False, _request_timeout=INFORMER_WINDOW)
            listing = json.loads(response.data)
        return list(listing.get("items") or []), str((listing.get("metadata") or {}).get("resourceVersion") or "")

    def _watch_all(
        self, gvr: Gvr, namespace: str | None, version: str, window: float
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Events of every object of the kind in the namespace from `version`, for at most `window` seconds."""
        func, args = self._list_args(gvr, namespace)
        w = watch.Watch()  # type: ignore[no-untyped-call]
        stream = w.stream(  # type: ignore[no-untyped-call]
            func,
            *args,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=max(1, int(window)),
            _request_timeout=window + 10,
            deserialize=False,
        )
        # A dropped watch (apiserver restart) becomes BackendUnavailable: transient, so the informer
        # backs off and lists again.
        try:
            with _translated(f"watching {gvr.plural}", resource=None):
                try:
                    for event in stream:
                        yield str(event["type"]), dict(event["object"])
                except ApiException as err:
                    if err.status == 410:
                        raise Expired from err
                    raise
        finally:
            w.stop()  # type: ignore[no-untyped-call]


@contextmanager
def _translated(doing: str, *, resource: str | None) -> Iterator[None]:
    """Client exceptions raised inside become this provider's errors (404 -> NotFound)."""
    try:
        yield
    except ApiException as err:
        raise translate(err, resource=resource or "", doing=doing) from err
    except (urllib3.exceptions.HTTPError, ConnectionError) as err:
        raise BackendUnavailable(f"{doing}: the apiserver is unreachable ({err})", resource=resource) from err


USER_AGENT = "pulumi-kubevirt"
"""How the provider's requests show in the apiserver's audit log."""


def _new_client(target: KubevirtTarget, *, resource: str) -> client.ApiClient:
    api_client = _configured_client(target, resource=resource)
    api_client.user_agent = USER_AGENT
    return api_client


def _configured_client(target: KubevirtTarget, *, resource: str) -> client.ApiClient:
    try:
        if target.in_cluster:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return client.ApiClient(configuration)
        path = target.kubeconfig or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        api_client: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=os.path.expanduser(path), context=target.context
        )
        return api_client
    except (ConfigException, OSError) as err:
        raise BackendUnavailable(f"cannot load the cluster configuration: {err}", resource=resource) from err


class Api:
    """The verbs the reconcilers use, with errors translated."""

    def __init__(self, cluster: Cluster, *, resource: str, budget: float = RETRY_BUDGET) -> None:
        self._cluster = cluster
        self._client = cluster.api_client
        self.resource = resource
        self.budget = budget

    @property
    def _custom(self) -> client.CustomObjectsApi:
        return self._cluster.custom

    @property
    def _core(self) -> client.CoreV1Api:
        return self._cluster.core

    def within(self, seconds: float) -> Api:
        """The same verbs, each retried for at most `seconds` (the time left of the operation)."""
        return Api(self._cluster, resource=self.resource, budget=max(1.0, min(RETRY_BUDGET, seconds)))

    def _core_verb(self, verb: str, gvr: Gvr) -> Callable[..., Any]:
        """`verb` (patch, read, delete, create or list) of a core/v1 kind this backend touches."""
        kind = _CORE_KINDS.get(gvr.plural)
        if kind is None:
            raise ValueError(f"core/v1 {gvr.plural} is not used by this provider")
        method: Callable[..., Any] = getattr(self._core, f"{verb}_namespaced_{kind}")
        return method

    def _call(self, fn: Callable[[], T], doing: str) -> T:
        with _translated(doing, resource=self.resource):
            return retrying(fn, budget=self.budget)

    def _patch(self, gvr: Gvr, name: str, namespace: str, body: Any, content_type: str, **opts: Any) -> Any:
        """One PATCH of any content type; the object as a dict, parsed from the response as sent (the
        generated client maps no body for a 201, which an apply that creates answers)."""
        common = {"field_manager": FIELD_MANAGER, "_content_type": content_type, "_preload_content": False, **opts}
        if gvr.group == "":
            response = self._core_verb("patch", gvr)(name, namespace, body, **common)
        elif gvr.namespaced:
            response = self._custom.patch_namespaced_custom_object(
                gvr.group, gvr.version, namespace, gvr.plural, name, body, **common
            )
        else:
            response = self._custom.patch_cluster_custom_object(
                gvr.group, gvr.version, gvr.plural, name, body, **common
            )
        return json.loads(response.data or b"null")

    def create(self, gvr: Gvr, body: dict[str, Any]) -> dict[str, Any]:
        """Create, never overwrite (an object of that name exists -> Conflict, untouched).

        A server-side apply carrying `metadata.resourceVersion: "1"`, a precondition
        no stored object meets (etcd revisions of stored objects start above 1): an
        apply onto an existing object is refused with 409 before anything is written,
        an apply onto no object creates it. One request, and the fields are this
        manager's *Apply* entry from the start (a POST would record an *Update*
        entry that `own_fields` must then convert with a second request).
        """
        name: str = body["metadata"]["name"]
        namespace: str = body["metadata"].get("namespace") or ""
        doing = f"creating {gvr.plural}/{name}"
        body = {**body, "metadata": {**body["metadata"], "resourceVersion": _NEVER_STORED}}
        try:
            created = self._call(
                lambda: self._patch(gvr, name, namespace, body, "application/apply-patch+yaml", force=True), doing
            )
        except Conflict as err:
            raise Conflict(
                f"{doing}: {gvr.describe(name, namespace or None)} already exists", resource=self.resource
            ) from err
        return dict(created)

    def own_fields(self, gvr: Gvr, obj: dict[str, Any]) -> bool:
        """Make this manager's *Update* entry in managedFields (from `create`) an *Apply* entry.

        What kubectl's client-side-to-server-side upgrade does: a JSON patch of
        metadata.managedFields, guarded by `test` ops on the UID and on the entry,
        so it changes nothing if the object changed meanwhile (-> InvalidSpec or
        Conflict: read again). With an Apply entry already there (an interrupted
        create finished by a rerun) the Update entry is dropped instead. False
        when there was nothing to do.
        """
        meta = obj.get("metadata") or {}
        entries = meta.get("managedFields") or []
        ours = [i for i, e in enumerate(entries) if e.get("manager") == FIELD_MANAGER and not e.get("subresource")]
        update = next((i for i in ours if entries[i].get("operation") == "Update"), None)
        if update is None:
            return False
        applied = any(entries[i].get("operation") == "Apply" for i in ours)
        entry = f"/metadata/managedFields/{update}"
        patch: list[dict[str, Any]] = [
            {"op": "test", "path": "/metadata/uid", "value": meta.get("uid")},
            {"op": "test", "path": f"{entry}/manager", "value": FIELD_MANAGER},
            {"op": "test", "path": f"{entry}/operation", "value": "Update"},
            {"op": "remove", "path": entry}
            if applied
            else {"op": "replace", "path": f"{entry}/operation", "value": "Apply"},
        ]
        name = str(meta.get("name"))
        doing = f"taking field ownership of {gvr.plural}/{name}"
        self._call(
            lambda: self._patch(gvr, name, str(meta.get("namespace") or ""), patch, "application/json-patch+json"),
            doing,
        )
        return True

    def apply(self, gvr: Gvr, body: dict[str, Any], *, uid: str) -> dict[str, Any] | None:
        """Server-side apply with this provider's field manager, only onto the existing object with `uid`.

        `force`: we own what we declare. The apply is conditional: the body carries
        `metadata.uid`, which the apiserver checks, so an apply onto any other
        object (one deleted and recreated by someone else since we read it: 422
        "field is immutable") or onto no object (409 "uid mismatch") is refused
        and changes nothing. Objects are created with `create`, never by an apply.
        """
        body = {**body, "metadata": {**body["metadata"], "uid": uid}}
        name: str = body["metadata"]["name"]
        namespace: str = body["metadata"].get("namespace") or ""
        doing = f"applying {gvr.plural}/{name}"
        result = self._call(
            lambda: self._patch(gvr, name, namespace, body, "application/apply-patch+yaml", force=True), doing
        )
        return dict(result) if isinstance(result, dict) else None

    def get(self, gvr: Gvr, name: str, namespace: str | None) -> dict[str, Any] | None:
        """The object, or None when the apiserver says 404 (anything else is an error)."""
        doing = f"reading {gvr.plural}/{name}"
        ns = namespace or ""

        def fetch() -> Any:
            if gvr.group == "":
                result = self._core_verb("read", gvr)(name, ns)
                return self._client.sanitize_for_serialization(result)  # type: ignore[no-untyped-call]
            if gvr.namespaced:
                return self._custom.get_namespaced_custom_object(gvr.group, gvr.version, ns, gvr.plural, name)
            return self._custom.get_cluster_custom_object(gvr.group, gvr.version, gvr.plural, name)

        try:
            return dict(self._call(fetch, doing))
        except NotFound:
            return None

    def informer(self, gvr: Gvr, namespace: str | None) -> Informer | None:
        """The shared cache of `gvr` in `namespace` (None for kinds no informer serves)."""
        if gvr not in INFORMED:
            return None
        return self._cluster.informers.get(gvr.group, gvr.plural, namespace if gvr.namespaced else None)

    def peek(self, gvr: Gvr, name: str, namespace: str | None) -> dict[str, Any] | None:
        """The object as the kind's shared cache has it: possibly stale, so only for a decision a
        conditional write checks again (owned.py); a GET for kinds no informer serves."""
        informer = self.informer(gvr, namespace)
        if informer is None:
            return self.get(gvr, name, namespace)
        try:
            found = informer.peek(name, deadline=time.monotonic() + min(self.budget, RETRY_BUDGET))
        except (WaitTimeout, NotAuthorized):
            # Not listed in time, or a user who may read the object but not list its kind: read it.
            return self.get(gvr, name, namespace)
        except ProviderError as err:
            raise type(err)(err.message, resource=self.resource, field=err.field) from err
        if found is not None and not comparable(found):
            return self.get(gvr, name, namespace)
        return found

    def list(self, gvr: Gvr, *, label_selector: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """The custom objects with that label selector (in `namespace` when namespaced)."""
        doing = f"listing {gvr.plural} ({label_selector})"
        if gvr.group == "":
            raise ValueError("list is for custom resources")

        def fetch() -> Any:
            if gvr.namespaced:
                return self._custom.list_namespaced_custom_object(
                    gvr.group, gvr.version, namespace or "", gvr.plural, label_selector=label_selector
                )
            return self._custom.list_cluster_custom_object(
                gvr.group, gvr.version, gvr.plural, label_selector=label_selector
            )

        return [dict(item) for item in self._call(fetch, doing).get("items") or []]

    def delete(self, gvr: Gvr, name: str, namespace: str | None, *, uid: str) -> bool:
        """Delete the object with `uid` (background propagation); False when it was already gone.

        A different object under that name (recreated since it was read) is
        refused by the apiserver's UID precondition: Conflict.
        """
        doing = f"deleting {gvr.plural}/{name}"
        ns = namespace or ""
        opts = client.V1DeleteOptions(propagation_policy="Background", preconditions=client.V1Preconditions(uid=uid))

        def send() -> Any:
            if gvr.group == "":
                return self._core_verb("delete", gvr)(name, ns, body=opts)
            if gvr.namespaced:
                return self._custom.delete_namespaced_custom_object(
                    gvr.group, gvr.version, ns, gvr.plural, name, body=opts
                )
            return self._custom.delete_cluster_custom_object(gvr.group, gvr.version, gvr.plural, name, body=opts)

        try:
            self._call(send, doing)
        except NotFound:
            return False
        return True

    def subresource(self, gvr: Gvr, name: str, namespace: str, verb: str, body: dict[str, Any] | None = None) -> None:
        """PUT /apis/subresources.kubevirt.io/v1/namespaces/NS/<plural>/NAME/<verb> (served by virt-api)."""
        path = f"/apis/subresources.kubevirt.io/{gvr.version}/namespaces/{namespace}/{gvr.plural}/{name}/{verb}"
        doing = f"calling {verb} on {gvr.plural}/{name}"

        def send() -> None:
            method, url, headers, payload, post = self._client.param_serialize(
                method="PUT",
                resource_path=path,
                # virt-api's subresource routes declare no representation: go-restful answers
                # 406 Not Acceptable unless the client also accepts */* (as client-go does).
                header_params={"Content-Type": "application/json", "Accept": "application/json, */*"},
                body=body or {},
                auth_settings=["BearerToken"],
            )
            response = self._client.call_api(
                method, url, header_params=headers, body=payload, post_params=post, _request_timeout=30
            )
            data = response.read()  # type: ignore[no-untyped-call]
            if not 200 <= response.status < 300:
                raise ApiException(http_resp=response, body=data.decode(errors="replace") if data else None)

        try:
            retrying(send, budget=self.budget)
        except ApiException as err:
            if err.status in (404, 503) and "subresources.kubevirt.io" in path and not _served(err):
                raise OperationFailed(
                    f"{doing}: the cluster does not serve subresources.kubevirt.io (is KubeVirt's virt-api running?)",
                    resource=self.resource,
                ) from err
            raise translate(err, resource=self.resource, doing=doing) from err
        except (urllib3.exceptions.HTTPError, ConnectionError) as err:
            raise BackendUnavailable(f"{doing}: the apiserver is unreachable ({err})", resource=self.resource) from err

    def watch(
        self, gvr: Gvr, name: str, namespace: str | None, *, timeout: float, resource_version: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event type, object) for one object, for at most `timeout` seconds (server-side timeout too)."""
        w = watch.Watch()  # type: ignore[no-untyped-call]
        kwargs: dict[str, Any] = {
            "field_selector": f"metadata.name={name}",
            "timeout_seconds": max(1, int(timeout)),
            "_request_timeout": timeout + 5,
        }
        if resource_version:
            kwargs["resource_version"] = resource_version
        core = gvr.group == ""
        if core:  # typed models: made plain dicts below, as `get` does
            stream = w.stream(self._core_verb("list", gvr), namespace, **kwargs)  # type: ignore[no-untyped-call]
        elif gvr.namespaced:
            stream = w.stream(  # type: ignore[no-untyped-call]
                self._custom.list_namespaced_custom_object, gvr.group, gvr.version, namespace, gvr.plural, **kwargs
            )
        else:
            stream = w.stream(  # type: ignore[no-untyped-call]
                self._custom.list_cluster_custom_object, gvr.group, gvr.version, gvr.plural, **kwargs
            )
        try:
            for event in stream:
                obj = event["object"]
                if core:
                    obj = self._client.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
                yield event["type"], obj
        except ApiException as err:
            if err.status == 410:
                return  # the version is too old to resume from: the caller reads afresh
            raise translate(err, resource=self.resource, doing=f"watching {gvr.plural}/{name}") from err
        except (urllib3.exceptions.HTTPError, ConnectionError):
            return  # a dropped watch (apiserver restart): the caller reads afresh, with retries
        finally:
            w.stop()  # type: ignore[no-untyped-call]
