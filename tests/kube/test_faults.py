"""Fault injection on a real kube-apiserver: every create, update and delete, interrupted at each step, converges.

The steps are the provider's own write steps: every ownership-checked write
reports `created|updated|adopted|deleted <Kind> <ns>/<name>` through the
progress callback every reconciler call already receives (owned.py). The
tests count them by running the call with a fault at step 1, 2, ... until the
call finishes before the fault, so a new write step is covered without
touching these tests. Why the progress callback: it is the one seam every
reconciler call already has (no hook, global or test branch in product code),
and a fault right after a write is the worst point (the write is committed,
the step that follows it is not).

Faults:
- the provider killed (SIGKILL of a provider process: tests/kube/fault_child.py)
  after each step; then the next `up` (the same call, same owner, in this
  process) must adopt what the dead one made and finish;
- the apiserver killed (SIGKILL) after each step and restarted: the same call
  rides it out;
- a timeout (the VM never gets ready): the create rolls back; the next `up`
  converges.

After each fault: the resource converged, the objects carrying the managed-by
label are exactly the expected ones (no orphan, no duplicate), and after
delete there are none. Totals are printed as a `FAULTS` line per test.
"""

from __future__ import annotations

import json
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pulumi_kubevirt.provider.errors import WaitTimeout
from pulumi_kubevirt.provider.ownership import OWNER
from pulumi_kubevirt.provider.resources import BridgeProvider, DiskProvider, MigrationProvider, VirtualMachineProvider
from tests.harness.doubles.engine import rest_json
from tests.harness.kube_fixtures import KubeCluster

from ..libvirt.test_resources import checked
from .cluster_objects import VM, Cluster, Kind
from .fault_child import STEP, call

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 90.0
DOUBLE = "test-double.pulumi-kubevirt.io"


@dataclass
class Tally:
    """Faults injected, runs that converged, orphans found (objects beyond the expected ones)."""

    name: str
    injected: int = 0
    converged: int = 0
    orphans: int = 0
    steps: dict[str, int] = field(default_factory=dict)

    def report(self) -> None:
        print(
            f"\nFAULTS {self.name}: injected {self.injected} converged {self.converged} orphans {self.orphans} "
            f"steps {self.steps}"
        )


def owner_of(name: str) -> str:
    return f"pkv-faults/{secrets.token_hex(4)}::{name}"


