"""Property tests of the KubeVirt side (issue 12, item 4): any valid VM renders to a VirtualMachine (and
Secrets) that pass the vendored KubeVirt schemas, and reads back through parse without drift.

The libvirt side's counterpart is in test_libvirt_render.py. Strategies build valid inputs by
construction (unique names, a source per disk, the bindings the webhook allows, ...), so hardly any
example is filtered. Example counts are modest for 2-core machines: the `kubevirt-properties` profile
(override with HYPOTHESIS_MAX_EXAMPLES); the apiserver additions a VM gets (status, managedFields,
virt-controller's annotations, defaulted devices) are added before parse, as the real read sees them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_kubevirt.provider.kubevirt import parse, render
from pulumi_kubevirt.provider.models import VirtualMachineArgs
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.models.instancetype import InstancetypeArgs, PreferenceArgs
from pulumi_kubevirt.provider.models.snapshot import SnapshotArgs, SnapshotRestoreArgs
from pulumi_kubevirt.provider.ownership import Owner
from pulumi_kubevirt.provider.plan import diff_data
from tests.support.k8s_schema import validate

settings.register_profile(
    "kubevirt-properties",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("kubevirt-properties")
OWNER = Owner("props/dev", "vm")

_label = st.from_regex(r"[a-z][a-z0-9-]{0,14}[a-z0-9]", fullmatch=True)
_object = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)
_prefixed_key = st.builds(lambda p, k: f"{p}.example.com/{k}", _label, _label)
_label_key = _label | _prefixed_key
_label_value = st.from_regex(r"([A-Za-z0-9]([A-Za-z0-9_.-]{0,20}[A-Za-z0-9])?)?", fullmatch=True)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)
_image = st.builds(lambda r, n, t: f"{r}.example.com/{n}:{t}", _label, _label, _label)
_url = st.builds(lambda h, p: f"https://{h}.example.com/{p}.qcow2", _label, _label)
_size = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 512), st.sampled_from(["Gi", "Mi", "G"])).filter(
    lambda s: not s.endswith("Mi") or int(s[:-2]) >= 1
)
_memory = st.builds(lambda n: f"{n}Mi", st.integers(16, 8192)) | st.builds(lambda n: f"{n}Gi", st.integers(1, 64))
_hotplug_memory = st.builds(lambda n: f"{2 * n}Mi", st.integers(512, 4096)) | st.builds(
    lambda n: f"{n}Gi", st.integers(1, 64)
)
_mac = st.builds(
    lambda b: "02:" + ":".join(f"{x:02x}" for x in b), st.lists(st.integers(0, 255), min_size=5, max_size=5)
)


@st.composite
def _source(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["data_volume", "pvc", "container_image", "secret", "config_map", "template"]))
    if kind == "container_image":
        return {"container_image": draw(_image)}
    if kind != "template":
        return {kind: draw(_object)}
    source = draw(
        st.sampled_from(["url", "registry", "blank", "clone"]).map(
            lambda k: {
                "url": {"kind": "url", "url": "https://images.example.com/x.qcow2"},
                "registry": {"kind": "registry", "url": "docker://quay.io/containerdisks/fedora:41"},
                "blank": {"kind": "blank"},
                "clone": {"kind": "clone", "pvc": "golden"},
            }[k]
        )
    )
    template: dict[str, Any] = {"size": draw(_size), "source": source}
    if draw(st.booleans()):
        template["storage_class"] = draw(_object)
    if draw(st.booleans()):
        template["access_modes"] = draw(st.sampled_from([["ReadWriteOnce"], ["ReadWriteMany"]]))
    return {"template": template}


@st.composite
def _disks(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(_label.filter(lambda n: n != "cloudinitdisk"), max_size=4, unique=True))
    orders = draw(st.permutations(list(range(1, len(names) + 1))))
    disks = []
    for name, order in zip(names, orders, strict=True):
        disk: dict[str, Any] = {"name": name, **draw(_source())}
        cdrom = draw(st.booleans())
        if cdrom:
            disk["cdrom"] = True
            disk["bus"] = draw(st.sampled_from(["sata", "scsi"]))
        else:
            disk["bus"] = draw(st.sampled_from(["virtio", "sata", "scsi"]))
            disk["readonly"] = draw(st.booleans())
        if draw(st.booleans()):
            disk["boot_order"] = order
        disks.append(disk)
    return disks


@st.composite
def _interfaces(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(_label, max_size=3, unique=True))
    macs = draw(st.lists(_mac, min_size=len(names), max_size=len(names), unique=True))
    nics = []
    for index, (name, mac) in enumerate(zip(names, macs, strict=True)):
        nic: dict[str, Any] = {"name": name, "model": draw(st.sampled_from(["virtio", "e1000", "e1000e", "rtl8139"]))}
        if index == 0 and draw(st.booleans()):
            nic["pod"] = True
            binding = draw(st.sampled_from([None, "masquerade", "bridge"]))
        else:
            nic["network"] = draw(st.one_of(_object, st.builds(lambda ns, n: f"{ns}/{n}", _label, _object)))
            binding = draw(st.sampled_from([None, "bridge", "sriov"]))
        if binding is not None:
            nic["binding"] = binding
        if draw(st.booleans()):
            nic["mac"] = mac
        nics.append(nic)
    return nics


@st.composite
def _probe(draw: st.DrawFn) -> dict[str, Any]:
    handler = draw(st.sampled_from(["http", "tcp", "exec", "agent"]))
    probe: dict[str, Any] = {
        "http": {"http_get_port": draw(st.integers(1, 65535)), "http_get_path": "/healthz"},
        "tcp": {"tcp_socket_port": draw(st.integers(1, 65535))},
        "exec": {"exec_command": ["cat", "/tmp/ready"]},
        "agent": {"guest_agent_ping": True},
    }[handler]
    for field in ("initial_delay_seconds", "period_seconds", "timeout_seconds", "failure_threshold"):
        if draw(st.booleans()):
            probe[field] = draw(st.integers(1, 600))
    return probe


@st.composite
def _kubevirt(draw: st.DrawFn) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if draw(st.booleans()):
        opts["run_strategy"] = draw(st.sampled_from(["Always", "Halted", "Manual", "RerunOnFailure", "Once"]))
    if draw(st.booleans()):
        opts["eviction_strategy"] = draw(st.sampled_from(["LiveMigrate", "LiveMigrateIfPossible", "None", "External"]))
    opts["node_selector"] = draw(st.dictionaries(_label_key, _label_value, max_size=2))
    tolerations = []
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            tolerations.append({"operator": "Exists"})
        else:
            toleration: dict[str, Any] = {"key": draw(_label_key), "value": draw(_label), "effect": "NoExecute"}
            if draw(st.booleans()):
                toleration["toleration_seconds"] = draw(st.integers(0, 3600))
            tolerations.append(toleration)
    opts["tolerations"] = tolerations
    if draw(st.booleans()):
        opts["termination_grace_period_seconds"] = draw(st.integers(0, 600))
    if draw(st.booleans()):
        opts["readiness_probe"] = draw(_probe())
    if draw(st.booleans()):
        opts["liveness_probe"] = draw(_probe())
    if draw(st.booleans()):
        opts["instancetype"] = {
            "name": draw(_object),
            **draw(st.sampled_from([{}, {"kind": "VirtualMachineInstancetype"}])),
        }
    if draw(st.booleans()):
        opts["preference"] = {
            "name": draw(_object),
            **draw(st.sampled_from([{}, {"kind": "VirtualMachinePreference"}])),
        }
    opts["annotations"] = draw(st.dictionaries(_prefixed_key, _text, max_size=2))
    if draw(st.booleans()):
        opts["hostname"] = draw(_label)
    return opts


@st.composite
def kubevirt_vms(draw: st.DrawFn) -> dict[str, Any]:
    """Inputs of a valid VirtualMachine on a KubeVirt target."""
    sockets = draw(st.integers(1, 4))
    memory = draw(_memory)
    inputs: dict[str, Any] = {
        "name": draw(_label),
        "target": {"kind": "kubevirt", "namespace": draw(_label)},
        "memory": memory,
        "cpu": {
            "sockets": sockets,
            "cores": draw(st.integers(1, 4)),
            "threads": draw(st.integers(1, 2)),
        },
        "firmware": draw(st.sampled_from(["bios", "uefi"])),
        "disks": draw(_disks()),
        "interfaces": draw(_interfaces()),
        "serial_console": draw(st.booleans()),
        "vnc": draw(st.booleans()),
        "rng": draw(st.booleans()),
        "run_state": draw(st.sampled_from(["running", "stopped", "paused"])),
        "labels": draw(st.dictionaries(_label_key, _label_value, max_size=3)),
    }
    if draw(st.booleans()):
        inputs["cpu"]["max_sockets"] = draw(st.integers(sockets, 8))
    if draw(st.booleans()):
        inputs["cpu"]["model"] = draw(st.sampled_from(["host-passthrough", "host-model", "Haswell"]))
    if draw(st.booleans()):
        # KubeVirt's memory hotplug (maxGuest) wants at least 1Gi of guest memory, in 2Mi blocks
        inputs["memory"] = draw(_hotplug_memory)
        inputs["max_memory"] = "128Gi"
    if draw(st.booleans()):
        inputs["machine"] = draw(st.sampled_from(["q35", "pc-q35-rhel9.4.0"]))
    if draw(st.booleans()):
        inputs["description"] = draw(_text)
    cloud = draw(st.sampled_from([None, "inline", "secret"]))
    if cloud == "inline":
        inputs["cloud_init"] = {
            "user_data": "#cloud-config\n" + draw(_text),
            **draw(st.sampled_from([{}, {"network_data": "version: 2\n"}])),
            "ssh_authorized_keys": draw(st.lists(st.just("ssh-ed25519 AAAAC3Nza k@h"), max_size=2)),
        }
    elif cloud == "secret":
        inputs["cloud_init"] = {"secret_name": draw(_object)}
    if draw(st.booleans()):
        inputs["kubevirt"] = draw(_kubevirt())
        if "instancetype" in inputs["kubevirt"]:  # it sizes the VM: KubeVirt refuses memory/cpu next to it
            for key in ("memory", "max_memory", "cpu"):
                inputs.pop(key, None)
    return inputs


def _as_served(manifest: dict[str, Any]) -> dict[str, Any]:
    """The VirtualMachine as a read returns it: server metadata, virt-controller's annotations, status,
    and the defaults KubeVirt's mutating webhook adds (features, a MAC on every interface)."""
    spec = manifest["spec"]["template"]["spec"]
    spec["domain"].setdefault("features", {"acpi": {"enabled": True}})
    spec["domain"].setdefault("resources", {})
    meta = manifest["metadata"]
    meta.update({"uid": "u-1", "resourceVersion": "9", "generation": 2, "managedFields": [{"manager": "virt-api"}]})
    meta["annotations"] = {**meta["annotations"], "kubevirt.io/latest-observed-api-version": "v1"}
    manifest["status"] = {"printableStatus": "Stopped", "ready": False}
    return manifest


