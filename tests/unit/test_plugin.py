"""The provider plugin's translation, without I/O: property values, provider config, check
failures on exact paths, the detailed diff, customTimeouts, owner from the URN, import IDs,
the worker pool's size and overlap (a fake reconciler), and the schema it serves."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest
from pulumi.provider.experimental import provider as api
from pulumi.provider.experimental.property_value import PropertyValue

from pulumi_kubevirt.provider.core import Call
from pulumi_kubevirt.provider.errors import Conflict, InvalidSpec, NotFound
from pulumi_kubevirt.provider.kinds import DISK, MIGRATION, VIRTUAL_MACHINE
from pulumi_kubevirt.provider.ownership import Owner, readable
from pulumi_kubevirt.provider.plugin import adapter, server
from pulumi_kubevirt.provider.plugin.config import ProviderConfig, parse_config
from pulumi_kubevirt.provider.plugin.schema import plugin_schema
from pulumi_kubevirt.provider.plugin.values import UNKNOWN, from_plain, plain_map, property_map, to_plain
from pulumi_kubevirt.provider.resources._dynamic import resource_id as dynamic_resource_id
from pulumi_kubevirt.provider.schema import build_schema

URN = "urn:pulumi:dev::proj::kubevirt:index:VirtualMachine::web"
VM_TOKEN = "kubevirt:index:VirtualMachine"
KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: s3cr3t-token-value}\n"

BASE: dict[str, Any] = {
    "name": "vm1",
    "memory": "256Mi",
    "accelerator": "tcg",
    "disks": [{"name": "root", "volume": {"pool": "default", "volume": "root.qcow2"}}],
    "labels": {"app.kubernetes.io/name": "web"},
}


def checked(news: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> dict[str, Any]:
    inputs, failures = adapter.check(
        VIRTUAL_MACHINE, dict(olds or {}), dict(news), config=ProviderConfig(), urn=adapter.Urn.parse(URN)
    )
    assert failures == []
    return inputs


def state_of(news: Mapping[str, Any]) -> dict[str, Any]:
    return {**checked(news), "uuid": "u-1", "state": "running"}


# -- values ---------------------------------------------------------------------------------
def test_values_round_trip_numbers_secrets_unknowns() -> None:
    value = property_map(
        {"memory": "1Gi", "cpu": {"sockets": 2}, "cloud_init": {"user_data": "pw"}}, secrets={"cloud_init"}
    )
    assert value["cpu"].value["sockets"].value == 2.0  # type: ignore[index]  # the wire has only floats
    assert value["cloud_init"].is_secret and not value["memory"].is_secret
    plain = plain_map(value)
    assert plain == {"memory": "1Gi", "cpu": {"sockets": 2}, "cloud_init": {"user_data": "pw"}}
    assert isinstance(plain["cpu"]["sockets"], int)
    assert to_plain(PropertyValue.computed()) == UNKNOWN
    assert to_plain(from_plain(1.5)) == 1.5


# -- provider config ------------------------------------------------------------------------
def test_config_kubeconfig_as_path_or_content() -> None:
    by_path, failures = parse_config({"targetKind": "kubevirt", "kubeconfig": "/etc/kube/a.yaml", "namespace": "vms"})
    assert failures == []
    assert by_path.default_target() == {"kind": "kubevirt", "namespace": "vms", "kubeconfig": "/etc/kube/a.yaml"}
    by_content, failures = parse_config({"targetKind": "kubevirt", "kubeconfig": KUBECONFIG, "context": "c1"})
    assert failures == []
    assert by_content.kubeconfig_content == KUBECONFIG and by_content.kubeconfig_path is None
    # content never enters a resource's target (hence its state), nor a repr
    assert by_content.default_target() == {"kind": "kubevirt", "namespace": "default", "context": "c1"}
    assert "s3cr3t" not in repr(by_content)
    libvirt, _ = parse_config({"libvirtUri": "qemu+tcp://10.0.0.2/system", "version": "0.1.0"})
    assert libvirt.default_target() == {"kind": "libvirt", "uri": "qemu+tcp://10.0.0.2/system"}
    in_cluster, _ = parse_config({"targetKind": "kubevirt", "inCluster": "true"})  # stack config is text
    assert in_cluster.default_target() == {"kind": "kubevirt", "namespace": "default", "in_cluster": True}


@pytest.mark.parametrize(
    ("values", "key", "words"),
    [
        ({"targetKind": "vmware"}, "targetKind", "libvirt"),
        ({"libvirtUri": "http://x"}, "libvirtUri", "libvirt URI"),
        ({"namespace": "Not_A_Label"}, "namespace", ""),
        ({"colour": "red"}, "colour", "Extra inputs"),
        ({"kubeconfig": 42}, "kubeconfig", "file path or the kubeconfig content"),
    ],
)
def test_config_failures_name_the_key(values: dict[str, Any], key: str, words: str) -> None:
    _config, failures = parse_config(values)
    assert [f.property for f in failures] == [key]
    assert words in failures[0].reason


def test_unknown_config_values_wait_until_known() -> None:
    config, failures = parse_config({"targetKind": UNKNOWN, "kubeconfig": UNKNOWN, "namespace": "vms"})
    assert failures == [] and config.kubeconfig_path is None and config.namespace == "vms"


def test_check_config_makes_kubeconfig_content_secret() -> None:
    provider = server.KubevirtProvider(workers=2)
    inputs = {"kubeconfig": PropertyValue(KUBECONFIG), "namespace": PropertyValue("vms")}
    response = asyncio.run(
        provider.check_config(api.CheckRequest("urn:pulumi:dev::p::pulumi:providers:kubevirt::k", {}, inputs, b""))
    )
    assert response.inputs is not None
    assert response.inputs["kubeconfig"].is_secret and not response.inputs["namespace"].is_secret
    path_only = {"kubeconfig": PropertyValue("/etc/kube/config")}
    response = asyncio.run(
        provider.check_config(api.CheckRequest("urn:pulumi:dev::p::pulumi:providers:kubevirt::k", {}, path_only, b""))
    )
    assert response.inputs is not None and not response.inputs["kubeconfig"].is_secret


def test_kubeconfig_content_reaches_the_client_as_a_private_file() -> None:
    provider = server.KubevirtProvider(workers=2)
    asyncio.run(
        provider.configure(
            api.ConfigureRequest(
                {},
                {"targetKind": PropertyValue("kubevirt"), "kubeconfig": PropertyValue(KUBECONFIG, is_secret=True)},
                True,
                False,
            )
        )
    )
    args = VIRTUAL_MACHINE.parse({"name": "vm1", "target": {"kind": "kubevirt", "namespace": "vms"}}, resource="vm1")
    effective = provider._effective(args)
    path = effective.target.kubeconfig
    assert path is not None and open(path).read() == KUBECONFIG
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert args.target.kubeconfig is None  # what state records is unchanged
    explicit = VIRTUAL_MACHINE.parse(
        {"name": "vm1", "target": {"kind": "kubevirt", "kubeconfig": "/other"}}, resource="vm1"
    )
    assert provider._effective(explicit).target.kubeconfig == "/other"


# -- check ----------------------------------------------------------------------------------
def test_check_defaults_name_and_target_from_urn_and_config() -> None:
    config, _ = parse_config({"libvirtUri": "qemu+tcp://10.0.0.2/system"})
    inputs, failures = adapter.check(VIRTUAL_MACHINE, {}, {"memory": "64Mi"}, config=config, urn=adapter.Urn.parse(URN))
    assert failures == []
    assert inputs["name"] == "web"
    assert inputs["target"] == {"kind": "libvirt", "uri": "qemu+tcp://10.0.0.2/system"}
    assert inputs["planned_change"] == "create"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"memory": "8Mi"}, "memory"),
        ({"cpu": {"sockets": 0}}, "cpu.sockets"),
        ({"disks": [{"name": "iso", "path": "/x.iso", "cdrom": True}]}, "disks[0].bus"),
        ({"target": {"kind": "libvirt", "uri": "http://x"}}, "target.uri"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_check_failures_on_the_exact_path(change: dict[str, Any], path: str) -> None:
    _inputs, failures = adapter.check(
        VIRTUAL_MACHINE, {}, {**BASE, **change}, config=ProviderConfig(), urn=adapter.Urn.parse(URN)
    )
    assert [f.property for f in failures] == [path]
    assert failures[0].reason.startswith("VirtualMachine 'vm1': ")


def test_check_returns_secret_fields_as_secrets_whatever_was_passed() -> None:
    provider = server.KubevirtProvider(workers=2)
    news = property_map({**BASE, "cloud_init": {"user_data": "#cloud-config\npassword: hunter2"}})
    assert not news["cloud_init"].contains_secret()
    response = asyncio.run(provider.check(api.CheckRequest(URN, {}, news, b"")))
    assert response.failures == [] and response.inputs is not None
    assert response.inputs["cloud_init"].is_secret
    assert not response.inputs["memory"].is_secret


def test_owner_comes_from_the_urn_only() -> None:
    urn = adapter.Urn.parse("urn:pulumi:prod::shop::my:comp$kubevirt:index:VirtualMachine::db")
    assert urn.owner == Owner("shop/prod", "db") and urn.type == VM_TOKEN
    # an `__owner` input is dropped by check: it cannot choose the owner
    inputs = checked({**BASE, "__owner": "other/stack::x"})
    assert "__owner" not in inputs


def test_unknowns_in_preview_are_not_failures() -> None:
    inputs = checked({**BASE, "memory": UNKNOWN})
    assert inputs["memory"] == UNKNOWN
    result = adapter.diff(VIRTUAL_MACHINE, state_of(BASE), {**inputs, "name": UNKNOWN})
    assert result.changes and result.replaces == ["name"]
    assert result.detailed["memory"] == adapter.PropertyChange("update", False)
    assert result.detailed["name"] == adapter.PropertyChange("update", True)


# -- diff -----------------------------------------------------------------------------------
def test_no_change_is_no_diff() -> None:
    result = adapter.diff(VIRTUAL_MACHINE, state_of(BASE), checked(BASE, BASE))
    assert not result.changes and result.detailed == {}


def test_detailed_diff_per_property_with_replace_markers() -> None:
    new = {
        **BASE,
        "memory": "512Mi",
        "disks": [*BASE["disks"], {"name": "data", "volume": {"pool": "default", "volume": "data.qcow2"}}],
        "labels": {"app.kubernetes.io/name": "api"},
        "target": {"kind": "libvirt", "uri": "qemu+tcp://10.0.0.2/system"},
    }
    result = adapter.diff(VIRTUAL_MACHINE, state_of(BASE), checked(new, BASE))
    assert result.changes
    assert result.detailed["memory"] == adapter.PropertyChange("update", False)
    assert result.detailed["disks[1]"] == adapter.PropertyChange("add", False)
    assert result.detailed['labels["app.kubernetes.io/name"]'].kind == "update"
    assert result.detailed["target.uri"] == adapter.PropertyChange("update", True)
    assert result.replaces == ["target"]
    assert "planned_change" not in result.detailed and "replace: target.uri" in result.summary
    update = adapter.diff(VIRTUAL_MACHINE, state_of(BASE), checked({**BASE, "memory": "512Mi"}, BASE))
    assert update.detailed["planned_change"] == adapter.PropertyChange("update", False)
    assert result.delete_before_replace  # same name: the old one must go first


def test_named_items_map_to_their_index_and_deletes_to_the_old_index() -> None:
    two = {**BASE, "disks": [{"name": "a", "path": "/a.img"}, {"name": "b", "path": "/b.img"}]}
    moved = {**BASE, "disks": [{"name": "a", "path": "/a.img"}, {"name": "b", "path": "/b.img", "bus": "sata"}]}
    result = adapter.diff(VIRTUAL_MACHINE, state_of(two), checked(moved, two))
    assert set(result.detailed) == {"disks[1].bus", "planned_change"}
    dropped = {**BASE, "disks": [{"name": "b", "path": "/b.img"}]}
    result = adapter.diff(VIRTUAL_MACHINE, state_of(two), checked(dropped, two))
    assert result.detailed["disks[0]"].kind == "delete"  # `a` was index 0 of the old list


def test_rename_is_a_replacement_without_delete_first() -> None:
    result = adapter.diff(VIRTUAL_MACHINE, state_of(BASE), checked({**BASE, "name": "vm2"}, BASE))
    assert result.detailed["name"] == adapter.PropertyChange("update", True)
    assert result.replaces == ["name"] and not result.delete_before_replace


def test_diff_response_kinds() -> None:
    provider = server.KubevirtProvider(workers=2)
    olds = property_map(state_of(BASE))
    news = property_map(checked({**BASE, "memory": "512Mi", "name": "vm2"}, BASE))
    response = asyncio.run(provider.diff(api.DiffRequest(URN, "qemu:///system/vm1", olds, news, [])))
    assert response.changes is True
    assert response.detailed_diff["memory"].kind == api.PropertyDiffKind.UPDATE
    assert response.detailed_diff["name"].kind == api.PropertyDiffKind.UPDATE_REPLACE
    assert response.replaces == ["name"] and "memory" in response.diffs


# -- create / update / delete through a fake reconciler ------------------------------------
class FakeReconciler:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, Any, Owner]] = []
        self.deadlines: list[float] = []
        self.delay = delay
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def _enter(self) -> None:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.delay)
        with self._lock:
            self.running -= 1

    def _record(self, op: str, call: Call[Any]) -> None:
        self.calls.append((op, call.args, call.owner))
        self.deadlines.append(call.deadline.seconds)

    def create(self, call: Call[Any]) -> dict[str, Any]:
        self._enter()
        self._record("create", call)
        return {"uuid": "u-1", "state": "stopped"}

    def update(self, call: Call[Any], old: Any, plan: Any) -> dict[str, Any]:
        self._record("update", call)
        return {"uuid": "u-1", "state": "stopped"}

    def delete(self, call: Call[Any]) -> None:
        self._record("delete", call)

    def read(self, call: Call[Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        self._record("read", call)
        args = call.args
        observed = {"name": args.name, "memory": "128Mi", "target": {"kind": "libvirt", "uri": "qemu:///system"}}
        return observed, {"uuid": "u-9", "state": "running"}


def fake_provider(
    monkeypatch: pytest.MonkeyPatch, reconciler: FakeReconciler, workers: int = 8
) -> server.KubevirtProvider:
    provider = server.KubevirtProvider(workers=workers)
    monkeypatch.setattr(provider, "_reconciler", lambda kind, args: reconciler)
    return provider


def test_create_honours_custom_timeouts_and_owner_from_urn(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeReconciler()
    provider = fake_provider(monkeypatch, fake)
    props = property_map({**checked(BASE), "__owner": "forged/stack::x", "cloud_init": {"user_data": "pw"}})
    response = asyncio.run(provider.create(api.CreateRequest(URN, props, timeout=90.0, preview=False)))
    _op, args, owner = fake.calls[0]
    assert args.timeouts.create == "90s" and fake.deadlines == [90.0]
    assert owner == Owner("proj/dev", "web")
    assert response.resource_id == "qemu:///system/vm1"
    assert response.properties["uuid"].value == "u-1"
    assert "timeouts" not in response.properties or response.properties["timeouts"].value["create"].value == "10m"  # type: ignore[index]
    assert response.properties["cloud_init"].is_secret
    assert "__owner" not in response.properties


def test_update_and_delete_take_their_own_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeReconciler()
    provider = fake_provider(monkeypatch, fake)
    olds = property_map(state_of(BASE))
    news = property_map(checked({**BASE, "memory": "512Mi"}, BASE))
    asyncio.run(provider.update(api.UpdateRequest(URN, "qemu:///system/vm1", olds, news, 120.0, [], False)))
    asyncio.run(provider.delete(api.DeleteRequest(URN, "qemu:///system/vm1", olds, 30.0)))
    (_u, new, _o1), (_d, gone, _o2) = fake.calls
    assert new.timeouts.update == "120s" and new.memory == "512Mi"
    assert gone.timeouts.delete == "30s"
    assert fake.deadlines == [120.0, 30.0]


def test_import_reads_with_only_an_id(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeReconciler()
    provider = fake_provider(monkeypatch, fake)
    response = asyncio.run(provider.read(api.ReadRequest(URN, "qemu+tcp://10.0.0.2/system/legacy", {}, {})))
    _op, args, owner = fake.calls[0]
    assert (args.name, args.target.uri) == ("legacy", "qemu+tcp://10.0.0.2/system")
    assert owner == Owner("proj/dev", "web")
    assert response.resource_id == "qemu+tcp://10.0.0.2/system/legacy"
    assert plain_map(response.inputs)["memory"] == "128Mi"
    assert set(response.inputs) == {"name", "memory", "target"}  # defaults left out of the generated code
    assert plain_map(response.properties)["run_state"] == "running"  # state holds every field
    assert plain_map(response.inputs)["target"] == {"kind": "libvirt", "uri": "qemu+tcp://10.0.0.2/system"}
    assert plain_map(response.properties)["uuid"] == "u-9"
    with pytest.raises(Exception, match="cannot be imported"):
        urn = "urn:pulumi:dev::proj::kubevirt:index:Migration::m"
        asyncio.run(provider.read(api.ReadRequest(urn, "qemu:///system/m", {}, {})))


def test_refresh_records_the_declared_target_not_the_private_kubeconfig_file(monkeypatch: pytest.MonkeyPatch) -> None:
    class Echo(FakeReconciler):
        def read(self, call: Call[Any]) -> Any:
            args = call.args
            return {"name": args.name, "target": args.target.model_dump(mode="json")}, {"state": "Stopped"}

    provider = fake_provider(monkeypatch, Echo())
    config = {"targetKind": PropertyValue("kubevirt"), "kubeconfig": PropertyValue(KUBECONFIG, is_secret=True)}
    asyncio.run(provider.configure(api.ConfigureRequest({}, config, True, False)))
    declared = {"kind": "kubevirt", "namespace": "vms", "in_cluster": False}
    state = property_map({"name": "vm1", "target": declared, "state": "Stopped"})
    response = asyncio.run(provider.read(api.ReadRequest(URN, "kubevirt:vms/vm1", state, state)))
    assert plain_map(response.inputs)["target"] == declared
    assert plain_map(response.properties)["target"] == declared


def test_creates_overlap_beyond_four(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dynamic host's ceiling is 4 concurrent calls; the plugin's pool is the engine's parallelism."""
    fake = FakeReconciler(delay=0.3)
    provider = fake_provider(monkeypatch, fake, workers=12)

    async def many() -> None:
        requests = [
            api.CreateRequest(
                URN.replace("::web", f"::vm{i}"), property_map(checked({**BASE, "name": f"vm{i}"})), 0.0, False
            )
            for i in range(12)
        ]
        await asyncio.gather(*(provider.create(r) for r in requests))

    started = time.monotonic()
    asyncio.run(many())
    assert fake.peak == 12
    assert time.monotonic() - started < 0.3 * 3


