"""Snapshot and SnapshotRestore providers on the real libvirtd (qemu:///system) with the tiny guest.

The VM, its qcow2 disk and the snapshots are made through the providers as Pulumi's host
does; the VM and the snapshots belong to one test stack (a snapshot or a revert touches only
a domain of its own stack). Observed directly through libvirt: the snapshot list, the
owner marker in the snapshot description, the guest state a revert brings back, the
overlay file of a disk-only snapshot and its merge on delete, whichever of the VM and the
snapshot goes first (a VM named by a plain string is not a dependency): the pool listing
and the filesystem keep no overlay and no ownership record.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import libvirt
import pytest

from pulumi_kubevirt.provider.errors import Conflict, NotFound, OperationFailed
from pulumi_kubevirt.provider.libvirt import ledger
from pulumi_kubevirt.provider.libvirt.parse import parse_backing_path
from pulumi_kubevirt.provider.ownership import OWNER, Owner
from pulumi_kubevirt.provider.resources import (
    DiskProvider,
    SnapshotProvider,
    SnapshotRestoreProvider,
    VirtualMachineProvider,
)
from tests.harness.guest import BOOT_TIMEOUT, BOOTED, GuestImage, serial_log_path, unique_name, wait_for_serial

from . import test_resources
from .test_resources import Made, checked, create, vm_inputs

made_here = test_resources.made  # the `made` fixture: what a test made, deleted through the providers at the end


def _stack_vm(made: list[Made], guest: GuestImage, stack: str) -> tuple[Made, str]:
    """A running VM with one qcow2 disk, owned by `stack`; its name."""
    dp, vmp = DiskProvider(), VirtualMachineProvider()
    name = unique_name("vm")
    disk = create(made, dp, checked(dp, {}, {OWNER: f"{stack}::disk", "name": f"{name}-root", "size": "16Mi"}))
    serial_log_path(name).unlink(missing_ok=True)
    inputs = checked(
        vmp,
        {},
        {OWNER: f"{stack}::vm", **vm_inputs(guest, name, disks=[{"name": "root", "volume": disk.outs["ref"]}])},
    )
    vm = create(made, vmp, inputs)
    assert vm.outs["state"] == "running"
    return vm, name


def _snapshot_names(conn: libvirt.virConnect, vm: str) -> list[str]:
    return sorted(conn.lookupByName(vm).snapshotListNames())


def test_full_snapshot_revert_brings_back_the_running_guest_and_delete_removes_it(
    made_here: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    stack = f"pkv-tests/{uuid.uuid4().hex[:8]}"
    vm, name = _stack_vm(made_here, guest, stack)
    assert len(wait_for_serial(serial_log_path(name), BOOTED, BOOT_TIMEOUT)) == 1
    sp, rp, vmp = SnapshotProvider(), SnapshotRestoreProvider(), VirtualMachineProvider()
    snap_in = checked(sp, {}, {OWNER: f"{stack}::snap", "name": "booted", "vm": name, "description": "after boot"})
    snap = sp.create(snap_in)
    assert snap.outs["ready"] is True and snap.outs["vm_state"] == "running" and snap.outs["creation_time"]
    assert _snapshot_names(libvirt_conn, name) == ["booted"]
    xml = libvirt_conn.lookupByName(name).snapshotLookupByName("booted").getXMLDesc()
    assert f"pulumi-kubevirt.dev/owner={stack}::snap" in xml and "<memory snapshot='internal'/>" in xml
    # refresh: no drift; a second create (an interrupted one rerun) finishes with the same snapshot
    assert sp.diff(snap.id, sp.read(snap.id, snap.outs).outs, snap_in).changes is False
    assert sp.create(snap_in).outs["ready"] is True
    assert _snapshot_names(libvirt_conn, name) == ["booted"]

    # the VM is stopped through its own resource, then restored: the snapshot's running guest is back
    vm_stopped = checked(
        vmp, vm.outs, {**{k: v for k, v in vm.outs.items() if k != "planned_change"}, "run_state": "stopped"}
    )
    vm.outs = dict(vmp.update(vm.id, vm.outs, vm_stopped).outs)
    assert libvirt_conn.lookupByName(name).state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
    restore_in = checked(rp, {}, {OWNER: f"{stack}::restore", "name": "back", "vm": name, "snapshot": "booted"})
    restore = rp.create(restore_in)
    assert restore.outs["complete"] is True and restore.outs["vm_state"] == "running"
    assert libvirt_conn.lookupByName(name).state()[0] == libvirt.VIR_DOMAIN_RUNNING
    # again, paused this time: a new restore (replace), with run_after
    paused_in = checked(
        rp, {}, {OWNER: f"{stack}::restore2", "name": "paused", "vm": name, "snapshot": "booted", "run_after": "paused"}
    )
    assert rp.create(paused_in).outs["vm_state"] == "paused"
    rp.delete(restore.id, restore.outs)  # a record: the domain stays as it is
    assert libvirt_conn.lookupByName(name).state()[0] == libvirt.VIR_DOMAIN_PAUSED

    libvirt_conn.lookupByName(name).resume()  # so that the VM's own delete can shut it down gracefully
    sp.delete(snap.id, snap.outs)
    assert _snapshot_names(libvirt_conn, name) == []
    assert sp.read(snap.id, snap.outs).id is None
    sp.delete(snap.id, snap.outs)  # idempotent


def test_disk_only_snapshot_runs_on_an_overlay_merged_back_on_delete(
    made_here: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    stack = f"pkv-tests/{uuid.uuid4().hex[:8]}"
    vm, name = _stack_vm(made_here, guest, stack)
    dom = libvirt_conn.lookupByName(name)
    before = _disk_source(dom)
    sp, rp = SnapshotProvider(), SnapshotRestoreProvider()
    snap_in = checked(sp, {}, {OWNER: f"{stack}::snap", "name": "disks", "vm": name, "disk_only": True})
    snap = sp.create(snap_in)
    assert snap.outs["vm_state"] == "disk-snapshot"
    overlay = _disk_source(dom)
    assert overlay != before and overlay.endswith(".disks") and Path(overlay).exists()
    # libvirt 9 cannot revert to an external snapshot: the restore fails naming the snapshot, nothing changes
    with pytest.raises(OperationFailed, match="external snapshot") as caught:
        rp.create(checked(rp, {}, {OWNER: f"{stack}::restore", "name": "r", "vm": name, "snapshot": "disks"}))
    assert caught.value.field == "snapshot"
    assert f"{Path(overlay).name}.pkv-owner" in _pool_listing(libvirt_conn, before)  # claimed before it was made
    sp.delete(snap.id, snap.outs)
    assert _disk_source(dom) == before and not Path(overlay).exists()
    assert _snapshot_names(libvirt_conn, name) == []
    assert not [v for v in _pool_listing(libvirt_conn, before) if v.startswith(Path(overlay).name)]
    # merged back, the VM reads as declared again (while the overlay exists its disk is the overlay file)
    vmp = VirtualMachineProvider()
    assert vmp.diff(vm.id, vmp.read(vm.id, vm.outs).outs, vm.outs).changes is False


def _pool_listing(conn: libvirt.virConnect, disk: str) -> list[str]:
    """The volumes of the pool holding `disk`, as libvirt lists them after a refresh."""
    pool = conn.storageVolLookupByPath(disk).storagePoolLookupByVolume()
    pool.refresh(0)
    return sorted(pool.listVolumes())


def _assert_intact_base(conn: libvirt.virConnect, disk: str) -> None:
    """The base disk is still a standalone qcow2 volume of its declared size."""
    vol = conn.storageVolLookupByPath(disk)
    assert vol.info()[1] == 16 * 2**20 and parse_backing_path(vol.XMLDesc(0)) is None
    assert Path(disk).read_bytes()[:4] == b"QFI\xfb"


def test_disk_only_snapshot_of_a_vm_deleted_first_leaves_no_overlay_and_no_record(
    made_here: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    """`pulumi destroy` deletes the VM first (named by a plain string, it is no dependency of the snapshot):
    the VM's delete merges the snapshot back; the snapshot's delete then drops its records."""
    stack = f"pkv-tests/{uuid.uuid4().hex[:8]}"
    vm, name = _stack_vm(made_here, guest, stack)
    base = _disk_source(libvirt_conn.lookupByName(name))
    sp, vmp = SnapshotProvider(), VirtualMachineProvider()
    overlay = Path(f"{base}.disks")
    # a create interrupted after its claim: the next create finishes it
    pool = libvirt_conn.storageVolLookupByPath(base).storagePoolLookupByVolume()
    ledger.claim(libvirt_conn, pool, overlay.name, Owner(stack, "snap"), adopt=False, resource="disks", field="name")
    snap = sp.create(checked(sp, {}, {OWNER: f"{stack}::snap", "name": "disks", "vm": name, "disk_only": True}))
    assert _disk_source(libvirt_conn.lookupByName(name)) == str(overlay) and overlay.exists()
    assert {overlay.name, f"{overlay.name}.pkv-owner"} <= set(_pool_listing(libvirt_conn, base))
    vmp.delete(vm.id, vm.outs)
    assert name not in libvirt_conn.listDefinedDomains() and not overlay.exists()  # merged by the VM's delete
    sp.delete(snap.id, snap.outs)
    assert not overlay.exists()
    assert not [v for v in _pool_listing(libvirt_conn, base) if v.startswith(overlay.name)]
    _assert_intact_base(libvirt_conn, base)
    sp.delete(snap.id, snap.outs)  # idempotent


def test_disk_only_snapshot_of_a_domain_gone_without_merge_removes_its_overlay_not_a_foreign_file(
    made_here: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    """The domain went and left the overlay (its snapshot's metadata removed by hand, so the VM's delete
    merged nothing; or a VM delete before this fix): the snapshot's delete removes the overlay its record
    names, and its record; while the domain still ran on it, it refused. A file at another
    snapshot's overlay path made by hand is foreign: that snapshot is a Conflict, the file stays byte-for-byte."""
    stack = f"pkv-tests/{uuid.uuid4().hex[:8]}"
    vm, name = _stack_vm(made_here, guest, stack)
    dom = libvirt_conn.lookupByName(name)
    base = _disk_source(dom)
    sp = SnapshotProvider()
    foreign = Path(f"{base}.handmade")
    foreign.write_bytes(b"not ours\n")
    try:
        with pytest.raises(Conflict) as caught:
            sp.create(checked(sp, {}, {OWNER: f"{stack}::hand", "name": "handmade", "vm": name, "disk_only": True}))
        assert caught.value.field == "name" and _disk_source(dom) == base and _snapshot_names(libvirt_conn, name) == []
        snap = sp.create(checked(sp, {}, {OWNER: f"{stack}::snap", "name": "disks", "vm": name, "disk_only": True}))
        overlay = Path(f"{base}.disks")
        assert overlay.exists()
        # its metadata removed by hand, the snapshot's delete may not remove the overlay the domain runs on
        dom.snapshotLookupByName("disks").delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
        with pytest.raises(OperationFailed, match="still a disk of domain") as caught:
            sp.delete(snap.id, snap.outs)
        assert caught.value.field == "vm" and overlay.exists() and _disk_source(dom) == str(overlay)
        assert f"{overlay.name}.pkv-owner" in _pool_listing(libvirt_conn, base)
        # the VM's delete has no snapshot to merge: the domain goes and leaves the overlay (as VM deletes did)
        vmp = VirtualMachineProvider()
        vmp.delete(vm.id, vm.outs)
        assert name not in libvirt_conn.listDefinedDomains() and overlay.exists()
        sp.delete(snap.id, snap.outs)
        assert not overlay.exists()
        listing = _pool_listing(libvirt_conn, base)
        assert not [v for v in listing if v.startswith(overlay.name)]
        assert f"{foreign.name}.pkv-owner" not in listing  # the refused create dropped nothing it did not make
        _assert_intact_base(libvirt_conn, base)
        assert hashlib.sha256(foreign.read_bytes()).digest() == hashlib.sha256(b"not ours\n").digest()
    finally:
        foreign.unlink(missing_ok=True)


