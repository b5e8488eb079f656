"""Shared by the KubeVirt examples: the target from stack config (kubectl's resolution rules),
and the resource classes of the adapter the stack chose.

The two adapters have the same classes, arguments and outputs, so `resources()` is typed as
one of them: `make lint` (scripts/mypy.sh) checks the examples twice under mypy --strict,
against the dynamic resource classes and, with `--always-true PLUGIN_SDK`, against the
plugin's SDK, so an example must be right for either adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

import pulumi

PLUGIN_SDK = False
"""Set by the type checker only (see above)."""

if TYPE_CHECKING:
    if PLUGIN_SDK:
        from pulumi_kubevirt.sdk import (
            Bridge,
            Disk,
            Instancetype,
            Migration,
            Preference,
            Snapshot,
            SnapshotRestore,
            VirtualMachine,
        )
        from pulumi_kubevirt.sdk import KubevirtTargetArgsDict as KubevirtTargetArgs
    else:
        from pulumi_kubevirt.provider import (
            Bridge,
            Disk,
            Instancetype,
            Migration,
            Preference,
            Snapshot,
            SnapshotRestore,
            VirtualMachine,
        )
        from pulumi_kubevirt.provider.resources.inputs import KubevirtTargetArgs


class Resources(Protocol):
    """The resource classes of an adapter, by name."""

    @property
    def VirtualMachine(self) -> type[VirtualMachine]: ...
    @property
    def Disk(self) -> type[Disk]: ...
    @property
    def Bridge(self) -> type[Bridge]: ...
    @property
    def Migration(self) -> type[Migration]: ...
    @property
    def Instancetype(self) -> type[Instancetype]: ...
    @property
    def Preference(self) -> type[Preference]: ...
    @property
    def Snapshot(self) -> type[Snapshot]: ...
    @property
    def SnapshotRestore(self) -> type[SnapshotRestore]: ...


def kubevirt_target() -> KubevirtTargetArgs:
    config = pulumi.Config()
    target: KubevirtTargetArgs = {"kind": "kubevirt", "namespace": config.get("namespace") or "default"}
    if kubeconfig := config.get("kubeconfig"):
        target["kubeconfig"] = kubeconfig
    if context := config.get("context"):
        target["context"] = context
    return target


def resources() -> Resources:
    """The resource classes: the dynamic resources by default (nothing to install), or with
    `pulumi config set adapter plugin` the typed SDK of the `pulumi-resource-kubevirt` plugin.
    Both take the same arguments and give the same outputs."""
    adapter = pulumi.Config().get("adapter") or "dynamic"
    if adapter == "plugin":
        import pulumi_kubevirt.sdk as plugin

        return cast("Resources", plugin)  # `Resources` is one adapter's classes (see above)
    if adapter != "dynamic":
        raise pulumi.RunError(f"config adapter: {adapter!r} is neither 'dynamic' nor 'plugin'")
    import pulumi_kubevirt.provider as dynamic

    return cast("Resources", dynamic)