@pytest.mark.parametrize(
    ("environ", "cmdline", "expected"),
    [
        ({"PULUMI_PARALLEL": "32"}, [], 32),
        ({}, ["pulumi", "up", "--parallel", "24"], 24),
        ({}, ["pulumi", "up", "--parallel=6"], 6),
        ({}, ["pulumi", "up", "-p", "50"], 50),
        ({}, ["pulumi", "up", "-p3"], 3),
        ({}, ["pulumi", "up", "--yes"], 4 * (os.cpu_count() or 1)),
        ({"PULUMI_PARALLEL": "100000"}, [], server.MAX_WORKERS),
    ],
)
def test_pool_is_sized_from_the_engine_parallelism(environ: dict[str, str], cmdline: list[str], expected: int) -> None:
    assert server.parallelism(environ, cmdline) == expected


# -- IDs and schema -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [{"kind": "libvirt", "uri": "qemu+tcp://10.0.0.2/system"}, {"kind": "kubevirt", "namespace": "vms"}],
)
def test_ids_match_the_dynamic_resources_and_parse_back(target: dict[str, Any]) -> None:
    made = adapter.resource_id(target, "vm1")
    assert made == dynamic_resource_id(target, "vm1")
    parsed, name = adapter.parse_id(made, config=ProviderConfig())
    assert name == "vm1" and {k: parsed[k] for k in target} == target


