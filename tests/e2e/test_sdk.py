"""The generated SDK (pulumi_kubevirt.sdk) drives the plugin through the real pulumi CLI (libvirt).

The program is what a user of the typed SDK writes: typed classes, an explicit
Provider, typed outputs. The SDK asks the engine for the plugin `kubevirt` at
the package's version; the CLI finds `pulumi-resource-kubevirt` on PATH.
"""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from tests.harness.guest import unique_name
from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory

PROGRAM = """
import pulumi

import pulumi_kubevirt.sdk as kubevirt

config = pulumi.Config()
local = kubevirt.Provider("local", libvirt_uri="qemu:///system")
vm = kubevirt.VirtualMachine(
    "vm",
    name=config.require("name"),
    memory=config.get("memory") or "64Mi",
    accelerator="tcg",
    run_state="stopped",
    labels={"app": "sdk"},
    opts=pulumi.ResourceOptions(provider=local),
)
state: pulumi.Output[str] = vm.state
pulumi.export("state", state)
pulumi.export("uuid", vm.uuid)
"""


def test_sdk_program_up_noop_update_destroy(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    project, stack = pulumi_stacks.python(tmp_path / "sdk-vm", "pkv-sdk-vm", PROGRAM, prefix="test-sdk")
    name = unique_name("sdk")
    pulumi_cli.config(project, stack, {"name": name})

    up = pulumi_cli.stack_run(project, stack, "up", "--yes", "--skip-preview").stdout
    assert "kubevirt:index:VirtualMachine vm created" in up, up
    assert "pulumi:providers:kubevirt local created" in up, up
    dom = libvirt_conn.lookupByName(name)
    assert dom.isActive() == 0
    outputs = pulumi_cli.outputs(project, stack)
    assert outputs["state"] == "stopped" and outputs["uuid"] == dom.UUIDString()
    assert pulumi_cli.up_changes(project, stack) == {"same": 3}

    pulumi_cli.config(project, stack, {"memory": "128Mi"})
    assert pulumi_cli.up_changes(project, stack) == {"same": 2, "update": 1}
    assert libvirt_conn.lookupByName(name).maxMemory() == 128 * 1024

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.lookupByName(name)
