"""The real control plane around the kube tier's apiserver: KubeVirt's virt-api and
virt-controller, kube-controller-manager and kube-scheduler.

Role: start the real binaries built by scripts/build-go-tools.sh (pinned in
scripts/versions.env: KubeVirt ``KUBEVIRT_VERSION``, Kubernetes ``KUBERNETES_VERSION``)
out of cluster, on loopback only, and install what virt-operator would install for them.
What they need was worked out from their source (kubevirt.io/kubevirt v1.8.0):

- Objects: ``kubevirt-manifests`` (scripts/kubevirt-manifests, built against the same
  module) prints what virt-operator's install strategy generates: every CRD, the RBAC of
  the KubeVirt service accounts, the virt-api Validating/MutatingWebhookConfigurations and
  the ``subresources.kubevirt.io`` APIServices. The harness installs them as they are,
  except that each webhook's ``clientConfig.service`` becomes a loopback ``url`` and gets
  the harness CA as ``caBundle``, and the APIServices get the same CA.
- Namespace: both read it from the in-pod service-account file and fall back to
  ``kubevirt`` (kubevirt.io/client-go/util.GetNamespace); everything lives there.
- KubeVirt CR: both read their configuration from the ``KubeVirt`` object of that
  namespace, but only once its ``status.phase`` is set (virt-config
  ``GetConfigFromKubeVirtCR``). virt-operator, which would set it, deploys pods and cannot
  run here: the harness creates the CR with the feature gates a user sets and writes
  virt-operator's status (``phase: Deployed``, ``defaultArchitecture``, versions) in its
  place; that is all it plays of virt-operator.
- virt-api (pkg/virt-api/api.go): reads ``kube-system/extension-apiserver-authentication``
  at startup and panics without ``requestheader-client-ca-file`` in it, so the apiserver
  runs with the front-proxy flags (``aggregation_apiserver_args``); verifies aggregated
  requests against that CA; its CA bundle config map is ``kubevirt-ca`` (key
  ``ca-bundle``). Serving cert via ``--tls-cert-file``/``--tls-key-file``; the
  ``--handler-cert-file`` client cert is for calls to virt-handler.
- The aggregator reaches virt-api through a Service of type ExternalName ``localhost``:
  with ``--enable-aggregator-routing`` off the apiserver resolves such a Service to
  ``https://<externalName>:<port>`` (k8s.io/apiserver/pkg/util/proxy.ResolveCluster),
  while Endpoints may not hold loopback addresses. It checks the serving cert against
  ``virt-api.kubevirt.svc``, which the harness cert carries.
- Identities (static tokens of the apiserver's ``--token-auth-file``): virt-api and
  virt-controller run as the service accounts virt-operator gives them
  (``kubevirt-apiserver``, ``kubevirt-controller``), bound by KubeVirt's own RBAC; that
  matters because virt-api's VMI update webhook lets only KubeVirt service accounts change
  a VMI's spec or its ``kubevirt.io/`` labels. kube-controller-manager and kube-scheduler
  run as ``system:kube-controller-manager``/``system:kube-scheduler`` (bootstrap RBAC),
  the controller-manager with ``--use-service-account-credentials`` as kubeadm does.
- Leader election: virt-controller always elects (lease ``kubevirt/virt-controller``)
  and exits when it loses the lease, so its lease durations are longer than any apiserver
  restart a test makes; the Kubernetes components run with ``--leader-elect=false``.
- Versions: each component's version is logged when it is up (``versions``), from the
  binaries themselves (``--version``; virt-api's ``/version`` through the aggregator).
"""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.harness import tools
from tests.harness.doubles.engine import rest, rest_json

Obj = dict[str, Any]

