"""Kube tier fixtures: a real etcd + kube-apiserver, the real KubeVirt control plane, the CRDs.

Role: start the real control-plane binaries built by scripts/build-go-tools.sh
(``etcd``, ``kube-apiserver`` in the cache bin), on loopback ports only, with the
flags envtest uses plus the front-proxy flags an aggregated API server needs;
install the CRDs (``tests.harness.crds.tier_crds``: KubeVirt's from the version the
tier runs, the vendored CDI/NAD/nmstate ones); then start kube-controller-manager,
kube-scheduler, virt-api and virt-controller (``tests.harness.kubevirt_control_plane``)
and hand the tests a kubeconfig. What needs a node or cannot be built (kubelet,
virt-handler, CDI, nmstate) is played by ``tests.harness.doubles``.

Fixtures:
- ``kube_cluster`` (session): a ``KubeCluster`` (``kubeconfig``, ``server``,
  ``token``, ``api_client()``, ``restart_apiserver()``).
- ``kube_namespace`` (function): a fresh ``test-<random>`` namespace name (deleted after).
- ``kubevirt_double`` (function; the doubles run session-wide as
  ``kubevirt_double_session``): the running ``NodeSideDoubles``; a test errors at
  teardown if a double or a control-plane component died, or a write failed.

Processes are started in their own session and with ``setpriv --pdeathsig``
(when available) so they die with the test run; teardown stops only the PIDs it
started. Logs stay in files under the work dir (``etcd.log``,
``kube-apiserver.log``); their tails are part of every startup error. Set
``PKV_KEEP_KUBE=1`` to keep the work dir after the session.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from tests.harness import crds as crd_data
from tests.harness import kubevirt_control_plane as control_plane
from tests.harness import tools
from tests.harness.doubles import NodeSideDoubles

TIER = "kube"
ETCD_READY_TIMEOUT = 30.0
APISERVER_READY_TIMEOUT = 120.0
CRD_ESTABLISHED_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0
SETTLE_TIMEOUT = control_plane.READY_TIMEOUT
"""Seconds a test waits for the cluster to act on an object (virt-controller, kube-scheduler, the garbage
collector, the node-side doubles): their work queues retry with backoff, and on CI's two cores, shared
with the test and the provider, they take many times their idle second or two."""
LOG_TAIL_LINES = 40


class KubeClusterError(RuntimeError):
    """The test control plane did not start or did not become ready."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    return f"--- last {len(tail)} lines of {path} ---\n" + "\n".join(tail)


def _pdeathsig_prefix() -> list[str]:
    """`setpriv --pdeathsig KILL` so a child dies if the test process is killed."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL"] if setpriv else []


@dataclass
class _Process:
    """One started binary: its argv, log file and Popen."""

    name: str
    argv: list[str]
    log: Path
    pid_file: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            log.write(f"\n=== start {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                [*_pdeathsig_prefix(), *self.argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self.popen.pid}\n")

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT, crash: bool = False) -> None:
        """SIGTERM (SIGKILL when `crash`), then SIGKILL after `timeout`; only this PID."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)
        self.popen = None
        self.pid_file.unlink(missing_ok=True)

    def died(self) -> str:
        code = self.popen.poll() if self.popen else None
        return f"{self.name} exited with code {code}\n{log_tail(self.log)}"


