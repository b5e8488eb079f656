"""Ownership on a real libvirtd: what the stack did not create is never changed.

Foreign objects (defined here straight through libvirt, as another tool or a
human would) of the same name as a resource: create refuses with a Conflict
naming the object and leaves it byte-for-byte (XML and content compared);
delete leaves it with a progress note; `adopt=True` takes it over (marks it),
after which delete removes it. Pools that existed before are never removed.
Two stacks claiming one volume name at once: exactly one wins.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from pulumi_kubevirt.provider.core import begin
from pulumi_kubevirt.provider.errors import Conflict, ProviderError
from pulumi_kubevirt.provider.libvirt import ledger, parse, render
from pulumi_kubevirt.provider.libvirt.connection import Connections
from pulumi_kubevirt.provider.libvirt.volumes import VolumeReconciler
from pulumi_kubevirt.provider.models import BridgeArgs, DiskArgs, VirtualMachineArgs
from pulumi_kubevirt.provider.ownership import OWNER, Owner
from pulumi_kubevirt.provider.resources import BridgeProvider, DiskProvider, VirtualMachineProvider
from tests.harness.guest import GuestImage, unique_name

from .test_resources import checked


def test_markers_round_trip_through_render_and_parse() -> None:
    """Pure: the owner written into domain and network XML is what parse reads back."""
    vm = VirtualMachineArgs(name="vm-a", labels={"k": "v"})
    xml = render.render_domain(vm, owner="proj/dev::vm-a")
    assert parse.parse_owner(xml) == "proj/dev::vm-a"
    assert parse.parse_domain(xml, vm)["labels"] == {"k": "v"}
    assert parse.parse_owner(render.render_domain(vm)) is None
    net = BridgeArgs(name="lan", mode="isolated")
    assert parse.parse_owner(render.render_network(net, owner="proj/dev::lan")) == "proj/dev::lan"
    assert render.pool_uuid("fast") == render.pool_uuid("fast") != render.pool_uuid("slow")


def _digest(conn: libvirt.virConnect, vol: libvirt.virStorageVol) -> str:
    stream = conn.newStream(0)
    vol.download(stream, 0, 0, 0)
    digest = hashlib.sha256()
    while data := stream.recv(1 << 16):
        assert isinstance(data, bytes)
        digest.update(data)
    stream.finish()
    return digest.hexdigest()


class ForeignPool:
    """A dir pool defined by the test (not by the provider), with helpers for foreign volumes."""

    def __init__(self, conn: libvirt.virConnect, folder: Path) -> None:
        self.conn = conn
        self.name = unique_name("pool")
        self.pool = conn.storagePoolDefineXML(
            f"<pool type='dir'><name>{self.name}</name><target><path>{folder}</path></target></pool>"
        )
        self.pool.build(0)
        self.pool.create(0)

    def volume(self, name: str, data: bytes) -> libvirt.virStorageVol:
        vol = self.pool.createXML(
            f"<volume><name>{name}</name><capacity unit='bytes'>{len(data)}</capacity>"
            "<target><format type='raw'/></target></volume>",
            0,
        )
        stream = self.conn.newStream(0)
        vol.upload(stream, 0, len(data), 0)
        stream.send(data)
        stream.finish()
        return vol

    def state(self, name: str) -> tuple[str, str]:
        """The XML (minus access times) and content digest of volume `name`."""
        vol = self.pool.storageVolLookupByName(name)
        xml = vol.XMLDesc(0)
        xml = xml[: xml.find("<timestamps>")] if "<timestamps>" in xml else xml
        return xml, _digest(self.conn, vol)

    def names(self) -> list[str]:
        self.pool.refresh(0)
        return sorted(self.pool.listVolumes())

    def remove(self) -> None:
        try:
            pool = self.conn.storagePoolLookupByName(self.name)
        except libvirt.libvirtError:
            return
        if pool.isActive():
            pool.refresh(0)
            for vol in pool.listAllVolumes():
                vol.delete(0)
            pool.destroy()
        pool.delete(0)
        pool.undefine()


@pytest.fixture
def foreign_pool(libvirt_conn: libvirt.virConnect, tmp_path: Path) -> Iterator[ForeignPool]:
    pool = ForeignPool(libvirt_conn, tmp_path / "foreign")
    yield pool
    pool.remove()


def test_foreign_volume_refused_untouched_left_on_delete_and_adopted_on_request(
    foreign_pool: ForeignPool, capfd: pytest.CaptureFixture[str]
) -> None:
    dp = DiskProvider()
    name = unique_name("disk")
    vol = f"{name}.raw"
    foreign_pool.volume(vol, (b"FOREIGN-DATA\n" + bytes(range(256)) * 4096)[: 1 << 20])  # = size: no growth
    before = foreign_pool.state(vol)
    inputs = checked(dp, {}, {"name": name, "format": "raw", "size": "1Mi", "pool": foreign_pool.name})
    with pytest.raises(Conflict, match=f"{foreign_pool.name}/{vol}"):
        dp.create(inputs)
    assert foreign_pool.state(vol) == before
    assert foreign_pool.names() == [vol], "the refused create wrote an ownership record"
    # a delete (e.g. of a stale state) leaves it, and says so
    dp.delete("id", inputs)
    assert foreign_pool.state(vol) == before
    assert "not owned by" in capfd.readouterr().err
    assert dp.read("id", inputs).id is None, "a foreign volume reads as not this resource's"
    # adopt=True takes it over: content kept, now marked; delete then removes it (not the pool)
    adopted = checked(dp, {}, {**{k: v for k, v in inputs.items() if k != OWNER}, "adopt": True})
    result = dp.create(adopted)
    assert foreign_pool.state(vol)[1] == before[1]
    assert foreign_pool.names() == [vol, vol + ledger.RECORD_SUFFIX]
    dp.delete(result.id, dict(result.outs))
    assert foreign_pool.names() == []
    assert foreign_pool.pool.isActive(), "a pool the provider did not create is never removed"


def test_foreign_seed_volume_is_refused_and_untouched(
    foreign_pool: ForeignPool, guest: GuestImage, libvirt_conn: libvirt.virConnect
) -> None:
    """A volume named like a VM's cloud-init seed (the provider used to delete it) is left alone."""
    dp = DiskProvider()
    root = dp.create(checked(dp, {}, {"name": unique_name("disk"), "size": "8Mi", "pool": foreign_pool.name}))
    try:
        name = unique_name("vm")
        seed = render.seed_volume_name(name)
        foreign_pool.volume(seed, b"NOT-A-SEED" * 100)
        before = foreign_pool.state(seed)
        vmp = VirtualMachineProvider()
        inputs = checked(
            vmp,
            {},
            {
                "name": name,
                "memory": "128Mi",
                "accelerator": "tcg",
                "run_state": "stopped",
                "kernel_boot": {"kernel": str(guest.kernel)},
                "disks": [{"name": "root", "volume": root.outs["ref"]}],
                "cloud_init": {"user_data": "#cloud-config\n"},
            },
        )
        with pytest.raises(Conflict, match=f"{foreign_pool.name}/{seed}"):
            vmp.create(inputs)
        assert foreign_pool.state(seed) == before
        assert seed + ledger.RECORD_SUFFIX not in foreign_pool.names()
        with pytest.raises(libvirt.libvirtError):
            libvirt_conn.lookupByName(name)
    finally:
        dp.delete(root.id, dict(root.outs))