def test_a_kubevirt_id_takes_the_cluster_of_a_kubevirt_provider_only() -> None:
    kube, _ = parse_config({"targetKind": "kubevirt", "kubeconfig": "/k", "context": "c", "namespace": "x"})
    assert adapter.parse_id("kubevirt:vms/vm1", config=kube) == (
        {"kind": "kubevirt", "namespace": "vms", "kubeconfig": "/k", "context": "c"},
        "vm1",
    )
    libvirt_config, _ = parse_config({"libvirtUri": "qemu+tcp://h/system"})
    assert adapter.parse_id("kubevirt:vms/vm1", config=libvirt_config) == (
        {"kind": "kubevirt", "namespace": "vms"},
        "vm1",
    )


@pytest.mark.parametrize("bad", ["", "qemu:///vm1", "kubevirt:vm1", "a/b"])
def test_bad_import_ids_say_what_an_id_looks_like(bad: str) -> None:
    with pytest.raises(Exception, match="import ID"):
        adapter.parse_id(bad, config=ProviderConfig())


def test_with_timeout_bounds() -> None:
    assert adapter.with_timeout({"name": "x"}, "create", 0) == {"name": "x"}
    assert adapter.with_timeout({"timeouts": {"delete": "1m"}}, "create", 0.2)["timeouts"] == {
        "delete": "1m",
        "create": "1s",
    }
    assert adapter.with_timeout({}, "update", 10**9)["timeouts"]["update"] == "604800s"
    assert (
        DISK.parse(
            {"name": "d", "size": "1Mi", **adapter.with_timeout({}, "create", 7.5)}, resource="d"
        ).timeouts.create
        == "8s"
    )