@dataclass
class KubeCluster:
    """A running etcd + kube-apiserver on loopback, with an admin token."""

    workdir: Path
    etcd_bin: Path
    apiserver_bin: Path
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    # user name -> groups of further static-token users (one kubeconfig each, `kubeconfig_for`)
    users: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra_apiserver_args: list[str] = field(default_factory=list)
    crds: list[dict[str, Any]] = field(default_factory=crd_data.all_crds)
    _tokens: dict[str, str] = field(default_factory=dict)
    etcd_port: int = 0
    etcd_peer_port: int = 0
    port: int = 0
    startup_seconds: float = 0.0
    crd_seconds: float = 0.0
    audit_policy: Path | None = None
    """Opt-in: an audit policy file; the apiserver then writes JSON audit events to `audit_log`."""
    _etcd: _Process | None = None
    _apiserver: _Process | None = None
    control_plane: Any = None  # the KubevirtControlPlane around this apiserver, once started
    _watchers_before_stop: dict[str, int] | None = None
    """The control plane's cluster-wide watches counted before the first apiserver stop not yet waited out
    (`wait_control_plane_back`)."""

    @property
    def server(self) -> str:
        """The apiserver URL."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        """A kubeconfig with the admin token and the apiserver's self-signed CA."""
        return self.workdir / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        """The apiserver writes its self-signed serving cert and its CA here."""
        return self.workdir / "certs" / "apiserver.crt"

    @property
    def etcd_log(self) -> Path:
        return self.workdir / "etcd.log"

    @property
    def apiserver_log(self) -> Path:
        return self.workdir / "kube-apiserver.log"

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit.log"

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        """Start etcd and kube-apiserver, write the kubeconfig, install the CRDs."""
        began = time.monotonic()
        (self.workdir / "certs").mkdir(parents=True, exist_ok=True)
        self._write_auth_files()
        self._start_etcd()
        self.port = free_port()
        self._apiserver = _Process(
            "kube-apiserver", self._apiserver_argv(), self.apiserver_log, self.workdir / "kube-apiserver.pid"
        )
        self._start_apiserver()
        self._write_kubeconfig()
        self.startup_seconds = time.monotonic() - began
        began = time.monotonic()
        crds = self.crds
        established = install_crds(self.api_client(), crds)
        warm_up_crds(self.api_client(pool_maxsize=len(crds)), crds)
        # The apiserver delays every create by 2 s while a CRD's Established
        # lastTransitionTime (whole seconds) is less than 2 s old (apiextensions
        # customresource_handler.go, "justCreated"). Wait that out once, here.
        time.sleep(max(0.0, established + 2.1 - time.time()))
        self.crd_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop the apiserver, then etcd (only the processes started here)."""
        for proc in (self._apiserver, self._etcd):
            if proc is not None:
                proc.stop()

    def stop_apiserver(self, crash: bool = False) -> None:
        """Stop the apiserver only (etcd keeps the data): graceful (SIGTERM, ~1 s) or `crash` (SIGKILL).

        Counts the control plane's watches first (the first stop since the last `wait_control_plane_back`:
        a later stop would count informers still backing off from the earlier one)."""
        assert self._apiserver is not None
        if self._watchers_before_stop is None and self.control_plane is not None and self._apiserver.running():
            self._watchers_before_stop = self.control_plane.watchers()
        self._apiserver.stop(crash=crash)

    def wait_control_plane_back(self) -> None:
        """After apiserver restarts: wait (bounded by RECONNECT_TIMEOUT) until the control plane watches
        again what it watched before the first stop; nothing to do when the apiserver was not stopped.

        /readyz is not enough: client-go's informers relist after a backoff of up to a minute, and the
        test that restarted the apiserver may end first; the tests after it would then wait on a
        virt-controller, kube-scheduler or double that does not see their objects yet."""
        watchers, self._watchers_before_stop = self._watchers_before_stop, None
        if watchers is not None:
            self.control_plane.wait_reconnected(watchers)

    def start_apiserver(self) -> None:
        """Start the apiserver again on the same port, cert dir and etcd; wait for /readyz.

        Also touches every CRD once, so later tests do not pay the ~1 s
        first-request wait of each CRD's new watch cache.
        """
        self._start_apiserver()
        warm_up_crds(self.api_client(pool_maxsize=len(self.crds)), self.crds)

    def restart_apiserver(self, downtime: float = 0.0, crash: bool = False) -> float:
        """Stop and start the apiserver (same port, cert dir and etcd); the seconds it was away.

        Graceful by default (open watches are closed within 2 s); `crash` kills it
        instead. `downtime` keeps it down that much longer. Returns once /readyz is OK.
        Call it from the main thread: the apiserver is started with PR_SET_PDEATHSIG,
        which fires when the *starting thread* exits, so a restart from a worker
        thread would kill the new apiserver as soon as that thread ends.
        """
        began = time.monotonic()
        self.stop_apiserver(crash=crash)
        if downtime > 0:
            time.sleep(downtime)
        self.start_apiserver()
        return time.monotonic() - began

    def api_client(self, pool_maxsize: int | None = None, user: str | None = None) -> k8s.ApiClient:
        """A fresh kubernetes ApiClient from this cluster's kubeconfig (admin, or one of `users`)."""
        configuration = k8s.Configuration()
        path = self.kubeconfig if user is None else self.kubeconfig_for(user)
        k8s_config.load_kube_config(config_file=str(path), client_configuration=configuration)  # type: ignore[no-untyped-call]
        if pool_maxsize is not None:
            configuration.connection_pool_maxsize = pool_maxsize
        return k8s.ApiClient(configuration)

    # -- internals -------------------------------------------------------

    def kubeconfig_for(self, user: str) -> Path:
        """A kubeconfig for one of `users` (static token)."""
        safe = user.replace(":", "-")
        return self.workdir / f"kubeconfig-{safe}"

    def _write_auth_files(self) -> None:
        lines = [f'{self.token},admin,admin-uid,"system:masters"']
        for user, groups in self.users.items():
            token = self._tokens.setdefault(user, secrets.token_hex(16))
            lines.append(f'{token},{user},{user}-uid,"{",".join(groups)}"')
        (self.workdir / "tokens.csv").write_text("\n".join(lines) + "\n")
        key = self.workdir / "sa.key"
        if not key.exists():
            openssl = shutil.which("openssl")
            if openssl is None:
                tools.missing(TIER, "openssl (to generate the service-account signing key)")
            subprocess.run([str(openssl), "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)

    def _start_etcd(self) -> None:
        for _attempt in range(3):
            self.etcd_port, self.etcd_peer_port = free_port(), free_port()
            client = f"http://127.0.0.1:{self.etcd_port}"
            peer = f"http://127.0.0.1:{self.etcd_peer_port}"
            self._etcd = _Process(
                "etcd",
                [
                    str(self.etcd_bin),
                    "--name=pkv-test",
                    f"--data-dir={self.workdir / 'etcd-data'}",
                    f"--listen-client-urls={client}",
                    f"--advertise-client-urls={client}",
                    f"--listen-peer-urls={peer}",
                    f"--initial-advertise-peer-urls={peer}",
                    f"--initial-cluster=pkv-test={peer}",
                    "--unsafe-no-fsync",
                    "--log-level=warn",
                ],
                self.etcd_log,
                self.workdir / "etcd.pid",
            )
            self._etcd.start()
            if self._wait_etcd():
                return
            if "address already in use" not in log_tail(self.etcd_log):
                break
            self._etcd.stop()
        raise KubeClusterError(f"etcd did not become healthy within {ETCD_READY_TIMEOUT}s\n" + log_tail(self.etcd_log))

    def _wait_etcd(self) -> bool:
        assert self._etcd is not None
        deadline = time.monotonic() + ETCD_READY_TIMEOUT
        url = f"http://127.0.0.1:{self.etcd_port}/health"
        while time.monotonic() < deadline:
            if not self._etcd.running():
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if b'"health":"true"' in resp.read():
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        return False

    def _apiserver_argv(self) -> list[str]:
        return [
            str(self.apiserver_bin),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            f"--cert-dir={self.workdir / 'certs'}",
            f"--secure-port={self.port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--service-account-issuer=https://127.0.0.1:{self.port}",
            f"--service-account-key-file={self.workdir / 'sa.key'}",
            f"--service-account-signing-key-file={self.workdir / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--authorization-mode=RBAC",
            f"--token-auth-file={self.workdir / 'tokens.csv'}",
            # Off: aggregated API servers are then reached through their Service, which for
            # virt-api is an ExternalName `localhost` (Endpoints may not be loopback).
            "--enable-aggregator-routing=false",
            # Without it a SIGTERM waits for every open watch until the 60 s server
            # shutdown timeout; with it the apiserver ends them and exits in ~1 s.
            "--shutdown-watch-termination-grace-period=2s",
            "--allow-privileged=true",
            *self.extra_apiserver_args,
            *(
                [
                    f"--audit-policy-file={self.audit_policy}",
                    f"--audit-log-path={self.audit_log}",
                    "--audit-log-maxsize=0",
                ]
                if self.audit_policy is not None
                else []
            ),
        ]

    def _start_apiserver(self) -> None:
        assert self._apiserver is not None
        self._apiserver.start()
        deadline = time.monotonic() + APISERVER_READY_TIMEOUT
        last = "no answer yet"
        while time.monotonic() < deadline:
            if not self._apiserver.running():
                raise KubeClusterError(self._apiserver.died())
            ready, last = self._readyz()
            if ready:
                return
            time.sleep(0.25)
        raise KubeClusterError(
            f"kube-apiserver not ready within {APISERVER_READY_TIMEOUT}s (last /readyz: {last})\n"
            + log_tail(self.apiserver_log)
        )

    def _readyz(self) -> tuple[bool, str]:
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file.exists() else None
        if context is None:
            return False, "no serving certificate yet"
        request = urllib.request.Request(f"{self.server}/readyz", headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=3, context=context) as resp:
                return resp.status == 200, f"HTTP {resp.status}"
        except urllib.error.HTTPError as err:
            return False, f"HTTP {err.code}: {err.read()[-300:].decode(errors='replace')}"
        except (urllib.error.URLError, OSError) as err:
            return False, str(err)

    def _write_kubeconfig(self) -> None:
        self._write_kubeconfig_file(self.kubeconfig, "admin", self.token)
        for user in self.users:
            self._write_kubeconfig_file(self.kubeconfig_for(user), user, self._tokens[user])

    def _write_kubeconfig_file(self, path: Path, user: str, token: str) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "pkv-test", "cluster": {"server": self.server, "certificate-authority": str(self.ca_file)}}
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "pkv-test", "context": {"cluster": "pkv-test", "user": user}}],
            "current-context": "pkv-test",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)


