"""Fault injection: libvirtd killed (-9), the provider killed, a timeout, at each step of
create, update and delete of VMs, Disks and Bridges; then the next run converges.

All of it runs on namespace host A (its own libvirtd; the shared qemu:///system is
never killed). Injection points are the reconcilers' progress reports: every step
they complete is reported ("seed written", "defined domain X", "created pool/vol"...),
and the test's progress callback kills libvirtd when the named step is reported, so
the very next libvirt call of the reconciler meets a dead daemon. No test hook
exists in the provider code: the steps are the same messages users see.

Each case asserts:
- the fault was really injected (the step was reached) and the operation failed;
- after restarting libvirtd, rerunning the same operation (same owner) converges:
  the objects are exactly the expected ones (no duplicate, no leftover), and a
  read shows no drift;
- after the final delete, the host holds exactly what it held before (zero
  orphans), and the foreign objects (a domain, a network, a pool with a volume
  of another owner) are byte-for-byte as they were (XML and volume content).

The counts are written to `FAULT_REPORT` for the closing note.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libvirt
import pytest
from lxml import etree

from pulumi_kubevirt.provider.core import begin
from pulumi_kubevirt.provider.errors import ProviderError
from pulumi_kubevirt.provider.kinds import BRIDGE, DISK, VIRTUAL_MACHINE
from pulumi_kubevirt.provider.libvirt.connection import Connections
from pulumi_kubevirt.provider.libvirt.domains import DomainReconciler
from pulumi_kubevirt.provider.libvirt.networks import NetworkReconciler
from pulumi_kubevirt.provider.libvirt.volumes import VolumeReconciler
from pulumi_kubevirt.provider.models import BridgeArgs, DiskArgs, VirtualMachineArgs
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.ownership import Owner
from pulumi_kubevirt.provider.plan import Plan
from pulumi_kubevirt.provider.waiting import Progress
from tests.harness.guest import GuestImage, unique_name
from tests.harness.libvirt_fixtures import Node, TwoHosts, kill_libvirtd, restart_libvirtd

FAULT_REPORT = Path(os.environ.get("PKV_FAULT_REPORT", "/tmp/pkv-fault-report.json"))
REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- host state


def _volume_digest(conn: libvirt.virConnect, vol: libvirt.virStorageVol) -> str:
    stream = conn.newStream(0)
    vol.download(stream, 0, 0, 0)
    digest = hashlib.sha256()
    while data := stream.recv(1 << 16):
        if not isinstance(data, bytes):
            raise AssertionError("download stream failed")
        digest.update(data)
    stream.finish()
    return digest.hexdigest()


def _stable(xml: str, volatile: tuple[str, ...]) -> str:
    """`xml` without what changes by itself (free space of a pool, access times of a volume)."""
    root = etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))
    for path in volatile:
        for el in root.findall(path):
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
    return etree.tostring(root, encoding="unicode")


_POOL_VOLATILE = ("capacity", "allocation", "available", "target/permissions")  # permissions: filled by
# pool-build in memory, not kept in the config: a libvirtd restart drops them from the XML
_VOLUME_VOLATILE = ("target/timestamps", "allocation", "physical")


def snapshot(node: Node, *, content: bool = False) -> dict[str, str]:
    """Every domain, network, pool and volume of the host -> its XML (and volume content digest)."""
    conn = node.open()
    try:
        found: dict[str, str] = {}
        for dom in conn.listAllDomains():
            found[f"domain/{dom.name()}"] = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        for net in conn.listAllNetworks():
            found[f"network/{net.name()}"] = net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
        for pool in conn.listAllStoragePools():
            found[f"pool/{pool.name()}"] = _stable(pool.XMLDesc(libvirt.VIR_STORAGE_XML_INACTIVE), _POOL_VOLATILE)
            if not pool.isActive():
                continue
            pool.refresh(0)
            for vol in pool.listAllVolumes():
                xml = _stable(vol.XMLDesc(0), _VOLUME_VOLATILE)
                found[f"volume/{pool.name()}/{vol.name()}"] = xml + _volume_digest(conn, vol) if content else vol.name()
        return found
    finally:
        conn.close()


@dataclass
class Foreign:
    """Objects of nobody in this test (another stack, a human): they must never change."""

    keys: list[str]
    before: dict[str, str]

    def assert_untouched(self, node: Node) -> int:
        now = snapshot(node, content=True)
        touched = [k for k in self.keys if now.get(k) != self.before[k]]
        diff = [
            line
            for k in touched
            for line in difflib.unified_diff(self.before[k].splitlines(), (now.get(k) or "").splitlines(), lineterm="")
        ]
        assert touched == [], f"foreign objects changed: {touched}\n" + "\n".join(diff)
        return len(touched)


@pytest.fixture(scope="module")
def host(two_hosts: TwoHosts) -> Node:
    return two_hosts.a


@pytest.fixture(scope="module")
def foreign(host: Node, guest: GuestImage) -> Iterator[Foreign]:
    tag = uuid.uuid4().hex[:6]
    conn = host.open()
    pool_dir = host.dir / f"foreign-pool-{tag}"
    names = {
        "domain": f"test-foreign-{tag}",
        "network": f"test-foreign-{tag}",
        "pool": f"test-foreign-{tag}",
        "volume": f"test-foreign-{tag}.raw",
    }
    try:
        conn.defineXML(
            f"<domain type='qemu'><name>{names['domain']}</name><memory unit='MiB'>64</memory>"
            f"<os><type arch='x86_64'>hvm</type><kernel>{guest.kernel}</kernel></os>"
            "<metadata><x:mine xmlns:x='https://example.org/other'>someone else</x:mine></metadata></domain>"
        )
        conn.networkDefineXML(f"<network><name>{names['network']}</name><bridge name='pkvf{tag}'/></network>")
        pool = conn.storagePoolDefineXML(
            f"<pool type='dir'><name>{names['pool']}</name><target><path>{pool_dir}</path></target></pool>"
        )
        pool.build(0)
        pool.create(0)
        vol = pool.createXML(
            f"<volume><name>{names['volume']}</name><capacity unit='bytes'>65536</capacity>"
            "<target><format type='raw'/></target></volume>",
            0,
        )
        stream = conn.newStream(0)
        vol.upload(stream, 0, 65536, 0)
        stream.send(os.urandom(65536))
        stream.finish()
        keys = [
            f"domain/{names['domain']}",
            f"network/{names['network']}",
            f"pool/{names['pool']}",
            f"volume/{names['pool']}/{names['volume']}",
        ]
        before = snapshot(host, content=True)
        yield Foreign(keys, {k: before[k] for k in keys})
    finally:
        conn.close()
        conn = host.open()
        try:
            for call in (
                lambda: conn.lookupByName(names["domain"]).undefine(),
                lambda: conn.networkLookupByName(names["network"]).undefine(),
                lambda: conn.storagePoolLookupByName(names["pool"]).storageVolLookupByName(names["volume"]).delete(0),
                lambda: conn.storagePoolLookupByName(names["pool"]).destroy(),
                lambda: conn.storagePoolLookupByName(names["pool"]).delete(0),
                lambda: conn.storagePoolLookupByName(names["pool"]).undefine(),
            ):
                try:
                    call()
                except libvirt.libvirtError:
                    pass  # best effort: a failed step of this teardown shows in the next test's snapshot
        finally:
            conn.close()


@dataclass
class Tally:
    injected: int = 0
    converged: int = 0
    orphans: int = 0
    foreign_touched: int = 0
    cases: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    t = Tally()
    yield t
    FAULT_REPORT.write_text(
        json.dumps(
            {
                "injected": t.injected,
                "converged": t.converged,
                "orphans": t.orphans,
                "foreign_touched": t.foreign_touched,
                "cases": t.cases,
            },
            indent=1,
        )
    )


# --------------------------------------------------------------------------- injection


class Killer:
    """A progress callback that kills the host's libvirtd when `step` is reported."""

    def __init__(self, node: Node, step: str | None) -> None:
        self.node, self.step, self.fired = node, step, False
        self.log: list[str] = []

    def __call__(self, message: str) -> None:
        self.log.append(message)
        if self.step is not None and not self.fired and self.step in message:
            self.fired = True
            kill_libvirtd(self.node)


def quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class Calls:
    """One resource's reconciler calls as the adapters make them (`core.begin`), each quiet unless
    given a progress (a Killer): a fresh reconciler, as in a new provider process."""

    rec: Any
    owner: Owner

    @classmethod
    def of(cls, reconciler: Callable[[Connections], Any], name: str) -> Calls:
        return cls(reconciler(Connections()), Owner("pkv-tests/faults", name))

    def create(self, args: Any, progress: Progress = quiet) -> dict[str, Any]:
        return dict(self.rec.create(begin("create", args, owner=self.owner, progress=progress)))

    def read(self, args: Any, state: dict[str, Any], progress: Progress = quiet) -> Any:
        return self.rec.read(begin("read", args, state, owner=self.owner, progress=progress))

    def update(
        self, old: Any, new: Any, plan: Plan, state: dict[str, Any], progress: Progress = quiet
    ) -> dict[str, Any]:
        return dict(self.rec.update(begin("update", new, state, owner=self.owner, progress=progress), old, plan))

    def delete(self, args: Any, state: dict[str, Any], progress: Progress = quiet) -> None:
        self.rec.delete(begin("delete", args, state, owner=self.owner, progress=progress))


def vm_args(node: Node, guest: GuestImage, name: str, **extra: Any) -> VirtualMachineArgs:
    return VirtualMachineArgs.model_validate(
        {
            "name": name,
            "target": {"kind": "libvirt", "uri": node.uri},
            "memory": "128Mi",
            "accelerator": "tcg",
            "kernel_boot": {"kernel": str(guest.kernel), "initrd": str(guest.initrd), "cmdline": "console=ttyS0"},
            "cloud_init": {"user_data": "#cloud-config\nhostname: one\n"},
            "restart_policy": {"shutdown_timeout": "1s"},
            "timeouts": {"create": "60s", "update": "60s", "delete": "60s"},
            **extra,
        }
    )


