"""Storage pools the provider creates, under concurrency, on qemu:///system.

- Two provider processes (two `Connections`, so no shared in-process lock) starting the same
  new pool at once both succeed: "already active" from the other one is not an error.
- In one provider process every kind shares one `Backends` (one pool lock per pool), so a VM's
  cloud-init seed and Disks created at the same time in a new pool never race.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from typing import Any

import libvirt

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
