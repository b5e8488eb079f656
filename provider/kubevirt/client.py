"""Kubernetes API access for the KubeVirt backend.

- `Clusters`: one ApiClient per (kubeconfig, context, in-cluster) target,
  created lazily in the provider process, shared by threads (urllib3 pools are
  thread-safe), never pickled.
- `translate`: this backend's one error translator. 404 is NotFound, 409
  Conflict, 400/422 InvalidSpec with the apiserver's message; 5xx, 429 and
  connection errors are BackendUnavailable and are what `retrying` retries.
- `Api`: the few verbs the reconcilers need: server-side apply with one field
  manager, get, delete (background propagation), subresource calls, watch.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from ..errors import BackendUnavailable, Conflict, InvalidSpec, NotFound, OperationFailed, ProviderError
from ..models import KubevirtTarget
from .render import FIELD_MANAGER

T = TypeVar("T")


@dataclass(frozen=True)
class Gvr:
    """Group, version, plural (and whether namespaced) of a resource."""

    group: str
    version: str
    plural: str
    namespaced: bool = True


VM = Gvr("kubevirt.io", "v1", "virtualmachines")
VMI = Gvr("kubevirt.io", "v1", "virtualmachineinstances")
VMIM = Gvr("kubevirt.io", "v1", "virtualmachineinstancemigrations")
DATA_VOLUME = Gvr("cdi.kubevirt.io", "v1beta1", "datavolumes")
NNCP = Gvr("nmstate.io", "v1", "nodenetworkconfigurationpolicies", namespaced=False)
NAD = Gvr("k8s.cni.cncf.io", "v1", "network-attachment-definitions")
SECRET = Gvr("", "v1", "secrets")
PVC = Gvr("", "v1", "persistentvolumeclaims")


def _status_message(err: ApiException) -> str:
    try:
        body = json.loads(err.body or "{}")
    except ValueError:
        return str(err.reason)
    return str(body.get("message") or err.reason)


# A rejected VirtualMachine's Status names manifest paths (KubeVirt's webhook puts them in
# details.causes); render.py keeps disks/volumes and interfaces/networks in the order of the
# user's lists, so those paths name the input the user wrote.
_CAUSE_FIELDS = (
    (re.compile(r"^spec\.template\.spec\.domain\.devices\.interfaces\[(\d+)\]"), "interfaces[{}]"),
    (re.compile(r"^spec\.template\.spec\.networks\[(\d+)\]"), "interfaces[{}]"),
    (re.compile(r"^spec\.template\.spec\.domain\.devices\.disks\[(\d+)\]"), "disks[{}]"),
    (re.compile(r"^spec\.template\.spec\.volumes\[(\d+)\]"), "disks[{}]"),
)


def _cause_field(err: ApiException) -> str | None:
    """The input field the first cause of a 400/422 Status names (else its manifest path)."""
    try:
        body = json.loads(err.body or "{}")
    except ValueError:
        return None
    details = body.get("details") if isinstance(body, dict) else None
    causes = details.get("causes") if isinstance(details, dict) else None
    for cause in causes if isinstance(causes, list) else []:
        path = cause.get("field") if isinstance(cause, dict) else None
        if not isinstance(path, str) or not path:
            continue
        for pattern, field in _CAUSE_FIELDS:
            match = pattern.match(path)
            if match:
                return field.format(match.group(1))
        return path
    return None


def translate(err: ApiException, *, resource: str, doing: str) -> ProviderError:
    message = f"{doing}: {_status_message(err)}"
    status = err.status or 0
    if status == 404:
        return NotFound(message, resource=resource)
    if status == 409:
        return Conflict(message, resource=resource)
    if status in (400, 422):
        return InvalidSpec(message, resource=resource, field=_cause_field(err))
    if status in (401, 403):
        return BackendUnavailable(message + " (check the kubeconfig's credentials and RBAC)", resource=resource)
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


def retrying(fn: Callable[[], T], *, budget: float = 60.0) -> T:
    """`fn()`, retried with backoff while the apiserver is unreachable or overloaded (bounded)."""
    for attempt in Retrying(
        stop=stop_after_delay(budget),
        wait=wait_exponential(multiplier=0.2, max=5),
        retry=retry_if_exception(_transient),
        reraise=True,
    ):
        with attempt:
            return fn()
    raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises


class Clusters:
    """Per-target cache of ApiClients for one provider process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple[str | None, str | None, bool], client.ApiClient] = {}

    def api(self, target: KubevirtTarget, *, resource: str) -> Api:
        key = (target.kubeconfig, target.context, target.in_cluster)
        with self._lock:
            api_client = self._clients.get(key)
            if api_client is None:
                api_client = _new_client(target, resource=resource)
                self._clients[key] = api_client
        return Api(api_client, resource=resource)


