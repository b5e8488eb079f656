"""Every example previews with the real pulumi CLI and no cluster or hypervisor reachable.

This is the CI-preview guarantee: check/diff do no I/O, so `pulumi preview`
of a stack whose targets are unreachable still shows what would happen.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.harness import tools
from tests.harness.pulumi_fixtures import VENV, PulumiCLI, StackFactory

EXAMPLES = sorted(p.parent for p in (tools.REPO / "examples").glob("*/Pulumi.yaml"))
EXPECTED = {
    "kubevirt-testvm": 1,
    "kubevirt-cloudinit-ssh": 1,
    "kubevirt-router": 7,  # Router + 2 BridgedNetworks, composing 2 Bridges, a Disk and a VM
    "kubevirt-datavolumes": 2,
    "libvirt-live-migration": 2,
    "kubevirt-server": 3,  # Server: a Disk and a VM
    "kubevirt-bridged-network": 6,  # BridgedNetwork (a Bridge) + 2 Servers (a VM each)
    "libvirt-vm-pool": 10,  # BridgedNetwork (a Bridge), a base Disk, VmPool (3 x a Disk and a VM)
}


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_previews_offline(
    example: Path, tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory
) -> None:
    project = tmp_path / example.name
    shutil.copytree(example, project)
    shutil.copy(tools.REPO / "examples" / "_target.py", tmp_path / "_target.py")
    text = (project / "Pulumi.yaml").read_text().replace("virtualenv: ../../.venv", f"virtualenv: {VENV}")
    (project / "Pulumi.yaml").write_text(text)
    stack = pulumi_stacks(project, prefix="test-example")
    # nothing answers here: no kubeconfig, and libvirt URIs of hosts that do not exist
    env = {"KUBECONFIG": str(tmp_path / "no-such-kubeconfig")}
    out = pulumi_cli.run(["preview", "--json", "--stack", stack], cwd=project, env_extra=env).stdout
    summary = json.loads(out)["changeSummary"]
    assert summary == {"create": EXPECTED[example.name] + 1}  # + the stack itself