def disk_args(node: Node, image: Path, name: str) -> DiskArgs:
    return DiskArgs.model_validate(
        {
            "name": name,
            "target": {"kind": "libvirt", "uri": node.uri},
            "format": "raw",
            "size": "4Mi",
            "source": {"kind": "image", "path": str(image)},
        }
    )


def net_args(node: Node, name: str) -> BridgeArgs:
    return BridgeArgs.model_validate(
        {"name": name, "target": {"kind": "libvirt", "uri": node.uri}, "mode": "isolated", "bridge": name[-12:]}
    )


def inject(node: Node, step: str, run: Callable[[Killer], Any]) -> ProviderError:
    """Run `run` with libvirtd killed at `step`; it must fail (the error is returned); libvirtd
    is restarted after."""
    killer = Killer(node, step)
    try:
        with pytest.raises(ProviderError) as failure:
            run(killer)
    finally:
        if killer.fired or (node.libvirtd_pid is not None and not _alive(node.libvirtd_pid)):
            restart_libvirtd(node)
    assert killer.fired, f"step {step!r} was never reached; steps: {killer.log}"
    return failure.value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def names_of(snap: dict[str, str]) -> set[str]:
    return set(snap)


# --------------------------------------------------------------------------- VM


VM_CREATE_STEPS = ["writing the cloud-init seed", "seed written", "defined domain", "started domain"]
VM_UPDATE_STEPS = ["writing the cloud-init seed", "seed written", "redefining the domain in place"]
VM_DELETE_STEPS = ["shutting down", "undefining", "undefined domain", "dropping its ownership record"]


@pytest.mark.parametrize("step", VM_CREATE_STEPS)
def test_vm_create_killed(host: Node, guest: GuestImage, foreign: Foreign, tally: Tally, step: str) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    args = vm_args(host, guest, name)
    rec = Calls.of(DomainReconciler, name)
    tally.injected += 1
    error = inject(host, step, lambda p: rec.create(args, p))
    if step in ("defined domain", "started domain"):
        # the rollback could not run: the error says what may be left and that it is ours
        assert "rolling back failed too" in str(error) and f"owned by {rec.owner}" in str(error), error
    outs = rec.create(args)  # the next `up`
    assert outs["state"] == "running"
    _assert_vm_converged(host, rec, args, outs, before)
    rec.delete(args, outs)
    _assert_back_to(host, before, foreign, tally, f"vm create / {step}")


