"""Wrong inputs through the real pulumi CLI: `pulumi preview` fails cleanly, naming the
resource and the field, with no Python traceback and no secret in the output.

These are the inputs that used to crash the program (`disks="root"`, an unparsable
customTimeouts value, a Python set), fail only at `up` (a control character, a
5000-digit memory) or pass wrongly (1 EiB, sockets=True, `..` paths, file:// URLs,
Kubernetes names that cannot exist, a migration to the same host under another URI).
Preview does no I/O: no hypervisor or cluster is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory, write_python_project

SECRET = "pw-9f8e7d6c5b4a"

PROGRAM = f"""
import pulumi
from pulumi_kubevirt.provider import Bridge, Disk, Migration, VirtualMachine

KUBE = {{"kind": "kubevirt", "namespace": "vms"}}
HOST = {{"kind": "libvirt", "uri": "qemu+tcp://10.77.0.1/system"}}
case = pulumi.Config().require("case")
if case == "disks-str":
    VirtualMachine("bad", disks="root", accelerator="tcg")
elif case == "interfaces-dict":
    VirtualMachine("bad", interfaces={{"name": "nic0", "network": "lan"}}, accelerator="tcg")
elif case == "timeouts":
    Disk("bad", size="1Gi", opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="soon")))
elif case == "python-set":
    VirtualMachine("bad", memory={{"1Gi"}}, accelerator="tcg")
elif case == "control-char":
    VirtualMachine("bad", description="ring \\x07 the bell", accelerator="tcg")
elif case == "memory-digits":
    VirtualMachine("bad", memory="9" * 5000, accelerator="tcg")
elif case == "memory-eib":
    VirtualMachine("bad", memory="1Ei", accelerator="tcg")
elif case == "sockets-bool":
    VirtualMachine("bad", cpu={{"sockets": True}}, accelerator="tcg")
elif case == "relative-path":
    VirtualMachine("bad", disks=[{{"name": "r", "path": "../../etc/passwd"}}], accelerator="tcg")
elif case == "pool-path":
    Disk("bad", size="1Gi", pool_path="/var/lib/libvirt/../../../etc")
elif case == "tiny-disk":
    Disk("bad", size="10")
elif case == "registry-file":
    Disk("bad", size="1Gi", target=KUBE, source={{"kind": "registry", "url": "file:///etc/passwd"}})
elif case == "storage-class":
    Disk("bad", size="1Gi", target=KUBE, storage_class="Fast SSD")
elif case == "label-key":
    VirtualMachine("bad", target=KUBE, labels={{"-bad/key!": "x"}})
elif case == "namespace":
    VirtualMachine("bad", target={{"kind": "kubevirt", "namespace": "Team_A"}})
elif case == "grace-period":
    VirtualMachine("bad", target=KUBE, kubevirt={{"termination_grace_period_seconds": -1}})
elif case == "same-host":
    Migration("bad", vm="web", target=HOST, destination_uri="qemu+tcp://10.77.0.1:16509/system")
elif case == "duplicate-disks":
    VirtualMachine("bad", accelerator="tcg", disks=[{{"name": "a", "path": "/a"}}, {{"name": "a", "path": "/b"}}])
elif case == "bridge-vlan":
    Bridge("bad", mode="isolated", vlan=5000)
elif case == "secret":
    VirtualMachine("bad", accelerator="tcg", cloud_init={{"user_data": "password: {SECRET}\\x01"}})
elif case == "secret-top":
    VirtualMachine("bad", accelerator="tcg", cloud_init="password: {SECRET}")
elif case == "secret-whole":
    VirtualMachine("bad", accelerator="tcg", cloud_init={{"user_data": "password: {SECRET}", "secret_name": "x"}})
"""

CASES = [
    ("disks-str", "disks", "valid list"),
    ("interfaces-dict", "interfaces", "valid list"),
    ("timeouts", "timeouts.create", "not a duration"),
    ("python-set", "memory", "a Python set"),
    ("control-char", "description", "control character"),
    ("memory-digits", "memory", "5000 characters"),
    ("memory-eib", "memory", "more than 16Ti"),
    ("sockets-bool", "cpu.sockets", "valid integer"),
    ("relative-path", "disks[0].path", "absolute"),
    ("pool-path", "pool_path", "'..'"),
    ("tiny-disk", "size", "below the 1Mi"),
    ("registry-file", "source.url", "docker://"),
    ("storage-class", "storage_class", "Kubernetes object name"),
    ("label-key", "labels.-bad/key!", "not a valid key"),
    ("namespace", "target.namespace", "not a valid name"),
    ("grace-period", "kubevirt.termination_grace_period_seconds", "greater than or equal to 0"),
    ("same-host", "destination_uri", "own host"),
    ("duplicate-disks", "disks", "appears twice"),
    ("bridge-vlan", "vlan", "less than or equal to 4094"),
    ("secret", "cloud_init.user_data", "control character"),
    ("secret-top", "cloud_init (secret)", "valid dictionary"),
    ("secret-whole", "cloud_init.secret_name", "not both"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_python_project(tmp_path_factory.mktemp("bad-inputs"), "pkv-bad-inputs", {"__main__.py": PROGRAM})


@pytest.mark.parametrize(("case", "field", "words"), CASES, ids=[c[0] for c in CASES])
def test_preview_refuses_naming_resource_and_field(
    case: str, field: str, words: str, project: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory
) -> None:
    stack = pulumi_stacks(project, prefix="test-bad")
    pulumi_cli.config(project, stack, {"case": case})
    proc = pulumi_cli.stack_run(project, stack, "preview", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out and "unhandled exception" not in out, out
    assert "'bad'" in out, out  # the resource
    assert f"{field}: " in out or f"property {field}" in out or field in out, out
    assert words in out, out
    assert SECRET not in out, out
