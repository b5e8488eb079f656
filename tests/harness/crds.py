"""The CustomResourceDefinitions the kube tier installs into its real kube-apiserver.

Role: assemble complete ``apiextensions.k8s.io/v1`` CRD dicts for KubeVirt, and
load the CDI, Multus NAD and kubernetes-nmstate CRDs, all from the vendored
upstream files in ``third_party/api-reference`` (see its README). No schema is
written by hand here:

- KubeVirt does not publish its CRDs as YAML. Each
  ``kubevirt-crd-schemas/<singular>.yaml`` holds the ``openAPIV3Schema`` that
  virt-operator puts into every served version of that CRD; the metadata
  (names, versions, scope, subresources, categories, labels) is the table in the
  api-reference README, transcribed below as data (``KUBEVIRT_CRDS``).
- CDI (``cdi-crds/*.yaml``), NAD and nmstate (``crd-*.yaml``) are complete CRD
  manifests and are used as they are.

``all_crds()`` is the list to install. Also usable as a script:
``python -m tests.harness.crds --out DIR`` writes one YAML file per CRD.
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

API_REFERENCE = Path(__file__).resolve().parents[2] / "third_party" / "api-reference"
KUBEVIRT_SCHEMAS = API_REFERENCE / "kubevirt-crd-schemas"
CDI_CRDS = API_REFERENCE / "cdi-crds"
NAD_CRD = API_REFERENCE / "crd-network-attachment-definitions.yaml"
NMSTATE_CRDS = (
    API_REFERENCE / "crd-nncp.yaml",
    API_REFERENCE / "crd-nnce.yaml",
    API_REFERENCE / "crd-nns.yaml",
)

Crd = dict[str, Any]

# libyaml's loader when PyYAML has it: the schemas are ~3 MB of YAML.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The groups whose CRDs set `conversion.strategy: None` explicitly (README).
_CONVERSION_NONE_GROUPS = frozenset(
    {"snapshot.kubevirt.io", "export.kubevirt.io", "backup.kubevirt.io", "instancetype.kubevirt.io"}
)
# The one deprecation text the README quotes; other deprecated versions use the
# apiserver's default warning.
_V1ALPHA3_WARNING = "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."


@dataclass(frozen=True)
class Version:
    """One entry of `spec.versions` (the schema is added from the schema file)."""

    name: str
    served: bool = True
    storage: bool = False
    deprecated: bool = False


@dataclass(frozen=True)
class KubevirtCrd:
    """One row of the README's KubeVirt CRD metadata table."""

    plural: str
    group: str
    kind: str
    singular: str
    short_names: tuple[str, ...]
    scope: str
    versions: tuple[Version, ...]
    status: bool
    scale: bool = False
    categories: tuple[str, ...] = ("all",)
    list_kind: str | None = None

    @property
    def name(self) -> str:
        """`metadata.name` of the CRD: <plural>.<group>."""
        return f"{self.plural}.{self.group}"


def _v1_v1alpha3() -> tuple[Version, ...]:
    return (Version("v1", storage=True), Version("v1alpha3", deprecated=True))


def _alpha1_beta1() -> tuple[Version, ...]:
    return (Version("v1alpha1"), Version("v1beta1", storage=True))


_N, _C = "Namespaced", "Cluster"