CRD_RESOURCE = ("apiextensions.k8s.io", "v1", "customresourcedefinitions")


def install_crds(
    api_client: k8s.ApiClient, crds: list[dict[str, Any]], timeout: float = CRD_ESTABLISHED_TIMEOUT
) -> float:
    """Create (or replace) the CRDs and wait until every one is Established.

    Returns the latest Established lastTransitionTime (Unix seconds).

    CRDs go through the generic CustomObjectsApi so they stay plain dicts (the
    typed client would deserialize every schema into models, slowly).
    """
    api: Any = k8s.CustomObjectsApi(api_client)
    for crd in crds:
        name = crd["metadata"]["name"]
        try:
            api.create_cluster_custom_object(*CRD_RESOURCE, body=crd)
        except ApiException as err:
            if err.status != 409:
                raise KubeClusterError(f"creating CRD {name}: {err.status} {err.body}") from err
            current = api.get_cluster_custom_object(*CRD_RESOURCE, name)
            body = {**crd, "metadata": {**crd["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}}
            api.replace_cluster_custom_object(*CRD_RESOURCE, name, body=body)
    names = {crd["metadata"]["name"] for crd in crds}
    pending = set(names)
    deadline = time.monotonic() + timeout
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise KubeClusterError(f"CRDs not Established within {timeout}s: {sorted(pending)}")
        listing = api.list_cluster_custom_object(*CRD_RESOURCE)
        pending -= {item["metadata"]["name"] for item in listing["items"] if _crd_established(item)}
        if not pending:
            break
        stream = k8s_watch.Watch()  # type: ignore[no-untyped-call]
        for event in stream.stream(  # type: ignore[no-untyped-call]
            api.list_cluster_custom_object,
            *CRD_RESOURCE,
            resource_version=listing["metadata"]["resourceVersion"],
            timeout_seconds=max(1, min(int(remaining), 30)),
        ):
            obj = event["object"]
            if event["type"] in ("ADDED", "MODIFIED") and _crd_established(obj):
                pending.discard(obj["metadata"]["name"])
            if not pending:
                stream.stop()  # type: ignore[no-untyped-call]
    latest = 0.0
    for item in api.list_cluster_custom_object(*CRD_RESOURCE)["items"]:
        established = condition(item, "Established")
        if item["metadata"]["name"] in names and established and established.get("lastTransitionTime"):
            stamp = datetime.strptime(established["lastTransitionTime"], "%Y-%m-%dT%H:%M:%SZ")
            latest = max(latest, stamp.replace(tzinfo=UTC).timestamp())
    return latest


def warm_up_crds(api_client: k8s.ApiClient, crds: list[dict[str, Any]]) -> None:
    """List every CRD's storage version once, in parallel.

    The first request to a new CRD waits (~1 s) for its storage and watch cache;
    paying that here keeps it out of the tests' timings.
    """
    api: Any = k8s.CustomObjectsApi(api_client)

    def touch(crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        version = next(v["name"] for v in spec["versions"] if v.get("storage"))
        api.list_cluster_custom_object(spec["group"], version, spec["names"]["plural"], limit=1, _request_timeout=30)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(crds)) as pool:
        for future in [pool.submit(touch, crd) for crd in crds]:
            future.result()
    api_client.close()  # type: ignore[no-untyped-call]


def _crd_established(crd: dict[str, Any]) -> bool:
    established = condition(crd, "Established")
    return established is not None and established.get("status") == "True"


# -- waiting for objects -------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """A custom resource type: where it is served."""

    group: str
    version: str
    plural: str
    namespaced: bool = True


VIRTUAL_MACHINES = Resource("kubevirt.io", "v1", "virtualmachines")
VIRTUAL_MACHINE_INSTANCES = Resource("kubevirt.io", "v1", "virtualmachineinstances")
MIGRATIONS = Resource("kubevirt.io", "v1", "virtualmachineinstancemigrations")
DATA_VOLUMES = Resource("cdi.kubevirt.io", "v1beta1", "datavolumes")
NADS = Resource("k8s.cni.cncf.io", "v1", "network-attachment-definitions")
NNCPS = Resource("nmstate.io", "v1", "nodenetworkconfigurationpolicies", namespaced=False)
NNCES = Resource("nmstate.io", "v1beta1", "nodenetworkconfigurationenactments", namespaced=False)


def wait_for_object(
    api_client: k8s.ApiClient,
    resource: Resource,
    name: str,
    predicate: Callable[[dict[str, Any] | None], bool],
    *,
    namespace: str | None = None,
    timeout: float = SETTLE_TIMEOUT,
    what: str = "condition",
) -> dict[str, Any] | None:
    """Watch one object until `predicate(obj)` holds (obj is None while absent); bounded.

    Returns the object that satisfied the predicate. Raises AssertionError with
    the last seen object on timeout. Rides out an apiserver restart.
    """
    api: Any = k8s.CustomObjectsApi(api_client)
    selector = f"metadata.name={name}"
    if resource.namespaced:
        if namespace is None:
            raise ValueError(f"{resource.plural} is namespaced: pass namespace=")
        func: Callable[..., Any] = api.list_namespaced_custom_object
        args: tuple[str, ...] = (resource.group, resource.version, namespace, resource.plural)
    else:
        func = api.list_cluster_custom_object
        args = (resource.group, resource.version, resource.plural)
    deadline = time.monotonic() + timeout
    last: dict[str, Any] | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            shown = yaml.safe_dump(last, sort_keys=False) if last else None
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what} on {resource.plural}/{name}; last seen:\n{shown}"
            )
        try:
            listing = func(*args, field_selector=selector, _request_timeout=10)
            items = listing.get("items", [])
            last = items[0] if items else None
            if predicate(last):
                return last
            stream = k8s_watch.Watch()  # type: ignore[no-untyped-call]
            for event in stream.stream(  # type: ignore[no-untyped-call]
                func,
                *args,
                field_selector=selector,
                resource_version=listing["metadata"]["resourceVersion"],
                timeout_seconds=max(1, int(remaining)),
                _request_timeout=max(1, int(remaining)) + 10,
            ):
                if event["type"] == "ERROR":
                    break
                if event["type"] == "BOOKMARK":
                    continue
                last = None if event["type"] == "DELETED" else event["object"]
                if predicate(last):
                    stream.stop()  # type: ignore[no-untyped-call]
                    return last
        except ApiException as err:
            if err.status not in (410, 500, 503, 504):
                raise
        except urllib3.exceptions.HTTPError:
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))  # apiserver restarting