@pytest.mark.parametrize("step", VM_UPDATE_STEPS)
def test_vm_update_killed(host: Node, guest: GuestImage, foreign: Foreign, tally: Tally, step: str) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    old = vm_args(host, guest, name)
    new = vm_args(host, guest, name, memory="160Mi", cloud_init={"user_data": "#cloud-config\nhostname: two\n"})
    rec = Calls.of(DomainReconciler, name)
    state = rec.create(old)
    plan = VIRTUAL_MACHINE.plan(dump(old), dump(new))
    assert plan.of_kind("restart"), plan
    tally.injected += 1
    inject(host, step, lambda p: rec.update(old, new, plan, state, p))
    # the next `up` retries the update
    outs = rec.update(old, new, plan, state)
    _assert_vm_converged(host, rec, new, outs, before)
    rec.delete(new, outs)
    _assert_back_to(host, before, foreign, tally, f"vm update / {step}")


@pytest.mark.parametrize("step", VM_DELETE_STEPS)
def test_vm_delete_killed(host: Node, guest: GuestImage, foreign: Foreign, tally: Tally, step: str) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    args = vm_args(host, guest, name)
    _delete_killed_then_rerun(host, Calls.of(DomainReconciler, name), args, step, tally)
    _assert_back_to(host, before, foreign, tally, f"vm delete / {step}")


def _delete_killed_then_rerun(host: Node, rec: Calls, args: Any, step: str, tally: Tally) -> None:
    """Create, then delete with libvirtd killed at `step`, then the next `destroy`: delete again."""
    state = rec.create(args)
    tally.injected += 1
    inject(host, step, lambda p: rec.delete(args, state, p))
    rec.delete(args, state)


def _assert_vm_converged(
    host: Node, rec: Calls, args: VirtualMachineArgs, outs: dict[str, Any], before: dict[str, str]
) -> None:
    now = names_of(snapshot(host))
    new = now - names_of(before)
    seed = f"{args.name}-cidata.iso"
    expected = {f"domain/{args.name}", f"volume/default/{seed}", f"volume/default/{seed}.pkv-owner"}
    assert new - {"pool/default"} == expected, f"leftovers or duplicates: {sorted(new)}"
    found = rec.read(args, outs)
    assert found is not None
    observed, _ = found
    plan = VIRTUAL_MACHINE.plan(dump(args), observed)
    assert not plan, f"drift after convergence: {plan}"


def _assert_back_to(host: Node, before: dict[str, str], foreign: Foreign, tally: Tally, case: str) -> None:
    after = snapshot(host)
    orphans = sorted(names_of(after) - names_of(before))
    missing = sorted(names_of(before) - names_of(after))
    tally.orphans += len(orphans)
    tally.foreign_touched += foreign.assert_untouched(host)
    tally.cases.append({"case": case, "orphans": orphans})
    assert orphans == [] and missing == [], f"orphans {orphans}, missing {missing}"
    tally.converged += 1


# --------------------------------------------------------------------------- Disk


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("img") / "label.raw"
    path.write_bytes(b"PKV-FAULT\n" + os.urandom(3 << 20))
    return path


DISK_CREATE_STEPS = ["creating storage pool", "claimed", "uploading", "created"]
DISK_DELETE_STEPS = ["dropping its ownership record", "deleted default/", "removing storage pool"]


@pytest.mark.parametrize("step", DISK_CREATE_STEPS)
def test_disk_create_killed(host: Node, image: Path, foreign: Foreign, tally: Tally, step: str) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    args = disk_args(host, image, name)
    rec = Calls.of(VolumeReconciler, name)
    tally.injected += 1
    inject(host, step, lambda p: rec.create(args, p))
    outs = rec.create(args)
    _assert_disk_converged(host, args, outs, before, image)
    rec.delete(args, outs)
    _assert_back_to(host, before, foreign, tally, f"disk create / {step}")


@pytest.mark.parametrize("step", DISK_DELETE_STEPS)
def test_disk_delete_killed(host: Node, image: Path, foreign: Foreign, tally: Tally, step: str) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    args = disk_args(host, image, name)
    _delete_killed_then_rerun(host, Calls.of(VolumeReconciler, name), args, step, tally)
    _assert_back_to(host, before, foreign, tally, f"disk delete / {step}")


def _assert_disk_converged(
    host: Node, args: DiskArgs, outs: dict[str, Any], before: dict[str, str], image: Path
) -> None:
    new = names_of(snapshot(host)) - names_of(before)
    vol = f"{args.name}.raw"
    assert new - {"pool/default"} == {f"volume/default/{vol}", f"volume/default/{vol}.pkv-owner"}, sorted(new)
    assert outs["capacity"] == 4 << 20
    data = host.host_path(outs["path"]).read_bytes()
    assert data[: image.stat().st_size] == image.read_bytes(), "the volume does not hold the whole image"


