"""Explicit provider instances of the plugin through the real pulumi CLI, on the kube tier.

One program holds two `kubevirt` Provider resources: one gets the kubeconfig as *content*
(read from a file by the program and passed as a plain string), the other as a file path,
each with its own namespace; a VM is declared through each, and one is re-imported by its ID
(`pulumi import ... --provider`). The content is made secret by
the plugin's CheckConfig: neither the apiserver token nor the kubeconfig text appears in
the state, the backend's files, or anything the CLI prints. (Both providers reach the
one apiserver of the kube tier: two clusters would need a second control plane.)
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from tests.harness.doubles import NodeSideDoubles
from tests.harness.kube_fixtures import KubeCluster
from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory

PROGRAM = """
import pulumi

config = pulumi.Config()
with open(config.require("kubeconfigFile")) as handle:
    content = handle.read()  # a plain string: the plugin makes it a secret
a = pulumi.ProviderResource(
    "kubevirt", "cluster-a", {"targetKind": "kubevirt", "kubeconfig": content, "namespace": config.require("nsA")}
)
b = pulumi.ProviderResource(
    "kubevirt",
    "cluster-b",
    {"targetKind": "kubevirt", "kubeconfig": config.require("kubeconfigFile"), "namespace": config.require("nsB")},
)
for provider, label in ((a, "a"), (b, "b")):
    vm = pulumi.CustomResource(
        "kubevirt:index:VirtualMachine",
        f"vm-{label}",
        {"name": "web", "memory": config.get("memory") or "128Mi", "run_state": "stopped", "state": None},
        opts=pulumi.ResourceOptions(provider=provider),
    )
    pulumi.export(f"state_{label}", vm.state)
"""


def vm_names(custom: Any, namespace: str) -> list[str]:
    items = custom.list_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines")["items"]
    return sorted(i["metadata"]["name"] for i in items)


def test_two_explicit_providers_and_a_secret_kubeconfig(
    tmp_path: Path,
    pulumi_cli: PulumiCLI,
    pulumi_stacks: StackFactory,
    kube_cluster: KubeCluster,
    kube_namespace: str,
    kubevirt_double: NodeSideDoubles,
) -> None:
    api_client = kube_cluster.api_client()
    core: Any = k8s.CoreV1Api(api_client)
    custom: Any = k8s.CustomObjectsApi(api_client)
    other = f"test-{secrets.token_hex(4)}"
    core.create_namespace(body={"metadata": {"name": other, "labels": {"pulumi-kubevirt.io/test": "true"}}})
    try:
        project, stack = pulumi_stacks.python(
            tmp_path / "plugin-providers", "pkv-plugin-providers", PROGRAM, prefix="test-plugin"
        )
        pulumi_cli.config(
            project, stack, {"kubeconfigFile": str(kube_cluster.kubeconfig), "nsA": kube_namespace, "nsB": other}
        )
        token = kube_cluster.token
        content = kube_cluster.kubeconfig.read_text()

        start = len(pulumi_cli.printed)
        pulumi_cli.stack_run(project, stack, "up", "--yes", "--skip-preview")
        assert vm_names(custom, kube_namespace) == ["web"]
        assert vm_names(custom, other) == ["web"]
        assert pulumi_cli.up_changes(project, stack) == {"same": 5}

        # `pulumi import` of the KubeVirt VM by its ID, through the explicit provider holding the
        # kubeconfig content: forget vm-a, import it, and the program's next `up` changes nothing.
        resources = pulumi_cli.resources(project, stack)
        vm_a = next(r for r in resources if r["urn"].endswith("::vm-a"))
        provider_a = vm_a["provider"].rsplit("::", 1)[0]  # state keeps `urn::id`; --provider wants the URN
        pulumi_cli.stack_run(project, stack, "state", "delete", "--yes", vm_a["urn"])
        pulumi_cli.stack_run(
            project,
            stack,
            "import",
            "kubevirt:index:VirtualMachine",
            "vm-a",
            f"kubevirt:{kube_namespace}/web",
            "--provider",
            f"cluster-a={provider_a}",
            "--yes",
            "--protect=false",
            "--generate-code=false",
        )
        imported = next(r for r in pulumi_cli.resources(project, stack) if r["urn"].endswith("::vm-a"))
        assert imported["id"] == f"kubevirt:{kube_namespace}/web"
        assert imported["inputs"]["memory"] == "128Mi" and imported["inputs"]["run_state"] == "stopped"
        assert pulumi_cli.up_changes(project, stack) == {"same": 5}

        pulumi_cli.config(project, stack, {"memory": "256Mi"})
        diff = pulumi_cli.stack_run(project, stack, "preview", "--diff").stdout
        assert diff.count('"128Mi" => "256Mi"') == 2, diff
        pulumi_cli.stack_run(project, stack, "up", "--yes", "--skip-preview")
        export = pulumi_cli.stack_run(project, stack, "stack", "export").stdout
        assert '"ciphertext"' in export  # the provider's kubeconfig input is kept encrypted

        pulumi_cli.stack_run(project, stack, "destroy", "--yes")
        assert vm_names(custom, kube_namespace) == [] and vm_names(custom, other) == []

        for text in pulumi_cli.printed[start:]:
            assert token not in text
        assert pulumi_cli.backend_files_holding(token) == []
        assert pulumi_cli.backend_files_holding(content.splitlines()[0] + "\n" + content.splitlines()[1]) == []
    finally:
        with contextlib.suppress(k8s.ApiException):
            core.delete_namespace(other, propagation_policy="Background")
        api_client.close()