def field_path(obj: dict[str, Any] | None, *path: str | int) -> Any:
    """obj[path[0]][path[1]]..., or None when any step is missing."""
    cur: Any = obj
    for key in path:
        if isinstance(key, int):
            if not isinstance(cur, list) or len(cur) <= key:
                return None
        elif not isinstance(cur, dict):
            return None
        cur = cur[key] if isinstance(key, int) else cur.get(key)
    return cur


def condition(obj: dict[str, Any] | None, cond_type: str) -> dict[str, Any] | None:
    """The status condition of that type, if any."""
    for cond in field_path(obj, "status", "conditions") or []:
        if cond.get("type") == cond_type:
            return dict(cond)
    return None


# -- the tier's cluster (the fixture below; bench/ starts one too) ------------------


def kube_tier_cluster(workdir: Path, *, audit_policy: Path | None = None) -> KubeCluster:
    """The kube tier's apiserver, not started yet, configured for the real control plane (its
    users, the aggregation flags, the CRDs of the KubeVirt version it runs), which it holds
    in `control_plane`; `start_kube_tier` starts both."""
    etcd_bin = tools.tool(TIER, "etcd")
    apiserver_bin = tools.tool(TIER, "kube-apiserver")
    manifests_bin = tools.tool(TIER, "kubevirt-manifests")
    for name in ("virt-api", "virt-controller", "kube-controller-manager", "kube-scheduler"):
        tools.tool(TIER, name)
    pki = control_plane.make_pki(workdir / "pki")
    manifests = control_plane.kubevirt_manifests(manifests_bin)
    cluster = KubeCluster(
        workdir=workdir,
        etcd_bin=etcd_bin,
        apiserver_bin=apiserver_bin,
        users=dict(control_plane.USERS),
        extra_apiserver_args=control_plane.aggregation_apiserver_args(pki),
        crds=crd_data.tier_crds(list(manifests.crds)),
        audit_policy=audit_policy,
    )
    cluster.control_plane = control_plane.KubevirtControlPlane(cluster, pki, manifests)
    return cluster