# Transcription of the table "Metadata needed to assemble full KubeVirt CRDs"
# in third_party/api-reference/README.md (KubeVirt v1.9.0), in its order.
KUBEVIRT_CRDS: tuple[KubevirtCrd, ...] = (
    KubevirtCrd(
        "virtualmachines",
        "kubevirt.io",
        "VirtualMachine",
        "virtualmachine",
        ("vm", "vms"),
        _N,
        _v1_v1alpha3(),
        status=True,
    ),
    # No status subresource: virt-controller/virt-handler write VMI status through the main resource.
    KubevirtCrd(
        "virtualmachineinstances",
        "kubevirt.io",
        "VirtualMachineInstance",
        "virtualmachineinstance",
        ("vmi", "vmis"),
        _N,
        _v1_v1alpha3(),
        status=False,
    ),
    KubevirtCrd(
        "virtualmachineinstancemigrations",
        "kubevirt.io",
        "VirtualMachineInstanceMigration",
        "virtualmachineinstancemigration",
        ("vmim", "vmims"),
        _N,
        _v1_v1alpha3(),
        status=True,
    ),
    KubevirtCrd(
        "virtualmachineinstancereplicasets",
        "kubevirt.io",
        "VirtualMachineInstanceReplicaSet",
        "virtualmachineinstancereplicaset",
        ("vmirs", "vmirss"),
        _N,
        _v1_v1alpha3(),
        status=True,
        scale=True,
    ),
    KubevirtCrd(
        "virtualmachineinstancepresets",
        "kubevirt.io",
        "VirtualMachineInstancePreset",
        "virtualmachineinstancepreset",
        ("vmipreset", "vmipresets"),
        _N,
        (Version("v1", deprecated=True), Version("v1alpha3", storage=True, deprecated=True)),
        status=False,
    ),
    KubevirtCrd("kubevirts", "kubevirt.io", "KubeVirt", "kubevirt", ("kv", "kvs"), _N, _v1_v1alpha3(), status=True),
    KubevirtCrd(
        "virtualmachinepools",
        "pool.kubevirt.io",
        "VirtualMachinePool",
        "virtualmachinepool",
        ("vmpool", "vmpools"),
        _N,
        _alpha1_beta1(),
        status=True,
        scale=True,
    ),
    KubevirtCrd(
        "virtualmachinesnapshots",
        "snapshot.kubevirt.io",
        "VirtualMachineSnapshot",
        "virtualmachinesnapshot",
        ("vmsnapshot", "vmsnapshots"),
        _N,
        _alpha1_beta1(),
        status=True,
    ),
    KubevirtCrd(
        "virtualmachinesnapshotcontents",
        "snapshot.kubevirt.io",
        "VirtualMachineSnapshotContent",
        "virtualmachinesnapshotcontent",
        ("vmsnapshotcontent", "vmsnapshotcontents"),
        _N,
        _alpha1_beta1(),
        status=True,
    ),
    KubevirtCrd(
        "virtualmachinerestores",
        "snapshot.kubevirt.io",
        "VirtualMachineRestore",
        "virtualmachinerestore",
        ("vmrestore", "vmrestores"),
        _N,
        _alpha1_beta1(),
        status=True,
    ),
    KubevirtCrd(
        "virtualmachineexports",
        "export.kubevirt.io",
        "VirtualMachineExport",
        "virtualmachineexport",
        ("vmexport", "vmexports"),
        _N,
        (Version("v1beta1", deprecated=True), Version("v1", storage=True)),
        status=True,
    ),
    KubevirtCrd(
        "virtualmachinebackups",
        "backup.kubevirt.io",
        "VirtualMachineBackup",
        "virtualmachinebackup",
        ("vmbackup", "vmbackups"),
        _N,
        (Version("v1alpha1", storage=True),),
        status=True,
    ),
    KubevirtCrd(
        "virtualmachinebackuptrackers",
        "backup.kubevirt.io",
        "VirtualMachineBackupTracker",
        "virtualmachinebackuptracker",
        ("vmbackuptracker", "vmbackuptrackers"),
        _N,
        (Version("v1alpha1", storage=True),),
        status=True,
    ),
    KubevirtCrd(
        "virtualmachineinstancetypes",
        "instancetype.kubevirt.io",
        "VirtualMachineInstancetype",
        "virtualmachineinstancetype",
        ("vminstancetype", "vminstancetypes", "vmf", "vmfs"),
        _N,
        (Version("v1beta1", storage=True),),
        status=False,
    ),
    KubevirtCrd(
        "virtualmachineclusterinstancetypes",
        "instancetype.kubevirt.io",
        "VirtualMachineClusterInstancetype",
        "virtualmachineclusterinstancetype",
        ("vmclusterinstancetype", "vmclusterinstancetypes", "vmcf", "vmcfs"),
        _C,
        (Version("v1beta1", storage=True),),
        status=False,
        categories=(),
    ),
    KubevirtCrd(
        "virtualmachinepreferences",
        "instancetype.kubevirt.io",
        "VirtualMachinePreference",
        "virtualmachinepreference",
        ("vmpref", "vmprefs", "vmp", "vmps"),
        _N,
        (Version("v1beta1", storage=True),),
        status=False,
    ),
    KubevirtCrd(
        "virtualmachineclusterpreferences",
        "instancetype.kubevirt.io",
        "VirtualMachineClusterPreference",
        "virtualmachineclusterpreference",
        ("vmcp", "vmcps"),
        _C,
        (Version("v1beta1", storage=True),),
        status=False,
        categories=(),
    ),
    KubevirtCrd(
        "migrationpolicies",
        "migrations.kubevirt.io",
        "MigrationPolicy",
        "migrationpolicy",
        (),
        _C,
        (Version("v1alpha1", storage=True),),
        status=True,
        categories=(),
    ),
    KubevirtCrd(
        "virtualmachineclones",
        "clone.kubevirt.io",
        "VirtualMachineClone",
        "virtualmachineclone",
        ("vmclone", "vmclones"),
        _N,
        _alpha1_beta1(),
        status=True,
    ),
    KubevirtCrd(
        "plugins",
        "plugin.kubevirt.io",
        "Plugin",
        "plugin",
        (),
        _C,
        (Version("v1alpha1", storage=True),),
        status=False,
        categories=(),
        list_kind="PluginList",
    ),
)


