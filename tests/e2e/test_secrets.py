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
from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory

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


def test_plain_user_data_never_in_plaintext(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    project, stack = pulumi_stacks.python(tmp_path / "secrets", "pkv-secrets", PROGRAM, prefix="test-secrets")
    name = unique_name("sec")
    seeds = [secrets.token_hex(8) + "-tsrif", secrets.token_hex(8) + "-dnoces"]
    first, second = (seed[::-1] for seed in seeds)
    start = len(pulumi_cli.printed)
    pulumi_cli.config(project, stack, {"name": name, "seed": seeds[0]})  # plain config, not --secret

    pulumi_cli.stack_run(project, stack, "up", "--yes", "--skip-preview")
    assert libvirt_conn.lookupByName(name).isActive() == 0  # defined, stopped
    export = pulumi_cli.stack_run(project, stack, "stack", "export").stdout
    assert first not in export
    assert '"ciphertext"' in export  # the value is kept, encrypted

    pulumi_cli.config(project, stack, {"seed": seeds[1]})
    diff = pulumi_cli.stack_run(project, stack, "preview", "--diff").stdout
    assert "cloud_init.user_data (secret changed)" in diff, diff
    pulumi_cli.stack_run(project, stack, "up", "--yes", "--skip-preview")
    pulumi_cli.stack_run(project, stack, "refresh", "--yes")

    pulumi_cli.config(project, stack, {"broken": "true"})
    failed = pulumi_cli.stack_run(project, stack, "preview", "--diff", check=False)
    assert "secret_name" in failed.stdout + failed.stderr, failed  # the failure names the field ...
    pulumi_cli.stack_run(project, stack, "config", "rm", "broken")

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    pulumi_cli.stack_run(project, stack, "stack", "rm", "--yes", "--force")
    pulumi_stacks.created.remove((project, stack))

    for text in pulumi_cli.printed[start:]:
        assert first not in text and second not in text
    # ... and nothing under the backend (state, history, backups that outlive `stack rm`) holds either value
    assert pulumi_cli.backend_files_holding(first) == []
    assert pulumi_cli.backend_files_holding(second) == []
