"""Helpers of the kube tier's ownership and fault tests: read, snapshot and list objects on the test apiserver.

Not a test module. `managed` lists everything that carries the provider's
managed-by label (what an orphan sweep would find); `snapshot` is the full
object as the apiserver stores it (resourceVersion and managedFields included),
for "left byte-for-byte as it was" assertions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.harness.doubles.engine import DV, NNCP, VM, VMI, VMIM, Kind, rest_json
from tests.harness.kube_fixtures import SETTLE_TIMEOUT

MANAGED_BY = "app.kubernetes.io/managed-by=pulumi-kubevirt"

SECRET = Kind("Secret", "", "v1", "secrets")
NAD = Kind("NetworkAttachmentDefinition", "k8s.cni.cncf.io", "v1", "network-attachment-definitions")
ALL = (SECRET, VM, VMI, VMIM, DV, NAD, NNCP)

__all__ = ["ALL", "DV", "NAD", "NNCP", "SECRET", "VM", "VMI", "VMIM", "Cluster", "Kind", "condition_true", "status"]


class Cluster:
    """Plain reads and writes on the test apiserver, as another client (not the provider) makes them;
    the same REST paths (`Kind.path`) the node-side doubles use."""

    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.api_client = api_client

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return dict(rest_json(self.api_client, "GET", kind.path(namespace or "", name)))
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def create(self, kind: Kind, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **body}
        rest_json(self.api_client, "POST", kind.path(namespace or ""), body)
        found = self.get(kind, body["metadata"]["name"], namespace)
        assert found is not None
        return found

    def delete(self, kind: Kind, name: str, namespace: str | None = None) -> None:
        try:
            rest_json(self.api_client, "DELETE", kind.path(namespace or "", name))
        except ApiException as err:
            if err.status != 404:
                raise

    def managed(self, namespace: str, cluster_names: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """`Kind namespace/name` of every object with the managed-by label in `namespace`, and of the
        cluster-scoped ones named in `cluster_names` (other tests' NNCPs are not this test's)."""
        found: list[str] = []
        for kind in ALL:
            listed = rest_json(self.api_client, "GET", kind.path(namespace), query=[("labelSelector", MANAGED_BY)])
            for item in listed["items"]:
                meta = item["metadata"]
                if not kind.namespaced and meta["name"] not in cluster_names:
                    continue
                where = f"{meta['namespace']}/" if meta.get("namespace") else ""
                found.append(f"{kind.kind} {where}{meta['name']}")
        return sorted(found)

    def settled(
        self,
        kind: Kind,
        name: str,
        namespace: str | None,
        ready: Callable[[dict[str, Any]], bool],
        *,
        timeout: float = SETTLE_TIMEOUT,
        quiet: float = 0.5,
    ) -> dict[str, Any]:
        """The object once `ready(obj)` holds and its resourceVersion stayed put for `quiet` seconds
        (the test double has stopped writing its status), bounded by `timeout`."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            obj = self.get(kind, name, namespace)
            if obj is not None and ready(obj):
                if last is not None and last["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]:
                    return obj
                last = obj
            else:
                last = None
            time.sleep(quiet)
        raise AssertionError(f"{kind.kind} {name} did not settle within {timeout}s: {last}")


def status(obj: dict[str, Any], key: str) -> Any:
    return (obj.get("status") or {}).get(key)


def condition_true(obj: dict[str, Any], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status(obj, "conditions") or [])
