"""A VM and a Migration between the two namespace libvirt hosts, through the real pulumi CLI."""

from __future__ import annotations

import json
from pathlib import Path

import libvirt

from tests.harness.guest import (
    BOOTED,
    HEARTBEAT_RE,
    GuestImage,
    read_serial,
    serial_log_path,
    unique_name,
    wait_for_serial,
)
from tests.harness.libvirt_fixtures import TwoHosts
from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory

PROGRAM = """\
import pulumi

from pulumi_kubevirt.provider import Migration, VirtualMachine

config = pulumi.Config()
vm = VirtualMachine(
    "vm",
    name=config.require("name"),
    target={"kind": "libvirt", "uri": config.require("a")},
    hosts=[config.require("b")],
    memory="128Mi",
    accelerator="tcg",
    kernel_boot={"kernel": config.require("kernel"), "initrd": config.require("initrd"), "cmdline": "console=ttyS0"},
)
move = Migration(
    "move",
    vm=vm,
    destination_uri=config.require("bTcp"),
    destination_client_uri=config.require("b"),
    migrate_uri=config.require("bMigrate"),
)
pulumi.export("host", vm.host_uri)
pulumi.export("destination", move.destination_host)
pulumi.export("downtime_ms", move.downtime_ms)
pulumi.export("elapsed_ms", move.elapsed_ms)
"""


def domains(uri: str) -> list[str]:
    conn = libvirt.open(uri)
    try:
        return [d.name() for d in conn.listAllDomains()]
    finally:
        conn.close()


def test_vm_and_migration_stack(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, two_hosts: TwoHosts, guest: GuestImage
) -> None:
    a, b = two_hosts.a, two_hosts.b
    project, stack = pulumi_stacks.python(tmp_path / "mig", "pkv-e2e-migration", PROGRAM, prefix="test-migration")
    name = unique_name("e2emig")
    pulumi_cli.config(
        project,
        stack,
        {
            "name": name,
            "a": a.uri,
            "b": b.uri,
            "bTcp": b.tcp_uri,
            "bMigrate": b.migrate_uri,
            "kernel": str(guest.kernel),
            "initrd": str(guest.initrd),
        },
    )

    assert pulumi_cli.up_changes(project, stack) == {"create": 3}
    outputs = pulumi_cli.outputs(project, stack)
    assert outputs["downtime_ms"] > 0 and outputs["elapsed_ms"] > 0
    assert name in domains(b.uri) and name not in domains(a.uri)
    log_b = b.host_path(serial_log_path(name))
    wait_for_serial(log_b, HEARTBEAT_RE, 30, count=2)
    # it moved while running (possibly still booting): one boot marker across both hosts' logs
    lines = read_serial(a.host_path(serial_log_path(name))) + read_serial(log_b)
    assert lines.count(BOOTED) == 1

    # nothing to do on a second up; refresh finds the VM on B without drift
    assert pulumi_cli.up_changes(project, stack) == {"same": 3}
    pulumi_cli.stack_run(project, stack, "refresh", "--yes")
    # (stack outputs are the program's, captured at `up`; refresh updates the resource state)
    (vm_state,) = [r for r in pulumi_cli.resources(project, stack) if r["urn"].endswith("::vm")]
    assert vm_state["outputs"]["host_uri"] == b.uri
    summary = json.loads(pulumi_cli.stack_run(project, stack, "preview", "--json").stdout)
    assert summary["changeSummary"] == {"same": 3}

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    assert name not in domains(a.uri) and name not in domains(b.uri)
    for node in two_hosts.nodes:
        node.host_path(serial_log_path(name)).unlink(missing_ok=True)
