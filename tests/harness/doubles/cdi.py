"""TEST DOUBLE of CDI, the Containerized Data Importer (not buildable here: the Go module
proxy refuses ``kubevirt.io/containerized-data-importer``).

Real component: cdi-controller and its importer/cloner/upload pods. What it plays,
through the API only:

- DataVolume: creates its PersistentVolumeClaim (same name, owned by the DataVolume,
  ``Bound`` with the requested capacity, as cdi-controller plus the PV binder leave it)
  and walks the phases: import sources (http, registry, s3, gcs, imageio, vddk, blank)
  Pending -> ImportScheduled -> ImportInProgress (``progress`` 10.00%, 40.00%, 70.00%)
  -> Succeeded (100.0%); clone sources (pvc, snapshot, sourceRef) CloneScheduled ->
  CloneInProgress -> Succeeded; upload: UploadScheduled -> UploadReady (and stays).
  Conditions Bound/Ready/Running, ``claimName``.

Switches (annotations on the DataVolume):

- ``test-double.pulumi-kubevirt.io/fail: "<Reason>"``: in ImportInProgress/CloneInProgress
  the Running condition turns False with this reason and ``restartCount`` grows each
  step, then phase Failed after ``max-restarts`` (default 2; negative: never).
- ``test-double.pulumi-kubevirt.io/message``, ``.../hold: "<Phase>"``, ``.../step-delay``.

virt-controller (real) creates the DataVolumes of a VM's ``dataVolumeTemplates`` and
waits for them; this double never writes VMs or VMIs.
"""

from __future__ import annotations

import copy
from typing import Any

from .engine import (
    DEFAULT_MESSAGE,
    DV,
    FAIL,
    HOLD,
    MESSAGE,
    PREFIX,
    PVC,
    Controller,
    Kind,
    Obj,
    annotations_of,
    cond,
    key_of,
    meta,
    owner_reference,
    set_conditions,
)

MAX_RESTARTS = PREFIX + "max-restarts"
PV = Kind("PersistentVolume", "", "v1", "persistentvolumes", namespaced=False)
_CLONE_SOURCES = ("pvc", "snapshot")
_PROGRESS_STEPS = (10.0, 40.0, 70.0)