# --------------------------------------------------------------------------- Bridge

NET_CREATE_STEPS = ["defined network", "started network"]
NET_DELETE_STEPS = ["stopping the network", "undefined network"]


@pytest.mark.parametrize("step", NET_CREATE_STEPS)
def test_network_create_killed(host: Node, foreign: Foreign, tally: Tally, step: str) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    args = net_args(host, name)
    rec = Calls.of(NetworkReconciler, name)
    tally.injected += 1
    inject(host, step, lambda p: rec.create(args, p))
    outs = rec.create(args)
    assert outs["active"] is True
    assert names_of(snapshot(host)) - names_of(before) == {f"network/{name}"}
    found = rec.read(args, outs)
    assert found is not None
    plan = BRIDGE.plan(dump(args), found[0])
    assert not plan, plan
    rec.delete(args, outs)
    _assert_back_to(host, before, foreign, tally, f"network create / {step}")


@pytest.mark.parametrize("step", NET_DELETE_STEPS)
def test_network_delete_killed(host: Node, foreign: Foreign, tally: Tally, step: str) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    args = net_args(host, name)
    rec = Calls.of(NetworkReconciler, name)
    outs = rec.create(args)
    tally.injected += 1
    if step == "undefined network":
        # The last step of a delete: the object is gone already; a kill there leaves nothing to
        # retry but must not make the rerun fail.
        killer = Killer(host, step)
        rec.delete(args, outs, killer)
        assert killer.fired
        restart_libvirtd(host)
    else:
        inject(host, step, lambda p: rec.delete(args, outs, p))
    rec.delete(args, outs)
    _assert_back_to(host, before, foreign, tally, f"network delete / {step}")


# --------------------------------------------------------------------------- the provider killed

_CHILD = """
import json, os, signal, sys
from pulumi_kubevirt.provider.core import begin
from pulumi_kubevirt.provider.libvirt.connection import Connections
from pulumi_kubevirt.provider.libvirt.domains import DomainReconciler
from pulumi_kubevirt.provider.libvirt.volumes import VolumeReconciler
from pulumi_kubevirt.provider.models import DiskArgs, VirtualMachineArgs
from pulumi_kubevirt.provider.ownership import Owner

kind, step, owner, doc = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])

def progress(message):
    if step in message:
        os.kill(os.getpid(), signal.SIGKILL)

if kind == "vm":
    DomainReconciler(Connections()).create(
        begin("create", VirtualMachineArgs.model_validate(doc), owner=Owner(*owner.split("::")), progress=progress))
else:
    VolumeReconciler(Connections()).create(
        begin("create", DiskArgs.model_validate(doc), owner=Owner(*owner.split("::")), progress=progress))
"""


def _provider_killed_at(kind: str, step: str, args: Any, owner: Owner) -> None:
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, step, str(owner), json.dumps(dump(args))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert res.returncode == -signal.SIGKILL, f"the provider was not killed at {step!r}: {res.stderr[-2000:]}"


@pytest.mark.parametrize("step", ["seed written", "defined domain", "started domain"])
def test_provider_killed_mid_vm_create(
    host: Node, guest: GuestImage, foreign: Foreign, tally: Tally, step: str
) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    args = vm_args(host, guest, name)
    rec = Calls.of(DomainReconciler, name)
    tally.injected += 1
    _provider_killed_at("vm", step, args, rec.owner)
    outs = rec.create(args)
    _assert_vm_converged(host, rec, args, outs, before)
    rec.delete(args, outs)
    _assert_back_to(host, before, foreign, tally, f"provider killed / vm create / {step}")


@pytest.mark.parametrize("step", ["claimed", "uploading"])
def test_provider_killed_mid_disk_create(host: Node, image: Path, foreign: Foreign, tally: Tally, step: str) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    args = disk_args(host, image, name)
    rec = Calls.of(VolumeReconciler, name)
    tally.injected += 1
    _provider_killed_at("disk", step, args, rec.owner)
    outs = rec.create(args)
    _assert_disk_converged(host, args, outs, before, image)
    rec.delete(args, outs)
    _assert_back_to(host, before, foreign, tally, f"provider killed / disk create / {step}")


# --------------------------------------------------------------------------- a timeout


