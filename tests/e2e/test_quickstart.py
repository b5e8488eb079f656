"""The root quickstart stack through the real pulumi CLI, on the local libvirt.

up -> no-op up -> preview --diff of a memory edit (in place, classified) ->
refresh (no drift) -> destroy (nothing left on the hypervisor).
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import libvirt

from tests.harness import tools
from tests.harness.guest import unique_name
from tests.harness.libvirt_fixtures import free_ipv4_subnet
from tests.harness.pulumi_fixtures import VENV, PulumiCLI, StackFactory


def quickstart_project(directory: Path) -> Path:
    """The repository's root stack, copied so its stack files stay out of the work tree."""
    text = (tools.REPO / "Pulumi.yaml").read_text().replace("virtualenv: .venv", f"virtualenv: {VENV}")
    (directory / "Pulumi.yaml").write_text(text)
    (directory / "__main__.py").write_text((tools.REPO / "__main__.py").read_text())
    return directory


def objects_named(conn: libvirt.virConnect, prefix: str) -> list[str]:
    found = [d.name() for d in conn.listAllDomains() if d.name().startswith(prefix)]
    found += [n.name() for n in conn.listAllNetworks() if n.name().startswith(prefix)]
    try:
        pool = conn.storagePoolLookupByName("default")
    except libvirt.libvirtError:
        return found  # the provider removes a pool it created together with its last volume
    pool.refresh(0)
    found += [v for v in pool.listVolumes() if v.startswith(prefix)]
    return found


def test_root_stack_up_noop_diff_refresh_destroy(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    project = quickstart_project(tmp_path)
    stack = pulumi_stacks(project, prefix="test-quickstart")
    prefix = unique_name("qs")
    subnet = free_ipv4_subnet()
    pulumi_cli.config(project, stack, {"prefix": prefix, "subnet": f"{subnet.network_address + 1}/{subnet.prefixlen}"})

    assert pulumi_cli.up_changes(project, stack) == {"create": 6}  # 3 resources + 2 components + the stack
    outputs = pulumi_cli.outputs(project, stack)
    assert outputs["vm_state"] == "running"
    assert ipaddress.IPv4Address(outputs["vm_ipv4"]["nic0"]) in subnet
    assert outputs["planned_change"] == "create"
    assert sorted(objects_named(libvirt_conn, prefix)) == sorted(
        [f"{prefix}-vm", f"{prefix}-lan", f"{prefix}-data.qcow2", f"{prefix}-data.qcow2.pkv-owner"]
    )

    # a second up changes nothing
    assert pulumi_cli.up_changes(project, stack) == {"same": 6}
    pulumi_cli.stack_run(project, stack, "preview", "--expect-no-changes")

    # editing memory: an in-place update, classified in the preview
    pulumi_cli.config(project, stack, {"memory": "192Mi"})
    diff = pulumi_cli.stack_run(project, stack, "preview", "--diff").stdout
    assert "~ pulumi-python:dynamic:Resource" in diff or "~ " in diff
    assert "replace" not in diff.split("Resources:")[-1]
    # (the CLI pads property names to the longest one shown)
    assert re.search(r'planned_change\s*: "[^"]*" => "restart: memory 128Mi->192Mi"', diff), diff
    summary = json.loads(pulumi_cli.stack_run(project, stack, "preview", "--json").stdout)["changeSummary"]
    assert summary == {"same": 5, "update": 1}
    pulumi_cli.config(project, stack, {"memory": "128Mi"})

    # refresh finds no drift, and nothing is left to do after it
    refresh = pulumi_cli.stack_run(project, stack, "refresh", "--yes")
    assert "6 unchanged" in refresh.stdout.split("Resources:")[-1], refresh.stdout
    assert "Exception" not in refresh.stdout + refresh.stderr
    assert pulumi_cli.preview_changes(project, stack) == {"same": 6}

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    assert objects_named(libvirt_conn, prefix) == []