@PROFILE
@given(kubevirt_vms())
def test_any_valid_kubevirt_vm_renders_schema_valid_and_round_trips(inputs: dict[str, Any]) -> None:
    args = VirtualMachineArgs.model_validate(inputs)
    namespace = args.target.namespace  # type: ignore[union-attr]
    manifest = render.render_vm(args, namespace=namespace, owner=OWNER)
    validate(manifest)
    for secret in render.render_cloud_init_secrets(args, namespace=namespace, owner=OWNER):
        assert secret["metadata"]["name"] in render.secret_names(args)
    assert diff_data(dump(args), parse.parse_vm(_as_served(manifest), args)) == []


@st.composite
def instancetypes(draw: st.DrawFn) -> dict[str, Any]:
    guest = draw(st.integers(1, 64))
    memory: dict[str, Any] = {"guest": draw(_memory)}
    if draw(st.booleans()):
        memory["max_guest"] = "256Gi"
    if draw(st.booleans()):
        memory["hugepages_page_size"] = draw(st.sampled_from(["2Mi", "1Gi"]))
    elif draw(st.booleans()):
        memory["overcommit_percent"] = draw(st.integers(0, 100))
    return {
        "name": draw(_label),
        "target": {"kind": "kubevirt"},
        "cluster": draw(st.booleans()),
        "cpu": {
            "guest": guest,
            "dedicated_cpu_placement": draw(st.booleans()),
            **draw(st.sampled_from([{}, {"model": "host-passthrough"}, {"max_sockets": 64}])),
        },
        "memory": memory,
        "node_selector": draw(st.dictionaries(_label_key, _label_value, max_size=2)),
        **draw(st.sampled_from([{}, {"io_threads_policy": "auto"}, {"io_threads_policy": "shared"}])),
        "labels": draw(st.dictionaries(_label_key, _label_value, max_size=2)),
    }


