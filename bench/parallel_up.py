"""Benchmark: `pulumi up` of N KubeVirt VMs + N DataVolumes through the plugin, the dynamic resources, and a floor.

The kube tier's real etcd + kube-apiserver (tests/harness/kube_fixtures.py),
with an audit log, and its KubeVirt/CDI controllers. Each round runs, in an
order that rotates from round to round, in a fresh namespace each:

- plugin:  `pulumi up` of a program declaring N VirtualMachines and N Disks
           (DataVolumes) through `pulumi-resource-kubevirt` (explicit provider);
- dynamic: the same program on the dynamic resources (pulumi_kubevirt.provider);
- floor:   the same manifests (rendered by the provider's own render functions)
           created with the `kubernetes` client by a 16-thread script, in its own
           process, that waits for the same readiness (VM ready, DataVolume
           Succeeded) through one shared watch per kind.

Both Pulumi paths run with `pulumi up --parallel P` (default 16, the floor's
threads; the CLI's own default is 4 per CPU): the plugin sizes its pool from it,
the dynamic host stays at its 4 calls.

Reported per method: the median wall time of the whole command and its ratio
to the floor's; the peak number of objects created and not yet ready (a watch
of the namespace kept by this script, so the 4-call ceiling of Pulumi's dynamic
host shows); the API requests the method sent per created object, by verb,
from the apiserver's audit log (user agent `pulumi-kubevirt` for both Pulumi
paths, `pkv-bench-floor` for the floor); the load average of the machine.
`--boot SECONDS` delays every VM's readiness (the controllers' slow-boot
setting) to that many seconds, where a cap on concurrent creates costs most.
Destroys between rounds are not timed. Not a test: nothing here asserts a time.

    .venv/bin/python -m bench.parallel_up [--vms 50] [--rounds 3] [--boot 0 --boot 20]
        [--methods plugin,dynamic,floor] [--parallel 16] [--json bench/results-parallel-up.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from pulumi_kubevirt.provider.kubevirt import render
from pulumi_kubevirt.provider.models import DiskArgs, VirtualMachineArgs
from pulumi_kubevirt.provider.ownership import Owner
from tests.harness import tools
from tests.harness.kube_fixtures import KubeCluster
from tests.harness.pulumi_fixtures import PulumiCLI, _environment, write_python_project

METHODS = ("plugin", "dynamic", "floor")
FLOOR_THREADS = 16
FLOOR_AGENT = "pkv-bench-floor"
PROVIDER_AGENT = "pulumi-kubevirt"
OBSERVER_AGENT = "pkv-bench-observer"
UP_TIMEOUT = 1800.0
IMAGE = "quay.io/kubevirt/cirros-container-disk-demo"


def vm_inputs(i: int) -> dict[str, Any]:
    """The inputs of VM `i` (no target: each path adds its own)."""
    return {
        "name": f"vm-{i}",
        "memory": "64Mi",
        "run_state": "running",
        "disks": [{"name": "containerdisk", "container_image": IMAGE}],
        "interfaces": [{"name": "default", "pod": True}],
        "timeouts": {"create": "10m", "delete": "10m"},
    }


def disk_inputs(i: int) -> dict[str, Any]:
    return {"name": f"dv-{i}", "size": "1Gi", "source": {"kind": "blank"}, "timeouts": {"create": "10m"}}


PLUGIN_PROGRAM = """
import json
import pulumi

config = pulumi.Config()
provider = pulumi.ProviderResource(
    "kubevirt",
    "cluster",
    {"targetKind": "kubevirt", "kubeconfig": config.require("kubeconfig"), "namespace": config.require("namespace")},
)
opts = pulumi.ResourceOptions(provider=provider)
for vm in json.loads(config.require("vms")):
    pulumi.CustomResource("kubevirt:index:VirtualMachine", vm["name"], vm, opts=opts)
for disk in json.loads(config.require("disks")):
    pulumi.CustomResource("kubevirt:index:Disk", disk["name"], disk, opts=opts)
