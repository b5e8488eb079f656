"""Shared by the KubeVirt examples: the target from stack config (kubectl's resolution rules)."""

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
