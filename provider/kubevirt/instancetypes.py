"""KubeVirt Instancetype and Preference reconcilers: (Cluster)Instancetype and (Cluster)Preference objects.

I/O. These objects have no status and no controller acting on them, so there is
nothing to wait for: create refuses a foreign object of that name (Conflict,
left byte-for-byte) and then writes ours with `apply_owned`, which is also how a
rerun after an interruption finishes (the object it finds is marked ours); an
update is an ownership-checked apply onto that same object (UID precondition);
delete removes it only when it is ours. Each write is one apiserver call, so
there is no half-made state to roll back.

What an update means for VMs: KubeVirt keeps a ControllerRevision of the
instancetype/preference per VM (captured when the VM first used it), so VMs that
already reference it keep their sizes, running or restarted; see kubevirt/rules.py.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from ..core import Call
from ..models.instancetype import InstancetypeArgs, PreferenceArgs
from ..outputs import InstancetypeOutputs
from ..ownership import Owner
from ..plan import Plan
from .base import KubevirtReconciler
from .client import Api, Gvr
from .owned import apply_owned, delete_owned, fetch_owned, refuse_foreign
from .parse import parse_instancetype, parse_instancetype_outputs, parse_preference
from .render import instancetype_gvr, preference_gvr, render_instancetype, render_preference

A = TypeVar("A", InstancetypeArgs, PreferenceArgs)


class _SizingReconciler(KubevirtReconciler, Generic[A]):
    """CRUD of one status-less, namespaced or cluster-scoped instancetype.kubevirt.io object per resource."""

    @staticmethod
    def _gvr(args: A) -> Gvr:
        raise NotImplementedError

    @staticmethod
    def _render(args: A, *, namespace: str, owner: Owner) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def _parse(obj: dict[str, Any], intent: A) -> dict[str, Any]:
        raise NotImplementedError

    def _where(self, call: Call[A]) -> tuple[Api, Gvr, str, str | None]:
        """The verbs, the resource (namespaced or cluster-scoped), the namespace to render, the one to address."""
        api, ns = self._open(call)
        gvr = self._gvr(call.args)
        return api, gvr, ns, ns if gvr.namespaced else None

    def create(self, call: Call[A]) -> InstancetypeOutputs:
        args = call.args
        api, gvr, ns, _where = self._where(call)
        body = self._render(args, namespace=ns, owner=call.owner)
        refuse_foreign(api, [(gvr, body)], owner=call.owner, adopt=args.adopt)
        apply_owned(api, gvr, body, owner=call.owner, adopt=args.adopt, progress=call.progress, deadline=call.deadline)
        return parse_instancetype_outputs(args.name, args.kind)

    def read(self, call: Call[A]) -> tuple[dict[str, Any], InstancetypeOutputs] | None:
        args = call.args
        api, gvr, _ns, where = self._where(call)
        obj = fetch_owned(api, gvr, args.name, where, owner=call.owner)
        if obj is None:
            return None
        return self._parse(obj, args), parse_instancetype_outputs(args.name, args.kind)

    def update(self, call: Call[A], old: A, plan: Plan) -> InstancetypeOutputs:
        args = call.args
        api, gvr, ns, _where = self._where(call)
        # must_exist: an object deleted behind our back is NotFound (refresh), not silently made again
        apply_owned(
            api,
            gvr,
            self._render(args, namespace=ns, owner=call.owner),
            owner=call.owner,
            adopt=args.adopt,
            progress=call.progress,
            must_exist=True,
        )
        return parse_instancetype_outputs(args.name, args.kind)

    def delete(self, call: Call[A]) -> None:
        args = call.args
        api, gvr, _ns, where = self._where(call)
        delete_owned(api, gvr, args.name, where, owner=call.owner, progress=call.progress)


class InstancetypeReconciler(_SizingReconciler[InstancetypeArgs]):
    """CRUD of Instancetype resources: VirtualMachine(Cluster)Instancetype."""

    _gvr = staticmethod(instancetype_gvr)
    _render = staticmethod(render_instancetype)
    _parse = staticmethod(parse_instancetype)


class PreferenceReconciler(_SizingReconciler[PreferenceArgs]):
    """CRUD of Preference resources: VirtualMachine(Cluster)Preference."""

    _gvr = staticmethod(preference_gvr)
    _render = staticmethod(render_preference)
    _parse = staticmethod(parse_preference)
