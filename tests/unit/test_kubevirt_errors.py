"""The KubeVirt backend's error translator: what each apiserver status becomes."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from pulumi_kubevirt.provider.errors import BackendUnavailable, Conflict, InvalidSpec, NotAuthorized, NotFound
from pulumi_kubevirt.provider.kubevirt.client import translate


def api_error(status: int, message: str) -> ApiException:
    err = ApiException(status=status, reason="reason")
    err.body = json.dumps({"kind": "Status", "message": message})
    return err


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (401, NotAuthorized, "not authorized: the cluster rejected the kubeconfig's credentials"),
        (403, NotAuthorized, "forbidden: the kubeconfig's user lacks the RBAC permission"),
        (404, NotFound, "no such object"),
        (409, Conflict, "no such object"),
        (422, InvalidSpec, "no such object"),
        (503, BackendUnavailable, "no such object"),
    ],
)
def test_statuses(status: int, kind: type[Exception], says: str) -> None:
    err = translate(api_error(status, "no such object"), resource="vm1", doing="reading secrets/x")
    assert type(err) is kind
    assert says in str(err) and str(err).startswith("vm1: reading secrets/x: no such object")


def test_authorization_errors_are_not_backend_unavailable() -> None:
    """401/403 are not retried and never read as "the cluster is down"."""
    for status in (401, 403):
        assert not isinstance(translate(api_error(status, "x"), resource="r", doing="d"), BackendUnavailable)
