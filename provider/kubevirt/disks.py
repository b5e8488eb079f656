"""KubeVirt Disk reconciler: CDI DataVolumes.

I/O. Create applies the DataVolume and watches it to Succeeded, reporting
CDI's progress; an import failure ends the wait at once with CDI's message and
the half-made DataVolume is removed. Grow = the claim's storage request
(volume expansion). `retain_on_delete` leaves the DataVolume and its data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Conflict, NotFound
from ..models import DiskArgs, KubevirtTarget
from ..models.common import parse_duration
from ..ownership import Owner
from ..plan import Plan
from ..waiting import Deadline, Progress
from . import render
from .client import DATA_VOLUME, PVC, Api, Clusters
from .parse import parse_data_volume
from .watching import data_volume_done, gone, wait_until


def _target(args: DiskArgs) -> KubevirtTarget:
    assert isinstance(args.target, KubevirtTarget)
    return args.target


class DataVolumeReconciler:
    """CRUD of Disk resources on KubeVirt (CDI)."""

    def __init__(self, clusters: Clusters) -> None:
        self._clusters = clusters

    def _api(self, args: DiskArgs) -> Api:
        return self._clusters.api(_target(args), resource=args.name)

    def create(self, args: DiskArgs, *, owner: Owner, progress: Progress) -> dict[str, Any]:
        api, ns = self._api(args), _target(args).namespace
        deadline = Deadline(parse_duration(args.timeouts.create))
        if api.get(DATA_VOLUME, args.name, ns) is not None:
            raise Conflict(f"DataVolume {ns}/{args.name} already exists", resource=args.name, field="name")
        api.apply(DATA_VOLUME, render.render_data_volume(args, namespace=ns))
        try:
            status = wait_until(
                api,
                DATA_VOLUME,
                args.name,
                ns,
                data_volume_done,
                deadline=deadline,
                what="the DataVolume to succeed",
                progress=progress,
            )
        except BaseException:
            api.delete(DATA_VOLUME, args.name, ns)
            raise
        return _outputs(args, status)

    def read(
        self, args: DiskArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        api, ns = self._api(args), _target(args).namespace
        obj = api.get(DATA_VOLUME, args.name, ns)
        if obj is None:
            return None
        return parse_data_volume(obj, args), _outputs(args, obj.get("status") or {})

    def update(
        self, old: DiskArgs, new: DiskArgs, plan: Plan, state: Mapping[str, Any], *, owner: Owner, progress: Progress
    ) -> dict[str, Any]:
        api, ns = self._api(new), _target(new).namespace
        obj = api.get(DATA_VOLUME, new.name, ns)
        if obj is None:
            raise NotFound(f"DataVolume {ns}/{new.name} is gone; run `pulumi refresh`", resource=new.name)
        if "size" in plan.paths("live") and new.size is not None:
            claim = (obj.get("status") or {}).get("claimName") or new.name
            progress(f"growing claim {claim} to {new.size}")
            api.apply(
                PVC,
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim, "namespace": ns},
                    "spec": {"resources": {"requests": {"storage": new.size}}},
                },
            )
        return _outputs(new, obj.get("status") or {})

    def delete(self, args: DiskArgs, state: Mapping[str, Any], *, owner: Owner, progress: Progress) -> None:
        if args.retain_on_delete:
            progress("retain_on_delete: keeping the DataVolume and its data")
            return
        api, ns = self._api(args), _target(args).namespace
        deadline = Deadline(parse_duration(args.timeouts.delete))
        if api.delete(DATA_VOLUME, args.name, ns):
            wait_until(
                api,
                DATA_VOLUME,
                args.name,
                ns,
                gone,
                deadline=deadline,
                what="the DataVolume to be deleted",
                progress=progress,
            )


def _outputs(args: DiskArgs, status: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ref": {"data_volume": args.name},
        "path": None,
        "capacity": None,
        "allocation": None,
        "phase": status.get("phase"),
        "claim_name": status.get("claimName") or args.name,
    }
