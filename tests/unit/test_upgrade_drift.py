"""An upgrade shows no false drift: KubeVirt VMs made by an older version, an unchanged program.

tests/unit/recorded/upgrade_c404d4a.json holds what the version at commit c404d4a wrote for four
programs: the input part of its state (its check: every default dumped, `vnc` false, none of the
fields added since; next to an instancetype, default sizes its render never sent) and its VM
manifest (its render_vm: `vnc` unset rendered `autoattachGraphicsDevice: false`; since 96e2ebc
unset follows KubeVirt's default, a graphics device).
After the upgrade the same program must plan no change, from that state (preview without refresh:
the adapters' diff and check's summary) and from the object read back (refresh: parse_vm), and an
update for another reason must send the VM's own graphics value again (server-side apply would
otherwise drop the field and attach a graphics device). Setting `vnc` is still a planned change.

Regenerate the recording (it must come from the old code, not from today's):
`git archive c404d4a provider | tar -x -C DIR && python -m tests.unit.test_upgrade_drift DIR`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pulumi_kubevirt.provider.core import PLANNED_CHANGE
from pulumi_kubevirt.provider.kinds import VIRTUAL_MACHINE
from pulumi_kubevirt.provider.kubevirt import parse as kparse
from pulumi_kubevirt.provider.kubevirt import render as krender
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.ownership import Owner
from pulumi_kubevirt.provider.plan import diff_data
from pulumi_kubevirt.provider.plugin import adapter
from pulumi_kubevirt.provider.resources import VirtualMachineProvider

RECORDING = Path(__file__).parent / "recorded" / "upgrade_c404d4a.json"
OLD: dict[str, Any] = json.loads(RECORDING.read_text())
PROGRAMS = sorted(k for k in OLD if not k.startswith("_"))
UNSET = [p for p in PROGRAMS if "vnc" not in OLD[p]["inputs"]]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def checked(inputs: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
    out, failures = VIRTUAL_MACHINE.check(olds, inputs, unknown=UNKNOWN)
    assert failures == []
    return out


def graphics_of(manifest: dict[str, Any]) -> Any:
    return manifest["spec"]["template"]["spec"]["domain"]["devices"].get("autoattachGraphicsDevice", "absent")


def test_the_recording_is_what_the_old_render_made() -> None:
    """The premise: the old version rendered vnc unset as false, and stored vnc false in its state."""
    assert UNSET == ["minimal", "sized", "uefi"]
    for program in UNSET:
        assert graphics_of(OLD[program]["manifest"]) is False
        assert OLD[program]["state"]["vnc"] is False
        assert "secure_boot" not in OLD[program]["state"] and "usb_host_devices" not in OLD[program]["state"]


@pytest.mark.parametrize("program", PROGRAMS)
def test_an_unchanged_program_plans_no_change_from_the_old_state(program: str) -> None:
    """Preview without refresh: check's summary, the core plan and both adapters' diff of the old state
    (outputs and all, as the engine passes it) against the same inputs."""
    old = OLD[program]
    news = checked(old["inputs"], old["state"])
    assert news[PLANNED_CHANGE] == "no change"
    assert VIRTUAL_MACHINE.plan(old["state"], news).changes == ()
    plugin = adapter.diff(VIRTUAL_MACHINE, old["state"], news)
    assert plugin.changes is False and plugin.detailed == {}
    dynamic = VirtualMachineProvider().diff("kubevirt:demo/vm1", old["state"], news)
    assert dynamic.changes is False and dynamic.replaces == []


@pytest.mark.parametrize("program", PROGRAMS)
def test_the_old_object_reads_back_as_the_unchanged_program(program: str) -> None:
    """Refresh: the VM as the old version rendered it, parsed with today's inputs, is those inputs,
    and planning from what was read changes nothing."""
    old = OLD[program]
    news = checked(old["inputs"], old["state"])
    args = VIRTUAL_MACHINE.parse(news, resource=program)
    observed = kparse.parse_vm(old["manifest"], args)
    assert diff_data(dump(args), observed) == []
    assert VIRTUAL_MACHINE.plan(observed, news).changes == ()
    assert adapter.diff(VIRTUAL_MACHINE, observed, news).changes is False


@pytest.mark.parametrize("program", PROGRAMS)
def test_an_update_keeps_the_old_vms_graphics_device(program: str) -> None:
    """What an update applies for another reason: the old VM's template unchanged (autoattachGraphicsDevice
    false sent again), where rendering without the VM's value would drop it and attach a device."""
    old = OLD[program]
    args = VIRTUAL_MACHINE.parse(checked(old["inputs"], old["state"]), resource=program)
    graphics = kparse.parse_graphics(old["manifest"])
    again = krender.render_vm(args, namespace="demo", owner=Owner("demo-project/dev", args.name), graphics=graphics)
    assert diff_data(old["manifest"], again) == []
    if program in UNSET:
        assert graphics is False
        fresh = krender.render_vm(args, namespace="demo", owner=Owner("demo-project/dev", args.name))
        assert graphics_of(fresh) == "absent"  # a VM made today: KubeVirt's default, a graphics device


