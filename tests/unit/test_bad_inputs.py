"""Wrong values in every field of every resource kind: refused at preview, the field named.

The fields are enumerated from the models' JSON schema (walking rich valid
documents of each kind on each target), so a field added later is covered
without touching this file. For each field, values of the wrong JSON type,
out of range, with control characters, and nested junk go through
`ResourceKind.check` and the dynamic provider's `check` (what the engine
prints). Every one must: raise nothing, fail, name the mutated field (or a path
above or below it), and never echo a secret.

`python -m tests.unit.test_bad_inputs` prints the tried / refused / crashed table.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_kubevirt.provider.core import Failure, ResourceKind
from pulumi_kubevirt.provider.kinds import (
    BRIDGE,
    DISK,
    INSTANCETYPE,
    MIGRATION,
    PREFERENCE,
    SNAPSHOT,
    SNAPSHOT_RESTORE,
    VIRTUAL_MACHINE,
)
from pulumi_kubevirt.provider.models.secrets import secret_fields
from tests.support import pulumi_mocks

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET = "s3cr3t-Pa55word-7q"
Path = tuple[str | int, ...]

_KUBE = {"kind": "kubevirt", "namespace": "vms", "context": "lab", "kubeconfig": "./kubeconfig"}
_LIBVIRT = {"kind": "libvirt", "uri": "qemu+tcp://10.0.0.1/system"}
_CLOUD_INIT = {"user_data": f"#cloud-config\npassword: {SECRET}\n", "network_data": f"version: 2 # {SECRET}"}

VM_LIBVIRT: dict[str, Any] = {
    "name": "vm1",
    "target": _LIBVIRT,
    "hosts": ["qemu+tcp://10.0.0.2/system"],
    "memory": "1Gi",
    "max_memory": "2Gi",
    "cpu": {"sockets": 2, "cores": 2, "threads": 1, "max_sockets": 4, "model": "host-model"},
    "machine": "q35",
    "accelerator": "tcg",
    "firmware": "uefi",
    "kernel_boot": {"kernel": "/boot/vmlinuz", "initrd": "/boot/initrd.img", "cmdline": "console=ttyS0"},
    "disks": [
        {"name": "root", "volume": {"pool": "default", "volume": "root.qcow2", "format": "qcow2"}, "boot_order": 1},
        {"name": "iso", "path": "/srv/iso/seed.iso", "cdrom": True, "readonly": True, "bus": "sata"},
    ],
    "interfaces": [{"name": "nic0", "network": "lan", "model": "virtio", "mac": "52:54:00:00:00:01", "vlan": 10}],
    "cloud_init": {**_CLOUD_INIT, "ssh_authorized_keys": ["ssh-ed25519 AAAA user@host"]},
    "serial_console": True,
    "vnc": True,
    "guest_agent": True,
    "rng": True,
    "wait_for_ip": False,
    "run_state": "running",
    "restart_policy": {"mode": "auto", "shutdown_timeout": "30s"},
    "description": "web <frontend> & 'api' \"v2\"",
    "labels": {"role": "web", "odd": "<&'\">"},
    "adopt": False,
    "timeouts": {"create": "5m", "update": "5m", "delete": "2m"},
}

VM_KUBEVIRT: dict[str, Any] = {
    "name": "vm2",
    "target": _KUBE,  # no memory/cpu: the instancetype below sizes the VM
    "disks": [
        {
            "name": "root",
            "template": {
                "size": "20Gi",
                "source": {
                    "kind": "url",
                    "url": "https://images.example/fedora.qcow2",
                    "checksum": "sha256:" + "a" * 64,
                },
                "storage_class": "fast-ssd",
                "access_modes": ["ReadWriteMany"],
                "volume_mode": "Block",
            },
        },
        {"name": "data", "data_volume": "data-dv"},
        {"name": "scratch", "pvc": "scratch.pvc"},
        {"name": "cd", "container_image": "quay.io/containerdisks/fedora:40"},
        {"name": "cfg", "config_map": "app-config"},
        {"name": "sec", "secret": "app-secret"},
    ],
    "interfaces": [
        {"name": "default", "pod": True, "binding": "masquerade"},
        {"name": "lan", "network": "netops/lan-nad", "binding": "bridge"},
    ],
    "cloud_init": dict(_CLOUD_INIT),
    "labels": {"app.kubernetes.io/name": "web", "tier": ""},
    "kubevirt": {
        "run_strategy": "Always",
        "eviction_strategy": "LiveMigrate",
        "node_selector": {"kubernetes.io/arch": "amd64"},
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoExecute", "toleration_seconds": 60}
        ],
        "affinity": {"nodeAffinity": {}},
        "termination_grace_period_seconds": 30,
        "readiness_probe": {"http_get_port": 80, "http_get_path": "/health", "period_seconds": 5},
        "liveness_probe": {"exec_command": ["cat", "/tmp/ok"], "failure_threshold": 3},
        "instancetype": {"name": "u1.medium", "kind": "VirtualMachineClusterInstancetype"},
        "preference": {"name": "fedora"},
        "annotations": {"example.com/note": "free text <ok>"},
        "hostname": "web",
    },
}

DISK_LIBVIRT: dict[str, Any] = {
    "name": "data",
    "target": _LIBVIRT,
    "size": "10Gi",
    "format": "qcow2",
    "pool": "tank",
    "pool_path": "/srv/pools/tank",
    "source": {"kind": "image", "path": "/srv/images/base.qcow2"},
    "retain_on_delete": True,
    "adopt": False,
    "timeouts": {"create": "20m"},
}
DISK_LIBVIRT_URL = {**DISK_LIBVIRT, "source": {"kind": "url", "url": "http://127.0.0.1:8080/x.qcow2"}}
DISK_LIBVIRT_BACKING = {
    **DISK_LIBVIRT,
    "source": {"kind": "backing", "volume": {"pool": "default", "volume": "b.qcow2"}},
}
DISK_LIBVIRT_CLONE = {**DISK_LIBVIRT, "source": {"kind": "clone", "volume": {"pool": "default", "volume": "c.qcow2"}}}
DISK_KUBEVIRT: dict[str, Any] = {
    "name": "dv",
    "target": _KUBE,
    "size": "30Gi",
    "source": {"kind": "registry", "url": "docker://quay.io/containerdisks/fedora:40"},
    "storage_class": "ceph-rbd",
    "access_modes": ["ReadWriteOnce"],
    "volume_mode": "Filesystem",
    "annotations": {"cdi.kubevirt.io/storage.bind.immediate.requested": "true"},
}
DISK_KUBEVIRT_CLONE = {**DISK_KUBEVIRT, "source": {"kind": "clone", "pvc": "golden", "pvc_namespace": "images"}}

BRIDGE_LIBVIRT: dict[str, Any] = {
    "name": "lan",
    "target": _LIBVIRT,
    "mode": "nat",
    "ipv4": {"address": "192.168.150.1/24", "dhcp_start": "192.168.150.10", "dhcp_end": "192.168.150.99", "dhcp": True},
    "bridge": "virbr9",
    "vlan": 12,
    "stp": True,
    "mtu": 1500,
    "autostart": True,
}
BRIDGE_KUBEVIRT: dict[str, Any] = {
    "name": "br1-nad",
    "target": _KUBE,
    "bridge": "br1",
    "vlan": 93,
    "ports": ["eth1", "eth2"],
    "bond": {"name": "bond1", "mode": "active-backup", "ports": ["eth1", "eth2"], "miimon": 100, "mtu": 9000},
    "node_selector": {"node-role.kubernetes.io/worker": ""},
    "manage_node_bridge": True,
    "mac_spoof_check": True,
    "annotations": {"example.com/owner": "netops"},
    "cni_type": "bridge",
}

MIGRATION_LIBVIRT: dict[str, Any] = {
    "name": "move",
    "vm": "vm1",
    "target": _LIBVIRT,
    "vm_spec": {"name": "vm1", "memory": "1Gi"},
    "destination_uri": "qemu+tcp://10.0.0.2/system",
    "destination_client_uri": "qemu+ssh://root@10.0.0.2/system",
    "migrate_uri": "tcp://10.0.0.2:49152",
    "live": True,
    "peer_to_peer": True,
    "tunnelled": False,
    "persistent": True,
    "undefine_source": True,
    "auto_converge": True,
    "post_copy": False,
    "copy_storage": "all",
    "max_downtime_ms": 300,
    "bandwidth_mib_s": 100,
    "trigger": "2026-01-01",
    "allow_unsafe": False,
}
MIGRATION_KUBEVIRT: dict[str, Any] = {
    "name": "move",
    "vm": "vm2",
    "target": _KUBE,
    "target_node_selector": {"kubernetes.io/hostname": "node-2"},
    "annotations": {"example.com/why": "drain"},
}

INSTANCETYPE_KUBEVIRT: dict[str, Any] = {
    "name": "cx1-large",
    "target": _KUBE,
    "cluster": True,
    "cpu": {
        "guest": 4,
        "model": "host-passthrough",
        "dedicated_cpu_placement": True,
        "isolate_emulator_thread": True,
        "max_sockets": 8,
    },
    "memory": {"guest": "8Gi", "max_guest": "32Gi", "hugepages_page_size": "1Gi"},
    "node_selector": {"node-role.kubernetes.io/worker": ""},
    "io_threads_policy": "auto",
    "vm_annotations": {"example.com/tier": "gold"},
    "labels": {"tier": "gold"},
    "annotations": {"example.com/note": "databases"},
    "adopt": False,
}
INSTANCETYPE_OVERCOMMIT: dict[str, Any] = {
    "name": "o1",
    "target": _KUBE,
    "cpu": {"guest": 1},
    "memory": {"guest": "1Gi", "overcommit_percent": 20},
}
PREFERENCE_KUBEVIRT: dict[str, Any] = {
    "name": "linux",
    "target": _KUBE,
    "cluster": False,
    "cpu_topology": "spread",
    "disk_bus": "virtio",
    "cdrom_bus": "sata",
    "interface_model": "virtio",
    "rng": True,
    "autoattach_graphics": False,
    "autoattach_serial_console": True,
    "firmware": "efi-secure-boot",
    "machine_type": "q35",
    "termination_grace_period_seconds": 60,
    "storage_class": "ceph-rbd",
    "min_cpu": 2,
    "min_memory": "2Gi",
    "labels": {"os": "linux"},
    "annotations": {"example.com/owner": "platform"},
    "adopt": False,
}
SNAPSHOT_LIBVIRT: dict[str, Any] = {
    "name": "before",
    "vm": "vm1",
    "target": _LIBVIRT,
    "disk_only": True,
    "description": "before the upgrade",
}
SNAPSHOT_KUBEVIRT: dict[str, Any] = {
    "name": "before",
    "vm": "vm2",
    "target": _KUBE,
    "disk_only": True,
    "description": "before the upgrade",
    "failure_deadline": "5m",
    "labels": {"purpose": "upgrade"},
    "annotations": {"example.com/ticket": "OPS-1"},
}
RESTORE_LIBVIRT: dict[str, Any] = {
    "name": "back",
    "vm": "vm1",
    "snapshot": "before",
    "target": _LIBVIRT,
    "trigger": "1",
    "run_after": "running",
}
RESTORE_KUBEVIRT: dict[str, Any] = {
    "name": "back",
    "vm": "vm2",
    "snapshot": "before",
    "target": _KUBE,
    "trigger": "1",
    "target_readiness_policy": "StopTarget",
}

BASES: list[tuple[str, ResourceKind[Any], dict[str, Any]]] = [
    ("VirtualMachine/libvirt", VIRTUAL_MACHINE, VM_LIBVIRT),
    ("VirtualMachine/kubevirt", VIRTUAL_MACHINE, VM_KUBEVIRT),
    ("Disk/libvirt", DISK, DISK_LIBVIRT),
    ("Disk/libvirt-url", DISK, DISK_LIBVIRT_URL),
    ("Disk/libvirt-backing", DISK, DISK_LIBVIRT_BACKING),
    ("Disk/libvirt-clone", DISK, DISK_LIBVIRT_CLONE),
    ("Disk/kubevirt", DISK, DISK_KUBEVIRT),
    ("Disk/kubevirt-clone", DISK, DISK_KUBEVIRT_CLONE),
    ("Bridge/libvirt", BRIDGE, BRIDGE_LIBVIRT),
    ("Bridge/kubevirt", BRIDGE, BRIDGE_KUBEVIRT),
    ("Migration/libvirt", MIGRATION, MIGRATION_LIBVIRT),
    ("Migration/kubevirt", MIGRATION, MIGRATION_KUBEVIRT),
    ("Instancetype/kubevirt", INSTANCETYPE, INSTANCETYPE_KUBEVIRT),
    ("Instancetype/kubevirt-overcommit", INSTANCETYPE, INSTANCETYPE_OVERCOMMIT),
    ("Preference/kubevirt", PREFERENCE, PREFERENCE_KUBEVIRT),
    ("Snapshot/libvirt", SNAPSHOT, SNAPSHOT_LIBVIRT),
    ("Snapshot/kubevirt", SNAPSHOT, SNAPSHOT_KUBEVIRT),
    ("SnapshotRestore/libvirt", SNAPSHOT_RESTORE, RESTORE_LIBVIRT),
    ("SnapshotRestore/kubevirt", SNAPSHOT_RESTORE, RESTORE_KUBEVIRT),
]


# -- the schema walk ----------------------------------------------------------------------
def _deref(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _candidates(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The non-null alternatives of a property schema."""
    schema = _deref(schema, defs)
    if "anyOf" in schema:
        return [c for s in schema["anyOf"] if s.get("type") != "null" for c in _candidates(s, defs)]
    return [schema]


