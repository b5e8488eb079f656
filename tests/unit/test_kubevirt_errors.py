"""The KubeVirt backend's error translator on recorded apiserver answers: a 422's field causes name the
input field they come from (or their raw path), 401/403 are authorization errors that say so."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from pulumi_kubevirt.provider.errors import InvalidSpec, NotAuthorized, OperationFailed
from pulumi_kubevirt.provider.kubevirt.client import translate
from pulumi_kubevirt.provider.kubevirt.parse import parse_cause_field


def answer(status: int, reason: str, body: dict[str, Any] | None) -> ApiException:
    err = ApiException(status=status, reason=reason)
    err.body = json.dumps(body) if body is not None else None
    return err


def invalid(message: str, *fields: str) -> dict[str, Any]:
    """A 422 Status as the apiserver (or KubeVirt's admission webhook) returns it."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Invalid",
        "details": {
            "name": "vm1",
            "group": "kubevirt.io",
            "kind": "VirtualMachine",
            "causes": [{"reason": "FieldValueInvalid", "message": message, "field": f} for f in fields],
        },
        "code": 422,
    }


MASQUERADE = "spec.template.spec.domain.devices.interfaces[0].masquerade"


def test_a_webhook_cause_names_the_input_field() -> None:
    message = (
        'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: '
        "Masquerade interface only implemented with pod network"
    )
    err = translate(
        answer(
            422, "Unprocessable Entity", invalid(message, "spec.template.spec.domain.devices.interfaces[0].masquerade")
        ),
        resource="vm1",
        doing="creating virtualmachines/vm1",
    )
    assert isinstance(err, InvalidSpec)
    assert err.field == "interfaces[0].binding"
    assert str(err) == f"vm1: interfaces[0].binding: creating virtualmachines/vm1: {message}"


def test_an_unmapped_cause_shows_its_raw_path_and_a_mapped_one_wins() -> None:
    raw = "spec.template.spec.domain.devices.watchdog.i6300esb.action"
    err = translate(answer(422, "Unprocessable Entity", invalid("bad action", raw)), resource="vm1", doing="applying")
    assert isinstance(err, InvalidSpec) and err.field == raw and str(err).startswith(f"vm1: {raw}: applying")
    both = invalid("two problems", raw, "spec.template.spec.networks[1].multus.networkName")
    assert (
        translate(answer(422, "Unprocessable Entity", both), resource="vm1", doing="x").field == "interfaces[1].network"
    )
    plain = translate(answer(400, "Bad Request", {"kind": "Status", "message": "bad"}), resource="vm1", doing="x")
    assert isinstance(plain, InvalidSpec) and plain.field is None and str(plain) == "vm1: x: bad"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("spec.template.spec.domain.devices.interfaces[2].bridge", "interfaces[2].binding"),
        ("spec.template.spec.domain.devices.interfaces[0].sriov", "interfaces[0].binding"),
        ("spec.template.spec.domain.devices.interfaces[0].macAddress", "interfaces[0].mac"),
        ("spec.template.spec.networks[0].pod", "interfaces[0].pod"),
        ("spec.template.spec.domain.devices.disks[1].disk.bus", "disks[1].bus"),
        ("spec.template.spec.domain.devices.disks[0].bootOrder", "disks[0].boot_order"),
        ("spec.template.spec.domain.memory.guest", "memory"),
        ("spec.template.spec.domain.cpu.sockets", "cpu.sockets"),
        ("spec.runStrategy", "kubevirt.run_strategy"),
        ("spec.storage.resources.requests.storage", "size"),
        ("metadata.labels", "labels"),
        ("metadata.name", "name"),
        ("spec.template.spec.domain.devices.watchdog", None),
    ],
)
def test_cause_paths(raw: str, field: str | None) -> None:
    assert parse_cause_field(raw) == field


def test_401_and_403_are_authorization_errors_that_say_so() -> None:
    unauthorized = translate(
        answer(401, "Unauthorized", {"kind": "Status", "message": "Unauthorized", "code": 401}),
        resource="vm1",
        doing="reading virtualmachines/vm1",
    )
    assert isinstance(unauthorized, NotAuthorized) and isinstance(unauthorized, OperationFailed)
    assert "not authorized" in str(unauthorized) and "renew the token" in str(unauthorized)
    forbidden = translate(
        answer(
            403,
            "Forbidden",
            {
                "kind": "Status",
                "message": 'virtualmachines.kubevirt.io "vm1" is forbidden: User "dev" cannot get resource',
                "reason": "Forbidden",
                "code": 403,
            },
        ),
        resource="vm1",
        doing="reading virtualmachines/vm1",
    )
    assert isinstance(forbidden, NotAuthorized) and "forbidden" in str(forbidden) and "RBAC" in str(forbidden)