def _define_foreign_domain(conn: libvirt.virConnect, guest: GuestImage, name: str) -> libvirt.virDomain:
    return conn.defineXML(
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>96</memory>"
        f"<os><type arch='x86_64'>hvm</type><kernel>{guest.kernel}</kernel></os>"
        "<metadata><x:mine xmlns:x='https://example.org/other'>another tool</x:mine></metadata></domain>"
    )


def test_foreign_domain_refused_untouched_left_on_delete_and_adopted_on_request(
    guest: GuestImage, libvirt_conn: libvirt.virConnect, capfd: pytest.CaptureFixture[str]
) -> None:
    name = unique_name("vm")
    dom = _define_foreign_domain(libvirt_conn, guest, name)
    try:
        before = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        vmp = VirtualMachineProvider()
        spec: dict[str, Any] = {
            "name": name,
            "memory": "128Mi",
            "accelerator": "tcg",
            "run_state": "stopped",
            "kernel_boot": {"kernel": str(guest.kernel)},
        }
        inputs = checked(vmp, {}, spec)
        with pytest.raises(Conflict, match=name):
            vmp.create(inputs)
        assert libvirt_conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before
        vmp.delete("id", inputs)
        assert libvirt_conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before
        assert "not owned by" in capfd.readouterr().err
        assert vmp.read("id", inputs).id is None
        with pytest.raises(ProviderError, match="not owned"):
            vmp.update("id", inputs, {**inputs, "memory": "160Mi"})
        assert libvirt_conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before
        # adopt=True takes it over and marks it; delete then removes it
        adopted = checked(vmp, {}, {**spec, "adopt": True})
        result = vmp.create(adopted)
        xml = libvirt_conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        assert parse.parse_owner(xml) == adopted[OWNER]
        assert result.outs["uuid"] == dom.UUIDString(), "adopting redefines in place (same domain)"
        vmp.delete(result.id, dict(result.outs))
        with pytest.raises(libvirt.libvirtError):
            libvirt_conn.lookupByName(name)
    finally:
        try:
            libvirt_conn.lookupByName(name).undefine()
        except libvirt.libvirtError:
            pass  # removed by the test itself