NAMESPACE = "kubevirt"
VIRT_API_SERVICE = "virt-api"
KUBEVIRT_CR = "kubevirt"
READY_TIMEOUT = 120.0
RECONNECT_TIMEOUT = READY_TIMEOUT
"""Seconds the components may take to be back after an apiserver restart: client-go's reflectors
relist with a backoff that doubles up to 30 s, jittered up to twice that, while the apiserver is away
(two restarts in a row reach the cap), and a component may have to sync its caches again."""
WATCHED = ("virtualmachines", "virtualmachineinstances", "pods")
"""The kinds whose cluster-wide watches (the informers of virt-controller, virt-api, kube-scheduler and
the node-side doubles) `watchers` counts: what drives a VM to Running."""
# virt-controller exits ("leaderelection lost") when it cannot renew its lease within the
# renew deadline; tests stop the apiserver for a few seconds, so give it a minute.
LEADER_ELECT_ARGS = (
    "--leader-elect-lease-duration=90s",
    "--leader-elect-renew-deadline=60s",
    "--leader-elect-retry-period=2s",
)
# What a user sets to get memory/CPU hotplug, live migration and volume hotplug in
# KubeVirt v1.8: LiveMigration and VMLiveUpdateFeatures are GA there (listing them is what
# older guides say and is harmless), HotplugVolumes is Alpha and must be listed, and so must
# Snapshot (virt-api's snapshot/restore webhooks refuse every VirtualMachineSnapshot without it:
# "snapshot feature gate not enabled"; virt-controller runs its snapshot controllers anyway),
# and HostDevices (its VMI validator refuses any hostDevices without it).
FEATURE_GATES = ("LiveMigration", "VMLiveUpdateFeatures", "HotplugVolumes", "Snapshot", "HostDevices")
VM_ROLLOUT_STRATEGY = "LiveUpdate"

SA_PREFIX = f"system:serviceaccount:{NAMESPACE}:"
VIRT_API_USER = SA_PREFIX + "kubevirt-apiserver"
VIRT_CONTROLLER_USER = SA_PREFIX + "kubevirt-controller"
VIRT_HANDLER_USER = SA_PREFIX + "kubevirt-handler"
KCM_USER = "system:kube-controller-manager"
SCHEDULER_USER = "system:kube-scheduler"
SA_GROUPS = ("system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}")
# The static-token users of the apiserver (`KubeCluster.users`). The test double plays
# virt-handler (its VMI status and kubevirt.io/ label writes pass virt-api's webhook only
# as a KubeVirt service account) and also the kubelet, CDI and nmstate, whose RBAC we do
# not have: it is in system:masters.
TEST_DOUBLE_USER = VIRT_HANDLER_USER
USERS: dict[str, tuple[str, ...]] = {
    VIRT_API_USER: SA_GROUPS,
    VIRT_CONTROLLER_USER: SA_GROUPS,
    TEST_DOUBLE_USER: (*SA_GROUPS, "system:masters"),
    KCM_USER: (),
    SCHEDULER_USER: (),
}


class ControlPlaneError(RuntimeError):
    """A control-plane component did not start or did not become ready."""


