"""Storage pools the provider creates, under concurrency, on qemu:///system.

- Two provider processes (two `Connections`, so no shared in-process lock) starting the same
  new pool at once both succeed: "already active" from the other one is not an error.
- The last volume of a pool the provider made deleted while another process builds a volume in it:
  the pool is kept and the delete succeeds (libvirtd refuses to refresh or stop a pool while a volume
  is being built in it, "asynchronous jobs running").
- In one provider process every kind shares one `Backends` (one pool lock per pool), so a VM's
  cloud-init seed and Disks created at the same time in a new pool never race.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import uuid
from typing import Any

import libvirt
from lxml import etree

from pulumi_kubevirt.provider.libvirt import ledger
from pulumi_kubevirt.provider.libvirt.connection import Connections
from pulumi_kubevirt.provider.ownership import OWNER
from pulumi_kubevirt.provider.resources import DiskProvider, VirtualMachineProvider
from pulumi_kubevirt.provider.resources._dynamic import process_backends
from tests.harness.guest import unique_name

from .test_resources import checked


def remove_pool(conn: libvirt.virConnect, name: str) -> None:
    pool = conn.storagePoolLookupByName(name)
    if pool.isActive():
        pool.destroy()
    pool.delete(0)
    pool.undefine()


def test_two_processes_start_one_new_pool(libvirt_uri: str, libvirt_conn: libvirt.virConnect) -> None:
    name = unique_name("pool")

    def ensure(_: int) -> str:
        conns = Connections()  # another process: its own connection and locks
        try:
            conn = conns.get(libvirt_uri, resource=name)
            return str(
                ledger.ensure_pool(conn, name, f"/var/lib/libvirt/pools/{name}", resource=name, progress=print).name()
            )
        finally:
            conns.close()

    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            assert list(pool.map(ensure, range(4))) == [name] * 4
        made = libvirt_conn.storagePoolLookupByName(name)
        assert made.isActive() and ledger.pool_is_ours(made)
    finally:
        remove_pool(libvirt_conn, name)


def _raw_volume(name: str, size: int, *, allocated: bool) -> str:
    volume = etree.Element("volume")
    etree.SubElement(volume, "name").text = name
    etree.SubElement(volume, "capacity").text = str(size)
    etree.SubElement(volume, "allocation").text = str(size if allocated else 0)
    etree.SubElement(etree.SubElement(volume, "target"), "format", type="raw")
    return str(etree.tostring(volume, encoding="unicode"))


def test_last_volume_gone_while_another_process_builds_one_keeps_the_pool(
    libvirt_uri: str, libvirt_conn: libvirt.virConnect
) -> None:
    name, source_pool = unique_name("pool"), unique_name("pool")
    pool, origin = (
        ledger.ensure_pool(libvirt_conn, n, f"/var/lib/libvirt/pools/{n}", resource=n, progress=print)
        for n in (name, source_pool)
    )
    # The other process clones 1 GiB into the pool: libvirtd builds the copy for seconds.
    origin.createXML(_raw_volume("source.raw", 1 << 30, allocated=True), 0)
    cloned: list[object] = []

    def clone() -> None:
        conns = Connections()  # another process: its own connection and locks
        try:
            conn = conns.get(libvirt_uri, resource=name)
            source = conn.storagePoolLookupByName(source_pool).storageVolLookupByName("source.raw")
            target = conn.storagePoolLookupByName(name)
            cloned.append(target.createXMLFrom(_raw_volume("copy.raw", 1 << 30, allocated=False), source, 0).name())
        except libvirt.libvirtError as err:
            cloned.append(err)
        finally:
            conns.close()

    worker = threading.Thread(target=clone)
    try:
        worker.start()
        deadline = time.monotonic() + 60
        while "copy.raw" not in pool.listVolumes():  # counted from the start of its build
            assert worker.is_alive() and time.monotonic() < deadline, f"the clone never started: {cloned}"
            time.sleep(0.01)
        # This process's last volume in the pool is gone: the pool holds the one being built.
        assert ledger.remove_pool_if_unused(libvirt_conn, name, resource=name, progress=print) is False
        building = worker.is_alive()
        worker.join(120)
        assert cloned == ["copy.raw"], cloned  # the other process was not disturbed
        assert pool.isActive()
        pool.storageVolLookupByName("copy.raw").delete(0)
        assert ledger.remove_pool_if_unused(libvirt_conn, name, resource=name, progress=print) is True
        assert name not in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools()
        print(f"the copy was {'still' if building else 'no longer'} being built when the pool's removal was tried")
    finally:
        worker.join(120)
        for pool_name in (name, source_pool):
            if pool_name in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools():
                leftover = libvirt_conn.storagePoolLookupByName(pool_name)
                if leftover.isActive():
                    for vol in leftover.listAllVolumes():
                        vol.delete(0)
                remove_pool(libvirt_conn, pool_name)


def test_seed_and_disks_in_a_new_pool_at_once(libvirt_uri: str, libvirt_conn: libvirt.virConnect) -> None:
    assert process_backends() is process_backends()
    pool_name = unique_name("pool")
    target = {"kind": "libvirt", "uri": libvirt_uri}
    run = uuid.uuid4().hex[:8]
    disks = [
        (DiskProvider(), {"name": unique_name("d"), "target": target, "size": "1Mi", "pool": pool_name})
        for _ in range(3)
    ]
    vm_name = unique_name("vm")
    vm = (
        VirtualMachineProvider(),
        {
            "name": vm_name,
            "target": target,
            "memory": "64Mi",
            "accelerator": "tcg",
            "run_state": "stopped",
            "cloud_init": {"user_data": "#cloud-config\n"},
            "disks": [],
        },
    )

    def create(item: tuple[Any, dict[str, Any]]) -> tuple[Any, Any]:
        provider, news = item
        inputs = checked(provider, {}, {OWNER: f"pkv-tests/{run}::{news['name']}", **news})
        return provider, provider.create(inputs)

    # The VM's seed goes to the pool of its first volume disk, else `default`: give it one.
    vm[1]["disks"] = [{"name": "extra", "volume": {"pool": pool_name, "volume": f"{disks[0][1]['name']}.qcow2"}}]
    with concurrent.futures.ThreadPoolExecutor(4) as executor:
        made = list(executor.map(create, disks))
    made.append(create(vm))
    try:
        pool = libvirt_conn.storagePoolLookupByName(pool_name)
        pool.refresh(0)
        volumes = set(pool.listVolumes())
        assert {f"{news['name']}.qcow2" for _, news in disks} <= volumes
        assert any(v.endswith("-cidata.iso") for v in volumes)
    finally:
        for provider, result in reversed(made):
            provider.delete(result.id, dict(result.outs))
    assert pool_name not in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools()
