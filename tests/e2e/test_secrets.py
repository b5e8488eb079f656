"""Secrets through the real pulumi CLI: cloud-init user data passed as a PLAIN string never
appears in plaintext in the state, `stack export`, backups/history, `preview --diff`, the
output of `up`/`refresh`/`destroy`, nor in a check failure about cloud_init.

The VM is defined stopped on qemu:///system (its seed volume is written, nothing boots).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import libvirt

from tests.harness.guest import unique_name
from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory, write_python_project

PROGRAM = """
import pulumi
from pulumi_kubevirt.provider import VirtualMachine

config = pulumi.Config()
# the value is derived in the program, so only the program (not plain stack config) ever holds it
cloud_init = {"user_data": "#cloud-config\\npassword: " + config.require("seed")[::-1]}
if config.get_bool("broken"):
    cloud_init["secret_name"] = "not-on-libvirt"  # a check failure on cloud_init
vm = VirtualMachine(
    config.require("name"),
    memory="64Mi",
    accelerator="tcg",
    run_state="stopped",
    cloud_init=cloud_init,
)
pulumi.export("state", vm.state)
pulumi.export("planned_change", vm.planned_change)
"""


def occurrences(root: Path, needle: str) -> list[str]:
    """Files under `root` whose bytes contain `needle`."""
    raw = needle.encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and raw in p.read_bytes()]


def test_plain_user_data_never_in_plaintext(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    project = write_python_project(tmp_path / "secrets", "pkv-secrets", {"__main__.py": PROGRAM})
    stack = pulumi_stacks(project, prefix="test-secrets")
    name = unique_name("sec")
    seeds = [secrets.token_hex(8) + "-tsrif", secrets.token_hex(8) + "-dnoces"]
    first, second = (seed[::-1] for seed in seeds)
    for key, value in (("name", name), ("seed", seeds[0])):
        pulumi_cli.run(["config", "set", key, value, "--stack", stack], cwd=project)  # plain config, not --secret

    printed: list[str] = []

    def run(*args: str, check: bool = True) -> str:
        proc = pulumi_cli.run([*args, "--stack", stack], cwd=project, check=check)
        printed.append(proc.stdout + proc.stderr)
        return proc.stdout + proc.stderr

    run("up", "--yes", "--skip-preview")
    assert libvirt_conn.lookupByName(name).isActive() == 0  # defined, stopped
    export = run("stack", "export")
    assert first not in export
    assert '"ciphertext"' in export  # the value is kept, encrypted

    pulumi_cli.run(["config", "set", "seed", seeds[1], "--stack", stack], cwd=project)
    diff = run("preview", "--diff")
    assert "cloud_init.user_data (secret changed)" in diff, diff
    run("up", "--yes", "--skip-preview")
    run("refresh", "--yes")

    pulumi_cli.run(["config", "set", "broken", "true", "--stack", stack], cwd=project)
    failed = run("preview", "--diff", check=False)
    assert "secret_name" in failed, failed  # the failure names the field ...
    pulumi_cli.run(["config", "rm", "broken", "--stack", stack], cwd=project)

    run("destroy", "--yes")
    run("stack", "rm", "--yes", "--force")
    pulumi_stacks.created.remove((project, stack))

    for text in printed:
        assert first not in text and second not in text
    # ... and nothing under the backend (state, history, backups that outlive `stack rm`) holds either value
    assert occurrences(pulumi_cli.backend_dir, first) == []
    assert occurrences(pulumi_cli.backend_dir, second) == []