def start_kube_tier(cluster: KubeCluster) -> None:
    """Start etcd + the apiserver, then the control plane around them (each waited for); the
    caller stops `cluster.control_plane` and `cluster`, also when this raises."""
    cluster.start()
    cluster.control_plane.start(process_factory=_Process, free_port=free_port)


# -- fixtures ------------------------------------------------------------------


@pytest.fixture(scope="session")
def kube_cluster(request: pytest.FixtureRequest) -> Iterator[KubeCluster]:
    """A real etcd + kube-apiserver with all CRDs installed, and the real control plane
    around it (``tests.harness.kubevirt_control_plane``), session-wide.

    The work dir is /tmp/pkv-kube-* (pid files, logs, certs, etcd data). Each
    component's version is printed when it is up.
    """
    workdir = Path(tempfile.mkdtemp(prefix="pkv-kube-"))
    cluster: KubeCluster | None = None
    plane: control_plane.KubevirtControlPlane | None = None
    try:
        try:
            cluster = kube_tier_cluster(workdir)
            plane = cluster.control_plane
            start_kube_tier(cluster)
        except (KubeClusterError, control_plane.ControlPlaneError) as err:
            pytest.fail(f"[kube tier] control plane did not start: {err}", pytrace=False)
        pins = tools.versions()
        started = f"kube-apiserver v{pins['KUBERNETES_VERSION']} + etcd v{pins['ETCD_VERSION']}"
        _report(request, [f"{started} up in {cluster.startup_seconds:.1f}s", *plane.version_lines()])
        yield cluster
    finally:
        if plane is not None:
            plane.stop()
            if plane.crashes:
                _report(request, [f"restarted after it exited (as its Deployment would):\n{c}" for c in plane.crashes])
        if cluster is not None:
            cluster.stop()
        if os.environ.get("PKV_KEEP_KUBE") != "1":
            shutil.rmtree(workdir, ignore_errors=True)