def _new_client(target: KubevirtTarget, *, resource: str) -> client.ApiClient:
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

    def __init__(self, api_client: client.ApiClient, *, resource: str) -> None:
        self._client = api_client
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self.resource = resource

    def _core_verbs(self, gvr: Gvr) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
        """(patch, read, delete) of the core/v1 kinds this backend touches."""
        if gvr.plural == "secrets":
            c = self._core
            return c.patch_namespaced_secret, c.read_namespaced_secret, c.delete_namespaced_secret
        if gvr.plural == "persistentvolumeclaims":
            c = self._core
            return (
                c.patch_namespaced_persistent_volume_claim,
                c.read_namespaced_persistent_volume_claim,
                c.delete_namespaced_persistent_volume_claim,
            )
        raise ValueError(f"core/v1 {gvr.plural} is not used by this provider")

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Client exceptions raised inside become this provider's errors (404 -> NotFound)."""
        try:
            yield
        except ApiException as err:
            raise translate(err, resource=self.resource, doing=doing) from err
        except (urllib3.exceptions.HTTPError, ConnectionError) as err:
            raise BackendUnavailable(f"{doing}: the apiserver is unreachable ({err})", resource=self.resource) from err

    def _call(self, fn: Callable[[], T], doing: str) -> T:
        with self._errors(doing):
            return retrying(fn)

    def apply(self, gvr: Gvr, body: dict[str, Any]) -> dict[str, Any] | None:
        """Server-side apply with this provider's field manager (force: we own what we declare).

        Returns the object when the client hands it back: the generated client
        maps only HTTP 200 to a body, so an apply that *creates* (201) returns None.
        """
        name: str = body["metadata"]["name"]
        namespace: str = body["metadata"].get("namespace") or ""
        doing = f"applying {gvr.plural}/{name}"
        ssa = "application/apply-patch+yaml"

        def send() -> Any:
            if gvr.group == "":
                patch = self._core_verbs(gvr)[0]
                result = patch(name, namespace, body, field_manager=FIELD_MANAGER, force=True, _content_type=ssa)
                return self._client.sanitize_for_serialization(result)  # type: ignore[no-untyped-call]
            if gvr.namespaced:
                return self._custom.patch_namespaced_custom_object(
                    gvr.group,
                    gvr.version,
                    namespace,
                    gvr.plural,
                    name,
                    body,
                    field_manager=FIELD_MANAGER,
                    force=True,
                    _content_type=ssa,
                )
            return self._custom.patch_cluster_custom_object(
                gvr.group,
                gvr.version,
                gvr.plural,
                name,
                body,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type=ssa,
            )

        result = self._call(send, doing)
        return dict(result) if isinstance(result, dict) else None

    def get(self, gvr: Gvr, name: str, namespace: str | None) -> dict[str, Any] | None:
        """The object, or None when the apiserver says 404 (anything else is an error)."""
        doing = f"reading {gvr.plural}/{name}"
        ns = namespace or ""

        def fetch() -> Any:
            if gvr.group == "":
                result = self._core_verbs(gvr)[1](name, ns)
                return self._client.sanitize_for_serialization(result)  # type: ignore[no-untyped-call]
            if gvr.namespaced:
                return self._custom.get_namespaced_custom_object(gvr.group, gvr.version, ns, gvr.plural, name)
            return self._custom.get_cluster_custom_object(gvr.group, gvr.version, gvr.plural, name)

        try:
            return dict(self._call(fetch, doing))
        except NotFound:
            return None

    def delete(self, gvr: Gvr, name: str, namespace: str | None) -> bool:
        """Delete with background propagation; False when it was already gone."""
        doing = f"deleting {gvr.plural}/{name}"
        ns = namespace or ""
        opts = client.V1DeleteOptions(propagation_policy="Background")

        def send() -> Any:
            if gvr.group == "":
                return self._core_verbs(gvr)[2](name, ns, body=opts)
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
            retrying(send)
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
        if gvr.group == "":
            raise ValueError("watch is for custom resources")
        if gvr.namespaced:
            stream = w.stream(  # type: ignore[no-untyped-call]
                self._custom.list_namespaced_custom_object, gvr.group, gvr.version, namespace, gvr.plural, **kwargs
            )
        else:
            stream = w.stream(  # type: ignore[no-untyped-call]
                self._custom.list_cluster_custom_object, gvr.group, gvr.version, gvr.plural, **kwargs
            )
        try:
            for event in stream:
                yield event["type"], event["object"]
        except ApiException as err:
            if err.status == 410:
                return  # the version is too old to resume from: the caller reads afresh
            raise translate(err, resource=self.resource, doing=f"watching {gvr.plural}/{name}") from err
        except (urllib3.exceptions.HTTPError, ConnectionError):
            return  # a dropped watch (apiserver restart): the caller reads afresh, with retries
        finally:
            w.stop()  # type: ignore[no-untyped-call]
