"""KubeVirt Disk reconciler: CDI DataVolumes.

I/O. Create applies the DataVolume (ownership-checked, owned.py) and watches it
to Succeeded, reporting CDI's progress; an import failure ends the wait at once
with CDI's message and the half-made DataVolume is removed. A rerun after an
interruption adopts the DataVolume it made and waits again. Grow = the claim's
storage request (volume expansion), only on the claim CDI made for our
DataVolume. `retain_on_delete` leaves the DataVolume and its data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import Call
from ..errors import Conflict, NotFound
from ..models import DiskArgs
from ..outputs import DiskOutputs
from ..plan import Plan
from ..waiting import Progress, wait
from . import render
from .base import KubevirtReconciler
from .client import DATA_VOLUME, PVC, Api, Gvr
from .judges import data_volume_done, gone
from .owned import apply_owned, delete_owned, foreign, wait_or_roll_back
from .parse import parse_data_volume, parse_data_volume_outputs, parse_owner
from .watching import Watch


class DataVolumeReconciler(KubevirtReconciler):
    """CRUD of Disk resources on KubeVirt (CDI)."""

    def create(self, call: Call[DiskArgs]) -> DiskOutputs:
        args, owner, progress = call.args, call.owner, call.progress
        api, ns = self._open(call)
        body = render.render_data_volume(args, namespace=ns, owner=owner)
        written = apply_owned(
            api, DATA_VOLUME, body, owner=owner, adopt=args.adopt, progress=progress, deadline=call.deadline
        )
        # An adopted DataVolume was the user's: never removed by a failed create.
        made: list[tuple[Gvr, str, str | None]] = [] if written.verb == "adopted" else [(DATA_VOLUME, args.name, ns)]
        status = wait_or_roll_back(
            api,
            Watch(api, DATA_VOLUME, args.name, ns, after=written.obj).until(
                data_volume_done, "the DataVolume to succeed", call.deadline, progress
            ),
            made,
            owner=owner,
            progress=progress,
        )
        return parse_data_volume_outputs(args, status)

    def read(self, call: Call[DiskArgs]) -> tuple[dict[str, Any], DiskOutputs] | None:
        obj = self._fetch(call, DATA_VOLUME)
        if obj is None:
            return None
        return parse_data_volume(obj, call.args), parse_data_volume_outputs(call.args, obj.get("status") or {})

    def update(self, call: Call[DiskArgs], old: DiskArgs, plan: Plan) -> DiskOutputs:
        new, owner, progress = call.args, call.owner, call.progress
        api, ns = self._open(call)
        obj = api.get(DATA_VOLUME, new.name, ns)
        if obj is None:
            raise NotFound(f"DataVolume {ns}/{new.name} is gone; run `pulumi refresh`", resource=new.name)
        if parse_owner(obj) != owner:
            if not new.adopt:
                raise foreign(DATA_VOLUME, new.name, ns, obj, owner, new.name)
            body = render.render_data_volume(new, namespace=ns, owner=owner)
            obj = apply_owned(api, DATA_VOLUME, body, owner=owner, adopt=True, progress=progress).obj or obj
        if "size" in plan.paths("live") and new.size is not None:
            self._grow(api, new, ns, obj, progress)
        return parse_data_volume_outputs(new, obj.get("status") or {})

    def _grow(self, api: Api, args: DiskArgs, ns: str, dv: Mapping[str, Any], progress: Progress) -> None:
        """Raise the storage request of the claim CDI made for our DataVolume (and no other claim)."""
        assert args.size is not None
        claim = (dv.get("status") or {}).get("claimName") or args.name
        pvc = api.get(PVC, claim, ns)
        if pvc is None:
            raise NotFound(f"PersistentVolumeClaim {ns}/{claim} of the DataVolume is gone", resource=args.name)
        dv_uid = (dv.get("metadata") or {}).get("uid")
        owners = [ref.get("uid") for ref in (pvc.get("metadata") or {}).get("ownerReferences") or []]
        if dv_uid not in owners:
            raise Conflict(
                f"PersistentVolumeClaim {ns}/{claim} does not belong to DataVolume {ns}/{args.name}; "
                "it was left untouched",
                resource=args.name,
                field="size",
            )
        progress(f"growing claim {claim} to {args.size}")
        api.apply(
            PVC,
            render.render_claim_resize(claim, namespace=ns, size=args.size),
            uid=str((pvc.get("metadata") or {}).get("uid")),
        )
        progress(f"updated PersistentVolumeClaim {ns}/{claim}")

    def delete(self, call: Call[DiskArgs]) -> None:
        args, progress = call.args, call.progress
        if args.retain_on_delete:
            progress("retain_on_delete: keeping the DataVolume and its data")
            return
        api, ns = self._open(call)
        if delete_owned(api, DATA_VOLUME, args.name, ns, owner=call.owner, progress=progress) == "deleted":
            deleting = Watch(api, DATA_VOLUME, args.name, ns)
            wait(deleting.until(gone, "the DataVolume to be deleted", call.deadline, progress))