def test_plugin_schema_is_the_committed_one_under_the_plugin_name() -> None:
    schema = plugin_schema()
    text = json.dumps(schema)
    assert schema["name"] == "kubevirt" and "pulumi-kubevirt:" not in text
    assert set(schema["resources"]) == {
        f"kubevirt:index:{n}"
        for n in (
            "VirtualMachine",
            "Disk",
            "Bridge",
            "Migration",
            "Instancetype",
            "Preference",
            "Snapshot",
            "SnapshotRestore",
        )
    }
    assert set(schema["resources"]) == set(server.KINDS)
    assert schema["provider"]["inputProperties"]["kubeconfig"]["secret"] is True
    assert set(schema["config"]["variables"]) == {
        "targetKind",
        "libvirtUri",
        "kubeconfig",
        "context",
        "namespace",
        "inCluster",
    }
    base = build_schema()
    vm = schema["resources"][VM_TOKEN]
    assert set(vm["inputProperties"]) == set(
        base["resources"][f"{base['name']}:index:VirtualMachine"]["inputProperties"]
    )
    assert "name" not in vm["requiredInputs"]  # defaults to the logical name
    assert schema["resources"]["kubevirt:index:Migration"]["requiredInputs"] == ["vm"]
    assert MIGRATION.type_name.endswith(":Migration")