"""

DYNAMIC_PROGRAM = """
import json
import pulumi
from pulumi_kubevirt.provider import Disk, VirtualMachine

config = pulumi.Config()
target = {"kind": "kubevirt", "kubeconfig": config.require("kubeconfig"), "namespace": config.require("namespace")}
for vm in json.loads(config.require("vms")):
    VirtualMachine(vm["name"], target=target, **vm)
for disk in json.loads(config.require("disks")):
    Disk(disk["name"], target=target, **disk)
"""

AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata"}],
}


# -- the cluster -------------------------------------------------------------------------------


def audit_args(workdir: Path) -> list[str]:
    """The apiserver flags of this benchmark's audit log (every request, metadata only)."""
    workdir.mkdir(parents=True, exist_ok=True)
    policy = workdir / "audit-policy.yaml"
    policy.write_text(yaml.safe_dump(AUDIT_POLICY))
    return [f"--audit-policy-file={policy}", f"--audit-log-path={workdir / 'audit.log'}", "--audit-log-maxsize=0"]


@dataclass
class Tier:
    """The running kube tier: its apiserver, the audit log, and the knob of VM readiness."""

    cluster: KubeCluster
    audit_log: Path
    controllers: str
    booting: Any
    """The double that plays a VMI's boot (its `boot_seconds` delays readiness)."""

    def boot(self, seconds: float) -> None:
        self.booting.boot_seconds = seconds


