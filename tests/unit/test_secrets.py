"""Secret inputs are secret whatever the user passed (checked with Pulumi's mocks: no engine)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pydantic import Field

from pulumi_kubevirt.provider.core import ResourceKind
from pulumi_kubevirt.provider.kinds import BRIDGE, DISK, MIGRATION, VIRTUAL_MACHINE
from pulumi_kubevirt.provider.models import CloudInit, VirtualMachineArgs
from pulumi_kubevirt.provider.models.common import Model
from pulumi_kubevirt.provider.models.secrets import ANY_KEY, SECRET, secret_fields, secret_paths
from pulumi_kubevirt.provider.plugin import adapter
from pulumi_kubevirt.provider.plugin.values import property_map
from pulumi_kubevirt.provider.resources._dynamic import DynamicAdapter, KindResource
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


# -- one source: the SECRET marker on the model ---------------------------------------------------
class _Vault(Model):
    token: str | None = Field(None, json_schema_extra=SECRET)
    label: str | None = None


class _Key(Model):
    name: str
    passphrase: str | None = Field(None, json_schema_extra=SECRET)


class _PlantedArgs(Model):
    """A kind that only declares its secrets on the model, nested below plain fields."""

    name: str
    vault: _Vault | None = None
    keys: list[_Key] = Field(default_factory=list)
    note: str | None = None


_PLANTED = ResourceKind(
    type_name="kubevirt:index:Planted",
    model=_PlantedArgs,
    rules={"libvirt": []},
    default={"libvirt": "restart"},
    output_keys=frozenset(),
)


class _PlantedProvider(DynamicAdapter):
    kind = _PLANTED


class _Planted(KindResource, module="kubevirt", name="Planted"):
    provider_class = _PlantedProvider


def test_derived_secret_paths_are_the_ones_declared_by_hand_before() -> None:
    """What kinds.py and plan.py listed by hand, now read off the markers of the models."""
    assert [p for p in VIRTUAL_MACHINE.secret_paths if len(p) > 1] == [
        ("cloud_init", "user_data"),
        ("cloud_init", "network_data"),
    ]
    assert VIRTUAL_MACHINE.secret_paths[0] == ("cloud_init",)
    assert secret_paths(_PlantedArgs) == (("vault", "token"), ("keys", ANY_KEY, "passphrase"))
    assert secret_fields(_PlantedArgs) == ("vault", "keys")
    for kind in (DISK, BRIDGE, MIGRATION):
        assert kind.secret_paths == ()


def test_a_new_nested_secret_is_masked_in_plan_check_and_diff() -> None:
    old = {"name": "p1", "vault": {"token": "old-token-1", "label": "a"}, "keys": [{"name": "k", "passphrase": "pp-1"}]}
    new = {"name": "p1", "vault": {"token": "new-token-2", "label": "b"}, "keys": [{"name": "k", "passphrase": "pp-2"}]}
    summary = _PLANTED.plan(old, new).summary()
    assert summary == "restart: keys[k].passphrase (secret changed), vault.label a->b, vault.token (secret changed)"
    checked_old, _ = _PLANTED.check(None, old, unknown=object())
    checked_new, failures = _PLANTED.check(checked_old, new, unknown=object())
    assert failures == [] and checked_new["planned_change"] == summary
    assert adapter.diff(_PLANTED, checked_old, checked_new).summary == summary
    for value in ("old-token-1", "new-token-2", "pp-1", "pp-2"):
        assert value not in summary
    assert VIRTUAL_MACHINE.plan(
        {"name": "vm1", "cloud_init": {"user_data": "hunter1"}}, {"name": "vm1", "cloud_init": {"user_data": "hunter2"}}
    ).summary().endswith("cloud_init.user_data (secret changed)")


def test_a_new_nested_secret_is_marked_secret_by_the_plugin() -> None:
    assert adapter.secret_inputs(_PLANTED, set()) == {"vault", "keys"}
    state = {"name": "p1", "vault": {"token": "t", "label": "l"}, "keys": [], "note": "n"}
    wire = property_map(state, secrets=adapter.secret_inputs(_PLANTED, set()))
    assert wire["vault"].is_secret and wire["keys"].is_secret
    assert not wire["note"].is_secret and not wire["name"].is_secret


@pulumi.runtime.test
def test_a_new_nested_secret_is_marked_secret_by_the_dynamic_resource(mocks: RecordingMocks) -> Any:
    planted = _Planted("p1", vault={"token": "plain-token", "label": "l"}, note="n")

    def check(args: list[Any]) -> None:
        vault_secret, note_secret, vault = args
        assert vault_secret is True and note_secret is False
        assert vault["token"] == "plain-token"  # the value is kept, as a secret

    vault, note = planted.vault, planted.note  # type: ignore[attr-defined]
    return pulumi.Output.all(
        pulumi.Output.from_input(vault.is_secret()), pulumi.Output.from_input(note.is_secret()), vault
    ).apply(check)
