"""Pulumi package schema generated from the models (`python -m pulumi_kubevirt.provider.schema`).

Pure. It is what the plugin (`pulumi-resource-kubevirt`, package `kubevirt`)
serves from GetSchema, and what the typed SDK is generated from (`make sdk`):
tokens `kubevirt:index:VirtualMachine`, ..., the provider configuration
(`config` and `provider`, `kubeconfig` secret), and `name` optional (it
defaults to the resource's logical name). The committed schema.json must equal
this output (tests/unit/test_schema.py).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from .core import ResourceKind
from .kinds import BRIDGE, DISK, INSTANCETYPE, MIGRATION, PREFERENCE, SNAPSHOT, SNAPSHOT_RESTORE, VIRTUAL_MACHINE
from .models import ClusterRef

PACKAGE = "kubevirt"
"""The plugin's package name: binary `pulumi-resource-kubevirt`, tokens `kubevirt:index:*`, config `kubevirt:*`."""
VERSION = "0.1.0"
SDK_PACKAGE = "pulumi_kubevirt.sdk"
"""Import name of the generated Python SDK (sdk/python, shipped in the wheel under pulumi_kubevirt)."""

CONFIG: dict[str, dict[str, Any]] = {
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
"""The provider configuration: stack config `kubevirt:<key>` or an explicit Provider's inputs."""

_OUTPUT_TYPES: dict[str, dict[str, Any]] = {
    "uuid": {"type": "string", "description": "libvirt domain UUID / KubeVirt VM uid"},
    "state": {"type": "string", "description": "Observed power state"},
    "macs": {"type": "object", "additionalProperties": {"type": "string"}, "description": "MAC per interface"},
    "ipv4": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "IPv4 per interface, when known",
    },
    "serial_log_path": {"type": "string", "description": "Serial console log on the hypervisor"},
    "pending_restart": {"type": "boolean", "description": "Config changes wait for the next restart"},
    "pending_changes": {"type": "array", "items": {"type": "string"}, "description": "Fields waiting for a restart"},
    "host_uri": {"type": "string", "description": "Where the VM runs now (changes after a Migration)"},
    "ref": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "What a VM disk or another Disk's source takes: the libvirt volume or the DataVolume",
    },
    "path": {"type": "string", "description": "Volume path on the hypervisor"},
    "capacity": {"type": "integer", "description": "Size in bytes"},
    "allocation": {"type": "integer", "description": "Allocated bytes"},
    "network_name": {"type": "string", "description": "libvirt network / NAD name"},
    "bridge_device": {"type": "string", "description": "Host bridge device"},
    "active": {"type": "boolean", "description": "The network is running"},
    "printable_status": {"type": "string", "description": "KubeVirt: the VM's printableStatus"},
    "phase": {"type": "string", "description": "KubeVirt: VMI phase / DataVolume phase"},
    "node": {"type": "string", "description": "KubeVirt: the node the VM runs on"},
    "conditions": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "KubeVirt: condition statuses",
    },
    "hot_plugged_disks": {
        "type": "array",
        "items": {"type": "string"},
        "description": "KubeVirt: disks hot-plugged into the running VM (removing one is live, any other a restart)",
    },
    "claim_name": {"type": "string", "description": "KubeVirt: the PVC holding the data"},
    "source_host": {"type": "string", "description": "Migration: where the VM ran"},
    "source_uri": {"type": "string", "description": "Migration: the source libvirt URI"},
    "destination_host": {"type": "string", "description": "Migration: where the VM runs now"},
    "elapsed_ms": {"type": "integer", "description": "Migration: duration"},
    "downtime_ms": {"type": "integer", "description": "Migration: guest pause at switch-over (libvirt)"},
    "bytes_transferred": {"type": "integer", "description": "Migration: data sent (libvirt)"},
    "vm_state": {
        "type": "string",
        "description": "Migration: the VM's state on arrival; Snapshot/SnapshotRestore: the state recorded",
    },
    "ready": {"type": "boolean", "description": "Snapshot: ready to use (KubeVirt readyToUse)"},
    "creation_time": {"type": "string", "description": "Snapshot: when it was taken"},
    "complete": {"type": "boolean", "description": "SnapshotRestore: the restore completed"},
    "restore_time": {"type": "string", "description": "SnapshotRestore: when the VM was restored"},
    "planned_change": {"type": "string", "description": "What the last update did: live / restart / replace"},
}


def _token(name: str) -> str:
    return f"{PACKAGE}:index:{name}"


