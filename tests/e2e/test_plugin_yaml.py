"""Another Pulumi language, for real: a Pulumi YAML program through the plugin.

The real `pulumi-language-yaml` (built from github.com/pulumi/pulumi-yaml by
scripts/build-go-tools.sh) runs a program declaring a Bridge (isolated libvirt
network), a Disk and a VM that attaches both by their outputs, on qemu:///system:
up, no-op up, an update (memory, shown as a property-level diff), destroy.
"""

from __future__ import annotations

import re
from pathlib import Path

import libvirt
import pytest

from tests.harness import tools
from tests.harness.guest import unique_name
from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory

PROGRAM = """\
name: pkv-plugin-yaml
runtime: yaml
description: pulumi-kubevirt e2e, a YAML program through the plugin
config:
  prefix:
    type: string
  memory:
    type: string
    default: 64Mi
resources:
  lan:
    type: kubevirt:index:Bridge
    properties:
      name: ${prefix}-lan
      mode: isolated
  root:
    type: kubevirt:index:Disk
    properties:
      name: ${prefix}-root
      size: 16Mi
  vm:
    type: kubevirt:index:VirtualMachine
    properties:
      name: ${prefix}-vm
      memory: ${memory}
      accelerator: tcg
      run_state: stopped
      disks:
        - name: root
          volume: ${root.ref}
      interfaces:
        - name: nic0
          network: ${lan.network_name}
outputs:
  state: ${vm.state}
  network: ${lan.network_name}
  volume: ${root.path}
"""


def test_yaml_program_vm_disk_bridge(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    tools.tool("e2e", "pulumi-language-yaml")
    project = tmp_path / "plugin-yaml"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(PROGRAM)
    stack = pulumi_stacks(project, prefix="test-yaml")
    prefix = unique_name("yaml")
    pulumi_cli.config(project, stack, {"prefix": prefix})

    assert pulumi_cli.up_changes(project, stack) == {"create": 4}
    outputs = pulumi_cli.outputs(project, stack)
    assert outputs["state"] == "stopped" and outputs["network"] == f"{prefix}-lan"
    dom = libvirt_conn.lookupByName(f"{prefix}-vm")
    xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert f"<source network='{prefix}-lan'/>" in xml
    assert f"<source pool='default' volume='{prefix}-root.qcow2'/>" in xml
    assert outputs["volume"].endswith(f"/{prefix}-root.qcow2")
    assert libvirt_conn.networkLookupByName(f"{prefix}-lan").isActive()

    assert pulumi_cli.up_changes(project, stack) == {"same": 4}

    pulumi_cli.config(project, stack, {"memory": "96Mi"})
    diff = pulumi_cli.stack_run(project, stack, "preview", "--diff").stdout
    assert re.search(r'~ memory\s*: "64Mi" => "96Mi"', diff), diff
    assert pulumi_cli.up_changes(project, stack) == {"same": 3, "update": 1}
    assert libvirt_conn.lookupByName(f"{prefix}-vm").maxMemory() == 96 * 1024
    assert pulumi_cli.up_changes(project, stack) == {"same": 4}

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    for lookup, name in (
        (libvirt_conn.lookupByName, f"{prefix}-vm"),
        (libvirt_conn.networkLookupByName, f"{prefix}-lan"),
    ):
        with pytest.raises(libvirt.libvirtError):
            lookup(name)
