"""The router example (Router + two BridgedNetworks: DataVolume root disk, cloud-init Secret, two NICs on NAD bridges)
through the real pulumi CLI against the real kube-apiserver (+ the KubeVirt test double).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from kubernetes import client as k8s

from tests.harness import tools
from tests.harness.doubles import NodeSideDoubles
from tests.harness.kube_fixtures import KubeCluster
from tests.harness.pulumi_fixtures import VENV, PulumiCLI, StackFactory


def names(custom: k8s.CustomObjectsApi, group: str, version: str, plural: str, ns: str | None) -> list[str]:
    if ns is None:
        items = custom.list_cluster_custom_object(group, version, plural)["items"]
    else:
        items = custom.list_namespaced_custom_object(group, version, ns, plural)["items"]
    return sorted(i["metadata"]["name"] for i in items)


def test_router_stack_up_noop_diff_destroy(
    tmp_path: Path,
    pulumi_cli: PulumiCLI,
    pulumi_stacks: StackFactory,
    kube_cluster: KubeCluster,
    kube_namespace: str,
    kubevirt_double: NodeSideDoubles,
) -> None:
    project = tmp_path / "kubevirt-router"
    shutil.copytree(tools.REPO / "examples" / "kubevirt-router", project)
    shutil.copy(tools.REPO / "examples" / "_target.py", tmp_path / "_target.py")
    text = (project / "Pulumi.yaml").read_text().replace("virtualenv: ../../.venv", f"virtualenv: {VENV}")
    (project / "Pulumi.yaml").write_text(text)
    stack = pulumi_stacks(project, prefix="test-kube")
    pulumi_cli.config(
        project, stack, {"kubeconfig": str(kube_cluster.kubeconfig), "namespace": kube_namespace, "rootSize": "2Gi"}
    )

    assert pulumi_cli.up_changes(project, stack) == {"create": 8}  # 5 resources + 3 components
    outputs = pulumi_cli.outputs(project, stack)
    assert outputs["router_status"] == "Running"
    assert set(outputs["router_ips"]) == {"lan", "dmz"}
    api_client = kube_cluster.api_client()
    custom = k8s.CustomObjectsApi(api_client)
    assert names(custom, "kubevirt.io", "v1", "virtualmachines", kube_namespace) == ["opnsense"]
    assert names(custom, "cdi.kubevirt.io", "v1beta1", "datavolumes", kube_namespace) == ["opnsense-root"]
    assert names(custom, "k8s.cni.cncf.io", "v1", "network-attachment-definitions", kube_namespace) == [
        "br-lan",
        "br-web",
    ]
    assert {"br-lan", "br-web"} <= set(names(custom, "nmstate.io", "v1", "nodenetworkconfigurationpolicies", None))
    secret = k8s.CoreV1Api(api_client).read_namespaced_secret("opnsense-cloudinit", kube_namespace)
    assert secret.data["userdata"]
    state = pulumi_cli.stack_run(project, stack, "stack", "export").stdout
    assert "hostname: opnsense" not in state  # the user data is a secret: never in the state

    assert pulumi_cli.up_changes(project, stack) == {"same": 8}

    pulumi_cli.config(project, stack, {"memory": "3Gi"})
    diff = pulumi_cli.stack_run(project, stack, "preview", "--diff").stdout
    # (the CLI pads property names to the longest one shown)
    assert re.search(r'planned_change\s*: "[^"]*" => "restart: memory 2Gi->3Gi"', diff), diff
    assert pulumi_cli.preview_changes(project, stack) == {"same": 7, "update": 1}

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    assert names(custom, "kubevirt.io", "v1", "virtualmachines", kube_namespace) == []
    assert names(custom, "cdi.kubevirt.io", "v1beta1", "datavolumes", kube_namespace) == []
    assert names(custom, "k8s.cni.cncf.io", "v1", "network-attachment-definitions", kube_namespace) == []
    assert not {"br-lan", "br-web"} & set(names(custom, "nmstate.io", "v1", "nodenetworkconfigurationpolicies", None))
    api_client.close()