_KIND_OUTPUT_TYPES: dict[str, dict[str, dict[str, Any]]] = {
    kind: {
        "ref": {
            # the type VirtualMachineArgs.kubevirt takes (a type of the schema: the VM's inputs define it)
            "$ref": "#/types/" + _token(ClusterRef.__name__),
            "description": "The reference a VM's kubevirt.instancetype / kubevirt.preference takes: {name, kind}",
        }
    }
    for kind in ("Instancetype", "Preference")
}
"""Outputs whose type differs by kind (the Disk's `ref` is a map; these are the type a VM takes)."""


class _Converter:
    def __init__(self) -> None:
        self.types: dict[str, Any] = {}

    def model(self, model: type[BaseModel]) -> tuple[dict[str, Any], list[str]]:
        schema = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
        defs = schema.get("$defs", {})
        for name, sub in defs.items():
            props, required = self._object(sub, defs)
            entry: dict[str, Any] = {"type": "object", "properties": props}
            if required:
                entry["required"] = required
            if sub.get("description"):
                entry["description"] = sub["description"]
            self.types[_token(name)] = entry
        return self._object(schema, defs)

    def _object(self, schema: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        props = {k: self._prop(v) for k, v in schema.get("properties", {}).items()}
        return props, sorted(schema.get("required", []))

    def _prop(self, prop: dict[str, Any] | bool) -> dict[str, Any]:
        if not isinstance(prop, dict) or not prop:
            return {"$ref": "pulumi.json#/Any"}
        out: dict[str, Any] = {}
        if "$ref" in prop:
            out["$ref"] = "#/types/" + _token(prop["$ref"].rsplit("/", 1)[-1])
        elif "anyOf" in prop or "oneOf" in prop:
            options = [o for o in prop.get("anyOf", prop.get("oneOf", [])) if o.get("type") != "null"]
            if len(options) == 1:
                out.update(self._prop(options[0]))
            else:
                out["oneOf"] = [self._prop(o) for o in options]
                disc = prop.get("discriminator")
                if disc:
                    out["discriminator"] = {
                        "propertyName": disc["propertyName"],
                        "mapping": {k: "#/types/" + _token(v.rsplit("/", 1)[-1]) for k, v in disc["mapping"].items()},
                    }
        elif "const" in prop:
            out.update({"type": "string", "const": prop["const"]})
        elif "enum" in prop:
            out["type"] = "string"
            out["description"] = "One of: " + ", ".join(map(str, prop["enum"]))
        elif prop.get("type") == "array":
            out["type"] = "array"
            out["items"] = self._prop(prop.get("items", {}))
        elif prop.get("type") == "object":
            out["type"] = "object"
            out["additionalProperties"] = self._prop(prop.get("additionalProperties", {"type": "string"}))
        else:
            out["type"] = prop.get("type", "string")
        if prop.get("description"):
            out["description"] = (out.get("description", "") + " " + prop["description"]).strip()
        if "default" in prop and isinstance(prop["default"], (str, int, bool, float)):
            out["default"] = prop["default"]
        if prop.get("secret") is True:
            out["secret"] = True
        return out


def build_schema() -> dict[str, Any]:
    conv = _Converter()
    resources: dict[str, Any] = {}
    kinds: list[tuple[str, ResourceKind[Any]]] = [
        ("VirtualMachine", VIRTUAL_MACHINE),
        ("Disk", DISK),
        ("Bridge", BRIDGE),
        ("Migration", MIGRATION),
        ("Instancetype", INSTANCETYPE),
        ("Preference", PREFERENCE),
        ("Snapshot", SNAPSHOT),
        ("SnapshotRestore", SNAPSHOT_RESTORE),
    ]
    for name, kind in kinds:
        inputs, required = conv.model(kind.model)
        own = _KIND_OUTPUT_TYPES.get(name, {})
        outputs = {
            **inputs,
            **{k: own.get(k, _OUTPUT_TYPES[k]) for k in sorted(kind.output_keys | {"planned_change"})},
        }
        resources[_token(name)] = {
            "description": (kind.model.__doc__ or "").strip(),
            "inputProperties": inputs,
            "requiredInputs": [r for r in required if r != "name"],  # name defaults to the logical name
            "properties": outputs,
            "required": required,
        }
    return {
        "name": PACKAGE,
        "displayName": "KubeVirt and libvirt virtual machines",
        "version": VERSION,
        "description": "Virtual machines, disks, bridges and live migrations on KubeVirt and libvirt.",
        "license": "Apache-2.0",
        "config": {"variables": CONFIG},
        "provider": {"description": "The KubeVirt/libvirt provider", "inputProperties": CONFIG},
        "types": dict(sorted(conv.types.items())),
        "resources": resources,
        "language": {"python": {"packageName": SDK_PACKAGE}},
    }


def main() -> None:
    json.dump(build_schema(), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