@pytest.mark.parametrize("program", UNSET)
def test_setting_vnc_on_an_old_vm_is_still_a_restart(program: str) -> None:
    old = OLD[program]
    inputs = {**old["inputs"], "vnc": True}
    news = checked(inputs, old["state"])
    assert news[PLANNED_CHANGE] == "restart: vnc False->True"
    plugin = adapter.diff(VIRTUAL_MACHINE, old["state"], news)
    assert plugin.changes is True and list(plugin.detailed) == ["vnc", PLANNED_CHANGE]
    assert VirtualMachineProvider().diff("kubevirt:demo/vm1", old["state"], news).changes is True
    # after a refresh, state holds what was read (no vnc: unset leaves it as it is): still a restart
    args = VIRTUAL_MACHINE.parse(checked(old["inputs"]), resource=program)
    observed = kparse.parse_vm(old["manifest"], args)
    assert "vnc" not in observed
    assert VIRTUAL_MACHINE.plan(observed, news).summary() == "restart: vnc unset->True"
    # and read with vnc set, the old object's false is drift
    on = VIRTUAL_MACHINE.parse(news, resource=program)
    assert diff_data(dump(on), kparse.parse_vm(old["manifest"], on)) == [(("vnc",), True, False)]
    applied = krender.render_vm(on, namespace="demo", owner=Owner("demo-project/dev", on.name), graphics=False)
    assert graphics_of(applied) is True


def test_the_old_state_of_a_vm_sized_by_an_instancetype_is_read_in_todays_terms() -> None:
    """The old version dumped default memory/cpu next to an instancetype (its render sent none): today's
    model refuses sizes given there, so that state must still parse (refresh, update and destroy read
    it) and stand for no sizes, while sizes the user gives next to an instancetype are still refused."""
    old = OLD["sized"]
    assert old["state"]["memory"] == "512Mi" and old["state"]["cpu"] == {"sockets": 1, "cores": 1, "threads": 1}
    assert "memory" not in old["manifest"]["spec"]["template"]["spec"]["domain"]
    args = VIRTUAL_MACHINE.parse(old["state"], resource="sized")
    assert "memory" not in dump(args) and "cpu" not in dump(args)
    _, failures = VIRTUAL_MACHINE.check(old["state"], {**old["inputs"], "memory": "512Mi"}, unknown=UNKNOWN)
    assert [f.property for f in failures] == ["memory"]


def test_unsetting_vnc_leaves_the_vm_as_it_is() -> None:
    """Unset means: a new VM gets KubeVirt's default, an existing one keeps its graphics device. So
    removing an explicit vnc=True plans no change and an update sends the VM's true again."""
    old = OLD["full"]
    assert old["inputs"]["vnc"] is True
    inputs = {k: v for k, v in old["inputs"].items() if k != "vnc"}
    news = checked(inputs, old["state"])
    assert news[PLANNED_CHANGE] == "no change"
    assert adapter.diff(VIRTUAL_MACHINE, old["state"], news).changes is False
    args = VIRTUAL_MACHINE.parse(news, resource="full")
    again = krender.render_vm(
        args,
        namespace="demo",
        owner=Owner("demo-project/dev", args.name),
        graphics=kparse.parse_graphics(old["manifest"]),
    )
    assert graphics_of(again) is True


def _record(old_provider_dir: str) -> dict[str, Any]:  # pragma: no cover - run by hand, on the old code
    """The recording, made by the package extracted from commit c404d4a (importable as `provider`)."""
    sys.path.insert(0, old_provider_dir)
    from provider.kinds import VIRTUAL_MACHINE as old_kind  # type: ignore[import-not-found]
    from provider.kubevirt import render as old_render  # type: ignore[import-not-found]
    from provider.ownership import Owner as OldOwner  # type: ignore[import-not-found]

    programs: dict[str, dict[str, Any]] = {
        "minimal": {},
        "uefi": {"firmware": "uefi", "memory": "1Gi", "cpu": {"sockets": 2}},
        "sized": {"kubevirt": {"instancetype": {"name": "u1.small"}}},
        "full": {
            "disks": [
                {"name": "root", "container_image": "quay.io/containerdisks/fedora:40"},
                {"name": "data", "pvc": "data1"},
            ],
            "interfaces": [{"name": "default", "pod": True}],
            "cloud_init": {"user_data": "#cloud-config\n"},
            "guest_agent": True,
            "rng": True,
            "labels": {"app": "x"},
            "run_state": "stopped",
            "serial_console": False,
            "vnc": True,
        },
    }
    out: dict[str, Any] = {"_about": OLD["_about"]}
    for program, fields in programs.items():
        inputs = {"name": "vm1", "target": {"kind": "kubevirt", "namespace": "demo"}, **fields}
        state, failures = old_kind.check(None, inputs, unknown=UNKNOWN)
        assert failures == [], failures
        args = old_kind.model.model_validate({k: v for k, v in state.items() if k != PLANNED_CHANGE})
        manifest = old_render.render_vm(args, namespace="demo", owner=OldOwner("demo-project/dev", "vm1"))
        out[program] = {"inputs": inputs, "state": state, "manifest": manifest}
    return out


if __name__ == "__main__":  # pragma: no cover
    RECORDING.write_text(json.dumps(_record(sys.argv[1]), indent=1, sort_keys=True) + "\n")


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (False, None, ()),
        (None, False, ()),
        (True, None, ("restart",)),
        (None, True, ("restart",)),
        (False, True, ("restart",)),
    ],
)
def test_libvirt_vnc_unset_is_no_graphics_as_false_is(
    before: bool | None, after: bool | None, expected: tuple[str, ...]
) -> None:
    """On libvirt vnc unset renders no graphics device, the same as false: a VM whose state says
    false (as c404d4a stored for unset) plans no change from a program that leaves vnc unset."""
    base = {"name": "vm1", "target": {"kind": "libvirt", "uri": "qemu:///system"}, "memory": "512Mi"}
    old = checked({**base, **({} if before is None else {"vnc": before})})
    new = checked({**base, **({} if after is None else {"vnc": after})}, old)
    assert tuple(c.kind for c in VIRTUAL_MACHINE.plan(old, new).changes) == expected
