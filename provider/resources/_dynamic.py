"""The thin adapter between Pulumi's dynamic-provider host and core.ResourceKind.

Only translation happens here: dicts in, CheckResult/DiffResult/... out. The
provider object is pickled into the state by dill (by reference: this module is
importable in the provider process) and carries no connection or secret: the
process' one `Backends` (`process_backends`) is created on first use and is
never part of the pickled object (`__getstate__`).

Dynamic providers receive no customTimeouts; the resource classes copy them
into the `timeouts` input instead (see `resource_props`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime import rpc

from ..core import PLANNED_CHANGE, Backends, ResourceKind, begin, contains_unknown
from ..models.common import dump
from ..models.secrets import secret_fields
from ..ownership import OWNER, Owner
from ..waiting import stderr_progress
from ._wire import custom_timeouts, engine_opts, wire_value

_BACKENDS_LOCK = threading.Lock()
_BACKENDS: list[Backends] = []
"""The provider process' one Backends (connection caches, per-pool locks), shared by the
adapters of every kind: the host keeps one provider object per kind, and a VM's seed volume
and a Disk must take the same pool lock. Created on first use, never pickled."""


def process_backends() -> Backends:
    with _BACKENDS_LOCK:
        if not _BACKENDS:
            _BACKENDS.append(Backends())
        return _BACKENDS[0]


def resource_id(target: Mapping[str, Any], name: str) -> str:
    """Stable ID: the target and the name (`qemu:///system/vm1`, `kubevirt:ns/vm1`)."""
    if target.get("kind") == "kubevirt":
        return f"kubevirt:{target.get('namespace', 'default')}/{name}"
    return f"{target.get('uri', 'qemu:///system')}/{name}"


class DynamicAdapter(ResourceProvider):
    """check -> diff -> create/read/update/delete for one ResourceKind."""

    kind: ClassVar[ResourceKind[Any]]

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        pass

    def _reconciler(self, args: Any) -> Any:
        assert self.kind.reconciler is not None
        return self.kind.reconciler(process_backends(), args.target.kind)

    # -- no I/O -----------------------------------------------------------------
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = self.kind.check(_olds, news, unknown=is_unknown)
        if OWNER in news:
            inputs[OWNER] = news[OWNER]
        name = news.get("name") if isinstance(news.get("name"), str) else "?"
        return CheckResult(
            inputs,
            [
                CheckFailure(f.property, f"{self.kind.type_name.rsplit(':', 1)[-1]} {name!r}: {f.reason}")
                for f in failures
            ],
        )

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        unknown = [k for k, v in _news.items() if is_unknown(v) and k in self.kind.model.model_fields]
        if unknown or contains_unknown(_news, is_unknown):
            # Preview with values not known yet: say "changes", and "replace" where
            # the unknown field is a replace-class one (name/target).
            replaces = [k for k in unknown if k in ("name", "target")]
            return DiffResult(changes=True, replaces=replaces, stables=[], delete_before_replace=True)
        new = dump(self.kind.parse(_news, resource=str(_news.get("name"))))
        plan = self.kind.plan(_olds, new)
        same_name = _olds.get("name") == new.get("name")
        return DiffResult(
            changes=bool(plan),
            replaces=plan.replaces,
            stables=sorted(
                k for k in self.kind.output_keys if k not in ("state", "pending_restart", "hot_plugged_disks")
            ),
            delete_before_replace=same_name,
        )

    # -- I/O ----------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        args = self.kind.parse(props, resource=str(props.get("name")))
        owner = Owner.parse(props.get(OWNER), resource=args.name)
        outs = self._reconciler(args).create(begin("create", args, owner=owner, progress=stderr_progress(args.name)))
        return CreateResult(resource_id(dump(args)["target"], args.name), self._state(args, outs, props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        args = self.kind.parse(props, resource=str(props.get("name")))
        owner = Owner.parse(props.get(OWNER), resource=args.name)
        call = begin("read", args, props, owner=owner, progress=stderr_progress(args.name))
        found = self._reconciler(args).read(call)
        if found is None:
            return ReadResult(None, {})
        observed, outs = found
        inputs = {**observed, OWNER: str(owner)}
        return ReadResult(id_, {**inputs, **outs}, inputs)

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        old = self.kind.parse(_olds, resource=str(_olds.get("name")))
        new = self.kind.parse(_news, resource=str(_news.get("name")))
        plan = self.kind.plan(_olds, dump(new))
        # The objects stay marked with the owner that created them (a renamed stack or resource
        # does not re-mark them), so the state keeps that owner for the later delete.
        owner = Owner.parse(_olds.get(OWNER) or _news.get(OWNER), resource=new.name)
        call = begin("update", new, _olds, owner=owner, progress=stderr_progress(new.name))
        outs = self._reconciler(new).update(call, old, plan)
        # What the update did: its plan read the recorded outputs, which check's summary could not.
        return UpdateResult(self._state(new, outs, {**_news, PLANNED_CHANGE: plan.summary(), OWNER: str(owner)}))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        args = self.kind.parse(_props, resource=str(_props.get("name")))
        owner = Owner.parse(_props.get(OWNER), resource=args.name)
        self._reconciler(args).delete(begin("delete", args, _props, owner=owner, progress=stderr_progress(args.name)))

    def _state(self, args: Any, outs: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Checked inputs (secrets stay Pulumi secrets: see core) + computed outputs + the plan
        summary the last check made + the owner."""
        return {
            **dump(args),
            **outs,
            PLANNED_CHANGE: inputs.get(PLANNED_CHANGE),
            OWNER: inputs.get(OWNER),
        }


