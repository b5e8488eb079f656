"""Helpers of the kube tier's ownership and fault tests: read, snapshot and list objects on the test apiserver.

Not a test module. `managed` lists everything that carries the provider's
managed-by label (what an orphan sweep would find); `snapshot` is the full
object as the apiserver stores it (resourceVersion and managedFields included),
for "left byte-for-byte as it was" assertions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

MANAGED_BY = "app.kubernetes.io/managed-by=pulumi-kubevirt"


@dataclass(frozen=True)
class Kind:
    """Where a kind is served; `group` "" is core/v1."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True


SECRET = Kind("Secret", "", "v1", "secrets")
VM = Kind("VirtualMachine", "kubevirt.io", "v1", "virtualmachines")
VMI = Kind("VirtualMachineInstance", "kubevirt.io", "v1", "virtualmachineinstances")
VMIM = Kind("VirtualMachineInstanceMigration", "kubevirt.io", "v1", "virtualmachineinstancemigrations")
DV = Kind("DataVolume", "cdi.kubevirt.io", "v1beta1", "datavolumes")
NAD = Kind("NetworkAttachmentDefinition", "k8s.cni.cncf.io", "v1", "network-attachment-definitions")
NNCP = Kind("NodeNetworkConfigurationPolicy", "nmstate.io", "v1", "nodenetworkconfigurationpolicies", False)
ALL = (SECRET, VM, VMI, VMIM, DV, NAD, NNCP)


class Cluster:
    """Plain reads and writes on the test apiserver, as another client (not the provider) makes them."""

    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.api_client = api_client
        self.core = k8s.CoreV1Api(api_client)
        self.custom: Any = k8s.CustomObjectsApi(api_client)

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            if kind is SECRET:
                secret = self.core.read_namespaced_secret(name, namespace)
                out: dict[str, Any] = self.api_client.sanitize_for_serialization(secret)
                return out
            if kind.namespaced:
                return dict(
                    self.custom.get_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural, name)
                )
            return dict(self.custom.get_cluster_custom_object(kind.group, kind.version, kind.plural, name))
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def create(self, kind: Kind, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        body = {"apiVersion": f"{kind.group}/{kind.version}".lstrip("/"), "kind": kind.kind, **body}
        if kind is SECRET:
            self.core.create_namespaced_secret(namespace, body)
        elif kind.namespaced:
            self.custom.create_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural, body)
        else:
            self.custom.create_cluster_custom_object(kind.group, kind.version, kind.plural, body)
        found = self.get(kind, body["metadata"]["name"], namespace)
        assert found is not None
        return found

    def delete(self, kind: Kind, name: str, namespace: str | None = None) -> None:
        try:
            if kind is SECRET:
                self.core.delete_namespaced_secret(name, namespace)
            elif kind.namespaced:
                self.custom.delete_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural, name)
            else:
                self.custom.delete_cluster_custom_object(kind.group, kind.version, kind.plural, name)
        except ApiException as err:
            if err.status != 404:
                raise

    def managed(self, namespace: str, cluster_names: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """`Kind namespace/name` of every object with the managed-by label in `namespace`, and of the
        cluster-scoped ones named in `cluster_names` (other tests' NNCPs are not this test's)."""
        found: list[str] = []
        for kind in ALL:
            if kind is SECRET:
                items = [
                    self.api_client.sanitize_for_serialization(s)
                    for s in self.core.list_namespaced_secret(namespace, label_selector=MANAGED_BY).items
                ]
            elif kind.namespaced:
                items = self.custom.list_namespaced_custom_object(
                    kind.group, kind.version, namespace, kind.plural, label_selector=MANAGED_BY
                )["items"]
            else:
                items = [
                    i
                    for i in self.custom.list_cluster_custom_object(
                        kind.group, kind.version, kind.plural, label_selector=MANAGED_BY
                    )["items"]
                    if i["metadata"]["name"] in cluster_names
                ]
            for item in items:
                meta = item["metadata"]
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
        timeout: float = 20.0,
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