def _report(request: pytest.FixtureRequest, lines: list[str]) -> None:
    """Print lines on the terminal even while output is captured (so CI logs show them)."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    suspend = capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()
    with suspend:
        for line in lines:
            print(f"\n[kube tier] {line}", end="", flush=True)
        print(flush=True)


@pytest.fixture
def kube_namespace(kube_cluster: KubeCluster) -> Iterator[str]:
    """A fresh `test-<random>` namespace; deleted afterwards (kube-controller-manager empties it)."""
    name = f"test-{secrets.token_hex(4)}"
    with contextlib.closing(kube_cluster.api_client()) as api_client:
        core: Any = k8s.CoreV1Api(api_client)
        core.create_namespace(body={"metadata": {"name": name, "labels": {"pulumi-kubevirt.io/test": "true"}}})
        yield name
        try:
            core.delete_namespace(name, propagation_policy="Background")
        except ApiException as err:
            if err.status != 404:
                raise
        except urllib3.exceptions.HTTPError:
            pass  # the apiserver was stopped by the test; the session etcd is thrown away anyway


@pytest.fixture(scope="session")
def kubevirt_double_session(kube_cluster: KubeCluster) -> Iterator[NodeSideDoubles]:
    """The node-side doubles (kubelet, virt-handler, CDI, nmstate) on `kube_cluster`, session-wide."""
    doubles = NodeSideDoubles(kube_cluster.api_client(pool_maxsize=16, user=control_plane.TEST_DOUBLE_USER))
    doubles.start()
    try:
        yield doubles
    finally:
        doubles.stop()


@pytest.fixture
def kubevirt_double(kube_cluster: KubeCluster, kubevirt_double_session: NodeSideDoubles) -> Iterator[NodeSideDoubles]:
    """The session's doubles; the test errors if a double or a control-plane component died,
    or a write of a double failed, meanwhile."""
    doubles = kubevirt_double_session
    before = len(doubles.errors)
    doubles.check_alive()
    yield doubles
    doubles.check_alive()
    kube_cluster.control_plane.check_alive()
    # A test that restarted the apiserver leaves the control plane whole for the next one.
    kube_cluster.wait_control_plane_back()
    new = doubles.errors[before:]
    if new:
        pytest.fail("test double errors during this test:\n" + "\n".join(new), pytrace=False)
