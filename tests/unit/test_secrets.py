"""Secret inputs are secret whatever the user passed (checked with Pulumi's mocks: no engine)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from pulumi_kubevirt.provider.kinds import VIRTUAL_MACHINE
from pulumi_kubevirt.provider.models import CloudInit, VirtualMachineArgs
from pulumi_kubevirt.provider.models.secrets import secret_fields
from pulumi_kubevirt.provider.schema import build_schema
from tests.support import pulumi_mocks
from tests.support.pulumi_mocks import RecordingMocks


@pytest.fixture
def mocks() -> RecordingMocks:
    return pulumi_mocks.install(preview=False)


def test_secret_fields_are_declared() -> None:
    assert secret_fields(VirtualMachineArgs) == ("cloud_init",)
    assert set(secret_fields(CloudInit)) == {"user_data", "network_data"}
    schema = build_schema()
    vm = schema["resources"]["kubevirt:index:VirtualMachine"]
    assert vm["inputProperties"]["cloud_init"]["secret"] is True
    cloud_init = schema["types"]["kubevirt:index:CloudInit"]["properties"]
    assert cloud_init["user_data"]["secret"] is True and cloud_init["network_data"]["secret"] is True
    assert "cloud_init_digest" not in vm["properties"]  # no digest of a secret in state, salted or not


@pulumi.runtime.test
def test_plain_user_data_becomes_a_secret(mocks: RecordingMocks) -> Any:
    from pulumi_kubevirt.provider import VirtualMachine

    vm = VirtualMachine("web", memory="256Mi", cloud_init={"user_data": "#cloud-config\npassword: hunter2"})

    def check(args: list[Any]) -> None:
        is_secret, cloud_init = args
        assert is_secret is True
        assert cloud_init["user_data"].endswith("hunter2")  # the value itself is kept, as a secret

    return pulumi.Output.all(pulumi.Output.from_input(vm.cloud_init.is_secret()), vm.cloud_init).apply(check)


def test_state_and_summary_hold_no_digest() -> None:
    old, _ = VIRTUAL_MACHINE.check(None, {"name": "vm1", "cloud_init": {"user_data": "a"}}, unknown=object())
    new, failures = VIRTUAL_MACHINE.check(old, {"name": "vm1", "cloud_init": {"user_data": "b"}}, unknown=object())
    assert failures == []
    assert "sha256" not in repr(new) and "sha256" not in new["planned_change"]