# -- certificates ------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """The certificates the harness makes (openssl), all under `dir`.

    - ``ca``: signs virt-api's serving cert (SANs 127.0.0.1, localhost and the
      ``virt-api.kubevirt.svc`` name the aggregator checks) and its handler client cert;
      it is the ``caBundle`` of the webhooks and APIServices and ``kubevirt-ca``.
    - ``front_proxy_ca``: the apiserver's ``--requestheader-client-ca-file``; signs the
      ``front-proxy-client`` cert the aggregator presents to virt-api.
    """

    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def serving_cert(self) -> Path:
        return self.dir / "virt-api.crt"

    @property
    def serving_key(self) -> Path:
        return self.dir / "virt-api.key"

    @property
    def handler_client_cert(self) -> Path:
        return self.dir / "virt-api-handler-client.crt"

    @property
    def handler_client_key(self) -> Path:
        return self.dir / "virt-api-handler-client.key"

    @property
    def front_proxy_ca_cert(self) -> Path:
        return self.dir / "front-proxy-ca.crt"

    @property
    def proxy_client_cert(self) -> Path:
        return self.dir / "front-proxy-client.crt"

    @property
    def proxy_client_key(self) -> Path:
        return self.dir / "front-proxy-client.key"

    def ca_bundle(self) -> str:
        """The CA as base64 PEM, as `caBundle` fields want it."""
        import base64

        return base64.b64encode(self.ca_cert.read_bytes()).decode()


def make_pki(directory: Path) -> Pki:
    """Create the CAs and certificates of `Pki` (2-day validity) in `directory`."""
    openssl = shutil.which("openssl")
    if openssl is None:
        tools.missing("kube", "openssl (to make the control plane's certificates)")
        raise AssertionError("unreachable")
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(directory)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=directory)

    def make_ca(name: str, cn: str) -> None:
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={cn}",
            "-keyout", f"{name}.key", "-out", f"{name}.crt")  # fmt: skip

    def make_leaf(name: str, ca: str, cn: str, usage: str, sans: str | None = None) -> None:
        extra = ["-addext", f"subjectAltName={sans}"] if sans else []
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-addext", f"extendedKeyUsage={usage}", *extra)  # fmt: skip
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "2", "-copy_extensions", "copyall", "-out", f"{name}.crt")  # fmt: skip

    make_ca("ca", "pkv-test-kubevirt-ca")
    make_ca("front-proxy-ca", "pkv-test-front-proxy-ca")
    make_leaf(
        "virt-api",
        "ca",
        "virt-api",
        "serverAuth",
        f"IP:127.0.0.1,DNS:localhost,DNS:{VIRT_API_SERVICE}.{NAMESPACE}.svc,"
        f"DNS:{VIRT_API_SERVICE}.{NAMESPACE}.svc.cluster.local",
    )
    make_leaf("virt-api-handler-client", "ca", "kubevirt.io:system:client:virt-handler", "clientAuth")
    make_leaf("front-proxy-client", "front-proxy-ca", "front-proxy-client", "clientAuth")
    return pki


def aggregation_apiserver_args(pki: Pki) -> list[str]:
    """The kube-apiserver flags an aggregated API server (virt-api) needs.

    They fill ``kube-system/extension-apiserver-authentication`` (virt-api panics without
    ``requestheader-client-ca-file``) and give the aggregator its client certificate.
    """
    return [
        f"--requestheader-client-ca-file={pki.front_proxy_ca_cert}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki.proxy_client_cert}",
        f"--proxy-client-key-file={pki.proxy_client_key}",
    ]


# -- what virt-operator would install ------------------------------------------------


@dataclass(frozen=True)
class KubevirtManifests:
    """The output of ``kubevirt-manifests``, split by kind."""

    crds: tuple[Obj, ...]
    rbac: tuple[Obj, ...]
    validating_webhooks: tuple[Obj, ...]
    mutating_webhooks: tuple[Obj, ...]
    api_services: tuple[Obj, ...]


@cache
def kubevirt_manifests(binary: Path) -> KubevirtManifests:
    """Run ``kubevirt-manifests`` once per session and sort its objects."""
    result = subprocess.run([str(binary), NAMESPACE], check=False, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise ControlPlaneError(f"{binary} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    objects: list[Obj] = json.loads(result.stdout)
    by_kind: dict[str, list[Obj]] = {}
    for obj in objects:
        _drop_nulls(obj)
        by_kind.setdefault(obj.get("kind", "?"), []).append(obj)
    rbac_kinds = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
    known = {"CustomResourceDefinition", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService"}
    unknown = set(by_kind) - known - set(rbac_kinds)
    if unknown:
        raise ControlPlaneError(f"kubevirt-manifests printed objects of unexpected kinds: {sorted(unknown)}")
    return KubevirtManifests(
        crds=tuple(by_kind.get("CustomResourceDefinition", [])),
        rbac=tuple(obj for kind in rbac_kinds for obj in by_kind.get(kind, [])),
        validating_webhooks=tuple(by_kind.get("ValidatingWebhookConfiguration", [])),
        mutating_webhooks=tuple(by_kind.get("MutatingWebhookConfiguration", [])),
        api_services=tuple(by_kind.get("APIService", [])),
    )


def _drop_nulls(value: Any) -> None:
    """Go's encoder writes `"creationTimestamp": null` and `"status": {}`; the apiserver wants neither."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for item in value.values():
            _drop_nulls(item)
    elif isinstance(value, list):
        for item in value:
            _drop_nulls(item)


def loopback_webhook(configuration: Obj, base_url: str, ca_bundle: str) -> Obj:
    """A copy of a webhook configuration whose service references are `base_url` + path."""
    out: dict[str, Any] = json.loads(json.dumps(configuration))
    out.pop("status", None)
    for webhook in out.get("webhooks", []):
        client = webhook["clientConfig"]
        service = client.pop("service", None)
        if service is not None:
            client["url"] = base_url + service.get("path", "/")
        client["caBundle"] = ca_bundle
    return out


# -- processes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """One started control-plane binary, for the version log."""

    name: str
    version: str
    log: Path