class ProviderProcesses:
    """The zygote of tests/kube/fault_child.py: forks one provider process per request."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.kube.fault_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], CHILD_TIMEOUT)
        assert ready, f"the provider process did not finish within {CHILD_TIMEOUT}s"
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def processes() -> Iterator[ProviderProcesses]:
    zygote = ProviderProcesses()
    yield zygote
    zygote.close()


def kill_provider_at(
    processes: ProviderProcesses, kind: str, op: str, props: dict[str, Any], olds: dict[str, Any] | None, step: int
) -> int | None:
    """Run the call in a provider process that SIGKILLs itself after write step `step`.

    Returns None when it was killed there, or the number of steps when the call finished first."""
    answer = processes.run({"kind": kind, "op": op, "props": props, "olds": olds or {}, "kill_at": step})
    log = "\n".join(answer["log"])
    if answer["signal"] == signal.SIGKILL:
        assert answer["log"][-1].startswith("KILLED after"), log
        return None
    assert answer["code"] == 0, f"provider process failed:\n{log}"
    return int(answer["log"][-1].split()[1])


def check_objects(
    cluster: Cluster,
    ns: str,
    expected: set[str],
    cluster_names: set[str],
    tally: Tally,
    baseline: set[str] | None = None,
) -> None:
    expected = expected | (baseline or set())
    found = cluster.managed(ns, cluster_names)
    assert len(found) == len(set(found))  # no duplicates
    extra = set(found) - expected
    tally.orphans += len(extra)
    assert set(found) == expected, f"expected {sorted(expected)}, found {found}"


# -- scenarios ------------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    """A resource, the inputs of its create and of an update, and the objects each leaves."""

    kind: str
    provider: Any
    create: dict[str, Any]
    update: dict[str, Any] | None
    created: set[str]
    updated: set[str]
    cluster_names: set[str] = field(default_factory=set)
    baseline: set[str] = field(default_factory=set)
    """Objects of other resources that exist all along (the migrated VM)."""
    check: Callable[[dict[str, Any]], None] = lambda outs: None


def vm_scenario(target: dict[str, Any], *, restart: bool = True) -> Scenario:
    ns, name = target["namespace"], "fvm"
    create = {
        "name": name,
        "target": target,
        "memory": "256Mi",
        "disks": [
            {
                "name": "root",
                "template": {"size": "1Gi", "source": {"kind": "url", "url": "http://web.server/r.qcow2"}},
            }
        ],
        "interfaces": [{"name": "default", "pod": True}],
        "cloud_init": {"user_data": "#cloud-config\n{}\n", "ssh_authorized_keys": ["ssh-ed25519 AAAAC3 k@h"]},
    }
    changed = {"user_data": "#cloud-config\nhostname: changed\n"}
    if restart:
        # the ssh-keys Secret goes, which (accessCredentials) and a new machine type are restart-class:
        # with restart_policy auto, a stop/start cycle
        update = {**create, "cloud_init": changed, "machine": "q35", "restart_policy": {"mode": "auto"}}
    else:
        update = {**create, "cloud_init": {**create["cloud_init"], **changed}}  # both Secrets and the VM
    common = {f"VirtualMachine {ns}/{name}", f"VirtualMachineInstance {ns}/{name}", f"DataVolume {ns}/{name}-root"}
    return Scenario(
        "vm",
        VirtualMachineProvider(),
        create,
        update,
        common | {f"Secret {ns}/{name}-cloudinit", f"Secret {ns}/{name}-ssh-keys"},
        common | {f"Secret {ns}/{name}-cloudinit"} | (set() if restart else {f"Secret {ns}/{name}-ssh-keys"}),
        check=lambda outs: _running(outs),
    )


def _running(outs: dict[str, Any]) -> None:
    assert outs["printable_status"] == "Running" and outs["pending_restart"] is False, outs


def disk_scenario(target: dict[str, Any]) -> Scenario:
    ns, name = target["namespace"], "fdisk"
    create = {"name": name, "target": target, "size": "1Gi", "source": {"kind": "url", "url": "http://web.server/d"}}
    return Scenario(
        "disk",
        DiskProvider(),
        create,
        None,  # a grow needs a PVC, which the test bed has no controller to make
        {f"DataVolume {ns}/{name}"},
        set(),
        check=lambda outs: _phase(outs, "Succeeded"),
    )


def _phase(outs: dict[str, Any], phase: str) -> None:
    assert outs["phase"] == phase, outs


def bridge_scenario(target: dict[str, Any]) -> Scenario:
    ns, name = target["namespace"], f"fbr-{secrets.token_hex(3)}"
    create = {"name": name, "target": target, "bridge": name, "ports": ["eth1"]}
    objects = {f"NodeNetworkConfigurationPolicy {name}", f"NetworkAttachmentDefinition {ns}/{name}"}
    return Scenario(
        "bridge",
        BridgeProvider(),
        create,
        {**create, "stp": True, "mtu": 9000},
        objects,
        objects,
        cluster_names={name},
        check=lambda outs: _active(outs),
    )


def _active(outs: dict[str, Any]) -> None:
    assert outs["active"] is True, outs


# -- the provider killed ----------------------------------------------------------------------------------------------


def provider_kills(scenario: Scenario, cluster: Cluster, ns: str, tally: Tally, processes: ProviderProcesses) -> None:
    """Kill the provider after each step of create, update and delete; the next run converges."""
    p = scenario.provider
    name = scenario.create["name"]

    step = 1
    while True:  # create
        props = checked(p, {}, {OWNER: owner_of(name), **scenario.create})
        total = kill_provider_at(processes, scenario.kind, "create", props, None, step)
        if total is not None:
            assert total == step - 1, f"create had {total} steps, step {step} was never reached"
            tally.steps["create"] = total
            made = _made(p, props)  # finished in the child: adopt it here, as a refresh would find it
        else:
            tally.injected += 1
            made = _made(p, props)  # the next `up`: the same resource, the same owner
            scenario.check(made[1])
            check_objects(cluster, ns, scenario.created, scenario.cluster_names, tally, scenario.baseline)
            tally.converged += 1
        p.delete(*made)
        check_objects(cluster, ns, set(), scenario.cluster_names, tally, scenario.baseline)
        if total is not None:
            break
        step += 1

    if scenario.update is not None:
        props = checked(p, {}, {OWNER: owner_of(name), **scenario.create})
        rid, state = _made(p, props)
        step = 1
        while True:
            news = checked(p, state, {OWNER: props[OWNER], **scenario.update})
            total = kill_provider_at(processes, scenario.kind, "update", news, state, step)
            new_state = dict(p.update(rid, state, news).outs)  # the next `up` (or the finished child's no-op)
            scenario.check(new_state)
            check_objects(cluster, ns, scenario.updated, scenario.cluster_names, tally, scenario.baseline)
            if total is None:
                tally.injected += 1
                tally.converged += 1
            back = checked(p, new_state, {OWNER: props[OWNER], **scenario.create})
            state = dict(p.update(rid, new_state, back).outs)
            check_objects(cluster, ns, scenario.created, scenario.cluster_names, tally, scenario.baseline)
            if total is not None:
                assert total == step - 1
                tally.steps["update"] = total
                break
            step += 1
        p.delete(rid, state)
        check_objects(cluster, ns, set(), scenario.cluster_names, tally, scenario.baseline)

    step = 1
    while True:  # delete
        props = checked(p, {}, {OWNER: owner_of(name), **scenario.create})
        rid, state = _made(p, props)
        total = kill_provider_at(processes, scenario.kind, "delete", state, None, step)
        p.delete(rid, state)  # the next `destroy`
        check_objects(cluster, ns, set(), scenario.cluster_names, tally, scenario.baseline)
        if total is not None:
            # The real garbage collector may remove the VM's template DataVolume before the delete gets
            # to it (then one "deleted" step fewer than the run before): every step reached was killed.
            assert total in (step - 1, step - 2), f"delete had {total} steps, step {step - 1} was killed"
            tally.steps["delete"] = total
            break
        tally.injected += 1
        tally.converged += 1
        step += 1


def _vm_steps(tally: Tally) -> dict[str, int]:
    """The VM's step counts, its delete's counted without the template DataVolume: the delete writes
    it (a 4th step) only when it gets there before the real garbage collector, which deletes it with
    the VM; either way every step the run reached was a fault point."""
    steps = dict(tally.steps)
    if steps.get("delete") == 4:
        steps["delete"] = 3
    return steps


def _gone(cluster: Cluster, kind: Kind, name: str, ns: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while cluster.get(kind, name, ns) is not None:
        assert time.monotonic() < deadline, f"{kind.kind} {ns}/{name} still there after {timeout}s"
        time.sleep(0.5)


def _made(provider: Any, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    created = provider.create(props)
    return created.id, dict(created.outs)


def test_vm_provider_killed_at_each_step(
    target: dict[str, Any], cluster: Cluster, processes: ProviderProcesses
) -> None:
    tally = Tally("vm, provider killed")
    provider_kills(vm_scenario(target), cluster, target["namespace"], tally, processes)
    tally.report()
    assert _vm_steps(tally) == {"create": 3, "update": 5, "delete": 3}, tally.steps
    assert tally.injected == tally.converged >= 11 and tally.orphans == 0  # 12 when the delete wrote the DataVolume


def test_disk_and_bridge_provider_killed_at_each_step(
    target: dict[str, Any], cluster: Cluster, processes: ProviderProcesses
) -> None:
    disks, bridges = Tally("disk, provider killed"), Tally("bridge, provider killed")
    provider_kills(disk_scenario(target), cluster, target["namespace"], disks, processes)
    provider_kills(bridge_scenario(target), cluster, target["namespace"], bridges, processes)
    disks.report()
    bridges.report()
    assert disks.steps == {"create": 1, "delete": 1} and disks.injected == disks.converged == 2
    assert bridges.steps == {"create": 2, "update": 2, "delete": 3} and bridges.injected == bridges.converged == 7
    assert disks.orphans == bridges.orphans == 0


def test_migration_provider_killed_at_each_step(
    target: dict[str, Any], cluster: Cluster, processes: ProviderProcesses
) -> None:
    ns = target["namespace"]
    vmp, mp = VirtualMachineProvider(), MigrationProvider()
    vm_in = checked(
        vmp,
        {},
        {
            "name": "mover",
            "target": target,
            "memory": "256Mi",
            "disks": [{"name": "containerdisk", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"}],
            "kubevirt": {"eviction_strategy": "LiveMigrate"},
        },
    )
    vm = vmp.create(vm_in)
    scenario = Scenario(
        "migration",
        mp,
        {"name": "move", "vm": "mover", "target": target},
        None,
        {f"VirtualMachineInstanceMigration {ns}/move"},
        set(),
        baseline={f"VirtualMachine {ns}/mover", f"VirtualMachineInstance {ns}/mover"},
        check=lambda outs: _phase(outs, "Succeeded"),
    )
    tally = Tally("migration, provider killed")
    # between runs the VMIM is deleted and the VM is left where the last migration put it
    real_check = scenario.check

    def check(outs: dict[str, Any]) -> None:
        real_check(outs)
        assert outs["destination_host"] not in (None, outs["source_host"])

    scenario.check = check
    provider_kills(scenario, cluster, ns, tally, processes)
    tally.report()
    assert tally.steps == {"create": 1, "delete": 1} and tally.injected == tally.converged == 2
    assert tally.orphans == 0
    vmp.delete(vm.id, dict(vm.outs))
    assert cluster.managed(ns) == []


# -- the apiserver killed ---------------------------------------------------------------------------------------------


def kill_apiserver_at(
    kube_cluster: KubeCluster, request: dict[str, Any], step: int, downtime: float
) -> tuple[dict[str, Any] | None, int | None]:
    """Run the call in a thread; after write step `step`, SIGKILL the apiserver, keep it down
    `downtime` seconds and start it again (from this, the main thread: see restart_apiserver).

    Returns the call's outputs and None when the fault was injected, or the number of steps
    when the call finished first."""
    steps = 0
    hit, resume = threading.Event(), threading.Event()
    result: list[Any] = []

    def progress(message: str) -> None:
        nonlocal steps
        if STEP.match(message):
            steps += 1
            if steps == step:
                hit.set()
                resume.wait(60)

    def run() -> None:
        try:
            result.append(call(request, progress))
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            result.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    while worker.is_alive() and not hit.wait(0.05):
        pass
    if hit.is_set():
        kube_cluster.stop_apiserver(crash=True)
        resume.set()
        time.sleep(downtime)
        kube_cluster.start_apiserver()
    worker.join(120)
    assert not worker.is_alive()
    (outcome,) = result
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome, (None if hit.is_set() else steps)


def test_vm_apiserver_killed_at_each_step(target: dict[str, Any], cluster: Cluster, kube_cluster: KubeCluster) -> None:
    """Killed right after each write of create, update and delete (down while it restarts, 3-7 s):
    each call rides it out. The update is a live one (new user data: both Secrets and the VM, 3
    steps; the provider-kill test covers the stop/start cycle too): each restart costs 5-9 s."""
    scenario = vm_scenario(target, restart=False)
    ns, p = target["namespace"], scenario.provider
    tally = Tally("vm, apiserver killed")
    assert scenario.update is not None
    props = checked(p, {}, {OWNER: owner_of("fvm"), **scenario.create})
    state: dict[str, Any] = {}
    for op in ("create", "update", "delete"):
        step = 1
        while True:
            if op == "create":
                request = {"kind": "vm", "op": "create", "props": props}
            elif op == "update":
                news = checked(p, state, {OWNER: props[OWNER], **scenario.update})
                request = {"kind": "vm", "op": "update", "props": news, "olds": state}
            else:
                request = {"kind": "vm", "op": "delete", "props": state}
            outs, total = kill_apiserver_at(kube_cluster, request, step, downtime=0.0)
            if total is None:
                tally.injected += 1
            if op == "create":
                assert outs is not None
                scenario.check(outs)
                check_objects(cluster, ns, scenario.created, set(), tally)
                state = dict(p.read(f"kubevirt:{ns}/fvm", {**props, **outs}).outs)
                if total is None:
                    p.delete(f"kubevirt:{ns}/fvm", state)
                    check_objects(cluster, ns, set(), set(), tally)
            elif op == "update":
                assert outs is not None
                scenario.check(outs)
                check_objects(cluster, ns, scenario.updated, set(), tally)
                updated = dict(p.read(f"kubevirt:{ns}/fvm", {**news, **outs}).outs)
                back = checked(p, updated, {OWNER: props[OWNER], **scenario.create})
                state = dict(p.update(f"kubevirt:{ns}/fvm", updated, back).outs)
            else:
                check_objects(cluster, ns, set(), set(), tally)
                if total is None:
                    state = dict(p.create(props).outs)
            if total is None:
                tally.converged += 1
            else:
                tally.steps[op] = total
                break
            step += 1
    tally.report()
    assert _vm_steps(tally) == {"create": 3, "update": 3, "delete": 3}, tally.steps
    # A write retried across the restart may report its step twice, so a run can see one more
    # injection point than the final step count; every injected fault must still converge.
    assert tally.injected == tally.converged >= 9 and tally.orphans == 0


def _held_vm(target: dict[str, Any], create_timeout: str) -> tuple[Scenario, str, dict[str, Any]]:
    """The VM scenario, a fresh owner, and the scenario's create inputs for a VM that never gets ready
    within `create_timeout` (its instance held in Scheduled by the virt-handler double)."""
    scenario = vm_scenario(target)
    held = {
        **scenario.create,
        "timeouts": {"create": create_timeout},
        "kubevirt": {"annotations": {f"{DOUBLE}/hold": "Scheduled"}},
    }
    return scenario, owner_of("fvm"), held


def test_timeouts_roll_back_and_the_next_up_converges(target: dict[str, Any], cluster: Cluster) -> None:
    """A VM that never gets ready within create=3s (its instance held in Scheduled by the virt-handler double):
    the create fails and removes what it made, and returns only once it is gone (the rollback waited while
    virt-controller's finalizer held the VM until its instance stopped), so the immediate retry of the same
    name creates anew and converges."""
    ns = target["namespace"]
    scenario, owner, held = _held_vm(target, "3s")
    p = scenario.provider
    with pytest.raises(WaitTimeout, match="the VM to be Ready"):
        p.create(checked(p, {}, {OWNER: owner, **held}))
    # the VM's DataVolume is KubeVirt's (owned by the VM): the rollback removes it with the VM. No waiting
    # here: what the rollback deleted is gone when the create's error comes back.
    assert cluster.get(VM, "fvm", ns) is None
    check_objects(cluster, ns, set(), set(), Tally("timeout"))
    rid, state = _made(p, checked(p, {}, {OWNER: owner, **scenario.create}))
    scenario.check(state)
    check_objects(cluster, ns, scenario.created, set(), Tally("timeout"))
    p.delete(rid, state)
    check_objects(cluster, ns, set(), set(), Tally("timeout"))


KEEP = f"{DOUBLE}/keep"
"""A finalizer of the test's: holds a deleted VM terminating until the test removes it."""


def _finalizers(cluster: Cluster, ns: str, name: str) -> list[str]:
    return list(((cluster.get(VM, name, ns) or {}).get("metadata") or {}).get("finalizers") or [])


def _patch_finalizers(cluster: Cluster, ns: str, name: str, patch: list[dict[str, Any]]) -> None:
    rest_json(cluster.api_client, "PATCH", VM.path(ns, name), patch, content_type="application/json-patch+json")


def _keep_when_created(cluster: Cluster, ns: str, name: str, timeout: float) -> threading.Thread:
    """Add KEEP to the VM's finalizers once virt-controller has put its own there (appended: theirs stays)."""

    def run() -> None:
        deadline = time.monotonic() + timeout
        while not _finalizers(cluster, ns, name):
            assert time.monotonic() < deadline, f"VirtualMachine {ns}/{name} got no finalizer in {timeout}s"
            time.sleep(0.1)
        _patch_finalizers(cluster, ns, name, [{"op": "add", "path": "/metadata/finalizers/-", "value": KEEP}])

    keeper = threading.Thread(target=run)
    keeper.start()
    return keeper


def _release_later(cluster: Cluster, ns: str, name: str, delay: float) -> threading.Thread:
    """Remove KEEP from the VM's finalizers after `delay` seconds (guarded by a test of the entry)."""

    def run() -> None:
        time.sleep(delay)
        index = _finalizers(cluster, ns, name).index(KEEP)
        entry = f"/metadata/finalizers/{index}"
        _patch_finalizers(
            cluster, ns, name, [{"op": "test", "path": entry, "value": KEEP}, {"op": "remove", "path": entry}]
        )

    releaser = threading.Thread(target=run)
    releaser.start()
    return releaser


def test_a_rollback_that_runs_out_names_the_terminating_vm_and_the_retry_waits_for_it(
    target: dict[str, Any], cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    """The held VM also carries a finalizer nobody removes during the rollback: the rollback's bound (10 s)
    runs out, the create's own WaitTimeout comes back and the progress names the VM still terminating; the
    immediate retry of the same name waits for it (released 3 s later) and then creates anew and converges,
    never writing onto the VM on its way out."""
    ns = target["namespace"]
    scenario, owner, held = _held_vm(target, "6s")
    p = scenario.provider
    keeper = _keep_when_created(cluster, ns, "fvm", timeout=6.0)
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="the VM to be Ready"):
        p.create(checked(p, {}, {OWNER: owner, **held}))
    assert time.monotonic() - started < 6 + 10 + 15  # the create's bound, the rollback's, a slow box's slack
    keeper.join(10)
    left = cluster.get(VM, "fvm", ns)
    assert left is not None and left["metadata"].get("deletionTimestamp") and KEEP in left["metadata"]["finalizers"]
    rolled_back = capsys.readouterr().err
    assert (
        f"fvm: VirtualMachine {ns}/fvm is still terminating (terminating, held by " in rolled_back
        and KEEP in rolled_back.split("is still terminating", 1)[1].split("\n", 1)[0]
    ), rolled_back
    releaser = _release_later(cluster, ns, "fvm", delay=3.0)
    rid, state = _made(p, checked(p, {}, {OWNER: owner, **scenario.create}))
    releaser.join(10)
    scenario.check(state)
    retried = capsys.readouterr().err
    assert f"VirtualMachine {ns}/fvm of this resource is being deleted: waiting for it to be gone" in retried
    now = cluster.get(VM, "fvm", ns)
    assert now is not None and now["metadata"]["uid"] != left["metadata"]["uid"]
    check_objects(cluster, ns, scenario.created, set(), Tally("rollback ran out"))
    p.delete(rid, state)
    check_objects(cluster, ns, set(), set(), Tally("rollback ran out"))


def test_refresh_and_destroy_find_owned_leftovers(target: dict[str, Any], cluster: Cluster) -> None:
    """The VM deleted by another client (or by an interrupted destroy) while its Secrets remain: refresh
    keeps the resource (observed stopped, state Missing), so `up` makes the VM again, and `destroy`
    removes the Secrets; nothing is dropped from the state while something of it is left."""
    ns = target["namespace"]
    scenario = vm_scenario(target)
    p = scenario.provider
    props = checked(p, {}, {OWNER: owner_of("fvm"), **scenario.create})
    rid, state = _made(p, props)
    cluster.delete(VM, "fvm", ns)
    # virt-controller's finalizer keeps the VM until its instance has stopped: deleted means gone
    _gone(cluster, VM, "fvm", ns)
    read = p.read(rid, state)
    assert read.id == rid and read.outs["state"] == "Missing" and read.inputs["run_state"] == "stopped"
    diff = p.diff(rid, read.outs, props)
    assert diff.changes is True and diff.replaces == []
    outs = dict(p.update(rid, read.outs, props).outs)  # the next `up`
    scenario.check(outs)
    check_objects(cluster, ns, scenario.created, set(), Tally("leftovers"))
    cluster.delete(VM, "fvm", ns)
    p.delete(rid, outs)  # `destroy` without a refresh
    check_objects(cluster, ns, set(), set(), Tally("leftovers"))
    assert p.read(rid, outs).id is None  # nothing of it left: gone
