"""`pulumi import` of objects made outside Pulumi, through the plugin and the real pulumi CLI.

Import is the one explicit act of adoption: the plugin's Read (with only the ID) reads
the object, never writes it, and the imported inputs say `adopt=True`, so the code
`pulumi import --out` generates declares the adoption. Each test here:

- makes the object the way a user of another tool would: `virsh define` on qemu:///system,
  a VirtualMachine POSTed by the kubernetes client on the kube tier;
- imports it into a Pulumi YAML project (the real `pulumi-language-yaml` generates the code)
  and compares the object with its snapshot: unchanged after the import, and after the
  `pulumi up` of the generated program, which reports no changes, and after a refresh;
- updates it (memory): the object now carries this stack's owner marker; `destroy` removes it;
- imports an object another stack manages: refused with a Conflict naming that stack,
  the object unchanged.

`VirtualMachine.get` (the generated Python SDK) reads a domain made outside Pulumi the same
way, and leaves it in place on destroy.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import libvirt
import pytest
from kubernetes import client as k8s

from pulumi_kubevirt.provider.kubevirt.render import FIELD_MANAGER, OWNER_RESOURCE, OWNER_STACK
from tests.harness import tools
from tests.harness.guest import unique_name
from tests.harness.kube_fixtures import KubeCluster
from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory, parse_json_stream, write_python_project

VM_TYPE = "kubevirt:index:VirtualMachine"


def yaml_project(directory: Path, name: str) -> Path:
    """A Pulumi YAML project with no resources yet (what `pulumi import` is run in)."""
    tools.tool("e2e", "pulumi-language-yaml")
    directory.mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text(f"name: {name}\nruntime: yaml\nresources: {{}}\n")
    return directory


def import_into(cli: PulumiCLI, project: Path, stack: str, logical: str, resource_id: str) -> str:
    """`pulumi import` of `resource_id` as `logical`; the generated YAML program becomes the project's program."""
    generated = project / "generated.yaml"
    args = ("import", VM_TYPE, logical, resource_id, "--yes", "--protect=false", "--out", str(generated))
    cli.stack_run(project, stack, *args)
    code = generated.read_text()
    header = (project / "Pulumi.yaml").read_text().split("resources:", 1)[0]
    (project / "Pulumi.yaml").write_text(header + code)
    return code


def refused_import(cli: PulumiCLI, project: Path, stack: str, resource_id: str) -> str:
    """The output of an import that must fail (and leave nothing in the state)."""
    args = ("import", VM_TYPE, "theirs", resource_id, "--yes", "--generate-code=false")
    proc = cli.stack_run(project, stack, *args, check=False)
    assert proc.returncode != 0, proc.stdout
    assert not [r for r in cli.resources(project, stack) if r["urn"].endswith("::theirs")]
    return proc.stdout + proc.stderr


def refresh_changes(cli: PulumiCLI, project: Path, stack: str) -> dict[str, int]:
    out = cli.stack_run(project, stack, "refresh", "--yes", "--skip-preview", "--json").stdout
    summaries = [e["summaryEvent"] for e in parse_json_stream(out) if "summaryEvent" in e]
    return {op: int(n) for op, n in summaries[-1]["resourceChanges"].items()}


def imported_state(cli: PulumiCLI, project: Path, stack: str, logical: str) -> dict[str, Any]:
    return next(r for r in cli.resources(project, stack) if r["type"] == VM_TYPE and r["urn"].endswith(f"::{logical}"))


# -- libvirt --------------------------------------------------------------------------------------
OWNER_PROGRAM = """
import pulumi

pulumi.CustomResource(
    "kubevirt:index:VirtualMachine",
    "vm",
    {"name": pulumi.Config().require("name"), "memory": "64Mi", "accelerator": "tcg", "run_state": "stopped"},
)
"""

GET_PROGRAM = """
import pulumi

import pulumi_kubevirt.sdk as kubevirt

seen = kubevirt.VirtualMachine.get("seen", pulumi.Config().require("id"))
pulumi.export("memory", seen.memory)
pulumi.export("adopt", seen.adopt)
pulumi.export("state", seen.state)
"""


def domain_snapshot(conn: libvirt.virConnect, name: str) -> tuple[str, str, tuple[int, int]]:
    """The persistent and the live definition and the state: what any write would change."""
    dom = conn.lookupByName(name)
    return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), dom.XMLDesc(0), tuple(dom.state())  # type: ignore[return-value]