@cache
def _load_documents(path: Path) -> tuple[Any, ...]:
    """The parsed YAML documents of a vendored file (cached; callers copy)."""
    return tuple(doc for doc in yaml.load_all(path.read_text(), Loader=_Loader) if doc is not None)


def kubevirt_schema(singular: str) -> dict[str, Any]:
    """The `openAPIV3Schema` of a KubeVirt CRD (a fresh copy), by its singular name."""
    docs = _load_documents(KUBEVIRT_SCHEMAS / f"{singular}.yaml")
    if len(docs) != 1 or not isinstance(docs[0], dict) or set(docs[0]) != {"openAPIV3Schema"}:
        raise ValueError(f"{singular}.yaml: expected a single top-level key openAPIV3Schema")
    schema = copy.deepcopy(docs[0]["openAPIV3Schema"])
    assert isinstance(schema, dict)
    return schema


def assemble_kubevirt_crd(row: KubevirtCrd) -> Crd:
    """A complete CRD for one row of the table; every version gets the same schema."""
    schema = kubevirt_schema(row.singular)
    names: dict[str, Any] = {
        "kind": row.kind,
        "listKind": row.list_kind or f"{row.kind}List",
        "plural": row.plural,
        "singular": row.singular,
    }
    if row.short_names:
        names["shortNames"] = list(row.short_names)
    if row.categories:
        names["categories"] = list(row.categories)
    subresources: dict[str, Any] = {}
    if row.status:
        subresources["status"] = {}
    if row.scale:
        subresources["scale"] = {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.labelSelector",
        }
    versions: list[dict[str, Any]] = []
    for v in row.versions:
        version: dict[str, Any] = {
            "name": v.name,
            "served": v.served,
            "storage": v.storage,
            "schema": {"openAPIV3Schema": copy.deepcopy(schema)},
        }
        if v.deprecated:
            version["deprecated"] = True
            if row.group == "kubevirt.io" and v.name == "v1alpha3":
                version["deprecationWarning"] = _V1ALPHA3_WARNING
        if subresources:
            version["subresources"] = copy.deepcopy(subresources)
        versions.append(version)
    if sum(v.storage for v in row.versions) != 1:
        raise ValueError(f"{row.name}: exactly one storage version expected")
    label = "operator.kubevirt.io" if row.kind == "KubeVirt" else "kubevirt.io"
    spec: dict[str, Any] = {
        "group": row.group,
        "names": names,
        "scope": row.scope,
        "versions": versions,
    }
    if row.group in _CONVERSION_NONE_GROUPS:
        spec["conversion"] = {"strategy": "None"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": row.name, "labels": {label: ""}},
        "spec": spec,
    }


def kubevirt_crds() -> list[Crd]:
    """The 20 KubeVirt CRDs (not `datavolumetemplatespec`, which is no CRD)."""
    return [assemble_kubevirt_crd(row) for row in KUBEVIRT_CRDS]


def _load_crd_file(path: Path) -> Crd:
    """The first YAML document of a vendored CRD manifest, as it is (a fresh copy)."""
    docs = _load_documents(path)
    if not docs:
        raise ValueError(f"{path}: no YAML document")
    doc = docs[0]
    if not (isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"):
        raise ValueError(f"{path}: first document is not a CustomResourceDefinition")
    return copy.deepcopy(doc)


def cdi_crds() -> list[Crd]:
    """The 12 CDI CRDs exactly as cdi-operator creates them."""
    return [_load_crd_file(p) for p in sorted(CDI_CRDS.glob("*.yaml"))]


def nad_crd() -> Crd:
    """The NetworkAttachmentDefinition CRD the Multus quickstart installs."""
    return _load_crd_file(NAD_CRD)


def nmstate_crds() -> list[Crd]:
    """NodeNetworkConfigurationPolicy, NodeNetworkConfigurationEnactment, NodeNetworkState."""
    return [_load_crd_file(p) for p in NMSTATE_CRDS]


def all_crds() -> list[Crd]:
    """Every vendored CRD: KubeVirt (v1.9 schemas), CDI, NAD, nmstate (render validation)."""
    return [*kubevirt_crds(), *cdi_crds(), nad_crd(), *nmstate_crds()]


def tier_crds(kubevirt: list[Crd]) -> list[Crd]:
    """The CRDs the kube tier installs: `kubevirt` (generated by the KubeVirt version the
    tier runs, see tests.harness.kubevirt_control_plane), then the vendored CDI, NAD, nmstate."""
    return [*kubevirt, *cdi_crds(), nad_crd(), *nmstate_crds()]


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.harness.crds [--out DIR]`: write the CRDs as YAML (or list them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, help="directory to write <crd-name>.yaml files into")
    args = parser.parse_args(argv)
    crds = all_crds()
    if args.out is None:
        for crd in crds:
            print(crd["metadata"]["name"])
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for crd in crds:
        path = args.out / f"{crd['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(crd, sort_keys=False))
    print(f"wrote {len(crds)} CRDs to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
