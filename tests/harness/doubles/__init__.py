"""TEST DOUBLES of the components the kube tier cannot run: each needs a node or cannot be
built here. Everything else is real (tests.harness.kubevirt_control_plane: kube-apiserver,
kube-controller-manager, kube-scheduler, virt-api, virt-controller).

One module per real component it stands for, each a small controller that acts only
through the API and never writes what virt-controller or virt-api own:

- ``kubelet``: the kubelet (Node objects, pod phase; no container runtime here).
- ``virt_handler``: KubeVirt's virt-handler (VMI Running/node/interfaces, the node side
  of a migration; it needs a node with libvirt).
- ``cdi``: CDI (DataVolume status, its PVC; the Go proxy refuses CDI's module).
- ``nmstate``: kubernetes-nmstate (policy/enactment status; refused too, and it
  configures real host networks).

``NodeSideDoubles`` starts and stops them together.
"""

from __future__ import annotations

from kubernetes import client as k8s

from .cdi import CdiDouble
from .engine import Controller
from .kubelet import KubeletDouble
from .nmstate import NmstateDouble
from .virt_handler import VirtHandlerDouble

NODES = ("node01", "node02", "node03")


class NodeSideDoubles:
    """The four doubles of this package on one apiserver, as one unit."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        nodes: tuple[str, ...] = NODES,
        step_seconds: float = 0.05,
        boot_seconds: float = 0.0,
    ):
        self.nodes = nodes
        self.step_seconds = step_seconds
        self.kubelet = KubeletDouble(api_client, nodes=nodes, step_seconds=step_seconds)
        self.virt_handler = VirtHandlerDouble(
            api_client, nodes=nodes, step_seconds=step_seconds, boot_seconds=boot_seconds
        )
        self.cdi = CdiDouble(api_client, step_seconds=step_seconds)
        self.nmstate = NmstateDouble(api_client, nodes=nodes, step_seconds=step_seconds)
        self.controllers: tuple[Controller, ...] = (self.kubelet, self.virt_handler, self.cdi, self.nmstate)

    @property
    def errors(self) -> list[str]:
        return [error for c in self.controllers for error in c.errors]

    def start(self) -> None:
        # The kubelet first: it registers the Nodes the virt-handler double labels.
        for controller in self.controllers:
            controller.start()

    def stop(self) -> None:
        problems = []
        for controller in self.controllers:
            try:
                controller.stop()
            except RuntimeError as err:
                problems.append(str(err))
        if problems:
            raise RuntimeError("\n".join(problems))

    def check_alive(self) -> None:
        for controller in self.controllers:
            controller.check_alive()
