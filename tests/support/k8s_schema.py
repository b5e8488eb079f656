"""Validate manifests against the official CRD schemas, strictly.

The apiserver *prunes* unknown fields of a structural schema silently, so a
typo would vanish instead of failing. Here every object schema that lists
`properties` and is not `x-kubernetes-preserve-unknown-fields` forbids other
keys, and the OpenAPI v3 extensions are mapped to JSON Schema:
`nullable` -> also null, `x-kubernetes-int-or-string` -> integer or string.
CEL rules (`x-kubernetes-validations`) are not evaluated: the kube tier's real
apiserver does that.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

API_REFERENCE = Path(__file__).resolve().parents[2] / "third_party" / "api-reference"


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-validations")}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    for key in [k for k in out if k.startswith("x-kubernetes-")]:
        out.pop(key)
    if "properties" in out and not preserve and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@cache
def _kubevirt(singular: str) -> dict[str, Any]:
    doc = yaml.safe_load((API_REFERENCE / "kubevirt-crd-schemas" / f"{singular}.yaml").read_text())
    return _strict(doc["openAPIV3Schema"])  # type: ignore[no-any-return]


@cache
def _crd(path: str, version: str) -> dict[str, Any]:
    doc = yaml.safe_load((API_REFERENCE / path).read_text())
    for v in doc["spec"]["versions"]:
        if v["name"] == version:
            return _strict(v["schema"]["openAPIV3Schema"])  # type: ignore[no-any-return]
    raise KeyError(f"{path} has no version {version}")


SCHEMAS = {
    ("kubevirt.io/v1", "VirtualMachine"): lambda: _kubevirt("virtualmachine"),
    ("kubevirt.io/v1", "VirtualMachineInstanceMigration"): lambda: _kubevirt("virtualmachineinstancemigration"),
    ("instancetype.kubevirt.io/v1beta1", "VirtualMachineInstancetype"): lambda: _kubevirt("virtualmachineinstancetype"),
    ("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterInstancetype"): lambda: _kubevirt(
        "virtualmachineclusterinstancetype"
    ),
    ("instancetype.kubevirt.io/v1beta1", "VirtualMachinePreference"): lambda: _kubevirt("virtualmachinepreference"),
    ("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterPreference"): lambda: _kubevirt(
        "virtualmachineclusterpreference"
    ),
    ("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshot"): lambda: _kubevirt("virtualmachinesnapshot"),
    ("snapshot.kubevirt.io/v1beta1", "VirtualMachineRestore"): lambda: _kubevirt("virtualmachinerestore"),
    ("cdi.kubevirt.io/v1beta1", "DataVolume"): lambda: _crd("cdi-crds/datavolumes.cdi.kubevirt.io.yaml", "v1beta1"),
    ("nmstate.io/v1", "NodeNetworkConfigurationPolicy"): lambda: _crd("crd-nncp.yaml", "v1"),
    ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition"): lambda: _crd(
        "crd-network-attachment-definitions.yaml", "v1"
    ),
}


def validate(manifest: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError (with the path) unless the manifest fits its official schema."""
    key = (manifest["apiVersion"], manifest["kind"])
    schema = copy.deepcopy(SCHEMAS[key]())
    # metadata is ObjectMeta, which CRD schemas leave as a bare object
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    jsonschema.Draft7Validator(schema).validate(manifest)
