"""TEST DOUBLE of kubernetes-nmstate (not buildable here: the Go module proxy refuses it,
and it configures host networking of real nodes).

Real component: the nmstate handler on each node. What it plays, through the API only:

- NodeNetworkConfigurationPolicy: one NodeNetworkConfigurationEnactment ``<node>.<policy>``
  per matching node (the nodeSelector key ``kubernetes.io/hostname`` narrows the node
  list; other keys match every node), with ``policyGeneration``; policy conditions
  Progressing, then Available True reason SuccessfullyConfigured, or Degraded True reason
  FailedToConfigure ("N/M nodes failed to configure"; the detailed message is in each
  enactment's Failing condition, as in nmstate). A new generation of the policy goes
  through Progressing again. Deleting a policy: the garbage collector (real
  kube-controller-manager) deletes its enactments, which it owns.

Switches (annotations on the policy): ``test-double.pulumi-kubevirt.io/fail``,
``.../message``, ``.../hold: "Progressing"``, ``.../step-delay``.
"""

from __future__ import annotations

import copy
from typing import Any

from kubernetes import client as k8s

from .engine import (
    DEFAULT_MESSAGE,
    FAIL,
    HOLD,
    MESSAGE,
    NNCE,
    NNCP,
    NODE,
    Controller,
    Kind,
    Obj,
    annotations_of,
    cond,
    find_condition,
    key_of,
    meta,
    owner_reference,
    set_conditions,
)


class NmstateDouble(Controller):
    """Plays kubernetes-nmstate's policy handler on `nodes` (a test double)."""

    name = "nmstate-double"
    kinds = (NNCP,)

    def __init__(
        self, api_client: k8s.ApiClient, *, nodes: tuple[str, ...] = ("node01", "node02", "node03"), **kw: Any
    ) -> None:
        super().__init__(api_client, **kw)
        self.nodes = nodes

    def reconcile(self, kind: Kind, _namespace: str, name: str) -> None:
        nncp = self.get(NNCP, "", name)
        if nncp is None or meta(nncp).get("deletionTimestamp"):
            return
        key = key_of(NNCP, nncp)
        generation = int(meta(nncp).get("generation", 1))
        spec = nncp.get("spec") or {}
        hostname = (spec.get("nodeSelector") or {}).get("kubernetes.io/hostname")
        nodes = [n for n in self.nodes if hostname in (None, n)]
        notes = annotations_of(nncp)
        fail = notes.get(FAIL)
        message = notes.get(MESSAGE, DEFAULT_MESSAGE)
        enactments = {n: self.get(NNCE, "", f"{n}.{name}") for n in nodes}
        current = all(
            e is not None and (e.get("status") or {}).get("policyGeneration") == generation for e in enactments.values()
        )
        finished = current and all(
            (find_condition(e, "Progressing") or {}).get("status") == "False" for e in enactments.values()
        )
        status: Obj = copy.deepcopy(nncp.get("status") or {})
        total = len(nodes)
        if finished and (find_condition(nncp, "Progressing") or {}).get("status") == "False":
            return
        if not self.due(key):
            return
        if not current:
            for node, nnce in enactments.items():
                self._write_enactment(nncp, node, nnce, generation, "progressing", "")
            status["conditions"] = set_conditions(
                status.get("conditions"),
                [
                    cond("Available", "Unknown", "ConfigurationProgressing", ""),
                    cond("Degraded", "Unknown", "ConfigurationProgressing", ""),
                    cond(
                        "Progressing",
                        True,
                        "ConfigurationProgressing",
                        f"Policy is progressing 0/{total} nodes finished",
                    ),
                ],
                heartbeat=True,
            )
            self.write_status(NNCP, nncp, status)
            self.next_step(key, nncp)
            return
        if notes.get(HOLD) == "Progressing":
            return
        outcome = "failing" if fail else "available"
        for node, nnce in enactments.items():
            self._write_enactment(nncp, node, nnce, generation, outcome, message)
        if fail:
            conds = [
                cond("Available", False, "FailedToConfigure", ""),
                cond("Degraded", True, "FailedToConfigure", f"{total}/{total} nodes failed to configure"),
                cond("Progressing", False, "FailedToConfigure", ""),
            ]
        else:
            conds = [
                cond("Available", True, "SuccessfullyConfigured", f"{total}/{total} nodes successfully configured"),
                cond("Degraded", False, "SuccessfullyConfigured", ""),
                cond("Progressing", False, "SuccessfullyConfigured", ""),
            ]
        status["conditions"] = set_conditions(status.get("conditions"), conds, heartbeat=True)
        status["unavailableNodeCount"] = 0
        self.write_status(NNCP, nncp, status)
        if not fail:
            self._advertise_bridges(nncp, nodes)

    def _advertise_bridges(self, nncp: Obj, nodes: list[str]) -> None:
        """What bridge-marker (shipped with kubernetes-nmstate's network addons) does once a
        bridge exists on a node: advertise ``bridge.network.kubevirt.io/<bridge>``, the
        resource a NetworkAttachmentDefinition's ``k8s.v1.cni.cncf.io/resourceName`` names and
        launcher pods request."""
        interfaces = ((nncp.get("spec") or {}).get("desiredState") or {}).get("interfaces") or []
        bridges = [i["name"] for i in interfaces if i.get("type") == "linux-bridge" and i.get("state") != "absent"]
        if not bridges:
            return
        resources = {f"bridge.network.kubevirt.io/{b}": "1k" for b in bridges}
        for node in nodes:
            self.call(
                "PATCH",
                NODE.path("", node, "status"),
                {"status": {"capacity": resources, "allocatable": resources}},
                content_type="application/merge-patch+json",
            )

    def _write_enactment(
        self, nncp: Obj, node: str, nnce: Obj | None, generation: int, outcome: str, message: str
    ) -> None:
        policy = meta(nncp)["name"]
        if nnce is None:
            nnce = self.create(
                NNCE,
                {
                    "metadata": {
                        "name": f"{node}.{policy}",
                        "labels": {"nmstate.io/node": node, "nmstate.io/policy": policy},
                        "ownerReferences": [owner_reference(NNCP, nncp)],
                    }
                },
            )
        reason = {
            "progressing": "ConfigurationProgressing",
            "failing": "FailedToConfigure",
            "available": "SuccessfullyConfigured",
        }[outcome]
        failing = (
            f"error reconciling NodeNetworkConfigurationPolicy on node {node}: {message}"
            if outcome == "failing"
            else ""
        )
        conds = [
            cond("Failing", outcome == "failing", reason, failing),
            cond(
                "Available", outcome == "available", reason, "successfully reconciled" if outcome == "available" else ""
            ),
            cond(
                "Progressing",
                outcome == "progressing",
                reason,
                "Applying desired state" if outcome == "progressing" else "",
            ),
            cond("Pending", False, reason, ""),
            cond("Aborted", False, reason, ""),
        ]
        status: Obj = copy.deepcopy(nnce.get("status") or {})
        status.update(
            {
                "policyGeneration": generation,
                "desiredState": copy.deepcopy((nncp.get("spec") or {}).get("desiredState") or {}),
                "conditions": set_conditions(status.get("conditions"), conds, heartbeat=True),
            }
        )
        self.write_status(NNCE, nnce, status)