def test_foreign_network_refused_untouched_and_left_on_delete(
    libvirt_conn: libvirt.virConnect, capfd: pytest.CaptureFixture[str]
) -> None:
    name = unique_name("net")
    net = libvirt_conn.networkDefineXML(
        f"<network><name>{name}</name><bridge name='pkvo{uuid.uuid4().hex[:8]}'/></network>"
    )
    try:
        before = net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
        bp = BridgeProvider()
        inputs = checked(bp, {}, {"name": name, "mode": "isolated"})
        with pytest.raises(Conflict, match=name):
            bp.create(inputs)
        assert libvirt_conn.networkLookupByName(name).XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE) == before
        bp.delete("id", inputs)
        assert libvirt_conn.networkLookupByName(name).XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE) == before
        assert not libvirt_conn.networkLookupByName(name).isActive()
        assert "not owned by" in capfd.readouterr().err
    finally:
        libvirt_conn.networkLookupByName(name).undefine()


def test_two_stacks_claiming_one_volume_name_at_once(foreign_pool: ForeignPool) -> None:
    """The claim is libvirt's atomic create of the record volume: one winner, one Conflict."""
    name = unique_name("disk")
    args = DiskArgs.model_validate({"name": name, "format": "raw", "size": "1Mi", "pool": foreign_pool.name})
    results: dict[str, object] = {}
    start = threading.Barrier(2)

    def run(stack: str) -> None:
        rec = VolumeReconciler(Connections())  # separate connections, as two provider processes
        start.wait()
        try:
            rec.create(begin("create", args, owner=Owner(stack, name), progress=lambda _m: None))
            results[stack] = "created"
        except ProviderError as err:
            results[stack] = err

    threads = [threading.Thread(target=run, args=(s,)) for s in ("proj/a", "proj/b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    outcomes = sorted(type(r).__name__ if not isinstance(r, str) else r for r in results.values())
    assert outcomes == ["Conflict", "created"], results
    winner = next(s for s, r in results.items() if r == "created")
    assert foreign_pool.names() == [f"{name}.raw", f"{name}.raw{ledger.RECORD_SUFFIX}"]
    cleanup = begin("delete", args, owner=Owner(winner, name), progress=lambda _m: None)
    VolumeReconciler(Connections()).delete(cleanup)
    assert foreign_pool.names() == []


def test_retained_volume_is_released_not_replaced_by_a_later_create(foreign_pool: ForeignPool) -> None:
    """retain_on_delete keeps the data and gives up ownership: the same resource created again
    must not take the kept volume for the leftover of an interrupted create and replace it."""
    dp = DiskProvider()
    name = unique_name("disk")
    inputs = checked(
        dp, {}, {"name": name, "format": "raw", "size": "1Mi", "pool": foreign_pool.name, "retain_on_delete": True}
    )
    result = dp.create(inputs)
    dp.delete(result.id, dict(result.outs))
    assert foreign_pool.names() == [f"{name}.raw"], "kept, and no longer recorded as owned"
    kept = foreign_pool.state(f"{name}.raw")
    with pytest.raises(Conflict):
        dp.create(inputs)  # same owner marker as before
    assert foreign_pool.state(f"{name}.raw") == kept