@contextmanager
def kube_tier(workdir: Path) -> Iterator[Tier]:
    """The kube tier as its fixtures start it, plus an audit log of every request (metadata only).

    With either generation of the harness: the real KubeVirt control plane
    (kube_fixtures.kube_tier_cluster/start_kube_tier) and the node-side doubles
    (tests.harness.doubles), or the apiserver and the older all-in-one test double.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    policy = workdir / "audit-policy.yaml"
    policy.write_text(yaml.safe_dump(AUDIT_POLICY))
    try:
        from tests.harness.kube_fixtures import kube_tier_cluster, start_kube_tier
    except ImportError:  # the older harness: apiserver + the all-in-one test double
        from tests.harness.kubevirt_test_double import KubevirtTestDouble

        etcd_bin, apiserver_bin = tools.tool("kube", "etcd"), tools.tool("kube", "kube-apiserver")
        cluster = KubeCluster(workdir=workdir, etcd_bin=etcd_bin, apiserver_bin=apiserver_bin, audit_policy=policy)
        cluster.start()
        double = KubevirtTestDouble(cluster.api_client(pool_maxsize=16))
        double.start()
        try:
            yield Tier(cluster, cluster.audit_log, "kubevirt_test_double (plays every controller)", double)
        finally:
            with contextlib.suppress(RuntimeError):  # the old double's own shutdown race; its threads are daemons
                double.stop()
            cluster.stop()
        return
    from tests.harness import kubevirt_control_plane as control_plane
    from tests.harness.doubles import NodeSideDoubles

    cluster = kube_tier_cluster(workdir, audit_policy=policy)
    doubles = None
    try:
        start_kube_tier(cluster)
        doubles = NodeSideDoubles(cluster.api_client(pool_maxsize=16, user=control_plane.TEST_DOUBLE_USER))
        doubles.start()
        versions = ", ".join(f"{c.name} {c.version}" for c in cluster.control_plane.components)
        yield Tier(cluster, cluster.audit_log, f"{versions}; tests.harness.doubles", doubles.virt_handler)
    finally:
        if doubles is not None:
            try:
                doubles.stop()
            except RuntimeError as err:  # a double's own shutdown race (urllib3); its threads are daemons
                print(f"(the node-side doubles did not stop cleanly: {err})", file=sys.stderr)
        cluster.control_plane.stop()
        cluster.stop()


def namespace(cluster: KubeCluster, prefix: str) -> str:
    name = f"test-bench-{prefix}-{secrets.token_hex(3)}"
    api_client = cluster.api_client()
    try:
        core: Any = k8s.CoreV1Api(api_client)
        core.create_namespace(body={"metadata": {"name": name, "labels": {"pulumi-kubevirt.io/test": "true"}}})
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
    return name


# -- observing: readiness and concurrency --------------------------------------------------------


def vm_ready(obj: dict[str, Any]) -> bool:
    return bool((obj.get("status") or {}).get("ready"))


def dv_ready(obj: dict[str, Any]) -> bool:
    return (obj.get("status") or {}).get("phase") == "Succeeded"


KINDS = (("kubevirt.io", "v1", "virtualmachines", vm_ready), ("cdi.kubevirt.io", "v1beta1", "datavolumes", dv_ready))


@dataclass
class Observer:
    """One watch per kind of a namespace: when each object appeared and when it was first ready."""

    connect: Callable[[], k8s.ApiClient]
    ns: str
    agent: str = OBSERVER_AGENT
    window: int = 2
    """Seconds of one watch (how soon `stop` ends the threads)."""
    added: dict[str, float] = field(default_factory=dict)
    ready: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for kind in KINDS:
            started = threading.Event()
            thread = threading.Thread(target=self._watch, args=(kind, started), daemon=True)
            thread.start()
            started.wait(30)
            self._threads.append(thread)

    def _watch(self, kind: tuple[str, str, str, Any], started: threading.Event) -> None:
        group, version, plural, is_ready = kind
        api_client = self.connect()
        api_client.user_agent = self.agent
        custom: Any = k8s.CustomObjectsApi(api_client)
        listing = custom.list_namespaced_custom_object(group, version, self.ns, plural)
        rv = listing["metadata"]["resourceVersion"]
        started.set()
        while not self._stop.is_set():
            stream = k8s_watch.Watch()  # type: ignore[no-untyped-call]
            try:
                for event in stream.stream(  # type: ignore[no-untyped-call]
                    custom.list_namespaced_custom_object,
                    group,
                    version,
                    self.ns,
                    plural,
                    resource_version=rv,
                    timeout_seconds=self.window,
                    deserialize=False,
                ):
                    obj = event["object"]
                    rv = obj["metadata"]["resourceVersion"]
                    key = f"{plural}/{obj['metadata']['name']}"
                    now = time.monotonic()
                    with self._cond:
                        if event["type"] in ("ADDED", "MODIFIED"):
                            self.added.setdefault(key, now)
                            if is_ready(obj):
                                self.ready.setdefault(key, now)
                        self._cond.notify_all()
            except k8s.ApiException as err:
                if err.status != 410:
                    raise
                rv = custom.list_namespaced_custom_object(group, version, self.ns, plural)["metadata"][
                    "resourceVersion"
                ]
        api_client.close()  # type: ignore[no-untyped-call]

    def wait_ready(self, key: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        with self._cond:
            while key not in self.ready:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def stop(self, join: bool = True) -> None:
        self._stop.set()
        for thread in self._threads if join else []:
            thread.join(10)

    def peak_in_flight(self) -> int:
        """The most objects at once that were created and not yet ready."""
        edges = sorted([(t, 1) for t in self.added.values()] + [(t, -1) for t in self.ready.values()])
        peak = current = 0
        for _t, step in edges:
            current += step
            peak = max(peak, current)
        return peak


# -- the audit log -----------------------------------------------------------------------------


def audit_requests(log: Path, start: int, end: int, agent: str) -> Counter[str]:
    """Requests of user agents starting with `agent` between two offsets of the audit log, by verb."""
    seen: dict[str, str] = {}
    with log.open("rb") as handle:
        handle.seek(start)
        for line in handle.read(end - start).splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if str(event.get("userAgent", "")).startswith(agent):
                seen[event["auditID"]] = event["verb"]
    return Counter(seen.values())


# -- the three methods -------------------------------------------------------------------------


def floor_manifests(n: int, ns: str) -> list[tuple[tuple[str, str, str], dict[str, Any]]]:
    """The manifests the provider would write for the same inputs (its own render functions)."""
    owner = Owner(stack="bench/floor", resource="floor")
    out: list[tuple[tuple[str, str, str], dict[str, Any]]] = []
    for i in range(n):
        vm = VirtualMachineArgs.model_validate({**vm_inputs(i), "target": {"kind": "kubevirt", "namespace": ns}})
        out.append((("kubevirt.io", "v1", "virtualmachines"), render.render_vm(vm, namespace=ns, owner=owner)))
        dv = DiskArgs.model_validate({**disk_inputs(i), "target": {"kind": "kubevirt", "namespace": ns}})
        out.append(
            (("cdi.kubevirt.io", "v1beta1", "datavolumes"), render.render_data_volume(dv, namespace=ns, owner=owner))
        )
    return out


def floor_child(kubeconfig: str, ns: str, n: int) -> int:
    """The floor itself (run in its own process): 16 threads create and wait; one watch per kind."""

    def connect() -> k8s.ApiClient:
        configuration = k8s.Configuration()
        k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)  # type: ignore[no-untyped-call]
        configuration.connection_pool_maxsize = FLOOR_THREADS
        api_client = k8s.ApiClient(configuration)
        api_client.user_agent = FLOOR_AGENT
        return api_client

    custom: Any = k8s.CustomObjectsApi(connect())
    observer = Observer(connect, ns, agent=FLOOR_AGENT, window=30)
    observer.start()

    def one(item: tuple[tuple[str, str, str], dict[str, Any]]) -> None:
        (group, version, plural), body = item
        custom.create_namespaced_custom_object(group, version, ns, plural, body)
        if not observer.wait_ready(f"{plural}/{body['metadata']['name']}", 600):
            raise TimeoutError(f"{plural}/{body['metadata']['name']} not ready")

    with ThreadPoolExecutor(max_workers=FLOOR_THREADS) as pool:
        for future in [pool.submit(one, item) for item in floor_manifests(n, ns)]:
            future.result()
    observer.stop(join=False)
    return 0


def children_cpu() -> float:
    """CPU seconds of every finished child process (and theirs): the whole command, CLI to provider."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Bench:
    cluster: KubeCluster
    audit_log: Path
    cli: PulumiCLI
    workdir: Path
    vms: int
    parallel: int
    projects: dict[str, Path] = field(default_factory=dict)

    def project(self, method: str) -> Path:
        if method not in self.projects:
            program = PLUGIN_PROGRAM if method == "plugin" else DYNAMIC_PROGRAM
            project = write_python_project(self.workdir / method, f"bench-{method}", {"__main__.py": program})
            self.projects[method] = project
        return self.projects[method]

    def run(self, method: str, round_: int, boot: float) -> dict[str, Any]:
        """One timed run of `method` in a fresh namespace (printed as it ends), then its clean-up."""
        ns = namespace(self.cluster, method)
        observer = Observer(self.cluster.api_client, ns)
        observer.start()
        offset = self.audit_log.stat().st_size
        load = os.getloadavg()[0]
        if method == "floor":
            argv = [sys.executable, "-m", "bench.parallel_up", "--floor-child", str(self.cluster.kubeconfig), ns]
            cpu = children_cpu()
            began = time.monotonic()
            subprocess.run([*argv, str(self.vms)], check=True, cwd=tools.REPO, timeout=UP_TIMEOUT)
            wall = time.monotonic() - began
            cpu = children_cpu() - cpu
            stack = ""
        else:
            project = self.project(method)
            stack = self.cli.stack_init(project, prefix=f"bench-{method}")
            for key, value in (
                ("kubeconfig", str(self.cluster.kubeconfig)),
                ("namespace", ns),
                ("vms", json.dumps([vm_inputs(i) for i in range(self.vms)])),
                ("disks", json.dumps([disk_inputs(i) for i in range(self.vms)])),
            ):
                self.cli.run(["config", "set", key, value, "--stack", stack], cwd=project)
            cpu = children_cpu()
            began = time.monotonic()
            changes = self.cli.up_changes(project, stack, "--parallel", str(self.parallel))
            wall = time.monotonic() - began
            cpu = children_cpu() - cpu
            if changes.get("create", 0) < 2 * self.vms:
                raise RuntimeError(f"{method}: `pulumi up` created {changes}, expected {2 * self.vms}")
        time.sleep(1.0)  # the audit backend writes in batches; let it catch up before reading
        end = self.audit_log.stat().st_size
        agent = FLOOR_AGENT if method == "floor" else PROVIDER_AGENT
        verbs = audit_requests(self.audit_log, offset, end, agent)
        observer.stop()
        ready = len(observer.ready)
        result = {
            "method": method,
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_in_flight": observer.peak_in_flight(),
            "first_created_s": min(observer.added.values(), default=began) - began,
            "all_ready_s": max(observer.ready.values(), default=began) - began,
            "ready": ready,
            "requests": dict(verbs),
            "requests_per_object": sum(verbs.values()) / (2 * self.vms),
            "load1_before": load,
            "load1_after": os.getloadavg()[0],
        }
        if method != "floor":
            result["refresh_requests"] = self.refresh(method, stack)
        self.clean(method, ns, stack)
        result["round"] = round_ + 1
        print(
            f"boot {boot:4.0f}s round {round_ + 1} {method:8} {result['wall_s']:7.1f} s "
            f"(first {result['first_created_s']:.1f}, ready {result['all_ready_s']:.1f}), "
            f"cpu {result['cpu_s']:.1f} s, peak {result['peak_in_flight']:3d}, "
            f"{result['requests_per_object']:.2f} req/obj {result['requests']}, load {result['load1_before']:.1f}",
            flush=True,
        )
        return result

    def refresh(self, method: str, stack: str) -> dict[str, int]:
        """`pulumi refresh` of the stack just made (not timed): the requests it sends, by verb."""
        offset = self.audit_log.stat().st_size
        refresh = ["refresh", "--yes", "--skip-preview", "--parallel", str(self.parallel), "--stack", stack]
        self.cli.run(refresh, cwd=self.project(method), timeout=UP_TIMEOUT)
        time.sleep(1.0)
        end = self.audit_log.stat().st_size
        return dict(audit_requests(self.audit_log, offset, end, PROVIDER_AGENT))

    def clean(self, method: str, ns: str, stack: str) -> None:
        """Destroy what the run made (not timed)."""
        if method != "floor":
            project = self.project(method)
            destroy = ["destroy", "--yes", "--skip-preview", "--parallel", str(self.parallel), "--stack", stack]
            self.cli.run(destroy, cwd=project, timeout=UP_TIMEOUT)
            self.cli.run(["stack", "rm", "--yes", "--force", stack], cwd=project)
            return
        api_client = self.cluster.api_client()
        custom: Any = k8s.CustomObjectsApi(api_client)
        for group, version, plural, _ready in KINDS:
            custom.delete_collection_namespaced_custom_object(group, version, ns, plural)
        api_client.close()  # type: ignore[no-untyped-call]