@dataclass
class KubevirtControlPlane:
    """virt-api, virt-controller, kube-controller-manager and kube-scheduler around a `KubeCluster`.

    `cluster` is a started ``tests.harness.kube_fixtures.KubeCluster`` whose apiserver runs
    with `aggregation_apiserver_args(pki)` and knows the users of `USERS`.
    """

    cluster: Any
    pki: Pki
    manifests: KubevirtManifests
    virt_api_port: int = 0
    virt_controller_port: int = 0
    components: list[Component] = field(default_factory=list)
    # Exits of virt-api/virt-controller the supervisor restarted (their Deployments would),
    # each with its log tail: KubeVirt v1.8.0's migration controller panics on a deletion
    # tombstone after a watch gap (migration.go enqueueMigration), for one.
    crashes: list[str] = field(default_factory=list)
    _processes: list[Any] = field(default_factory=list)
    _supervised: dict[str, Any] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _supervisor: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(
        self, *, process_factory: Callable[..., Any], free_port: Callable[[], int], virt_controller: bool = True
    ) -> None:
        """Install what virt-operator would, then start every component and wait for each.

        `process_factory(name, argv, log, pid_file)` makes a startable process
        (``kube_fixtures._Process``).
        """
        api = self.cluster.api_client()
        try:
            self._install_base(api)
            self._start_kube_controllers(process_factory)
            self.virt_api_port = free_port()
            self._start_virt_api(process_factory, free_port)
            self._install_admission_and_aggregation(api)
            self._wait_aggregated_api(api)
            if virt_controller:
                self.virt_controller_port = free_port()
                self._start_virt_controller(process_factory)
        finally:
            api.close()
        self._supervisor = threading.Thread(target=self._supervise, name="control-plane-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        """Stop the components (only the processes started here), newest first."""
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(10)
        for proc in reversed(self._processes):
            proc.stop()
        self._processes.clear()

    def check_alive(self) -> None:
        """Raise ControlPlaneError with the log tail of any component that exited and will not be restarted.
        virt-api and virt-controller are restarted by the supervisor (within a second, or once it has
        released a crashed virt-controller's lease while the apiserver restarts), as their Deployments
        would: an exit of theirs is in `crashes`, and what waits for them (`wait_reconnected`) sees them
        back; they count as dead only once the supervisor is gone."""
        supervising = self._supervisor is not None and self._supervisor.is_alive() and not self._stopping.is_set()
        restarted = {id(proc) for proc in self._supervised.values()} if supervising else set()
        dead = [proc.died() for proc in self._processes if not proc.running() and id(proc) not in restarted]
        if dead:
            raise ControlPlaneError("control-plane component exited:\n" + "\n".join(dead))

    def watchers(self) -> dict[str, int]:
        """The open cluster-wide watches of each of `WATCHED`, as the apiserver counts them
        (`apiserver_longrunning_requests` in its /metrics); take it before a restart for `wait_reconnected`."""
        api = self.cluster.api_client()
        try:
            return _watch_counts(api)
        finally:
            api.close()

    def wait_reconnected(self, watchers: dict[str, int], timeout: float = RECONNECT_TIMEOUT) -> None:
        """After an apiserver restart, wait (bounded) until the control plane is back: the apiserver ready
        (/readyz), virt-api served through the aggregator, virt-controller leading, and at least as many
        cluster-wide watches of each of `WATCHED` open as `watchers` (taken before the restart) counted,
        so the components' informers see changes again. ControlPlaneError naming what is not back."""
        deadline = time.monotonic() + timeout
        api = self.cluster.api_client()
        try:
            while True:
                self.check_alive()
                missing = self._not_back(api, watchers)
                if not missing:
                    return
                if time.monotonic() >= deadline:
                    raise ControlPlaneError(f"the control plane was not back within {timeout:g}s: {missing}")
                time.sleep(0.5)
        finally:
            api.close()

    def _not_back(self, api: k8s.ApiClient, watchers: dict[str, int]) -> str:
        """What of the control plane is not back yet ("" when everything is)."""
        ready, answer = self.cluster._readyz()
        if not ready:
            return f"apiserver /readyz: {answer}"
        try:
            rest_json(api, "GET", "/apis/subresources.kubevirt.io/v1/version", timeout=10)
            counts = _watch_counts(api)
        except ApiException as err:
            return f"{err.status} {err.reason}: {str(err.body)[:300]}"
        except (urllib3.exceptions.HTTPError, OSError) as err:
            return str(err)
        leading, answer = self._leading()
        if not leading:
            return f"virt-controller /leader: {answer}"
        behind = {kind: f"{counts.get(kind, 0)} of {n}" for kind, n in watchers.items() if counts.get(kind, 0) < n}
        return f"cluster-wide watches open again: {behind}" if behind else ""

    def _leading(self) -> tuple[bool, str]:
        """Whether virt-controller says it leads (its /leader), and its answer."""
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        url = f"https://127.0.0.1:{self.virt_controller_port}/leader"
        try:
            with urllib.request.urlopen(url, timeout=3, context=context) as resp:
                body = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as err:
            return False, str(err)
        return body.get("apiserver", {}).get("leader") == "true", json.dumps(body)

    def _supervise(self) -> None:
        """Restart virt-api/virt-controller when they exit, as their Deployments would.

        Runs for the whole session: the processes it starts carry PR_SET_PDEATHSIG, which
        fires when the starting thread ends, and this thread ends only at `stop`.
        """
        while not self._stopping.wait(1.0):
            for name, proc in list(self._supervised.items()):
                if not proc.running() and not self._stopping.is_set():
                    self.crashes.append(proc.died())
                    if name == "virt-controller":
                        self._release_lease()
                    proc.popen = None
                    proc.start()

    def _release_lease(self) -> None:
        """Delete the dead virt-controller's leader lease (it would block its successor for
        the whole lease duration; a new pod would wait that long too, the harness need not)."""
        api = self.cluster.api_client()
        try:
            for _attempt in range(20):  # the crash may come while the apiserver restarts
                try:
                    k8s.CoordinationV1Api(api).delete_namespaced_lease("virt-controller", NAMESPACE)
                    return
                except ApiException as err:
                    if err.status == 404:
                        return
                except (urllib3.exceptions.HTTPError, OSError):
                    pass
                if self._stopping.wait(1.0):
                    return
            self.crashes.append("could not release the virt-controller lease within 20 s")
        finally:
            api.close()

    def version_lines(self) -> list[str]:
        """One line per component once it answers (up and, for virt-controller, leading): name, version, log."""
        return [f"{c.name} {c.version} running (log {c.log})" for c in self.components]

    # -- installing --------------------------------------------------------------------

    def _install_base(self, api: k8s.ApiClient) -> None:
        _post(api, "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
        _post(
            api,
            f"/api/v1/namespaces/{NAMESPACE}/configmaps",
            {"metadata": {"name": "kubevirt-ca"}, "data": {"ca-bundle": self.pki.ca_cert.read_text()}},
        )
        for obj in self.manifests.rbac:
            _apply_typed(api, obj)
        custom = k8s.CustomObjectsApi(api)
        kubevirt = {
            "apiVersion": "kubevirt.io/v1",
            "kind": "KubeVirt",
            "metadata": {"name": KUBEVIRT_CR, "namespace": NAMESPACE},
            "spec": {
                "configuration": {
                    "developerConfiguration": {"featureGates": list(FEATURE_GATES)},
                    "vmRolloutStrategy": VM_ROLLOUT_STRATEGY,
                },
            },
        }
        _create(lambda: custom.create_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE, "kubevirts", kubevirt))
        # virt-operator's status writes the components depend on (see the module docstring):
        # the phase, and the default architecture the VM mutator copies into every VM
        # (virt-operator util.SetDefaultArchitecture; without it virt-api's VMI validator
        # refuses every VMI with "unsupported architecture: ").
        version = "v" + tools.versions()["KUBEVIRT_VERSION"]
        operator_status = {
            "phase": "Deployed",
            "defaultArchitecture": "amd64",
            "observedKubeVirtVersion": version,
            "targetKubeVirtVersion": version,
        }
        custom.patch_namespaced_custom_object_status(
            "kubevirt.io", "v1", NAMESPACE, "kubevirts", KUBEVIRT_CR, {"status": operator_status}
        )

    def _install_admission_and_aggregation(self, api: k8s.ApiClient) -> None:
        base_url = f"https://127.0.0.1:{self.virt_api_port}"
        ca_bundle = self.pki.ca_bundle()
        admission = k8s.AdmissionregistrationV1Api(api)
        for webhook in self.manifests.validating_webhooks:
            body = loopback_webhook(webhook, base_url, ca_bundle)
            _create(lambda body=body: admission.create_validating_webhook_configuration(body))  # type: ignore[misc]
        for webhook in self.manifests.mutating_webhooks:
            body = loopback_webhook(webhook, base_url, ca_bundle)
            _create(lambda body=body: admission.create_mutating_webhook_configuration(body))  # type: ignore[misc]
        service = {
            "metadata": {"name": VIRT_API_SERVICE, "namespace": NAMESPACE},
            "spec": {
                "type": "ExternalName",
                "externalName": "localhost",
                "ports": [{"name": "https", "port": self.virt_api_port, "protocol": "TCP"}],
            },
        }
        _post(api, f"/api/v1/namespaces/{NAMESPACE}/services", service)
        custom = k8s.CustomObjectsApi(api)
        for api_service in self.manifests.api_services:
            body = json.loads(json.dumps(api_service))
            body.pop("status", None)
            body["spec"]["service"]["port"] = self.virt_api_port
            body["spec"]["caBundle"] = ca_bundle
            _create(
                lambda body=body: custom.create_cluster_custom_object(  # type: ignore[misc]
                    "apiregistration.k8s.io", "v1", "apiservices", body
                )
            )

    def _wait_aggregated_api(self, api: k8s.ApiClient) -> None:
        """Wait until the apiserver serves subresources.kubevirt.io through virt-api; log its version."""
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer yet"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                data = rest_json(api, "GET", "/apis/subresources.kubevirt.io/v1/version", timeout=10)
                version = str(data.get("gitVersion", "?"))
                self.components.append(Component("virt-api", version, self._processes[-1].log))
                return
            except ApiException as err:
                last = f"{err.status} {err.reason}: {str(err.body)[:300]}"
            time.sleep(0.5)
        raise ControlPlaneError(
            f"subresources.kubevirt.io not served through the aggregator within {READY_TIMEOUT}s (last: {last})\n"
            + self._processes[-1].died()
        )

    # -- starting ------------------------------------------------------------------------

    def _start(self, factory: Callable[..., Any], name: str, argv: list[str]) -> Any:
        workdir: Path = self.cluster.workdir
        proc = factory(name, argv, workdir / f"{name}.log", workdir / f"{name}.pid")
        proc.start()
        self._processes.append(proc)
        if name.startswith("virt-"):
            self._supervised[name] = proc
        return proc

    def _start_kube_controllers(self, factory: Callable[..., Any]) -> None:
        workdir: Path = self.cluster.workdir
        kcm = tools.tool("kube", "kube-controller-manager")
        self._start(
            factory,
            "kube-controller-manager",
            [
                str(kcm),
                f"--kubeconfig={self.cluster.kubeconfig_for(KCM_USER)}",
                "--leader-elect=false",
                "--secure-port=0",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={workdir / 'sa.key'}",
                f"--root-ca-file={self.cluster.ca_file}",
                # The garbage collector and namespace deletion are what the tier needs; the
                # service-account controllers make the `default` ServiceAccount every pod
                # (virt-launcher's) is admitted with, and publish kube-root-ca.crt; the
                # node-lifecycle controller lifts the not-ready taint of Nodes whose kubelet
                # (the double) heartbeats; the PVC/PV protection controllers remove the
                # kubernetes.io/pvc-protection and pv-protection finalizers the apiserver's
                # admission adds (without them a deleted PVC stays "being deleted" for ever).
                "--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,"
                "serviceaccount-token-controller,root-ca-certificate-publisher-controller,"
                "persistentvolumeclaim-protection-controller,persistentvolume-protection-controller,"
                "node-lifecycle-controller",
            ],
        )
        self.components.append(
            Component("kube-controller-manager", _version_flag(kcm), workdir / "kube-controller-manager.log")
        )
        scheduler = tools.tool("kube", "kube-scheduler")
        self._start(
            factory,
            "kube-scheduler",
            [
                str(scheduler),
                f"--kubeconfig={self.cluster.kubeconfig_for(SCHEDULER_USER)}",
                "--leader-elect=false",
                "--secure-port=0",
            ],
        )
        self.components.append(Component("kube-scheduler", _version_flag(scheduler), workdir / "kube-scheduler.log"))

    def _start_virt_api(self, factory: Callable[..., Any], free_port: Callable[[], int]) -> None:
        self._start(
            factory,
            "virt-api",
            [
                str(tools.tool("kube", "virt-api")),
                f"--kubeconfig={self.cluster.kubeconfig_for(VIRT_API_USER)}",
                "--listen=127.0.0.1",
                f"--port={self.virt_api_port}",
                f"--console-server-port={free_port()}",
                f"--tls-cert-file={self.pki.serving_cert}",
                f"--tls-key-file={self.pki.serving_key}",
                f"--handler-cert-file={self.pki.handler_client_cert}",
                f"--handler-key-file={self.pki.handler_client_key}",
            ],
        )

    def _start_virt_controller(self, factory: Callable[..., Any]) -> None:
        binary = tools.tool("kube", "virt-controller")
        proc = self._start(
            factory,
            "virt-controller",
            [
                str(binary),
                f"--kubeconfig={self.cluster.kubeconfig_for(VIRT_CONTROLLER_USER)}",
                "--listen=127.0.0.1",
                f"--port={self.virt_controller_port}",
                # Its /leader and /metrics are served over TLS with the "prom" cert.
                f"--prom-cert-file={self.pki.serving_cert}",
                f"--prom-key-file={self.pki.serving_key}",
                # The image KubeVirt ships; nothing pulls it (the kubelet double runs no containers).
                "--launcher-image=quay.io/kubevirt/virt-launcher:v" + tools.versions()["KUBEVIRT_VERSION"],
                *LEADER_ELECT_ARGS,
            ],
        )
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer yet"
        while time.monotonic() < deadline:
            self.check_alive()
            leading, last = self._leading()
            if leading:
                # virt-controller has no version flag or endpoint; it is built from the
                # same pinned module as virt-api, whose /version was checked.
                stamp = tools.BIN / ".versions" / "virt-controller"
                version = stamp.read_text().strip() if stamp.exists() else "?"
                self.components.append(Component("virt-controller", version, proc.log))
                return
            time.sleep(0.5)
        raise ControlPlaneError(
            f"virt-controller not leading within {READY_TIMEOUT}s (last /leader: {last})\n{proc.died()}"
        )


_LABEL = re.compile(r'(\w+)="([^"]*)"')


def _watch_counts(api: k8s.ApiClient) -> dict[str, int]:
    """Open cluster-wide WATCH requests of each of `WATCHED`, from the apiserver's /metrics."""
    response = rest(api, "GET", "/metrics", timeout=10)
    data = response.read()
    if response.status != 200:
        raise ApiException(http_resp=response, body=data.decode(errors="replace") if data else None)
    counts = dict.fromkeys(WATCHED, 0)
    for line in data.decode(errors="replace").splitlines():
        if not line.startswith("apiserver_longrunning_requests{"):
            continue
        labels_text, _, value = line.rpartition("} ")
        labels = dict(_LABEL.findall(labels_text))
        if labels.get("verb") == "WATCH" and labels.get("scope") == "cluster" and labels.get("resource") in counts:
            counts[labels["resource"]] += int(float(value))
    return counts


def _version_flag(binary: Path) -> str:
    """`BINARY --version` (Kubernetes components print `Kubernetes vX.Y.Z`)."""
    result = subprocess.run([str(binary), "--version"], check=False, capture_output=True, text=True, timeout=30)
    return (result.stdout or result.stderr).strip().splitlines()[-1] if (result.stdout or result.stderr) else "?"


def _create(call: Callable[[], Any]) -> None:
    """Create an object; one that exists already (a second session start) is fine."""
    try:
        call()
    except ApiException as err:
        if err.status != 409:
            raise ControlPlaneError(f"creating an object failed: {err.status} {err.reason}: {err.body}") from err


def _post(api: k8s.ApiClient, path: str, body: Obj) -> None:
    """Create one object by a raw POST (the typed API wants model objects, these are dicts)."""
    _create(lambda: rest_json(api, "POST", path, body))


_RBAC = "/apis/rbac.authorization.k8s.io/v1"


def _apply_typed(api: k8s.ApiClient, obj: Obj) -> None:
    """Create one RBAC/ServiceAccount object from its dict."""
    kind = obj["kind"]
    namespace = obj["metadata"].get("namespace", NAMESPACE)
    body = {k: v for k, v in obj.items() if k != "status"}
    paths = {
        "ServiceAccount": f"/api/v1/namespaces/{namespace}/serviceaccounts",
        "ClusterRole": f"{_RBAC}/clusterroles",
        "ClusterRoleBinding": f"{_RBAC}/clusterrolebindings",
        "Role": f"{_RBAC}/namespaces/{namespace}/roles",
        "RoleBinding": f"{_RBAC}/namespaces/{namespace}/rolebindings",
    }
    _post(api, paths[kind], body)
