"""TEST DOUBLE of the kubelet (there is no container runtime here, so no real kubelet).

Real component: the kubelet of each node. What it plays, through the API only:

- Nodes: ``setup()`` creates the Node objects ``nodes`` (default node01..node03) if
  missing (``kubernetes.io/hostname``, os, arch), with the
  capacity virt-handler's device plugins report (``devices.kubevirt.io/kvm``, ``tun``,
  ``vhost-net``), condition Ready; and renews each node's Lease in ``kube-node-lease``
  every 10 s, the kubelet's heartbeat. The real node-lifecycle controller then lifts the
  ``node.kubernetes.io/not-ready`` taint every new Node gets, and the real kube-scheduler
  binds pods to them.
- Pods bound to one of these nodes: Pending -> Running (podIP ``10.244.<node>.<n>``,
  every container running and ready, conditions Initialized/ContainersReady/Ready), as
  if the images were pulled and the containers started. A container whose image is in
  the ``registry.invalid`` registry is never pulled: the container waits with reason
  ``ErrImagePull`` (the kubelet's own reason) and the pod stays Pending.
- Pods being deleted (``deletionTimestamp``): the kubelet stops the containers and
  removes the pod (``gracePeriodSeconds=0``), which is what ends a graceful deletion.
- A virt-launcher whose process has exited: after a completed migration virt-launcher
  exits on the node the domain left (the source pod, or the target pod of a failed
  migration); the pod turns ``Succeeded``. The double reads the VMI's
  ``status.migrationState`` to know (it never writes VMIs).

It never writes VMs, VMIs or migrations: virt-controller reacts to the pods.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import zlib
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from .engine import NODE, POD, VMI, Controller, Kind, Obj, cond, find_condition, meta, now, set_conditions

LEASE = Kind("Lease", "coordination.k8s.io", "v1", "leases")
LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 40
HEARTBEAT_SECONDS = 10.0

UNPULLABLE_REGISTRY = "registry.invalid/"
NODE_CAPACITY = {
    "cpu": "16",
    "memory": "64Gi",
    "pods": "110",
    "ephemeral-storage": "100Gi",
    "devices.kubevirt.io/kvm": "1k",
    "devices.kubevirt.io/tun": "1k",
    "devices.kubevirt.io/vhost-net": "1k",
}


class KubeletDouble(Controller):
    """Plays the kubelets of `nodes` (a test double)."""

    name = "kubelet-double"
    kinds = (POD, VMI)

    def __init__(
        self, api_client: k8s.ApiClient, *, nodes: tuple[str, ...] = ("node01", "node02", "node03"), **kw: Any
    ) -> None:
        super().__init__(api_client, **kw)
        self.nodes = nodes

    def start(self) -> None:
        super().start()
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, name=f"{self.name}-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop(self) -> None:
        super().stop()
        self._heartbeat.join(5)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self._renew_leases()
                self._repost_ready()
            except (ApiException, urllib3.exceptions.HTTPError, OSError):
                continue  # apiserver restarting: the next beat retries

    def _repost_ready(self) -> None:
        """Post Ready=True again on a Node whose Ready condition is not True.

        When heartbeats lapse past the grace period (an apiserver restart longer than it),
        the node-lifecycle controller sets Ready=Unknown and taints the Node unreachable; a
        renewed Lease alone does not undo that. The real kubelet sees its Node's status
        differ from what it reports and posts it again, then the controller lifts the taint.
        """
        for index, node in enumerate(self.nodes):
            ready = find_condition(self.get(NODE, "", node), "Ready")
            if ready is None or ready.get("status") != "True":
                self._post_node_status(node, index)

    def _renew_leases(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for node in self.nodes:
            lease = self.get(LEASE, LEASE_NAMESPACE, node)
            spec = {"holderIdentity": node, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": stamp}
            if lease is None:
                self.create(LEASE, {"metadata": {"name": node, "namespace": LEASE_NAMESPACE}, "spec": spec})
            else:
                lease["spec"] = spec
                self.replace(LEASE, lease)

    def setup(self) -> None:
        self._renew_leases()
        for index, node in enumerate(self.nodes):
            if self.get(NODE, "", node) is None:
                self.create(
                    NODE,
                    {
                        "metadata": {
                            "name": node,
                            "labels": {
                                "kubernetes.io/hostname": node,
                                "kubernetes.io/os": "linux",
                                "kubernetes.io/arch": "amd64",
                            },
                        },
                        "spec": {"podCIDR": f"10.244.{index}.0/24"},
                    },
                )
            self._post_node_status(node, index)

    def _post_node_status(self, node: str, index: int) -> None:
        for _attempt in range(10):
            try:
                self._node_status(node, index)
                return
            except ApiException as err:
                if err.status != 409:  # the node-lifecycle controller wrote meanwhile: again
                    raise

    def _node_status(self, node: str, index: int) -> None:
        obj = self.get(NODE, "", node)
        assert obj is not None
        status: Obj = copy.deepcopy(obj.get("status") or {})
        status.update(
            {
                "capacity": dict(NODE_CAPACITY),
                "allocatable": dict(NODE_CAPACITY),
                "addresses": [
                    {"type": "InternalIP", "address": f"192.0.2.{index + 1}"},
                    {"type": "Hostname", "address": node},
                ],
                "nodeInfo": {
                    "architecture": "amd64",
                    "operatingSystem": "linux",
                    "kubeletVersion": "test-double",
                    "containerRuntimeVersion": "none://test-double",
                    "kernelVersion": "6.1.0-test-double",
                    "osImage": "Test Double Linux",
                    "kubeProxyVersion": "",
                    "bootID": "",
                    "machineID": "",
                    "systemUUID": "",
                },
            }
        )
        status["conditions"] = set_conditions(
            status.get("conditions"), [cond("Ready", True, "KubeletReady", "kubelet is posting ready status")], True
        )
        self.write_status(NODE, obj, status)

    def reconcile(self, kind: Kind, namespace: str, name: str) -> None:
        if kind is VMI:
            self._launcher_exits(namespace, name)
            return
        pod = self.get(POD, namespace, name)
        if pod is None:
            return
        spec = pod.get("spec") or {}
        node = spec.get("nodeName")
        if node not in self.nodes:
            return  # not bound yet, or not one of ours
        if meta(pod).get("deletionTimestamp"):
            self.delete(POD, namespace, name, uid=meta(pod).get("uid"), grace=0)
            return
        status: Obj = copy.deepcopy(pod.get("status") or {})
        if status.get("phase") in ("Running", "Succeeded", "Failed"):
            return
        unpullable = [c["name"] for c in spec.get("containers") or [] if _unpullable(c)]
        unpullable += [c["name"] for c in spec.get("initContainers") or [] if _unpullable(c)]
        index = self.nodes.index(node)
        status.update({"hostIP": f"192.0.2.{index + 1}", "startTime": status.get("startTime") or now()})
        if unpullable:
            status["phase"] = "Pending"
            status["containerStatuses"] = [
                _container(c, waiting=("ErrImagePull" if c["name"] in unpullable else "PodInitializing"))
                for c in spec.get("containers") or []
            ]
            ready = False
        else:
            ip = f"10.244.{index}.{2 + zlib.crc32(meta(pod)['uid'].encode()) % 250}"
            status.update({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})
            status["initContainerStatuses"] = [_container(c, terminated=True) for c in spec.get("initContainers") or []]
            status["containerStatuses"] = [_container(c) for c in spec.get("containers") or []]
            ready = True
        status["conditions"] = _pod_conditions(status.get("conditions"), ready)
        self.write_status(POD, pod, status)

    def _launcher_exits(self, namespace: str, name: str) -> None:
        vmi = self.get(VMI, namespace, name)
        state = ((vmi or {}).get("status") or {}).get("migrationState") or {}
        if not state.get("completed"):
            return
        gone = state.get("targetPod") if state.get("failed") else state.get("sourcePod")
        pod = self.get(POD, namespace, gone) if gone else None
        if pod is None or (pod.get("status") or {}).get("phase") != "Running" or meta(pod).get("deletionTimestamp"):
            return
        status: Obj = copy.deepcopy(pod.get("status") or {})
        status["phase"] = "Succeeded"
        status["containerStatuses"] = [
            _container(c, terminated=True) for c in (pod.get("spec") or {}).get("containers") or []
        ]
        status["conditions"] = _pod_conditions(status.get("conditions"), False)
        self.write_status(POD, pod, status)


def _unpullable(container: Obj) -> bool:
    return str(container.get("image", "")).startswith(UNPULLABLE_REGISTRY)


def _container(container: Obj, *, waiting: str | None = None, terminated: bool = False) -> Obj:
    if waiting:
        state: Obj = {"waiting": {"reason": waiting, "message": f"test double: {waiting} for {container.get('image')}"}}
    elif terminated:
        state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now(), "finishedAt": now()}}
    else:
        state = {"running": {"startedAt": now()}}
    return {
        "name": container["name"],
        "image": container.get("image", ""),
        # What a container runtime reports once the image is pulled; virt-controller needs the
        # digest to give a migration target pod the very same container-disk image.
        "imageID": "" if waiting else _image_id(str(container.get("image", ""))),
        "ready": waiting is None,
        "restartCount": 0,
        "started": waiting is None and not terminated,
        "state": state,
    }


def _image_id(image: str) -> str:
    repository = image.split("@")[0].rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image.split("@")[0]
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _pod_conditions(old: list[Obj] | None, ready: bool) -> list[Obj]:
    kept = [c for c in old or [] if c.get("type") == "PodScheduled"]
    reason = "" if ready else "ContainersNotReady"
    new = set_conditions(
        old,
        [
            cond("Initialized", True),
            cond("ContainersReady", ready, reason),
            cond("Ready", ready, reason),
        ],
    )
    return kept + new