def test_vm_create_timeout_rolls_back_then_converges(
    host: Node, guest: GuestImage, foreign: Foreign, tally: Tally
) -> None:
    """No DHCP on the VM's only network: waiting for an address times out (create=5s);
    the rollback removes domain and seed; the next run (no wait for an IP) converges."""
    before = snapshot(host)
    net = net_args(host, unique_name("fault"))
    net_rec = Calls.of(NetworkReconciler, net.name)
    net_outs = net_rec.create(net)
    name = unique_name("fault")
    nic = {"interfaces": [{"name": "nic0", "network": net.name}]}
    slow = vm_args(host, guest, name, wait_for_ip=True, timeouts={"create": "5s"}, **nic)
    rec = Calls.of(DomainReconciler, name)
    tally.injected += 1
    with pytest.raises(ProviderError, match="gave up after"):
        rec.create(slow)
    assert names_of(snapshot(host)) - names_of(before) - {"pool/default"} == {f"network/{net.name}"}
    args = vm_args(host, guest, name, **nic)
    outs = rec.create(args)
    assert outs["state"] == "running"
    rec.delete(args, outs)
    net_rec.delete(net, net_outs)
    _assert_back_to(host, before, foreign, tally, "vm create / timeout")


# --------------------------------------------------------------------------- update of Disk and Bridge


def test_disk_update_killed(host: Node, image: Path, foreign: Foreign, tally: Tally) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    old = disk_args(host, image, name)
    new = old.model_copy(update={"size": "8Mi"})
    rec = Calls.of(VolumeReconciler, name)
    outs = rec.create(old)
    plan = DISK.plan(dump(old), dump(new))
    tally.injected += 1
    inject(host, "growing to", lambda p: rec.update(old, new, plan, outs, p))
    outs = rec.update(old, new, plan, outs)
    assert outs["capacity"] == 8 << 20
    rec.delete(new, outs)
    _assert_back_to(host, before, foreign, tally, "disk update / growing to")


def test_network_update_killed(host: Node, foreign: Foreign, tally: Tally) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    old = net_args(host, name)
    new = old.model_copy(update={"mtu": 1400})
    rec = Calls.of(NetworkReconciler, name)
    outs = rec.create(old)
    plan = BRIDGE.plan(dump(old), dump(new))
    tally.injected += 1
    inject(
        host,
        "redefining the network in place",
        lambda p: rec.update(old, new, plan, outs, p),
    )
    outs = rec.update(old, new, plan, outs)
    found = rec.read(new, outs)
    assert found is not None and found[0].get("mtu") == 1400
    rec.delete(new, outs)
    _assert_back_to(host, before, foreign, tally, "network update / redefining")


# --------------------------------------------------------------------------- refresh after an interrupted delete


def test_refresh_after_interrupted_vm_delete_removes_the_owned_seed(
    host: Node, guest: GuestImage, foreign: Foreign, tally: Tally
) -> None:
    """Killed after undefine, before the seed went: the next refresh finds the VM gone (it
    leaves the state) and removes the owned seed, which nothing would ever remove later."""
    before = snapshot(host)
    name = unique_name("fault")
    args = vm_args(host, guest, name)
    rec = Calls.of(DomainReconciler, name)
    state = rec.create(args)
    tally.injected += 1
    inject(host, "undefined domain", lambda p: rec.delete(args, state, p))
    assert f"volume/default/{name}-cidata.iso" in snapshot(host)
    assert rec.read(args, state) is None
    _assert_back_to(host, before, foreign, tally, "vm delete / undefined domain, then refresh")


def test_refresh_after_interrupted_disk_delete_drops_the_record(
    host: Node, image: Path, foreign: Foreign, tally: Tally
) -> None:
    before = snapshot(host)
    name = unique_name("fault")
    args = disk_args(host, image, name)
    rec = Calls.of(VolumeReconciler, name)
    outs = rec.create(args)
    tally.injected += 1
    killer = Killer(host, "dropping its ownership record")
    with pytest.raises(ProviderError):
        rec.delete(args, outs, killer)
    restart_libvirtd(host)
    assert killer.fired
    assert f"volume/default/{name}.raw.pkv-owner" in snapshot(host)
    assert rec.read(args, outs) is None
    _assert_back_to(host, before, foreign, tally, "disk delete / volume deleted, then refresh")