def summarize(runs: list[dict[str, Any]], methods: list[str], vms: int) -> dict[str, Any]:
    by: dict[str, list[dict[str, Any]]] = {m: [r for r in runs if r["method"] == m] for m in methods}
    floor = statistics.median(r["wall_s"] for r in by["floor"]) if by.get("floor") else None
    table: dict[str, Any] = {}
    for method, samples in by.items():
        if not samples:
            continue
        wall = statistics.median(r["wall_s"] for r in samples)
        verbs: Counter[str] = Counter()
        refreshed: Counter[str] = Counter()
        for r in samples:
            verbs.update(r["requests"])
            refreshed.update(r.get("refresh_requests") or {})
        objects = 2 * vms * len(samples)
        table[method] = {
            "median_wall_s": wall,
            "median_cpu_s": statistics.median(r["cpu_s"] for r in samples),
            "ratio_to_floor": wall / floor if floor else None,
            "peak_in_flight": max(r["peak_in_flight"] for r in samples),
            "requests_per_object": statistics.median(r["requests_per_object"] for r in samples),
            "requests_per_object_by_verb": {v: n / objects for v, n in sorted(verbs.items())},
            "refresh_requests_per_object_by_verb": {v: n / objects for v, n in sorted(refreshed.items())},
        }
    return table