def is_unknown(value: Any) -> bool:
    """Preview placeholders: the dynamic host turns unknown inputs into `Unknown` objects
    (keep_unknowns=True); the raw wire sentinel is accepted too."""
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


CONFIG_NAMESPACE = "pulumi-kubevirt"


def default_target() -> dict[str, Any]:
    """The target of resources that name none, from stack config (no I/O):

    `pulumi-kubevirt:libvirtUri` (default qemu:///system), or for KubeVirt
    `pulumi-kubevirt:targetKind kubevirt` with optional `kubeconfig`, `context`,
    `namespace`, `inCluster`.
    """
    config = pulumi.Config(CONFIG_NAMESPACE)
    if config.get("targetKind") == "kubevirt":
        target: dict[str, Any] = {"kind": "kubevirt"}
        for key, field in (("kubeconfig", "kubeconfig"), ("context", "context"), ("namespace", "namespace")):
            value = config.get(key)
            if value:
                target[field] = value
        if config.get_bool("inCluster"):
            target["in_cluster"] = True
        return target
    return {"kind": "libvirt", "uri": config.get("libvirtUri") or "qemu:///system"}


def owner_marker(resource_name: str) -> str:
    """The owner of what this resource creates: `project/stack::logical-name`."""
    return str(Owner(f"{pulumi.get_project()}/{pulumi.get_stack()}", resource_name))


def resource_props(
    kind: ResourceKind[Any],
    inputs: Mapping[str, Any],
    opts: pulumi.ResourceOptions | None,
    *,
    resource_name: str,
) -> dict[str, Any]:
    """Inputs for pulumi.dynamic.Resource: the user's values, the default target from stack
    config, customTimeouts as `timeouts`, the owner marker, and every output key declared
    (None) so the resource exposes it."""
    props: dict[str, Any] = {k: v for k, v in inputs.items() if v is not None}
    props[OWNER] = owner_marker(resource_name)
    if "target" in kind.model.model_fields and "target" not in props:
        props["target"] = default_target()
    timeouts = custom_timeouts(opts)
    if timeouts and "timeouts" not in props:
        props["timeouts"] = timeouts
    for key in kind.output_keys:
        props.setdefault(key, None)
    props.setdefault("planned_change", None)
    return props


LEGACY_TYPE = "pulumi-python:dynamic:Resource"
"""The type every dynamic resource had before the kinds registered their own tokens."""


def vm_reference(vm: Resource) -> dict[str, Any]:
    """The `vm` and `target` inputs of a resource about a VirtualMachine resource: its name and target
    (libvirt when it has none). Taking its outputs orders this resource after the VM."""
    return {
        "vm": getattr(vm, "name"),  # noqa: B009 - a resource attribute set from its inputs
        "target": getattr(vm, "target", None) or {"kind": "libvirt"},
    }


class KindResource(Resource):
    """Base of the resource classes: one provider class, inputs = the model's fields.

    Fields marked secret in the model (models.secrets) become Pulumi secrets here,
    whatever the user passed, and stay secret in the outputs."""

    provider_class: ClassVar[type[DynamicAdapter]]
    if TYPE_CHECKING:
        # Every kind has `name` (an input: the object's name, default the logical name), as the plugin's
        # SDK does. Declared for the type checker only: Pulumi translates outputs by the annotations it
        # finds at run time, and one would turn a wrong-typed name into a crash of the program under
        # mocks instead of check's error (as the Snapshot's vm did).
        name: pulumi.Output[str]
    refers: ClassVar[tuple[str, type[Resource]] | None] = None
    """The field that may name another resource, and that resource's class (e.g. `("vm", VirtualMachine)`)."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **fields: Any,
    ) -> None:
        kind = self.provider_class.kind
        secrets = secret_fields(kind.model)
        fields = self._resolve(fields)
        # A value Pulumi cannot send becomes a marker the model refuses at its path (_wire).
        inputs: dict[str, Any] = {
            k: pulumi.Output.secret(wire_value(v)) if k in secrets and v is not None else wire_value(v)
            for k, v in fields.items()
        }
        inputs["name"] = wire_value(name) if name is not None and name != "" else resource_name
        if secrets:
            opts = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(additional_secret_outputs=list(secrets)), opts)
        # Registered as `pulumi-python:dynamic/kubevirt:<Kind>` (see the subclasses); stacks made
        # when every kind was `pulumi-python:dynamic:Resource` keep their resources (no replacement).
        opts = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=LEGACY_TYPE)]), opts)
        props = resource_props(kind, inputs, opts, resource_name=resource_name)
        super().__init__(self.provider_class(), resource_name, props, engine_opts(opts))

    def _resolve(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The kind's inputs from the keyword arguments. A kind that takes another resource (`refers`:
        `vm=vm`) takes that resource's name for the field and the inputs `_refer` draws from it (the
        keyword arguments win). Anything else (a name, a wrong value) goes to `check` as given, which judges it."""
        if self.refers is None:
            return fields
        field, cls = self.refers
        other = fields.get(field)
        if not isinstance(other, cls):
            return fields
        name = getattr(other, "name")  # noqa: B009 - a resource attribute set from its inputs
        return {**self._refer(other), **fields, field: name}

    def _refer(self, other: Any) -> dict[str, Any]:
        """The inputs a resource of this kind takes from the resource it `refers` to."""
        return {}
