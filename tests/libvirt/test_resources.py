"""VirtualMachine, Disk and Bridge providers on a real libvirtd + QEMU (TCG).

Each test drives the dynamic providers exactly as Pulumi's host does
(check -> create -> read -> diff -> update -> delete) against qemu:///system,
with the tiny guest reporting on its serial console.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libvirt
import pytest

from pulumi_kubevirt.provider.errors import Conflict, InvalidSpec, NotFound, ProviderError
from pulumi_kubevirt.provider.ownership import OWNER
from pulumi_kubevirt.provider.resources import BridgeProvider, DiskProvider, VirtualMachineProvider
from tests.harness.guest import (
    BOOT_TIMEOUT,
    BOOTED,
    HEARTBEAT_RE,
    IP_RE,
    GuestImage,
    heartbeats,
    read_serial,
    serial_log_path,
    unique_name,
    wait_for_serial,
)
from tests.harness.libvirt_fixtures import free_ipv4_subnet

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def checked(provider: Any, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """The provider's checked inputs, with a fresh owner marker unless `news` names one (as the
    resource classes do: each test call stands for a new resource of a test stack) or `olds`
    do (an update of the same resource keeps its owner)."""
    owner = olds.get(OWNER) or f"pkv-tests/{uuid.uuid4().hex[:8]}::{news.get('name')}"
    result = provider.check(olds, {OWNER: owner, **news})
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def user_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k != "planned_change"}


@dataclass
class Made:
    """What a test created through the providers, deleted through them at the end."""

    provider: Any
    id: str
    outs: dict[str, Any]


@pytest.fixture
def made() -> Iterator[list[Made]]:
    items: list[Made] = []
    yield items
    errors = []
    for item in reversed(items):
        try:
            item.provider.delete(item.id, item.outs)
        except ProviderError as err:
            errors.append(str(err))
    assert errors == []


def create(made: list[Made], provider: Any, inputs: dict[str, Any]) -> Made:
    result = provider.create(inputs)
    item = Made(provider, result.id, dict(result.outs))
    made.append(item)
    return item


@pytest.fixture
def lan(made: list[Made], libvirt_uri: str) -> Made:
    subnet = free_ipv4_subnet()
    inputs = checked(
        BridgeProvider(),
        {},
        {
            "name": unique_name("net"),
            "mode": "nat",
            "ipv4": {"address": f"{subnet.network_address + 1}/{subnet.prefixlen}"},
        },
    )
    return create(made, BridgeProvider(), inputs)


def vm_inputs(guest: GuestImage, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "memory": "128Mi",
        "accelerator": "tcg",
        "kernel_boot": {"kernel": str(guest.kernel), "initrd": str(guest.initrd), "cmdline": "console=ttyS0 panic=-1"},
        **extra,
    }


def test_vm_boots_gets_dhcp_and_reads_back_without_drift(made: list[Made], lan: Made, guest: GuestImage) -> None:
    vmp = VirtualMachineProvider()
    name = unique_name("vm")
    serial_log_path(name).unlink(missing_ok=True)
    inputs = checked(
        vmp,
        {},
        vm_inputs(guest, name, interfaces=[{"name": "nic0", "network": lan.outs["network_name"]}], wait_for_ip=True),
    )
    vm = create(made, vmp, inputs)
    assert vm.outs["state"] == "running"
    assert len(wait_for_serial(serial_log_path(name), BOOTED, BOOT_TIMEOUT)) == 1
    ip_lines = wait_for_serial(serial_log_path(name), IP_RE, BOOT_TIMEOUT)
    assert IP_RE.match(ip_lines[0]).group(2).split("/")[0] == vm.outs["ipv4"]["nic0"]  # type: ignore[union-attr]
    assert vm.outs["macs"]["nic0"].startswith("52:54:00:")
    assert vm.outs["pending_restart"] is False
    # refresh: nothing drifted, so nothing to do
    read = vmp.read(vm.id, vm.outs)
    assert read.id == vm.id
    assert vmp.diff(vm.id, read.outs, inputs).changes is False
    assert vmp.diff(vm.id, vm.outs, inputs).changes is False


def test_live_and_restart_class_updates_never_reboot(
    made: list[Made], lan: Made, guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    vmp = VirtualMachineProvider()
    name = unique_name("vm")
    log = serial_log_path(name)
    log.unlink(missing_ok=True)
    v1 = checked(vmp, {}, vm_inputs(guest, name, max_memory="256Mi", cpu={"sockets": 1, "max_sockets": 2}))
    vm = create(made, vmp, v1)
    wait_for_serial(log, HEARTBEAT_RE, BOOT_TIMEOUT, count=2)

    # live: memory within max_memory, a vCPU within max_sockets, a NIC hot-plugged
    v2 = checked(
        vmp,
        v1,
        {
            **user_inputs(v1),
            "memory": "192Mi",
            "cpu": {"sockets": 2, "max_sockets": 2},
            "interfaces": [{"name": "nic1", "network": lan.outs["network_name"]}],
        },
    )
    assert v2["planned_change"].startswith("live: ")
    diff = vmp.diff(vm.id, vm.outs, v2)
    assert diff.changes is True and diff.replaces == []
    vm.outs = dict(vmp.update(vm.id, vm.outs, v2).outs)
    dom = libvirt_conn.lookupByName(name)
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 2
    assert "nic1" in vm.outs["macs"]
    assert vm.outs["pending_restart"] is False

    # restart-class with restart_policy never: persistent config changes, the guest keeps running
    v3 = checked(vmp, v2, {**user_inputs(v2), "machine": "q35", "rng": True})
    assert v3["planned_change"].startswith("restart: ")
    vm.outs = dict(vmp.update(vm.id, vm.outs, v3).outs)
    assert vm.outs["pending_restart"] is True
    assert set(vm.outs["pending_changes"]) == {"machine", "rng"}
    before = heartbeats(read_serial(log))[-1]
    wait_for_serial(log, rf"^PKV-HEARTBEAT {before + 2}$", 30)
    assert read_serial(log).count(BOOTED) == 1, "the guest rebooted"
    assert dom.isActive()


def test_run_state_stopped_running_paused(
    made: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    vmp = VirtualMachineProvider()
    name = unique_name("vm")
    serial_log_path(name).unlink(missing_ok=True)
    v1 = checked(vmp, {}, vm_inputs(guest, name, run_state="stopped"))
    vm = create(made, vmp, v1)
    assert vm.outs["state"] == "stopped"
    assert not libvirt_conn.lookupByName(name).isActive()
    # an unrelated update of a stopped VM must not start it
    v2 = checked(vmp, v1, {**user_inputs(v1), "description": "still off"})
    vm.outs = dict(vmp.update(vm.id, vm.outs, v2).outs)
    assert vm.outs["state"] == "stopped"
    for state in ("running", "paused", "running", "stopped"):
        nxt = checked(vmp, v2, {**user_inputs(v2), "run_state": state})
        assert nxt["planned_change"].startswith("live: run_state")
        vm.outs = dict(vmp.update(vm.id, vm.outs, nxt).outs)
        assert vm.outs["state"] == state
        v2 = nxt


def test_out_of_band_change_is_reported_as_drift(
    made: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    vmp = VirtualMachineProvider()
    name = unique_name("vm")
    inputs = checked(vmp, {}, vm_inputs(guest, name, run_state="stopped"))
    vm = create(made, vmp, inputs)
    subprocess.run(
        ["virsh", "-c", "qemu:///system", "setmem", name, "100M", "--config"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    read = vmp.read(vm.id, vm.outs)
    assert read.inputs["memory"] == "100Mi"
    diff = vmp.diff(vm.id, read.outs, inputs)
    assert diff.changes is True and diff.replaces == []
    # and `up` puts it back
    vm.outs = dict(vmp.update(vm.id, read.outs, inputs).outs)
    assert vmp.read(vm.id, vm.outs).inputs["memory"] == "128Mi"


def test_gone_domain_reads_as_deleted_but_connection_errors_do_not(made: list[Made], guest: GuestImage) -> None:
    vmp = VirtualMachineProvider()
    inputs = checked(vmp, {}, vm_inputs(guest, unique_name("vm"), run_state="stopped"))
    result = vmp.create(inputs)
    vmp.delete(result.id, result.outs)
    vmp.delete(result.id, result.outs)  # idempotent
    gone = vmp.read(result.id, result.outs)
    assert gone.id is None
    unreachable = {**result.outs, "target": {"kind": "libvirt", "uri": "qemu+unix:///system?socket=/nonexistent"}}
    with pytest.raises(ProviderError) as err:
        vmp.read(result.id, unreachable)
    assert not isinstance(err.value, NotFound)


def qemu_img_info(path: str) -> str:
    """`qemu-img info --output=json` of a volume file (shared lock: a guest may hold it)."""
    return subprocess.run(
        ["qemu-img", "info", "--output=json", "-U", path], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def test_disks_blank_image_clone_backing_and_grow(made: list[Made], tmp_path: Path) -> None:
    dp = DiskProvider()

    def disk(**fields: Any) -> Made:
        return create(made, dp, checked(dp, {}, {"name": unique_name("disk"), **fields}))

    blank = disk(size="32Mi")
    assert blank.outs["capacity"] == 32 * 2**20
    image = tmp_path / "label.raw"
    image.write_bytes(b"PKV-LABEL-TEST\n" + b"\0" * (1 << 20))
    from_image = disk(format="raw", size="4Mi", source={"kind": "image", "path": str(image)})
    assert from_image.outs["capacity"] == 4 * 2**20
    assert Path(from_image.outs["path"]).read_bytes().startswith(b"PKV-LABEL-TEST\n")
    clone = disk(format="raw", source={"kind": "clone", "volume": from_image.outs["ref"]})
    assert Path(clone.outs["path"]).read_bytes().startswith(b"PKV-LABEL-TEST\n")
    overlay = disk(source={"kind": "backing", "volume": blank.outs["ref"]})
    assert blank.outs["path"] in qemu_img_info(overlay.outs["path"])
    # grow (live) and refuse to shrink (at check time)
    old = checked(dp, {}, {"name": blank.outs["name"], "size": "32Mi", OWNER: blank.outs[OWNER]})
    grown = checked(dp, old, {"name": blank.outs["name"], "size": "48Mi"})
    blank.outs = dict(dp.update(blank.id, blank.outs, grown).outs)
    assert blank.outs["capacity"] == 48 * 2**20
    shrink = dp.check(grown, {"name": blank.outs["name"], "size": "16Mi"})
    assert [f.property for f in shrink.failures] == ["size"]


def test_bad_input_leaves_nothing_defined(
    made: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    vmp = VirtualMachineProvider()
    name = unique_name("vm")
    inputs = checked(vmp, {}, vm_inputs(guest, name, interfaces=[{"name": "nic0", "network": "test-no-such-net"}]))
    with pytest.raises(ProviderError, match="test-no-such-net"):
        vmp.create(inputs)
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.lookupByName(name)
    # a name clash is a clear Conflict, and the existing domain is untouched
    existing = create(made, vmp, checked(vmp, {}, vm_inputs(guest, unique_name("vm"), run_state="stopped")))
    clash = checked(vmp, {}, vm_inputs(guest, existing.outs["name"], memory="64Mi", run_state="stopped"))
    with pytest.raises(Conflict):
        vmp.create(clash)
    assert libvirt_conn.lookupByName(existing.outs["name"]).maxMemory() == 128 * 1024
    # a missing host bridge fails with a hint, leaving no network defined
    bp = BridgeProvider()
    net = checked(bp, {}, {"name": unique_name("net"), "mode": "bridge", "bridge": "pkvnosuchbr0"})
    with pytest.raises(InvalidSpec, match="create the bridge on the host first"):
        bp.create(net)
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.networkLookupByName(net["name"])


def test_check_and_diff_do_no_io(guest: GuestImage) -> None:
    """preview works with the hypervisor unreachable: check/diff never connect."""
    vmp = VirtualMachineProvider()
    far = {"kind": "libvirt", "uri": "qemu+unix:///system?socket=/nonexistent"}
    inputs = checked(vmp, {}, vm_inputs(guest, "test-offline", target=far))
    changed = checked(vmp, inputs, {**user_inputs(inputs), "memory": "256Mi"})
    assert vmp.diff("x", {**inputs, "uuid": "u"}, changed).changes is True
    unknown = vmp.check(
        {}, {**vm_inputs(guest, "test-offline", target=far), "interfaces": [{"name": "nic0", "network": UNKNOWN}]}
    )
    assert unknown.failures == []


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A loopback HTTP server over a temp dir (bounded: stopped after the test)."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(10)


def test_disk_from_http_url_and_a_clean_error_on_404(made: list[Made], http_dir: tuple[Path, str]) -> None:
    folder, base = http_dir
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", str(folder / "base.qcow2"), "8M"], check=True, timeout=30
    )
    dp = DiskProvider()
    disk = create(
        made,
        dp,
        checked(
            dp,
            {},
            {
                "name": unique_name("disk"),
                "size": "16Mi",
                "source": {"kind": "url", "url": f"{base}/base.qcow2"},
            },
        ),
    )
    assert disk.outs["capacity"] == 16 * 2**20
    info = qemu_img_info(disk.outs["path"])
    assert '"format": "qcow2"' in info and '"virtual-size": 16777216' in info
    missing = checked(dp, {}, {"name": unique_name("disk"), "source": {"kind": "url", "url": f"{base}/nope.qcow2"}})
    with pytest.raises(InvalidSpec, match="HTTP 404"):
        dp.create(missing)
    wrong = checked(
        dp, {}, {"name": unique_name("disk"), "format": "raw", "source": {"kind": "url", "url": f"{base}/base.qcow2"}}
    )
    with pytest.raises(InvalidSpec, match="the image is qcow2"):
        dp.create(wrong)
    conn = libvirt.open("qemu:///system")
    try:
        volumes = conn.storagePoolLookupByName("default").listVolumes()
    finally:
        conn.close()
    assert f"{missing['name']}.qcow2" not in volumes and f"{wrong['name']}.raw" not in volumes


def test_restart_policy_auto_reboots_into_the_new_config(
    made: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    vmp = VirtualMachineProvider()
    name = unique_name("vm")
    log = serial_log_path(name)
    log.unlink(missing_ok=True)
    v1 = checked(vmp, {}, vm_inputs(guest, name, restart_policy={"mode": "auto", "shutdown_timeout": "20s"}))
    vm = create(made, vmp, v1)
    wait_for_serial(log, HEARTBEAT_RE, BOOT_TIMEOUT, count=2)
    v2 = checked(vmp, v1, {**user_inputs(v1), "machine": "q35"})
    vm.outs = dict(vmp.update(vm.id, vm.outs, v2).outs)
    assert vm.outs["pending_restart"] is False and vm.outs["state"] == "running"
    assert len(wait_for_serial(log, BOOTED, BOOT_TIMEOUT, count=2)) == 2  # it restarted, on purpose this time
    machine = libvirt_conn.lookupByName(name).XMLDesc(0)
    assert "pc-q35-" in machine


def test_disk_in_a_pool_it_creates(made: list[Made], tmp_path: Path, libvirt_conn: libvirt.virConnect) -> None:
    dp = DiskProvider()
    pool = unique_name("pool")
    folder = tmp_path / "pool"
    try:
        disk = create(
            made,
            dp,
            checked(dp, {}, {"name": unique_name("disk"), "size": "8Mi", "pool": pool, "pool_path": str(folder)}),
        )
        assert Path(disk.outs["path"]).parent == folder
        assert libvirt_conn.storagePoolLookupByName(pool).isActive()
        dp.delete(disk.id, disk.outs)
        made.remove(disk)
        assert not Path(disk.outs["path"]).exists()
        # the pool was created by the provider: it goes with its last owned volume, directory included
        assert pool not in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools()
        assert not folder.exists()
    finally:
        if pool in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools():
            found = libvirt_conn.storagePoolLookupByName(pool)
            if found.isActive():
                found.destroy()
            found.undefine()