def test_importing_the_plugin_loads_no_backend_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pulumi_kubevirt.provider.plugin.server as s; s.KubevirtProvider(workers=2); "
        "print(sorted(m for m in ('libvirt', 'kubernetes') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# -- the servicer: errors and DiffConfig ---------------------------------------------------------
class AbortContext:
    """A stand-in for grpc's ServicerContext: records the abort and raises as grpc does."""

    def __init__(self) -> None:
        self.aborted: tuple[Any, str] | None = None

    async def abort(self, code: Any, details: str) -> None:
        self.aborted = (code, details)
        raise RuntimeError("aborted")


def servicer(provider: server.KubevirtProvider) -> server.Servicer:
    return server.Servicer([], server.VERSION, provider, engine_address="")


def test_provider_errors_end_the_call_with_their_message_and_code() -> None:
    import grpc
    from pulumi.runtime import proto

    from pulumi_kubevirt.provider.errors import Conflict

    provider = server.KubevirtProvider(workers=2)

    async def conflict(request: Any) -> Any:
        raise Conflict("a domain named 'vm1' already exists", resource="vm1", field="name")

    provider.create = conflict  # type: ignore[method-assign]
    context = AbortContext()
    with pytest.raises(RuntimeError, match="aborted"):
        asyncio.run(servicer(provider).Create(proto.CreateRequest(urn=URN), context))
    assert context.aborted == (grpc.StatusCode.UNKNOWN, "vm1: name: a domain named 'vm1' already exists")
    unknown_type = proto.CheckRequest(urn="urn:pulumi:dev::proj::kubevirt:index:Nope::x")
    context = AbortContext()
    with pytest.raises(RuntimeError, match="aborted"):
        asyncio.run(servicer(provider).Check(unknown_type, context))
    assert context.aborted is not None and context.aborted[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown resource type 'kubevirt:index:Nope'" in context.aborted[1]


def test_diff_config_says_some_or_none() -> None:
    from pulumi.runtime import proto

    olds = PropertyValue.marshal_map(property_map({"namespace": "a", "targetKind": "kubevirt"}))
    news = PropertyValue.marshal_map(property_map({"namespace": "b", "targetKind": "kubevirt"}))
    service = servicer(server.KubevirtProvider(workers=2))
    changed = asyncio.run(service.DiffConfig(proto.DiffRequest(olds=olds, news=news), AbortContext()))
    assert changed.changes == proto.DiffResponse.DIFF_SOME and list(changed.diffs) == ["namespace"]
    assert not changed.replaces  # a new config never replaces the provider (nor its resources)
    same = asyncio.run(service.DiffConfig(proto.DiffRequest(olds=olds, news=olds), AbortContext()))
    assert same.changes == proto.DiffResponse.DIFF_NONE


def test_configure_refuses_a_bad_config_naming_the_key() -> None:
    provider = server.KubevirtProvider(workers=2)
    with pytest.raises(Exception, match="provider config targetKind"):
        asyncio.run(provider.configure(api.ConfigureRequest({"kubevirt:config:targetKind": "vmware"}, {}, True, False)))


# -- import of objects made outside Pulumi ---------------------------------------------------------
OTHER_STACK = "proj/prod::web"


class MarkedObject(FakeReconciler):
    """One object at every ID, carrying `marker` (None: made outside Pulumi). Its read sees it
    through the same rule as the backends' reads (ownership.readable)."""

    def __init__(self, marker: str | None) -> None:
        super().__init__()
        self.marker = marker

    def read(self, call: Call[Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        self._record("read", call)
        args = call.args
        if not readable(self.marker, call.owner, adopt=args.adopt, what=f"domain {args.name}", resource=args.name):
            return None
        observed = {**args.model_dump(mode="json", exclude_none=True), "memory": "128Mi"}
        return observed, {"uuid": "u-9", "state": "running"}


def test_readable_sees_ours_and_adopted_unmarked_objects_only() -> None:
    owner = Owner("proj/dev", "web")
    assert readable(str(owner), owner, adopt=False, what="domain vm1", resource="vm1") is True
    assert readable(owner, owner, adopt=True, what="domain vm1", resource="vm1") is True
    assert readable(None, owner, adopt=False, what="domain vm1", resource="vm1") is False
    assert readable(None, owner, adopt=True, what="domain vm1", resource="vm1") is True
    assert readable(OTHER_STACK, owner, adopt=False, what="domain vm1", resource="vm1") is False
    with pytest.raises(Conflict, match=r"domain vm1 is managed by proj/prod::web, not by proj/dev::web") as err:
        readable(OTHER_STACK, owner, adopt=True, what="domain vm1", resource="vm1")
    assert "left untouched" in str(err.value) and err.value.field == "name"


def test_import_of_our_own_object_records_no_adoption(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = MarkedObject("proj/dev::web")
    response = asyncio.run(fake_provider(monkeypatch, fake).read(api.ReadRequest(URN, "qemu:///system/vm1", {}, {})))
    assert [(op, args.adopt) for op, args, _owner in fake.calls] == [("read", False)]
    assert "adopt" not in plain_map(response.inputs)
    assert plain_map(response.properties)["adopt"] is False


def test_import_of_an_unmarked_object_adopts_it_in_the_generated_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Made with virsh or kubectl: read once as ours (not found), then with adopt=True, which the imported
    inputs and the state keep, so the next `up` (same inputs) changes nothing and its first update marks it."""
    fake = MarkedObject(None)
    response = asyncio.run(fake_provider(monkeypatch, fake).read(api.ReadRequest(URN, "qemu:///system/vm1", {}, {})))
    assert [(op, args.adopt) for op, args, _owner in fake.calls] == [("read", False), ("read", True)]
    inputs, state = plain_map(response.inputs), plain_map(response.properties)
    assert inputs == {
        "name": "vm1",
        "memory": "128Mi",
        "adopt": True,
        "target": {"kind": "libvirt", "uri": "qemu:///system"},
    }
    assert state["adopt"] is True and state["uuid"] == "u-9"
    checked_inputs = checked(inputs, olds=inputs)
    assert not adapter.diff(VIRTUAL_MACHINE, state, checked_inputs).changes  # the next `up` is a no-op


def test_import_of_another_stacks_object_is_a_conflict_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = MarkedObject(OTHER_STACK)
    provider = fake_provider(monkeypatch, fake)
    with pytest.raises(Conflict, match="managed by proj/prod::web, not by proj/dev::web"):
        asyncio.run(provider.read(api.ReadRequest(URN, "qemu:///system/vm1", {}, {})))


def test_import_of_nothing_or_of_a_kind_without_import_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Absent(FakeReconciler):
        def read(self, call: Call[Any]) -> None:
            self._record("read", call)

    absent = Absent()
    with pytest.raises(NotFound, match=r"nothing to import at qemu:///system/vm1: no VirtualMachine of that name"):
        asyncio.run(fake_provider(monkeypatch, absent).read(api.ReadRequest(URN, "qemu:///system/vm1", {}, {})))
    assert len(absent.calls) == 2
    for kind in ("Disk", "Bridge", "Migration"):
        urn = f"urn:pulumi:dev::proj::kubevirt:index:{kind}::x"
        with pytest.raises(InvalidSpec, match=f"a {kind} cannot be imported .* adopt=True"):
            asyncio.run(fake_provider(monkeypatch, absent).read(api.ReadRequest(urn, "qemu:///system/x", {}, {})))
    assert len(absent.calls) == 2  # refused before any read
