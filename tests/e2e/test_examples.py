"""The examples through the real pulumi CLI, and through both adapters.

- Every example previews with no cluster or hypervisor reachable (the CI-preview
  guarantee: check/diff do no I/O, so `pulumi preview` of a stack whose targets are
  unreachable still shows what would happen). The examples that declare resources
  through `_target.resources()` preview through both adapters with the same plan:
  the dynamic resources and, with `pulumi config set adapter plugin`, the plugin's SDK.
- Parity on the kube tier: `kubevirt-testvm` goes up through each adapter in turn
  with the same outcome: the same outputs, the same VirtualMachine and cloud-init
  Secret on the apiserver, a no-op second `up`, and a clean destroy.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.harness import tools
from tests.harness.kube_fixtures import KubeCluster
from tests.harness.pulumi_fixtures import VENV, PulumiCLI, StackFactory

EXAMPLES = sorted(p.parent for p in (tools.REPO / "examples").glob("*/Pulumi.yaml"))
EXPECTED = {
    "kubevirt-testvm": 1,
    "kubevirt-cloudinit-ssh": 1,
    "kubevirt-router": 7,  # Router + 2 BridgedNetworks, composing 2 Bridges, a Disk and a VM
    "kubevirt-datavolumes": 2,
    "libvirt-live-migration": 2,
    "kubevirt-server": 3,  # Server: a Disk and a VM
    "kubevirt-bridged-network": 6,  # BridgedNetwork (a Bridge) + 2 Servers (a VM each)
    "libvirt-vm-pool": 10,  # BridgedNetwork (a Bridge), a base Disk, VmPool (3 x a Disk and a VM)
    "kubevirt-instancetype-snapshot": 4,  # Instancetype, Preference, VM, Snapshot
}
SWITCHABLE = {"kubevirt-testvm", "kubevirt-cloudinit-ssh", "kubevirt-datavolumes", "kubevirt-instancetype-snapshot"}
"""Examples that declare their resources through `_target.resources()` (the others compose
components, which are built on the dynamic resources)."""
CASES = [(p, "dynamic") for p in EXAMPLES] + [(p, "plugin") for p in EXAMPLES if p.name in SWITCHABLE]


def copy_example(example: Path, tmp_path: Path) -> Path:
    project = tmp_path / example.name
    shutil.copytree(example, project)
    shutil.copy(tools.REPO / "examples" / "_target.py", tmp_path / "_target.py")
    text = (project / "Pulumi.yaml").read_text().replace("virtualenv: ../../.venv", f"virtualenv: {VENV}")
    (project / "Pulumi.yaml").write_text(text)
    return project


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES) == sorted(EXPECTED)
    for example in EXAMPLES:
        switchable = "resources()." in (example / "__main__.py").read_text()
        assert switchable == (example.name in SWITCHABLE), example.name


@pytest.mark.parametrize(("example", "adapter"), CASES, ids=lambda v: v.name if isinstance(v, Path) else v)
def test_example_previews_offline(
    example: Path, adapter: str, tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory
) -> None:
    project = copy_example(example, tmp_path)
    stack = pulumi_stacks(project, prefix="test-example")
    pulumi_cli.config(project, stack, {"adapter": adapter})
    # nothing answers here: no kubeconfig, and libvirt URIs of hosts that do not exist
    env = {"KUBECONFIG": str(tmp_path / "no-such-kubeconfig")}
    out = json.loads(pulumi_cli.stack_run(project, stack, "preview", "--json", env_extra=env).stdout)
    assert out["changeSummary"] == {"create": EXPECTED[example.name] + 1}  # + the stack itself
    types = {s["newState"]["type"] for s in out["steps"] if s["newState"].get("custom")}
    ours = {t for t in types if "kubevirt" in t and not t.startswith("pulumi:providers:")}  # not components
    if adapter == "plugin":
        assert ours and all(t.startswith("kubevirt:index:") for t in ours), types
    else:
        assert ours and all(t.startswith("pulumi-python:dynamic/kubevirt:") for t in ours), types


# -- parity on the kube tier -------------------------------------------------------------------------
def cluster_objects(api_client: k8s.ApiClient, ns: str) -> dict[str, Any]:
    """The VMs and Secrets in `ns`, reduced to what the program declared (no server-set metadata,
    no owner marker: that names the project and stack, which differ by construction; no firmware
    uuid/serial, which KubeVirt draws per VM)."""
    custom: Any = k8s.CustomObjectsApi(api_client)
    core: Any = k8s.CoreV1Api(api_client)
    vms = custom.list_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines")["items"]
    secrets = core.list_namespaced_secret(ns).items
    for vm in vms:
        # virt-api's mutating webhook gives every VM its own firmware uuid and serial.
        firmware = vm["spec"].get("template", {}).get("spec", {}).get("domain", {}).get("firmware", {})
        for key in ("uuid", "serial"):
            firmware.pop(key, None)
    return {
        "vms": {v["metadata"]["name"]: {"labels": v["metadata"].get("labels"), "spec": v["spec"]} for v in vms},
        "secrets": {
            s.metadata.name: {k: base64.b64decode(v).decode() for k, v in (s.data or {}).items()}
            for s in secrets
            if s.type != "kubernetes.io/service-account-token"
        },
    }


@pytest.mark.parametrize("example", ["kubevirt-testvm"])
def test_example_through_both_adapters(
    example: str,
    tmp_path: Path,
    pulumi_cli: PulumiCLI,
    pulumi_stacks: StackFactory,
    kube_cluster: KubeCluster,
    kube_namespace: str,
    kubevirt_double: object,
) -> None:
    api_client = kube_cluster.api_client()
    results: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    try:
        for adapter in ("dynamic", "plugin"):
            project = copy_example(tools.REPO / "examples" / example, tmp_path / adapter)
            stack = pulumi_stacks(project, prefix="test-parity")
            pulumi_cli.config(
                project,
                stack,
                {"adapter": adapter, "kubeconfig": str(kube_cluster.kubeconfig), "namespace": kube_namespace},
            )
            assert pulumi_cli.up_changes(project, stack) == {"create": EXPECTED[example] + 1}, adapter
            results[adapter] = (pulumi_cli.outputs(project, stack), cluster_objects(api_client, kube_namespace))
            assert pulumi_cli.up_changes(project, stack) == {"same": EXPECTED[example] + 1}, adapter
            pulumi_cli.stack_run(project, stack, "destroy", "--yes")
            assert cluster_objects(api_client, kube_namespace) == {"vms": {}, "secrets": {}}, adapter
    finally:
        api_client.close()
    (dyn_outputs, dyn_objects), (plug_outputs, plug_objects) = results["dynamic"], results["plugin"]
    assert plug_outputs == dyn_outputs
    assert plug_objects == dyn_objects
    assert dyn_outputs["planned_change"] == "create" and dyn_objects["vms"] and dyn_objects["secrets"]
