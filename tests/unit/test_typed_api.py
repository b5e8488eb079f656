"""The typed Python API: the dynamic resource classes and the generated SDK catch mistakes before preview.

The dynamic classes' signatures (provider/resources/inputs.py) are generated from
the models by scripts/gen_resource_types.py and must not go stale; a type checker
run over a small program finds a misspelled keyword and a wrong type in both
APIs, and passes the correct program.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 300


def test_resource_inputs_are_what_the_models_generate() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_resource_types.py")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    committed = (REPO / "provider" / "resources" / "inputs.py").read_text()
    assert result.stdout == committed, "provider/resources/inputs.py is stale: run `make sdk` and commit it"


def test_every_model_field_is_a_typed_keyword_of_its_resource_class() -> None:
    import typing

    from pulumi_kubevirt.provider import resources
    from pulumi_kubevirt.provider.kinds import BRIDGE, DISK, MIGRATION, VIRTUAL_MACHINE
    from pulumi_kubevirt.provider.resources import inputs

    for kind in (VIRTUAL_MACHINE, DISK, BRIDGE, MIGRATION):
        name = kind.type_name.rsplit(":", 1)[-1]
        typed = getattr(inputs, f"Typed{name}")
        assert issubclass(getattr(resources, name), typed)
        source = (REPO / "provider" / "resources" / "inputs.py").read_text()
        block = source[source.index(f"class Typed{name}(") :].split("\nclass ", 1)[0]
        for field in kind.model.model_fields:
            if (name, field) == ("Migration", "vm_spec"):  # filled from vm=
                continue
            assert re.search(rf"^            {field}: ", block, re.M), f"{name}: no typed keyword {field}"
            assert f":param {field}: " in block, f"{name}: {field} undocumented"
    assert typing.is_typeddict(inputs.DiskAttachmentArgs)
    assert "disk" in inputs.DiskAttachmentArgs.__annotations__  # `disk=<Disk>` is typed too
    assert "bridge" in inputs.InterfaceArgs.__annotations__


MYPY_CONFIG = """\
[mypy]
python_version = 3.11
strict = True
# errors only in the program: the imported packages are checked by `make lint` (scripts/mypy.sh),
# the generated SDK is upstream's code generator's
follow_imports = silent
"""

DYNAMIC_OK = """\
import pulumi

from pulumi_kubevirt.provider import Bridge, Disk, Migration, VirtualMachine

root = Disk("root", size="10Gi", source={"kind": "url", "url": "http://images/debian.qcow2"})
lan = Bridge("lan", vlan=10)
vm = VirtualMachine(
    "web",
    memory="1Gi",
    cpu={"cores": 2, "model": "host-model"},
    firmware="uefi",
    disks=[{"name": "root", "disk": root, "boot_order": 1}],
    interfaces=[{"name": "nic0", "bridge": lan}],
    cloud_init={"user_data": pulumi.Output.secret("#cloud-config\\n")},
    labels={"app": "web"},
    opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="5m")),
)
Migration("move", vm=vm, destination_uri="qemu+tcp://host-b/system")
state: pulumi.Output[str] = vm.state
"""

SDK_OK = """\
import pulumi

import pulumi_kubevirt.sdk as kubevirt

lab = kubevirt.Provider("lab", target_kind="kubevirt", kubeconfig=pulumi.Output.secret("apiVersion: v1"))
root = kubevirt.Disk("root", size="10Gi", opts=pulumi.ResourceOptions(provider=lab))
vm = kubevirt.VirtualMachine(
    "web",
    memory="1Gi",
    cpu={"cores": 2},
    disks=[{"name": "root", "data_volume": root.name}],
    opts=pulumi.ResourceOptions(provider=lab),
)
kubevirt.Migration("move", vm=vm.name)
"""

# (line of the call in the program, what the mistake is): a misspelled keyword and a wrong type each
DYNAMIC_BAD = {
    'VirtualMachine("typo", memroy="1Gi")': "misspelled keyword",
    'VirtualMachine("wrong", vnc="yes")': "wrong type",
    'VirtualMachine("nested", cpu={"cores": "two"})': "wrong type inside an Args dict",
    'VirtualMachine("enum", firmware="efi")': "not one of the allowed values",
    'Disk("typo", sise="1Gi")': "misspelled keyword",
}
SDK_BAD = {
    'kubevirt.VirtualMachine("typo", memroy="1Gi")': "misspelled keyword",
    'kubevirt.VirtualMachine("wrong", vnc="yes")': "wrong type",
    'kubevirt.Disk("typo", sise="1Gi")': "misspelled keyword",
    'kubevirt.VirtualMachine("nested", cpu={"cores": "two"})': "wrong type inside an Args dict",
}


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `pulumi_kubevirt` is the tree (the import hook of the editable install is
    invisible to mypy; same view as scripts/mypy.sh)."""
    work = tmp_path_factory.mktemp("typed")
    package = work / "pulumi_kubevirt"
    package.mkdir()
    for top in ("provider", "components", "sdk"):
        (package / top).symlink_to(REPO / top)
    (work / "mypy.ini").write_text(MYPY_CONFIG)
    return work


def mypy(work: Path, name: str, program: str) -> dict[int, str]:
    """Errors by line of `program`, as mypy reports them."""
    (work / f"{name}.py").write_text(program)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental", f"{name}.py"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    errors: dict[int, str] = {}
    for line in result.stdout.splitlines():
        found = re.match(rf"{name}\.py:(\d+): error: (.*)", line)
        if found:
            errors[int(found[1])] = errors.get(int(found[1]), "") + found[2]
    assert result.returncode == (1 if errors else 0), result.stdout + result.stderr
    return errors


@pytest.mark.parametrize(
    ("label", "good", "bad"), [("dynamic", DYNAMIC_OK, DYNAMIC_BAD), ("sdk", SDK_OK, SDK_BAD)], ids=["dynamic", "sdk"]
)
def test_the_type_checker_finds_misspelled_keywords_and_wrong_types(
    checker: Path, label: str, good: str, bad: dict[str, str]
) -> None:
    assert mypy(checker, f"{label}_ok", good) == {}
    header = good.count("\n")
    calls = list(bad)
    program = good + "".join(f"{call}\n" for call in calls)
    errors = mypy(checker, f"{label}_bad", program)
    expected = {header + 1 + i: call for i, call in enumerate(calls)}
    assert set(errors) == set(expected), (errors, expected)
    for line, call in expected.items():
        message = errors[line]
        if bad[call] == "misspelled keyword":
            typo = re.search(r'(\w+)="', call.split(",", 1)[1])
            assert typo is not None
            assert f'Unexpected keyword argument "{typo[1]}"' in message, message
        else:  # the dynamic classes name the argument; the SDK's overloads say no variant matches
            assert "incompatible type" in message or "No overload variant" in message, message


def test_dynamic_classes_still_accept_anything_at_runtime() -> None:
    """The signatures are for the type checker: a wrong keyword still reaches check (which names it)."""
    import inspect

    from pulumi_kubevirt.provider import Bridge, Disk, Migration, VirtualMachine

    for cls in (VirtualMachine, Disk, Bridge, Migration):
        kinds = {p.kind for p in inspect.signature(cls.__init__).parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD in kinds, cls
