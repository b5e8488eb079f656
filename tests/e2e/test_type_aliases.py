"""A stack made when every kind registered as `pulumi-python:dynamic:Resource` keeps its resources
after the upgrade to the kinds' own tokens (`pulumi-python:dynamic/kubevirt:Disk`): the alias turns
the token change into no change at all, not a delete and create of the user's disk."""

from __future__ import annotations

from pathlib import Path

import libvirt

from tests.harness.guest import unique_name
from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory

LEGACY = """
import pulumi
from pulumi_kubevirt.provider.resources._dynamic import KindResource
from pulumi_kubevirt.provider.resources.disk import DiskProvider


class Disk(KindResource):  # the class as it was: no module/name, so pulumi-python:dynamic:Resource
    provider_class = DiskProvider


Disk("data", name=pulumi.Config().require("name"), size="1Mi", format="raw")
"""

CURRENT = """
import pulumi
from pulumi_kubevirt.provider import Disk

Disk("data", name=pulumi.Config().require("name"), size="1Mi", format="raw")
"""


def test_legacy_token_stack_upgrades_without_replacement(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    project, stack = pulumi_stacks.python(tmp_path / "aliases", "pkv-aliases", LEGACY, prefix="test-aliases")
    name = unique_name("alias")
    pulumi_cli.config(project, stack, {"name": name})
    assert pulumi_cli.up_changes(project, stack) == {"create": 2}
    types = {r["type"] for r in pulumi_cli.resources(project, stack)}
    assert "pulumi-python:dynamic:Resource" in types

    (project / "__main__.py").write_text(CURRENT)
    assert pulumi_cli.preview_changes(project, stack) == {"same": 2}
    assert pulumi_cli.up_changes(project, stack) == {"same": 2}
    types = {r["type"] for r in pulumi_cli.resources(project, stack)}
    assert "pulumi-python:dynamic/kubevirt:Disk" in types and "pulumi-python:dynamic:Resource" not in types
    pool = libvirt_conn.storagePoolLookupByName("default")
    pool.refresh(0)
    assert f"{name}.raw" in pool.listVolumes()  # the same volume, never recreated