def _object_schema(schema: Mapping[str, Any], value: Any, defs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The model schema that describes `value` (following a discriminated union by its tag)."""
    for cand in _candidates(schema, defs):
        if "oneOf" in cand and isinstance(value, Mapping):
            tag = value.get(cand["discriminator"]["propertyName"])
            ref = cand["discriminator"]["mapping"].get(tag)
            return _deref({"$ref": ref}, defs) if ref else None
        if "properties" in cand:
            return cand
    return None


def _items_schema(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for cand in _candidates(schema, defs):
        if cand.get("type") == "array":
            return cand.get("items", {})
    return None


def fields_of(
    doc: Mapping[str, Any], schema: Mapping[str, Any], defs: Mapping[str, Any], path: Path = (), secret: bool = False
) -> Iterator[tuple[Path, Mapping[str, Any], bool]]:
    """Every field path under `doc` (present or not), with its schema and whether it is secret."""
    for name, prop in schema.get("properties", {}).items():
        here = (*path, name)
        hidden = secret or prop.get("secret") is True
        yield here, prop, hidden
        value = doc.get(name)
        if isinstance(value, Mapping):
            sub = _object_schema(prop, value, defs)
            if sub is not None:
                yield from fields_of(value, sub, defs, here, hidden)
        elif isinstance(value, list):
            items = _items_schema(prop, defs)
            for index, item in enumerate(value):
                if items is None:
                    continue
                yield (*here, index), items, hidden
                sub = _object_schema(items, item, defs) if isinstance(item, Mapping) else None
                if sub is not None:
                    yield from fields_of(item, sub, defs, (*here, index), hidden)


# -- wrong values -------------------------------------------------------------------------
_BAD_STRINGS = [
    "bell\x07",
    "nul\x00byte",
    "\x1b[31mred",
    "del\x7f",
    "c1\x85",
    "lone \ud800 surrogate",
    f"{SECRET}\x01",
]
_TYPE_SAMPLES: dict[str, list[Any]] = {
    "string": ["text"],
    "integer": [7],
    "number": [2.5],
    "boolean": [True, False],
    "array": [["x"]],
    "object": [{"k": "v"}],
}


def _allowed_types(cands: list[Mapping[str, Any]]) -> set[str]:
    types: set[str] = set()
    for cand in cands:
        if "oneOf" in cand or "properties" in cand:
            types.add("object")
        elif "const" in cand or "enum" in cand:
            types.add("string")
        elif isinstance(cand.get("type"), str):
            types.add(cand["type"])
        elif not cand:  # Any
            types.update(_TYPE_SAMPLES)
    if "integer" in types:
        types.add("number")  # 2.0 is an integer on the wire; 2.5 is checked below
    return types


def wrong_values(schema: Mapping[str, Any], defs: Mapping[str, Any], *, depth: int = 0) -> list[Any]:
    """Values no field with this schema may accept."""
    cands = _candidates(schema, defs)
    allowed = _allowed_types(cands)
    out: list[Any] = [v for t, samples in _TYPE_SAMPLES.items() if t not in allowed for v in samples]
    for cand in cands:
        kind = cand.get("type")
        if "const" in cand or "enum" in cand:
            out += ["not-a-member", 3]
        elif kind == "string":
            out += _BAD_STRINGS
        elif kind == "integer":
            out += [True, False, 2.5, "2", float("nan")]
            # pydantic spells the bounds ge/le inside an Optional's anyOf
            low, high = cand.get("minimum", cand.get("ge")), cand.get("maximum", cand.get("le"))
            if low is not None:
                out.append(low - 1)
            assert high is not None, f"integer without an upper bound: {cand}"
            out += [high + 1, 10**30, 10**5000 if depth else 10**40]
        elif kind == "boolean":
            out += [0, 1, 1.0, "yes", "true", "false"]
        elif kind == "array" and depth < 1:
            out += ["root", {"name": "root"}, 5]
            out += [[item] for item in wrong_values(cand.get("items", {}), defs, depth=depth + 1)[:6]]
        elif kind == "object" and "additionalProperties" in cand and depth < 1:
            value_schema = cand["additionalProperties"]
            if isinstance(value_schema, Mapping) and value_schema:
                out += [{"key": v} for v in wrong_values(value_schema, defs, depth=depth + 1)[:6]]
            out += [{"ctl\x07key": "v"}, {"": "v"}] if value_schema is not True else [{"ctl\x07key": "v"}]
        elif "oneOf" in cand or "properties" in cand:
            out += (
                [{"bogus_field": 1}, {"kind": 5}, {"kind": "no-such-kind"}] if "oneOf" in cand else [{"bogus_field": 1}]
            )
    return out


def set_path(doc: Mapping[str, Any], path: Path, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(dict(doc))
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def path_text(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def names_the_field(failures: list[Failure], path: Path) -> bool:
    """A failure on the field, below it, or on a field above it (never the whole resource)."""
    want = path_text(path)
    for failure in failures:
        got = failure.property.removesuffix(" (secret)")  # a secret field named so the engine prints no value
        if got == "(resource)":
            continue
        if got == want or got.startswith((want + ".", want + "[")) or want.startswith((got + ".", got + "[")):
            return True
    return False


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**100 else "<a 5000-digit int>"
    return text if len(text) < 60 else text[:57] + "..."


@dataclass(frozen=True)
class Case:
    base: str
    kind: ResourceKind[Any]
    doc: dict[str, Any]
    path: Path
    value: Any

    def __str__(self) -> str:
        return f"{self.base}: {path_text(self.path)} = {_short(self.value)}"


def all_cases() -> list[Case]:
    cases = []
    for label, kind, doc in BASES:
        schema = kind.model.model_json_schema()
        defs = schema.get("$defs", {})
        for path, prop, secret in fields_of(doc, schema, defs):
            for value in wrong_values(prop, defs):
                if secret or not (isinstance(value, str) and SECRET in value):
                    cases.append(Case(label, kind, doc, path, value))  # the secret only where it is one
    return cases


CASES = all_cases()


@dataclass
class Outcome:
    crashed: str | None = None
    failed: bool = False
    named: bool = False
    leaked: bool = False


def run(case: Case) -> Outcome:
    """One wrong input through ResourceKind.check and the dynamic provider's check.
    The base documents hold SECRET only in secret fields: no reason may show it."""
    from pulumi_kubevirt.provider.resources._dynamic import DynamicAdapter

    news = set_path(case.doc, case.path, case.value)
    try:
        _checked, failures = case.kind.check(None, news, unknown=UNKNOWN)
        adapter = next(cls for cls in DynamicAdapter.__subclasses__() if cls.kind is case.kind)
        engine = adapter().check({}, news).failures or []
    except Exception as err:  # noqa: BLE001 - the property under test is "nothing escapes"
        return Outcome(crashed=f"{type(err).__name__}: {err}")
    reasons = [f.reason for f in failures] + [str(f.reason) for f in engine]
    secret = set(secret_fields(case.kind.model))
    return Outcome(
        failed=bool(failures) and bool(engine),
        named=names_the_field(failures, case.path),
        # the engine prints the value of a top-level property a failure names: never a secret one
        leaked=any(SECRET in r for r in reasons) or any(f.property in secret for f in failures),
    )


# -- the tests ------------------------------------------------------------------------------
@pytest.mark.parametrize(("label", "kind", "doc"), BASES, ids=[b[0] for b in BASES])
def test_the_valid_documents_pass_also_as_pulumi_sends_them(
    label: str, kind: ResourceKind[Any], doc: dict[str, Any]
) -> None:
    assert kind.check(None, doc, unknown=UNKNOWN)[1] == []
    wire = json.loads(json.dumps(doc), parse_int=float)  # every number arrives as a float
    checked, found = kind.check(None, wire, unknown=UNKNOWN)
    assert found == [], found
    assert checked[next(iter(doc))] == doc[next(iter(doc))]


def test_every_field_of_every_kind_is_covered() -> None:
    covered = {(c.base.split("/")[0], path_text(tuple(p for p in c.path if isinstance(p, str)))) for c in CASES}
    for _label, kind, _doc in BASES:
        resource = kind.type_name.rsplit(":", 1)[-1]
        for name in kind.model.model_fields:
            assert (resource, name) in covered, f"{resource}.{name} is never mutated"
    assert len(CASES) > 2000


def test_every_wrong_value_in_every_field_is_refused_naming_the_field() -> None:
    crashed, silent, misnamed, leaked = [], [], [], []
    for case in CASES:
        outcome = run(case)
        if outcome.crashed:
            crashed.append(f"{case}: {outcome.crashed}")
        elif not outcome.failed:
            silent.append(str(case))
        elif not outcome.named:
            misnamed.append(str(case))
        if outcome.leaked:
            leaked.append(str(case))
    assert crashed == [], "\n".join(crashed[:20])
    assert silent == [], "accepted:\n" + "\n".join(silent[:40])
    assert misnamed == [], "failure on another field:\n" + "\n".join(misnamed[:40])
    assert leaked == [], "secret echoed:\n" + "\n".join(leaked[:20])


@st.composite
def several_wrong_fields(draw: st.DrawFn) -> tuple[ResourceKind[Any], dict[str, Any], list[Path]]:
    """One base document with one to three fields made wrong at once (the deepest path wins
    a clash, so each mutated path is still in the document)."""
    label = draw(st.sampled_from([b[0] for b in BASES]))
    pool = [c for c in CASES if c.base == label]
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique_by=lambda c: c.path))
    # keep only paths that are not inside another chosen one
    chosen = [c for c in chosen if not any(o.path != c.path and c.path[: len(o.path)] == o.path for o in chosen)]
    doc = chosen[0].doc
    for case in chosen:
        doc = set_path(doc, case.path, case.value)
    return chosen[0].kind, doc, [c.path for c in chosen]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(several_wrong_fields())
def test_several_wrong_fields_at_once_are_each_named(
    sample: tuple[ResourceKind[Any], dict[str, Any], list[Path]],
) -> None:
    kind, doc, paths = sample
    _checked, failures = kind.check(None, doc, unknown=UNKNOWN)
    assert failures
    assert any(names_the_field(failures, p) for p in paths), (paths, failures)
    assert not any(SECRET in f.reason for f in failures)


def _table() -> str:
    rows: dict[str, list[int]] = {}
    for case in CASES:
        outcome = run(case)
        row = rows.setdefault(case.base.split("/")[0], [0, 0, 0])
        row[0] += 1
        row[1] += int(outcome.failed and outcome.named and not outcome.crashed)
        row[2] += int(outcome.crashed is not None)
    lines = ["| kind | bad inputs tried | refused at preview, field named | crashed |", "|---|---|---|---|"]
    lines += [f"| {k} | {a} | {b} | {c} |" for k, (a, b, c) in rows.items()]
    total = [sum(r[i] for r in rows.values()) for i in range(3)]
    lines.append(f"| all | {total[0]} | {total[1]} | {total[2]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(_table())


# -- the same through the resource classes (Pulumi's mocks: what the engine would receive) -----
class _Opaque:
    pass


_PYTHON_ONLY = [{"a", "b"}, b"bytes", _Opaque(), 10**400, float("inf"), ("t", 1), {1: "int key"}]


def _through_the_resource_class(kind: ResourceKind[Any], doc: dict[str, Any]) -> dict[str, Any]:
    """Construct the kind's resource class from `doc` under Pulumi's mocks; the inputs the engine gets."""
    from pulumi_kubevirt.provider import resources

    cls = getattr(resources, kind.type_name.rsplit(":", 1)[-1])
    mocks = pulumi_mocks.install(preview=True)

    @pulumi.runtime.test
    def program() -> Any:
        fields = {k: v for k, v in doc.items() if k != "name"}
        return cls("r", name=doc.get("name"), **fields).urn

    program()
    return pulumi_mocks.plain(mocks.inputs["r"])  # secrets as the dynamic provider host hands them to check


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), python_only=st.none() | st.sampled_from(_PYTHON_ONLY))
def test_wrong_values_through_the_resource_classes_never_break_the_program(case: Case, python_only: Any) -> None:
    value = case.value if python_only is None else python_only
    doc = set_path(case.doc, case.path, value)
    sent = _through_the_resource_class(case.kind, doc)  # raises if the program would crash
    _checked, failures = case.kind.check(None, sent, unknown=UNKNOWN)
    assert names_the_field(failures, case.path), (str(case), failures)
    assert not any(SECRET in f.reason for f in failures)