def print_table(title: str, table: dict[str, Any]) -> None:
    print(f"\n{title}")
    print(
        f"  {'method':8} {'median s':>9} {'x floor':>8} {'cpu s':>6} {'peak':>5} {'req/obj':>8}  by verb (per object)"
    )
    for method, row in table.items():
        ratio = f"{row['ratio_to_floor']:.2f}" if row["ratio_to_floor"] else "-"
        verbs = ", ".join(f"{v} {n:.2f}" for v, n in sorted(row["requests_per_object_by_verb"].items()))
        print(
            f"  {method:8} {row['median_wall_s']:9.1f} {ratio:>8} {row['median_cpu_s']:6.1f} "
            f"{row['peak_in_flight']:5d} {row['requests_per_object']:8.2f}  {verbs}"
        )
        if row["refresh_requests_per_object_by_verb"]:
            refresh = ", ".join(f"{v} {n:.2f}" for v, n in row["refresh_requests_per_object_by_verb"].items())
            print(f"  {'':8} refresh: {refresh}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=50, help="VMs (and as many DataVolumes) per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--boot", type=float, action="append", help="VM readiness delay, seconds (repeatable)")
    parser.add_argument("--boot-rounds", type=int, help="rounds of the delayed variants (default: --rounds)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--parallel", type=int, default=FLOOR_THREADS, help="pulumi's --parallel (default: the floor's threads)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--floor-child", nargs=3, metavar=("KUBECONFIG", "NAMESPACE", "N"), help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.floor_child:
        kubeconfig, ns, n = opts.floor_child
        return floor_child(kubeconfig, ns, int(n))

    methods = [m for m in opts.methods.split(",") if m]
    boots = opts.boot or [0.0]
    workdir = Path(tempfile.mkdtemp(prefix="pkv-bench-"))
    backend, home = workdir / "state", workdir / "home"
    backend.mkdir()
    home.mkdir()
    cli = PulumiCLI(binary=tools.tool("e2e", "pulumi"), env=_environment(backend, home), backend_dir=backend, home=home)
    report: dict[str, Any] = {
        "vms": opts.vms,
        "data_volumes": opts.vms,
        "rounds": opts.rounds,
        "floor_threads": FLOOR_THREADS,
        "pulumi_parallel": opts.parallel,
        "cpus": os.cpu_count(),
        "pulumi": cli.version(),
        "load1_start": os.getloadavg()[0],
        "variants": {},
    }
    try:
        with kube_tier(workdir / "kube") as tier:
            report["controllers"] = tier.controllers
            bench = Bench(tier.cluster, tier.audit_log, cli, workdir / "projects", opts.vms, opts.parallel)
            for boot in boots:
                tier.boot(boot)
                rounds = opts.boot_rounds if boot and opts.boot_rounds else opts.rounds
                runs = [bench.run(method, round_, boot) for round_, method in schedule(methods, rounds)]
                table = summarize(runs, methods, opts.vms)
                report["variants"][f"boot_{boot:g}s"] = {"boot_s": boot, "rounds": rounds, "table": table, "runs": runs}
                print_table(f"{opts.vms} VMs + {opts.vms} DataVolumes, VM readiness delay {boot:g}s", table)
                if opts.json:  # after every variant: a later failure keeps what was measured
                    opts.json.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        if os.environ.get("PKV_KEEP_KUBE") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
    report["load1_end"] = os.getloadavg()[0]
    if opts.json:
        opts.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def schedule(methods: list[str], rounds: int) -> list[tuple[int, str]]:
    """(round, method) in run order: each round starts one method later than the previous one."""
    return [
        (round_, method)
        for round_ in range(rounds)
        for method in methods[round_ % len(methods) :] + methods[: round_ % len(methods)]
    ]


if __name__ == "__main__":
    sys.exit(main())
