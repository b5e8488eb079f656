"""Fixtures the kube tier's test modules share: the provider target on the test cluster (with the
node-side doubles running) and plain clients for reading and writing objects as another user would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.harness.doubles import NodeSideDoubles
from tests.harness.kube_fixtures import KubeCluster

from .cluster_objects import Cluster


@pytest.fixture
def target(kube_cluster: KubeCluster, kube_namespace: str, kubevirt_double: NodeSideDoubles) -> dict[str, Any]:
    """The VM/Disk/Bridge/Migration `target` input for this test's namespace."""
    return {"kind": "kubevirt", "kubeconfig": str(kube_cluster.kubeconfig), "namespace": kube_namespace}


@pytest.fixture
def cluster(kube_cluster: KubeCluster) -> Iterator[Cluster]:
    api_client = kube_cluster.api_client()
    yield Cluster(api_client)
    api_client.close()


@pytest.fixture
def custom(kube_cluster: KubeCluster) -> Iterator[k8s.CustomObjectsApi]:
    """A CustomObjectsApi client of the test cluster (as another client, not the provider)."""
    api_client = kube_cluster.api_client()
    yield k8s.CustomObjectsApi(api_client)
    api_client.close()