def virsh_define(tmp_path: Path, name: str, memory_mib: int) -> None:
    xml = tmp_path / f"{name}.xml"
    xml.write_text(
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>{memory_mib}</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    subprocess.run(["virsh", "-c", "qemu:///system", "define", str(xml)], check=True, capture_output=True, timeout=60)


def test_import_a_domain_made_with_virsh(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    name = unique_name("vimp")
    virsh_define(tmp_path, name, 64)
    try:
        before = domain_snapshot(libvirt_conn, name)
        assert "pkv:owner" not in before[0]

        # VirtualMachine.get reads it without taking it over, and destroy leaves it.
        reader = write_python_project(tmp_path / "get", "pkv-import-get", {"__main__.py": GET_PROGRAM})
        get_stack = pulumi_stacks(reader, prefix="test-import")
        pulumi_cli.config(reader, get_stack, {"id": f"qemu:///system/{name}"})
        assert pulumi_cli.up_changes(reader, get_stack) == {"create": 1}  # the stack; a read is no change
        assert pulumi_cli.outputs(reader, get_stack) == {"memory": "64Mi", "adopt": True, "state": "stopped"}
        pulumi_cli.stack_run(reader, get_stack, "destroy", "--yes")
        assert domain_snapshot(libvirt_conn, name) == before

        project = yaml_project(tmp_path / "import", "pkv-import-libvirt")
        stack = pulumi_stacks(project, prefix="test-import")
        code = import_into(pulumi_cli, project, stack, "vm", f"qemu:///system/{name}")
        assert "adopt: true" in code and "memory: 64Mi" in code, code
        imported = imported_state(pulumi_cli, project, stack, "vm")
        assert imported["inputs"]["adopt"] is True and imported["outputs"]["state"] == "stopped"
        assert domain_snapshot(libvirt_conn, name) == before  # the import read it, nothing more

        assert pulumi_cli.up_changes(project, stack) == {"same": 2}  # the generated program is what is there
        assert refresh_changes(pulumi_cli, project, stack) == {"same": 2}  # the adopted domain reads back as is
        assert domain_snapshot(libvirt_conn, name) == before

        program = (project / "Pulumi.yaml").read_text()
        (project / "Pulumi.yaml").write_text(program.replace("memory: 64Mi", "memory: 96Mi"))
        assert pulumi_cli.up_changes(project, stack) == {"same": 1, "update": 1}
        dom = libvirt_conn.lookupByName(name)
        xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        assert f"<pkv:owner>pkv-import-libvirt/{stack}::vm</pkv:owner>" in xml  # the first update adopted it
        assert dom.maxMemory() == 96 * 1024
        assert pulumi_cli.up_changes(project, stack) == {"same": 2}

        pulumi_cli.stack_run(project, stack, "destroy", "--yes")
        with pytest.raises(libvirt.libvirtError):
            libvirt_conn.lookupByName(name)
    finally:
        leftover = [d for d in libvirt_conn.listAllDomains() if d.name() == name]
        for dom in leftover:
            dom.undefine()


def test_import_of_a_domain_another_stack_manages_is_refused(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    name = unique_name("vown")
    owner_project = write_python_project(tmp_path / "owner", "pkv-import-owner", {"__main__.py": OWNER_PROGRAM})
    owner_stack = pulumi_stacks(owner_project, prefix="test-import")
    pulumi_cli.config(owner_project, owner_stack, {"name": name})
    pulumi_cli.stack_run(owner_project, owner_stack, "up", "--yes", "--skip-preview")
    before = domain_snapshot(libvirt_conn, name)

    project = yaml_project(tmp_path / "import", "pkv-import-other")
    stack = pulumi_stacks(project, prefix="test-import")
    out = refused_import(pulumi_cli, project, stack, f"qemu:///system/{name}")
    assert f"domain {name} is managed by pkv-import-owner/{owner_stack}::vm, not by pkv-import-other/{stack}" in out
    assert "Traceback" not in out
    assert domain_snapshot(libvirt_conn, name) == before

    reader = write_python_project(tmp_path / "get", "pkv-import-get", {"__main__.py": GET_PROGRAM})
    get_stack = pulumi_stacks(reader, prefix="test-import")
    pulumi_cli.config(reader, get_stack, {"id": f"qemu:///system/{name}"})
    got = pulumi_cli.stack_run(reader, get_stack, "up", "--yes", "--skip-preview", check=False)
    assert got.returncode != 0 and f"managed by pkv-import-owner/{owner_stack}::vm" in got.stdout + got.stderr
    assert domain_snapshot(libvirt_conn, name) == before

    pulumi_cli.stack_run(owner_project, owner_stack, "destroy", "--yes")
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.lookupByName(name)


# -- KubeVirt (kube tier: apiserver and KubeVirt control plane of the harness) --------------------
VMS = ("kubevirt.io", "v1", "virtualmachines")


def kubectl_vm(custom: Any, ns: str, name: str, annotations: dict[str, str] | None = None) -> None:
    """A halted VM as `kubectl apply` of a hand-written manifest would make it (no Pulumi marker)."""
    body = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": "theirs"}, "annotations": annotations or {}},
        "spec": {
            "runStrategy": "Halted",
            "template": {"spec": {"domain": {"memory": {"guest": "128Mi"}, "devices": {}}}},
        },
    }
    custom.create_namespaced_custom_object(*VMS[:2], ns, VMS[2], body, field_manager="kubectl-client-side-apply")


def settled(custom: Any, ns: str, name: str, timeout: float = 90.0) -> dict[str, Any]:
    """The VM once its controllers are done with it: Stopped, and no new resourceVersion for 2 s."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] | None = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        obj: dict[str, Any] = custom.get_namespaced_custom_object(*VMS[:2], ns, VMS[2], name)
        version = obj["metadata"]["resourceVersion"]
        if last is None or last["metadata"]["resourceVersion"] != version:
            last, since = obj, time.monotonic()
        elif (obj.get("status") or {}).get("printableStatus") == "Stopped" and time.monotonic() - since >= 2.0:
            return obj
        time.sleep(0.5)
    raise AssertionError(f"VM {ns}/{name} did not settle within {timeout:.0f}s: {last}")


def essence(obj: dict[str, Any]) -> dict[str, Any]:
    """The VM without what its controllers may write (status): any write of ours changes the rest."""
    meta = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    meta["managedFields"] = [m for m in meta.get("managedFields") or [] if m.get("subresource") != "status"]
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def test_import_a_kubevirt_vm_made_with_the_kubernetes_client(
    tmp_path: Path,
    pulumi_cli: PulumiCLI,
    pulumi_stacks: StackFactory,
    kube_cluster: KubeCluster,
    kube_namespace: str,
    kubevirt_double: object,
) -> None:
    api_client = kube_cluster.api_client()
    custom: Any = k8s.CustomObjectsApi(api_client)
    try:
        name, theirs = f"test-kimp-{secrets.token_hex(3)}", f"test-kown-{secrets.token_hex(3)}"
        kubectl_vm(custom, kube_namespace, name)
        kubectl_vm(custom, kube_namespace, theirs, {OWNER_STACK: "team-b/prod", OWNER_RESOURCE: "web"})
        before = settled(custom, kube_namespace, name)
        theirs_before = settled(custom, kube_namespace, theirs)

        project = yaml_project(tmp_path / "import", "pkv-import-kube")
        stack = pulumi_stacks(project, prefix="test-import")
        config = {"kubevirt:targetKind": "kubevirt", "kubevirt:kubeconfig": str(kube_cluster.kubeconfig)}
        pulumi_cli.config(project, stack, config)

        out = refused_import(pulumi_cli, project, stack, f"kubevirt:{kube_namespace}/{theirs}")
        assert f"VirtualMachine {kube_namespace}/{theirs} is managed by team-b/prod::web" in out, out
        assert custom.get_namespaced_custom_object(*VMS[:2], kube_namespace, VMS[2], theirs) == theirs_before

        code = import_into(pulumi_cli, project, stack, "vm", f"kubevirt:{kube_namespace}/{name}")
        assert "adopt: true" in code and "memory: 128Mi" in code and "team: theirs" in code, code
        assert essence(custom.get_namespaced_custom_object(*VMS[:2], kube_namespace, VMS[2], name)) == essence(before)

        assert pulumi_cli.up_changes(project, stack) == {"same": 2}
        assert refresh_changes(pulumi_cli, project, stack) == {"same": 2}
        after_noop = custom.get_namespaced_custom_object(*VMS[:2], kube_namespace, VMS[2], name)
        assert essence(after_noop) == essence(before)
        assert FIELD_MANAGER not in {m.get("manager") for m in after_noop["metadata"].get("managedFields") or []}

        program = (project / "Pulumi.yaml").read_text()
        (project / "Pulumi.yaml").write_text(program.replace("memory: 128Mi", "memory: 192Mi"))
        assert pulumi_cli.up_changes(project, stack) == {"same": 1, "update": 1}
        updated = custom.get_namespaced_custom_object(*VMS[:2], kube_namespace, VMS[2], name)
        assert updated["metadata"]["annotations"][OWNER_STACK] == f"pkv-import-kube/{stack}"
        assert updated["metadata"]["annotations"][OWNER_RESOURCE] == "vm"
        assert updated["spec"]["template"]["spec"]["domain"]["memory"]["guest"] == "192Mi"
        assert pulumi_cli.up_changes(project, stack) == {"same": 2}

        pulumi_cli.stack_run(project, stack, "destroy", "--yes")
        names = {
            i["metadata"]["name"]
            for i in custom.list_namespaced_custom_object(*VMS[:2], kube_namespace, VMS[2])["items"]
        }
        assert name not in names and theirs in names
    finally:
        api_client.close()