class CdiDouble(Controller):
    """Plays CDI's DataVolume controller (a test double)."""

    name = "cdi-double"
    kinds = (DV,)

    def reconcile(self, kind: Kind, namespace: str, name: str) -> None:
        dv = self.get(DV, namespace, name)
        if dv is None or meta(dv).get("deletionTimestamp"):
            return
        key = key_of(DV, dv)
        status: Obj = copy.deepcopy(dv.get("status") or {})
        phase = status.get("phase") or ""
        if phase in ("Succeeded", "Failed", "UploadReady") or not self.due(key):
            return
        spec = dv.get("spec") or {}
        source = spec.get("source") or {}
        if "upload" in source:
            flow = "Upload"
        elif spec.get("sourceRef") or any(s in source for s in _CLONE_SOURCES):
            flow = "Clone"
        else:
            flow = "Import"
        notes = annotations_of(dv)
        if phase and notes.get(HOLD) == phase:
            return
        fail = notes.get(FAIL)
        message = notes.get(MESSAGE, DEFAULT_MESSAGE)
        bound = cond("Bound", True, "Bound", f"PVC {name} Bound")
        if phase == "":
            status.update({"phase": "Pending", "progress": "N/A"})
            conds = [
                cond("Bound", False, "Pending", f"PVC {name} Pending"),
                cond("Ready", False),
                cond("Running", False),
            ]
        elif phase == "Pending":
            self._ensure_pvc(dv)
            status.update({"phase": f"{flow}Scheduled", "claimName": name})
            conds = [bound, cond("Ready", False), cond("Running", False)]
        elif phase == "UploadScheduled":
            status["phase"] = "UploadReady"
            conds = [bound, cond("Ready", False), cond("Running", True, "Pod is running")]
        elif phase.endswith("Scheduled"):
            status.update({"phase": f"{flow}InProgress", "progress": f"{_PROGRESS_STEPS[0]:.2f}%"})
            conds = [bound, cond("Ready", False), cond("Running", True, "Pod is running")]
        elif fail:
            restarts = int(status.get("restartCount", 0)) + 1
            status["restartCount"] = restarts
            try:
                limit = int(notes.get(MAX_RESTARTS, "2"))
            except ValueError:
                limit = 2
            if (0 <= limit < restarts) or restarts >= 50:
                status["phase"] = "Failed"
            conds = [bound, cond("Ready", False), cond("Running", False, fail, message)]
        else:
            current = _parse_progress(status.get("progress"))
            later = [p for p in _PROGRESS_STEPS if p > current]
            if later:
                status["progress"] = f"{later[0]:.2f}%"
                conds = [bound, cond("Ready", False), cond("Running", True, "Pod is running")]
            else:
                status.update({"phase": "Succeeded", "progress": "100.0%"})
                conds = [bound, cond("Ready", True), cond("Running", False, "Completed", f"{flow} Complete")]
        status["conditions"] = set_conditions(status.get("conditions"), conds, heartbeat=True)
        self.write_status(DV, dv, status)
        if status["phase"] not in ("Succeeded", "Failed", "UploadReady"):
            self.next_step(key, dv)

    def _ensure_pvc(self, dv: Obj) -> None:
        """The DataVolume's claim, bound to a volume (what cdi-controller and a provisioner leave).

        The kube-scheduler schedules a pod only when its claims are bound to a PersistentVolume.
        """
        m = meta(dv)
        pvc = self.get(PVC, m["namespace"], m["name"])
        # One volume per DataVolume incarnation: a DataVolume made again under the same name
        # must not be bound to the volume of its predecessor (still there, bound to the old claim).
        pv_name = ((pvc or {}).get("spec") or {}).get("volumeName") or f"pv-{m['namespace']}-{m['name']}-{m['uid'][:8]}"
        spec = dv.get("spec") or {}
        wanted: Obj = copy.deepcopy(spec.get("pvc") or spec.get("storage") or {})
        wanted.setdefault("accessModes", ["ReadWriteOnce"])
        wanted.setdefault("volumeMode", "Filesystem")
        size = ((wanted.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        wanted["resources"] = {"requests": {"storage": size}}
        if pvc is None:
            pvc = self.create(
                PVC,
                {
                    "metadata": {
                        "name": m["name"],
                        "namespace": m["namespace"],
                        "labels": {"app": "containerized-data-importer"},
                        # What the PV controller writes once it bound the claim; the
                        # kube-scheduler treats a claim without it as unbound.
                        "annotations": {
                            "pv.kubernetes.io/bind-completed": "yes",
                            "pv.kubernetes.io/bound-by-controller": "yes",
                        },
                        "ownerReferences": [owner_reference(DV, dv)],
                    },
                    "spec": {**wanted, "volumeName": pv_name},
                },
            )
        if self.get(PV, "", pv_name) is None:
            pv = self.create(
                PV,
                {
                    "metadata": {"name": pv_name},
                    "spec": {
                        "capacity": {"storage": size},
                        "accessModes": list(wanted["accessModes"]),
                        "volumeMode": wanted["volumeMode"],
                        "persistentVolumeReclaimPolicy": "Delete",
                        "hostPath": {"path": f"/var/lib/test-double/{pv_name}"},
                        "claimRef": {
                            "kind": "PersistentVolumeClaim",
                            "namespace": m["namespace"],
                            "name": m["name"],
                            "uid": meta(pvc)["uid"],
                        },
                    },
                },
            )
            self.write_status(PV, pv, {"phase": "Bound"})
        status: Obj = {
            "phase": "Bound",
            "accessModes": list((pvc.get("spec") or {}).get("accessModes") or ["ReadWriteOnce"]),
            "capacity": {"storage": size},
        }
        self.write_status(PVC, pvc, status)


def _parse_progress(raw: Any) -> float:
    try:
        return float(str(raw).rstrip("%"))
    except ValueError:
        return 0.0
