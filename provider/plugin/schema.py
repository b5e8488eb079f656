"""The package schema the plugin serves from GetSchema. No I/O.

It is provider.schema's document (the one committed as schema.json) under the
plugin's package name, plus what only a plugin has:

- package `kubevirt` (the binary is `pulumi-resource-kubevirt`), tokens
  `kubevirt:index:VirtualMachine`, ...;
- `config` and `provider`: the provider configuration (configure.py keys), with
  `kubeconfig` marked secret;
- `name` is optional: it defaults to the resource's logical name.

While schema.json still says `pulumi-kubevirt` (provider/schema.py PACKAGE), the
tokens are renamed here; once PACKAGE is `kubevirt`, the rename is a no-op.
"""

from __future__ import annotations

import json
from typing import Any

from ..schema import build_schema
from .config import PACKAGE

_CONFIG: dict[str, dict[str, Any]] = {
    "targetKind": {
        "type": "string",
        "description": "Target of resources that name none: libvirt (default) or kubevirt",
    },
    "libvirtUri": {"type": "string", "description": "libvirt connection URI (default qemu:///system)"},
    "kubeconfig": {
        "type": "string",
        "secret": True,
        "description": "KubeVirt: a kubeconfig file path, or the kubeconfig content itself (kept secret)",
    },
    "context": {"type": "string", "description": "KubeVirt: kubeconfig context (default: its current-context)"},
    "namespace": {"type": "string", "description": "KubeVirt: namespace of resources that name none"},
    "inCluster": {"type": "boolean", "description": "KubeVirt: use the pod's service account"},
}


def _renamed(value: Any, old: str) -> Any:
    if isinstance(value, str):
        return value.replace(f"{old}:", f"{PACKAGE}:") if f"{old}:" in value else value
    if isinstance(value, dict):
        return {_renamed(k, old): _renamed(v, old) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old) for v in value]
    return value


def plugin_schema() -> dict[str, Any]:
    base = build_schema()
    schema: dict[str, Any] = _renamed(base, base["name"]) if base["name"] != PACKAGE else base
    schema["name"] = PACKAGE
    for spec in schema["resources"].values():
        spec["requiredInputs"] = [r for r in spec.get("requiredInputs", []) if r != "name"]
    schema["config"] = {"variables": _CONFIG}
    schema["provider"] = {"description": "The KubeVirt/libvirt provider", "inputProperties": _CONFIG}
    return schema


def plugin_schema_json() -> str:
    return json.dumps(plugin_schema(), indent=2)
