"""Shared by the KubeVirt examples: the target from stack config (kubectl's resolution rules),
and the resource classes of the adapter the stack chose."""

from types import ModuleType
from typing import Any

import pulumi


def kubevirt_target() -> dict[str, Any]:
    config = pulumi.Config()
    target: dict[str, Any] = {"kind": "kubevirt", "namespace": config.get("namespace") or "default"}
    if config.get("kubeconfig"):
        target["kubeconfig"] = config.get("kubeconfig")
    if config.get("context"):
        target["context"] = config.get("context")
    return target


def resources() -> ModuleType:
    """The resource classes: the dynamic resources by default (nothing to install), or with
    `pulumi config set adapter plugin` the typed SDK of the `pulumi-resource-kubevirt` plugin.
    Both take the same arguments and give the same outputs."""
    adapter = pulumi.Config().get("adapter") or "dynamic"
    if adapter == "plugin":
        import pulumi_kubevirt.sdk as plugin

        return plugin
    if adapter != "dynamic":
        raise pulumi.RunError(f"config adapter: {adapter!r} is neither 'dynamic' nor 'plugin'")
    import pulumi_kubevirt.provider as dynamic

    return dynamic