@st.composite
def preferences(draw: st.DrawFn) -> dict[str, Any]:
    optional: dict[str, Any] = {
        "cpu_topology": st.sampled_from(["sockets", "cores", "threads", "spread", "any"]),
        "disk_bus": st.sampled_from(["virtio", "sata", "scsi"]),
        "cdrom_bus": st.sampled_from(["sata", "scsi"]),
        "interface_model": st.sampled_from(["virtio", "e1000e"]),
        "rng": st.booleans(),
        "autoattach_graphics": st.booleans(),
        "autoattach_serial_console": st.booleans(),
        "firmware": st.sampled_from(["bios", "efi", "efi-secure-boot"]),
        "machine_type": st.just("q35"),
        "termination_grace_period_seconds": st.integers(0, 3600),
        "storage_class": _object,
        "min_cpu": st.integers(1, 16),
        "min_memory": _memory,
    }
    chosen = draw(st.lists(st.sampled_from(sorted(optional)), unique=True))
    return {
        "name": draw(_label),
        "target": {"kind": "kubevirt"},
        "cluster": draw(st.booleans()),
        **{field: draw(optional[field]) for field in chosen},
    }


SizingRender = Callable[..., dict[str, Any]]
SizingParse = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.mark.parametrize(
    ("strategy", "model", "rendered", "parsed"),
    [
        pytest.param(instancetypes(), InstancetypeArgs, render.render_instancetype, parse.parse_instancetype, id="it"),
        pytest.param(preferences(), PreferenceArgs, render.render_preference, parse.parse_preference, id="pref"),
    ],
)
@PROFILE
@given(data=st.data())
def test_any_valid_instancetype_or_preference_renders_schema_valid_and_round_trips(
    strategy: st.SearchStrategy[dict[str, Any]],
    model: type[InstancetypeArgs] | type[PreferenceArgs],
    rendered: SizingRender,
    parsed: SizingParse,
    data: st.DataObject,
) -> None:
    args = model.model_validate(data.draw(strategy))
    manifest = rendered(args, namespace="default", owner=OWNER)
    validate(manifest)
    assert diff_data(dump(args), parsed(manifest, args)) == []


