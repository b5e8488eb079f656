"""Migration resources between two real libvirt hosts (network namespaces), real QEMU.

The tiny guest's serial heartbeat must keep counting across the move with no
second boot marker; the VirtualMachine resource must then find the VM on its
new host without reporting the move as drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from pulumi_kubevirt.provider.errors import BackendUnavailable, ProviderError
from pulumi_kubevirt.provider.resources import MigrationProvider, VirtualMachineProvider
from tests.harness.guest import (
    BOOT_TIMEOUT,
    BOOTED,
    HEARTBEAT_RE,
    GuestImage,
    heartbeats,
    read_serial,
    serial_log_path,
    unique_name,
    wait_for_serial,
)
from tests.harness.libvirt_fixtures import Node, TwoHosts

from .test_resources import checked, user_inputs


@pytest.fixture
def vm_on_a(two_hosts: TwoHosts, guest: GuestImage) -> Iterator[dict[str, Any]]:
    vmp = VirtualMachineProvider()
    a, b = two_hosts.a, two_hosts.b
    inputs = checked(
        vmp,
        {},
        {
            "name": unique_name("mig"),
            "target": {"kind": "libvirt", "uri": a.uri},
            "hosts": [b.uri],
            "memory": "128Mi",
            "accelerator": "tcg",
            "kernel_boot": {
                "kernel": str(guest.kernel),
                "initrd": str(guest.initrd),
                "cmdline": "console=ttyS0 panic=-1",
            },
        },
    )
    result = vmp.create(inputs)
    state = {"inputs": inputs, "id": result.id, "outs": dict(result.outs)}
    wait_for_serial(a.host_path(serial_log_path(inputs["name"])), HEARTBEAT_RE, BOOT_TIMEOUT, count=3)
    yield state
    vmp.delete(state["id"], state["outs"])
    for node in two_hosts.nodes:
        node.host_path(serial_log_path(inputs["name"])).unlink(missing_ok=True)


def migration_inputs(vm: dict[str, Any], dest: Node, **extra: Any) -> dict[str, Any]:
    return checked(
        MigrationProvider(),
        {},
        {
            "name": unique_name("move"),
            "vm": vm["inputs"]["name"],
            "target": vm["inputs"]["target"],
            "vm_spec": {k: v for k, v in vm["outs"].items() if k in vm["inputs"]},
            "destination_uri": dest.tcp_uri,
            "destination_client_uri": dest.uri,
            "migrate_uri": dest.migrate_uri,
            **extra,
        },
    )


def domain_names(node: Node, *, active: bool | None = None) -> list[str]:
    conn = libvirt.open(node.uri)
    try:
        return [d.name() for d in conn.listAllDomains() if active is None or bool(d.isActive()) == active]
    finally:
        conn.close()


def test_live_migration_keeps_the_guest_running_and_the_vm_resource_follows(
    two_hosts: TwoHosts, vm_on_a: dict[str, Any]
) -> None:
    a, b = two_hosts.a, two_hosts.b
    name = vm_on_a["inputs"]["name"]
    mp, vmp = MigrationProvider(), VirtualMachineProvider()

    move = migration_inputs(vm_on_a, b, max_downtime_ms=500)
    result = mp.create(move)
    outs = result.outs
    assert outs["elapsed_ms"] > 0 and outs["downtime_ms"] > 0 and outs["bytes_transferred"] > 0
    assert outs["source_host"] != outs["destination_host"]
    assert outs["vm_state"] == "running"
    assert name not in domain_names(a)
    assert name in domain_names(b, active=True)
    conn_b = libvirt.open(b.uri)
    assert conn_b.lookupByName(name).isPersistent()
    conn_b.close()

    # the guest did not reboot: the heartbeat continues on B, one boot marker in all
    last_on_a = heartbeats(read_serial(a.host_path(serial_log_path(name))))[-1]
    log_b = b.host_path(serial_log_path(name))
    wait_for_serial(log_b, HEARTBEAT_RE, 30, count=3)
    beats_b = heartbeats(read_serial(log_b))
    assert beats_b[0] > last_on_a - 3 and beats_b == sorted(beats_b)
    assert read_serial(a.host_path(serial_log_path(name))).count(BOOTED) == 1
    assert BOOTED not in read_serial(log_b)

    # an unchanged `up` does nothing
    assert mp.diff(result.id, dict(outs), move).changes is False

    # the VM resource finds the VM on B and reports no drift for the move itself
    read = vmp.read(vm_on_a["id"], vm_on_a["outs"])
    assert read.id == vm_on_a["id"]
    assert read.outs["host_uri"] == b.uri
    assert vmp.diff(vm_on_a["id"], read.outs, vm_on_a["inputs"]).changes is False
    vm_on_a["outs"] = dict(read.outs)

    # a new destination is a new migration (replace), and moving back works
    back = migration_inputs(vm_on_a, a, name=move["name"])
    diff = mp.diff(result.id, dict(outs), back)
    assert diff.changes is True and "destination_uri" in diff.replaces
    home = mp.create(back).outs
    assert home["destination_host"] == outs["source_host"]
    assert name in domain_names(a, active=True) and name not in domain_names(b)


def test_unreachable_destination_fails_before_anything_moves(two_hosts: TwoHosts, vm_on_a: dict[str, Any]) -> None:
    a, b = two_hosts.a, two_hosts.b
    name = vm_on_a["inputs"]["name"]
    mp = MigrationProvider()
    gone = migration_inputs(vm_on_a, b, destination_client_uri="qemu+unix:///system?socket=/nonexistent")
    with pytest.raises(BackendUnavailable):
        mp.create(gone)
    # the source libvirtd cannot reach the destination it is given
    nowhere = migration_inputs(vm_on_a, b, destination_uri="qemu+tcp://10.77.0.3/system")
    with pytest.raises(ProviderError, match="migrating"):
        mp.create(nowhere)
    assert name in domain_names(a, active=True)
    assert name not in domain_names(b)
    beats = heartbeats(read_serial(a.host_path(serial_log_path(name))))
    wait_for_serial(a.host_path(serial_log_path(name)), rf"^PKV-HEARTBEAT {beats[-1] + 2}$", 30)


def test_bad_destination_is_rejected_at_check(vm_on_a: dict[str, Any], two_hosts: TwoHosts) -> None:
    base = {k: v for k, v in migration_inputs(vm_on_a, two_hosts.b).items() if k != "planned_change"}
    for field, value, words in (
        ("destination_uri", "http://10.77.0.2/", "libvirt URI"),
        ("migrate_uri", "10.77.0.2", "migration URI"),
    ):
        failures = MigrationProvider().check({}, {**base, field: value}).failures
        assert [f.property for f in failures] == [field], failures
        assert words in failures[0].reason
    spec = {**base["vm_spec"], "cpu": {"sockets": 1, "cores": 1, "threads": 1, "model": "host-passthrough"}}
    failures = MigrationProvider().check({}, {**base, "vm_spec": spec}).failures
    assert failures and "host-passthrough" in failures[0].reason
    assert user_inputs(base)["vm"] == vm_on_a["inputs"]["name"]