def _disk_source(dom: libvirt.virDomain) -> str:
    """The file of the domain's first disk: its <source file>, or the path of its <source pool volume>."""
    from lxml import etree

    source = etree.fromstring(dom.XMLDesc(0)).find("devices/disk/source")
    assert source is not None
    if source.get("file"):
        return str(source.get("file"))
    pool = dom.connect().storagePoolLookupByName(source.get("pool"))
    return str(pool.storageVolLookupByName(source.get("volume")).path())


def test_foreign_domains_and_snapshots_are_left_untouched(
    made_here: list[Made], guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    stack = f"pkv-tests/{uuid.uuid4().hex[:8]}"
    _vm, name = _stack_vm(made_here, guest, stack)
    sp, rp = SnapshotProvider(), SnapshotRestoreProvider()
    # another stack may not snapshot (nor revert) this stack's VM
    other = checked(sp, {}, {OWNER: "pkv-tests/other::snap", "name": "theirs", "vm": name})
    with pytest.raises(Conflict) as caught:
        sp.create(other)
    assert caught.value.field == "vm"
    with pytest.raises(Conflict):
        rp.create(checked(rp, {}, {OWNER: "pkv-tests/other::r", "name": "r", "vm": name, "snapshot": "x"}))
    # a snapshot someone took by hand, with our snapshot's name: Conflict, and it stays as it was
    dom = libvirt_conn.lookupByName(name)
    dom.snapshotCreateXML("<domainsnapshot><name>manual</name><description>by hand</description></domainsnapshot>", 0)
    before = dom.snapshotLookupByName("manual").getXMLDesc()
    mine = checked(sp, {}, {OWNER: f"{stack}::snap", "name": "manual", "vm": name})
    with pytest.raises(Conflict) as caught:
        sp.create(mine)
    assert caught.value.field == "name"
    sp.delete("x", mine)  # not ours: left
    assert dom.snapshotLookupByName("manual").getXMLDesc() == before
    with pytest.raises(Conflict, match="not taken by the stack"):
        rp.create(checked(rp, {}, {OWNER: f"{stack}::r", "name": "r", "vm": name, "snapshot": "manual"}))
    dom.snapshotLookupByName("manual").delete(0)
    # a VM that does not exist: NotFound on vm
    with pytest.raises(NotFound) as caught:
        sp.create(checked(sp, {}, {OWNER: f"{stack}::s", "name": "s", "vm": unique_name("vm")}))
    assert caught.value.field == "vm"
