"""The NNCP wait's judges on recorded nmstate objects: a policy edit is applied only when every node's
enactment reports the new generation as Available (the policy's own Available is the old one's meanwhile)."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_kubevirt.provider.errors import OperationFailed
from pulumi_kubevirt.provider.kubevirt.parse import parse_enactments_current
from pulumi_kubevirt.provider.kubevirt.watching import changed_since, nncp_policy


def enactment(generation: int, available: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"node01.br-{generation}", "labels": {"nmstate.io/policy": "br"}},
        "status": {
            "policyGeneration": generation,
            "conditions": [
                {"type": "Available", "status": available},
                {"type": "Progressing", "status": "True" if available != "True" else "False"},
            ],
        },
    }


def policy(available: str, degraded: str = "False", version: str = "7") -> dict[str, Any]:
    return {
        "metadata": {"name": "br", "resourceVersion": version, "generation": 2},
        "status": {
            "conditions": [
                {"type": "Available", "status": available},
                {"type": "Degraded", "status": degraded, "message": "1/3 nodes failed to configure"},
            ]
        },
    }


@pytest.mark.parametrize(
    ("enactments", "current"),
    [
        ([], False),  # no node reported yet
        ([enactment(1, "True")], False),  # the old generation, still Available
        ([enactment(2, "False")], False),  # the new generation, still progressing
        ([enactment(2, "True"), enactment(1, "True")], False),  # one node behind
        ([enactment(2, "True"), enactment(2, "True")], True),
    ],
)
def test_enactments_current(enactments: list[dict[str, Any]], current: bool) -> None:
    assert parse_enactments_current(enactments, 2) is current


def test_policy_judges() -> None:
    assert nncp_policy(policy("True")) == policy("True")
    assert nncp_policy(policy("Unknown")) is None
    with pytest.raises(OperationFailed, match="nodes failed to configure"):
        nncp_policy(policy("False", degraded="True"))
    judge = changed_since("7")
    assert judge(policy("True", version="7")) is None
    assert judge(policy("True", version="8")) is True
    assert judge(None) is True
