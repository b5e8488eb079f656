"""Resources register under meaningful type tokens (never `pulumi-python:dynamic:Resource`), with an
alias to that legacy token so stacks made before keep their resources."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from pulumi_kubevirt.provider.resources._dynamic import LEGACY_TYPE
from tests.support import pulumi_mocks
from tests.support.pulumi_mocks import RecordingMocks


@pytest.fixture
def mocks() -> RecordingMocks:
    return pulumi_mocks.install(preview=True)


@pulumi.runtime.test
def test_each_kind_has_its_own_token(mocks: RecordingMocks) -> Any:
    from pulumi_kubevirt.provider import Bridge, Disk, Migration, VirtualMachine

    lan = Bridge("lan", mode="nat")
    disk = Disk("root", size="1Gi")
    vm = VirtualMachine("web", disks=[{"name": "root", "disk": disk}], interfaces=[{"name": "nic0", "bridge": lan}])
    move = Migration("move", vm=vm, destination_uri="qemu+tcp://b/system")

    def check(_: Any) -> None:
        assert mocks.tokens == {
            "lan": "pulumi-python:dynamic/kubevirt:Bridge",
            "root": "pulumi-python:dynamic/kubevirt:Disk",
            "web": "pulumi-python:dynamic/kubevirt:VirtualMachine",
            "move": "pulumi-python:dynamic/kubevirt:Migration",
        }
        assert LEGACY_TYPE not in mocks.tokens.values()

    return pulumi.Output.all(lan.urn, disk.urn, vm.urn, move.urn).apply(check)
