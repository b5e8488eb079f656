"""Shared by the KubeVirt examples: the target from stack config (kubectl's resolution rules),
and the resource classes of the adapter the stack chose.

The two adapters have the same classes and take the same arguments, so `resources()` is typed
as one adapter's classes: `make lint` (scripts/mypy.sh) checks the examples twice under mypy
--strict, with `--always-false PLUGIN_SDK` against the dynamic resource classes and with
`--always-true PLUGIN_SDK` against the plugin's SDK, so an example must be right for either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

import pulumi

PLUGIN_SDK = False
"""Which adapter the type checker reads `Resources` from (see above); no effect at run time."""

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

    VirtualMachine: type[VirtualMachine]
    Disk: type[Disk]
    Bridge: type[Bridge]
    Migration: type[Migration]
    Instancetype: type[Instancetype]
    Preference: type[Preference]
    Snapshot: type[Snapshot]
    SnapshotRestore: type[SnapshotRestore]


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