@st.composite
def snapshots(draw: st.DrawFn) -> dict[str, Any]:
    inputs: dict[str, Any] = {"name": draw(_label), "vm": draw(_label), "target": {"kind": "kubevirt"}}
    if draw(st.booleans()):
        inputs["disk_only"] = True
    if draw(st.booleans()):
        inputs["description"] = draw(_text)
    if draw(st.booleans()):
        inputs["failure_deadline"] = draw(st.sampled_from(["30s", "5m", "1h30m"]))
    inputs["labels"] = draw(st.dictionaries(_label_key, _label_value, max_size=2))
    inputs["annotations"] = draw(st.dictionaries(_prefixed_key, _text, max_size=2))
    return inputs


@PROFILE
@given(snapshots(), st.none() | st.sampled_from(["StopTarget", "WaitGracePeriod", "FailImmediate", "WaitEventually"]))
def test_any_valid_snapshot_and_restore_render_schema_valid(inputs: dict[str, Any], policy: str | None) -> None:
    args = SnapshotArgs.model_validate(inputs)
    manifest = render.render_vm_snapshot(args, namespace="default", owner=OWNER)
    validate(manifest)
    assert parse.parse_snapshot_description(manifest) == args.description
    restore = SnapshotRestoreArgs.model_validate(
        {
            "name": f"{args.name}-back",
            "vm": args.vm,
            "snapshot": args.name,
            "target": {"kind": "kubevirt"},
            **({"target_readiness_policy": policy} if policy else {}),
        }
    )
    validate(render.render_vm_restore(restore, namespace="default", owner=OWNER))
