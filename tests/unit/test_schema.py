"""schema.json is generated from the models and must not go stale."""

from __future__ import annotations

import json
from pathlib import Path

from pulumi_kubevirt.provider.schema import build_schema

REPO = Path(__file__).resolve().parents[2]


def test_schema_json_is_current() -> None:
    committed = json.loads((REPO / "schema.json").read_text())
    assert committed == build_schema(), "schema.json is stale: run `make schema` and commit it"


def test_every_model_field_is_described() -> None:
    schema = build_schema()
    missing = [
        f"{res}.{name}"
        for res, spec in schema["resources"].items()
        for name, prop in spec["inputProperties"].items()
        if not prop.get("description")
    ]
    missing += [
        f"{typ}.{name}"
        for typ, spec in schema["types"].items()
        for name, prop in spec["properties"].items()
        if not prop.get("description") and name != "kind"
    ]
    assert missing == []


def test_reconciler_outputs_are_declared() -> None:
    """Every reconciler returns its kind's outputs TypedDict (mypy then checks every key it writes), and
    the keys the adapters declare are that TypedDict's (else Pulumi programs cannot read an output)."""
    import typing

    from pulumi_kubevirt.provider import kinds, outputs
    from pulumi_kubevirt.provider.kubevirt import bridges, disks, instancetypes, migrations, snapshots, vms
    from pulumi_kubevirt.provider.libvirt import domains, networks, volumes
    from pulumi_kubevirt.provider.libvirt import migrations as libvirt_migrations
    from pulumi_kubevirt.provider.libvirt import snapshots as libvirt_snapshots

    expected = {
        outputs.VmOutputs: (kinds.VIRTUAL_MACHINE, [domains.DomainReconciler, vms.VmReconciler]),
        outputs.DiskOutputs: (kinds.DISK, [volumes.VolumeReconciler, disks.DataVolumeReconciler]),
        outputs.BridgeOutputs: (kinds.BRIDGE, [networks.NetworkReconciler, bridges.BridgeReconciler]),
        outputs.MigrationOutputs: (
            kinds.MIGRATION,
            [libvirt_migrations.MigrationReconciler, migrations.VmimReconciler],
        ),
        outputs.SnapshotOutputs: (
            kinds.SNAPSHOT,
            [libvirt_snapshots.DomainSnapshotReconciler, snapshots.VmSnapshotReconciler],
        ),
        outputs.RestoreOutputs: (
            kinds.SNAPSHOT_RESTORE,
            [libvirt_snapshots.DomainRevertReconciler, snapshots.VmRestoreReconciler],
        ),
    }
    # Instancetype and Preference share one outputs TypedDict (and exist on KubeVirt only)
    for kind in (kinds.INSTANCETYPE, kinds.PREFERENCE):
        assert kind.output_keys == outputs.output_keys(outputs.InstancetypeOutputs)
    for cls in (instancetypes.InstancetypeReconciler, instancetypes.PreferenceReconciler):
        for method in ("create", "update"):
            assert typing.get_type_hints(getattr(cls, method))["return"] is outputs.InstancetypeOutputs

    def filled(cls: type, hint: object) -> object:
        """`hint` with a generic base's type parameters replaced by what `cls` declares for them."""
        for base in getattr(cls, "__orig_bases__", ()):
            params = getattr(typing.get_origin(base), "__parameters__", ())
            hint = dict(zip(params, typing.get_args(base), strict=False)).get(hint, hint)
        return hint

    for typed, (kind, reconcilers) in expected.items():
        assert kind.output_keys == frozenset(typed.__annotations__) == outputs.output_keys(typed)
        for cls in reconcilers:
            for method in ("create", "update"):
                returned = filled(cls, typing.get_type_hints(getattr(cls, method))["return"])
                assert returned is typed, f"{cls.__name__}.{method} returns {returned}, not {typed.__name__}"
            read = typing.get_type_hints(cls.read)["return"]
            read_outputs = [filled(cls, hint) for hint in typing.get_args(typing.get_args(read)[0])]
            assert typed in read_outputs, f"{cls.__name__}.read returns {read}"
