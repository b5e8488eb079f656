"""Libvirt tier fixtures: the real libvirtd on qemu:///system and two namespace "hosts".

Role: hand the tests real libvirt endpoints and clean up after them.

Fixtures:
- ``libvirt_uri`` (session): ``qemu:///system`` once it answers, else ``tools.missing``.
- ``libvirt_conn`` (function): an open connection to it, closed afterwards.
- ``guest`` (session): the tiny guest (``guest.GuestImage``).
- ``libvirt_objects`` (function): ``LibvirtObjects``, defines domains/networks and
  removes them (and their logs) at teardown.
- ``two_hosts`` (session): ``TwoHosts``, two network namespaces joined by a veth,
  each with a private libvirtd + virtlogd (own /etc, /run, /var/lib, /var/log,
  /var/cache libvirt through bind mounts in a private mount namespace, own
  host_uuid, TCP listener on the node address without auth).
- ``kill_libvirtd(node)`` / ``restart_libvirtd(node)``: crash a namespace host's
  libvirtd with SIGKILL and start it again (fault-injection tests; the shared
  qemu:///system daemon is never killed).
- ``_libvirt_leak_sweeper`` (session, autouse): at session end removes the
  ``test-*`` objects that appeared on qemu:///system during the session and
  were not cleaned up (see ``sweeper``), and reports them.

Network rule: the test process talks to the namespace hosts only through their
unix sockets, which the bind mounts make visible on the host
(``Node.uri`` = ``qemu+unix:///system?socket=<node dir>/run/libvirt-sock``).
``Node.tcp_uri`` / ``Node.migrate_uri`` (10.77.0.N) are for the libvirtds and
QEMUs inside the namespaces (peer-to-peer migration); the host namespace must
never connect to them, since that traffic would leave the machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import libvirt
import pytest
from pyroute2 import IPRoute

from tests.harness import sweeper, tools
from tests.harness.guest import GuestImage, guest_image, nat_network_xml

SYSTEM_URI = "qemu:///system"
#: The host directories each namespace host gets its own copy of (node subdir -> path).
NODE_BIND_MOUNTS: dict[str, str] = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
}
NODE_NET = ipaddress.IPv4Network("10.77.0.0/24")
DAEMON_TIMEOUT = 30.0


class HostSetupError(RuntimeError):
    """A namespace host could not be started or stopped."""


def _check(args: list[str], *, timeout: float = 30.0) -> str:
    """Run ``args``; return stdout, raise ``HostSetupError`` with stderr on failure."""
    try:
        res = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise HostSetupError(f"`{' '.join(args)}` did not finish within {timeout:.0f} s") from err
    if res.returncode != 0:
        raise HostSetupError(f"`{' '.join(args)}` exited {res.returncode}: {res.stderr.strip()}")
    return res.stdout


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return f"    ({path} does not exist)"
    return "\n".join(f"    {line}" for line in text)


# --------------------------------------------------------------------------- qemu:///system


def assert_local_uri(uri: str) -> None:
    """Refuse a libvirt URI the test process must not use: a network transport to a
    non-loopback host (from the host namespace that traffic would leave the machine)."""
    parts = urllib.parse.urlsplit(uri)
    transport = parts.scheme.partition("+")[2]
    host = parts.hostname or ""
    if transport in ("", "unix") or not host or host in ("localhost", "127.0.0.1", "::1"):
        return
    raise AssertionError(f"the test process may not connect to {uri}: use the node's unix-socket URI (Node.uri)")


def system_error() -> str | None:
    """None if qemu:///system answers (open + getVersion), else the error text."""
    try:
        conn = libvirt.open(SYSTEM_URI)
    except libvirt.libvirtError as err:
        return str(err)
    try:
        conn.getVersion()
    except libvirt.libvirtError as err:
        return str(err)
    finally:
        conn.close()
    return None


@pytest.fixture(scope="session")
def libvirt_uri() -> str:
    """``qemu:///system`` after checking it answers; a missing libvirtd fails the test."""
    error = system_error()
    if error is not None:
        tools.missing("libvirt", f"libvirtd at {SYSTEM_URI} ({error}); scripts/start-libvirtd.sh starts it")
    return SYSTEM_URI


@pytest.fixture
def libvirt_conn(libvirt_uri: str) -> Iterator[libvirt.virConnect]:
    """An open connection to qemu:///system, closed after the test."""
    conn = libvirt.open(libvirt_uri)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="session")
def guest() -> GuestImage:
    """The tiny guest's kernel/initrd (``tools.missing`` when scripts/build-guest.sh has not run)."""
    return guest_image()


class LibvirtObjects:
    """Defines libvirt objects for one test and removes them at teardown, newest first.

    Objects are remembered by (URI, kind, name) so teardown works with its own
    connections, whatever the test did with its own (closed it, migrated the
    domain elsewhere: track the destination too with ``track``).
    """

    def __init__(self) -> None:
        self._items: list[tuple[str, str, str]] = []

    def track(self, uri: str, kind: str, name: str) -> None:
        """Remove ``kind`` (domain|network) ``name`` on ``uri`` at teardown."""
        if kind not in ("domain", "network"):
            raise ValueError(f"unknown kind {kind!r}")
        if not name.startswith(sweeper.PREFIX):
            raise ValueError(f"test objects are named {sweeper.PREFIX}...: {name!r}")
        assert_local_uri(uri)
        self._items.append((uri, kind, name))

    def define_domain(self, conn: libvirt.virConnect, xml: str, *, start: bool = True) -> libvirt.virDomain:
        """Define (persistent) the domain of ``xml`` and start it unless ``start`` is False."""
        dom = conn.defineXML(xml)
        self.track(conn.getURI(), "domain", dom.name())
        if start:
            dom.create()
        return dom

    def create_network(self, conn: libvirt.virConnect, xml: str) -> libvirt.virNetwork:
        """Define and start the network of ``xml``."""
        net = conn.networkDefineXML(xml)
        self.track(conn.getURI(), "network", net.name())
        net.create()
        return net

    def cleanup(self) -> list[str]:
        """Remove everything tracked; return the errors (empty when all went well)."""
        errors: list[str] = []
        conns: dict[str, libvirt.virConnect] = {}
        try:
            for uri, kind, name in reversed(self._items):
                try:
                    if uri not in conns:
                        conns[uri] = libvirt.open(uri)
                    if kind == "domain":
                        sweeper.remove_domain(conns[uri], name)
                        if uri == SYSTEM_URI:
                            sweeper.remove_logs(name)
                    else:
                        sweeper.remove_network(conns[uri], name)
                except libvirt.libvirtError as err:
                    errors.append(f"{kind} {name} on {uri}: {err}")
        finally:
            for conn in conns.values():
                with contextlib.suppress(libvirt.libvirtError):
                    conn.close()
            self._items.clear()
        return errors


@pytest.fixture
def libvirt_objects() -> Iterator[LibvirtObjects]:
    """A ``LibvirtObjects`` whose objects are removed after the test (errors fail the teardown)."""
    objects = LibvirtObjects()
    yield objects
    errors = objects.cleanup()
    if errors:
        pytest.fail("teardown could not remove: " + "; ".join(errors), pytrace=False)


def create_nat_network(
    objects: LibvirtObjects, conn: libvirt.virConnect, name: str, *, attempts: int = 5
) -> tuple[libvirt.virNetwork, ipaddress.IPv4Network]:
    """Define and start NAT network ``name`` (DHCP) on a free subnet; retry if one is taken meanwhile."""
    for attempt in range(1, attempts + 1):
        subnet = free_ipv4_subnet()
        xml = nat_network_xml(name, f"pkvt{secrets.token_hex(3)}", subnet)
        try:
            return objects.create_network(conn, xml), subnet
        except libvirt.libvirtError as err:
            # Another session took the subnet between our check and libvirt's.
            if "in use" not in str(err) or attempt == attempts:
                raise
            sweeper.remove_network(conn, name)
    raise AssertionError("unreachable")


def free_ipv4_subnet(prefix: int = 24) -> ipaddress.IPv4Network:
    """A random 192.168.100-249.x/``prefix`` subnet overlapping no host address or route."""
    used: list[ipaddress.IPv4Network] = []
    with IPRoute() as ipr:
        for msg in ipr.get_addr(family=socket.AF_INET):
            addr = msg.get_attr("IFA_ADDRESS")
            if addr:
                used.append(ipaddress.IPv4Network(f"{addr}/{msg['prefixlen']}", strict=False))
        for msg in ipr.get_routes(family=socket.AF_INET):
            dst = msg.get_attr("RTA_DST")
            if dst and msg["dst_len"] > 0:
                used.append(ipaddress.IPv4Network(f"{dst}/{msg['dst_len']}", strict=False))
    candidates = [ipaddress.IPv4Network(f"192.168.{n}.0/{prefix}") for n in range(100, 250)]
    random.shuffle(candidates)
    for net in candidates:
        if not any(net.overlaps(u) for u in used):
            return net
    raise RuntimeError(f"no free 192.168.100-249.0/{prefix} subnet; host networks: {used}")


# --------------------------------------------------------------------------- namespace hosts


@dataclass
class Node:
    """One namespace host: a netns with a private libvirtd + virtlogd."""

    name: str  # network namespace name, also its hostname
    ip: str
    dir: Path  # node root: etc/ run/ lib/ log/ cache/ (bind-mounted over the libvirt dirs)
    host_uuid: str
    libvirtd_pid: int | None = None
    virtlogd_pid: int | None = None

    @property
    def socket(self) -> Path:
        """The node libvirtd's unix socket, as seen from the host."""
        return self.dir / "run" / "libvirt-sock"

    @property
    def uri(self) -> str:
        """The URI the test process (host namespace) uses: the unix socket, never TCP."""
        return f"qemu+unix:///system?socket={self.socket}"

    @property
    def tcp_uri(self) -> str:
        """The URI the other node's libvirtd uses (peer-to-peer migration destination)."""
        return f"qemu+tcp://{self.ip}/system"

    @property
    def migrate_uri(self) -> str:
        """Where the source QEMU sends the migration stream (inside the namespaces)."""
        return f"tcp://{self.ip}"

    def host_path(self, path: str | Path) -> Path:
        """The host path of ``path`` as the node's libvirtd/QEMU see it (e.g. a serial log)."""
        path = Path(path)
        for sub, mount in NODE_BIND_MOUNTS.items():
            with contextlib.suppress(ValueError):
                return self.dir / sub / path.relative_to(mount)
        return path

    def open(self) -> libvirt.virConnect:
        """A connection to this node's libvirtd through its unix socket."""
        assert_local_uri(self.uri)
        return libvirt.open(self.uri)

    def run(
        self, args: list[str], *, mount_ns: bool = False, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` in this node's network namespace (and its mount namespace if ``mount_ns``)."""
        if mount_ns:
            if self.libvirtd_pid is None:
                raise HostSetupError(f"{self.name}: libvirtd is not running")
            cmd = ["nsenter", "-t", str(self.libvirtd_pid), "-m", "-n", "-u", "--", *args]
        else:
            cmd = ["ip", "netns", "exec", self.name, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@dataclass
class TwoHosts:
    """Two namespace hosts joined by a veth (``a`` = 10.77.0.1, ``b`` = 10.77.0.2)."""

    a: Node
    b: Node
    root: Path
    namespaces: list[str] = field(default_factory=list)

    @property
    def nodes(self) -> tuple[Node, Node]:
        """Both nodes."""
        return (self.a, self.b)


def _prepare_node_dir(node: Node) -> None:
    """The node's private libvirt dirs: a copy of /etc/libvirt without domains/networks/pools."""
    for sub in ("run", "lib/qemu", "log/qemu", "cache/qemu"):
        (node.dir / sub).mkdir(parents=True, exist_ok=True)
    # The host's QEMU capability cache (same binaries): saves each node a
    # multi-second probe of qemu-system-x86_64 on first use; libvirt
    # re-probes by itself if it finds the cache stale.
    caps = Path("/var/cache/libvirt/qemu/capabilities")
    if caps.is_dir():
        shutil.copytree(caps, node.dir / "cache" / "qemu" / "capabilities", dirs_exist_ok=True)
    etc = node.dir / "etc"
    shutil.copytree("/etc/libvirt", etc, symlinks=True)
    for stale in ("qemu", "storage", "secrets"):
        shutil.rmtree(etc / stale, ignore_errors=True)
    (etc / "qemu").mkdir()
    lines = [
        "listen_tls = 0",
        "listen_tcp = 1",
        f'listen_addr = "{node.ip}"',
        'auth_tcp = "none"',
        f'host_uuid = "{node.host_uuid}"',
        'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
    ]
    (etc / "libvirtd.conf").write_text("\n".join(lines) + "\n")
    qemu_conf = etc / "qemu.conf"
    text = qemu_conf.read_text() if qemu_conf.exists() else ""
    for line in ('user = "root"', 'group = "root"', "cgroup_controllers = [ ]"):
        if line.split("=")[0].strip() not in [ln.split("=")[0].strip() for ln in text.splitlines()]:
            text += line + "\n"
    qemu_conf.write_text(text)


_NODE_START = """
set -e
hostname "$2"
for pair in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt \
            cache:/var/cache/libvirt; do
    mkdir -p "${pair#*:}"
    mount --bind "$1/${pair%%:*}" "${pair#*:}"
done
exec </dev/null >>"$1/log/daemons.out" 2>&1
virtlogd -d -p /run/libvirt/virtlogd.pid
exec libvirtd -d --listen -p /run/libvirt/libvirtd.pid
"""


def _read_pid(path: Path, comm: str, deadline: float) -> int:
    """Wait (until ``deadline``) for a pid file naming a live ``comm`` process."""
    while True:
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid = int(path.read_text().strip())
            if Path(f"/proc/{pid}/comm").read_text().strip() == comm:
                return pid
        if time.monotonic() >= deadline:
            raise HostSetupError(f"no live {comm} in pid file {path}")
        time.sleep(0.1)


def _start_node(node: Node) -> None:
    """Start virtlogd + libvirtd in the node's namespaces and wait until libvirtd answers."""
    _prepare_node_dir(node)
    _check(
        [
            "ip", "netns", "exec", node.name,
            "unshare", "--mount", "--uts", "--propagation", "private",
            "sh", "-c", _NODE_START, "sh", str(node.dir), node.name,
        ]
    )  # fmt: skip
    deadline = time.monotonic() + DAEMON_TIMEOUT
    try:
        node.virtlogd_pid = _read_pid(node.dir / "run" / "virtlogd.pid", "virtlogd", deadline)
        node.libvirtd_pid = _read_pid(node.dir / "run" / "libvirtd.pid", "libvirtd", deadline)
    except HostSetupError as err:
        raise HostSetupError(f"{err}; daemon output:\n{_tail(node.dir / 'log' / 'daemons.out')}") from err
    last = "socket not there yet"
    while time.monotonic() < deadline:
        if node.socket.exists():
            try:
                conn = node.open()
            except libvirt.libvirtError as err:
                last = str(err)
            else:
                try:
                    if conn.getHostname() != node.name:
                        raise HostSetupError(f"{node.uri} answered as {conn.getHostname()}, not {node.name}")
                    # Load the QEMU capabilities now, not during the first test's define/migrate.
                    conn.getDomainCapabilities(None, "x86_64", None, "qemu")
                    return
                finally:
                    conn.close()
        time.sleep(0.2)
    raise HostSetupError(
        f"libvirtd of {node.name} did not answer on {node.uri} within {DAEMON_TIMEOUT:.0f} s "
        f"({last}); libvirtd.log:\n{_tail(node.dir / 'log' / 'libvirtd.log')}"
    )


def kill_libvirtd(node: Node) -> None:
    """SIGKILL the node's libvirtd (a crash: no cleanup, QEMU processes keep running) and wait until it is gone."""
    pid = node.libvirtd_pid
    if pid is None or not sweeper.pid_alive(pid):
        raise HostSetupError(f"{node.name}: libvirtd is not running")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + DAEMON_TIMEOUT
    while sweeper.pid_alive(pid):
        if time.monotonic() >= deadline:
            raise HostSetupError(f"{node.name}: libvirtd {pid} survived SIGKILL")
        time.sleep(0.05)


def restart_libvirtd(node: Node) -> None:
    """Start the node's libvirtd again in the node's namespaces (those of its virtlogd, which
    survived) and wait until it answers; it reconnects to the QEMU processes still running."""
    old = node.libvirtd_pid
    if old is not None and sweeper.pid_alive(old):
        raise HostSetupError(f"{node.name}: libvirtd {old} is still running")
    if node.virtlogd_pid is None or not sweeper.pid_alive(node.virtlogd_pid):
        raise HostSetupError(f"{node.name}: virtlogd is gone, the node cannot be restarted")
    with open(node.dir / "log" / "daemons.out", "ab") as out:
        subprocess.run(
            ["nsenter", "-t", str(node.virtlogd_pid), "-m", "-n", "-u", "--",
             "libvirtd", "-d", "--listen", "-p", "/run/libvirt/libvirtd.pid"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True, timeout=DAEMON_TIMEOUT,
        )  # fmt: skip
    deadline = time.monotonic() + DAEMON_TIMEOUT
    pid_file = node.dir / "run" / "libvirtd.pid"
    while True:
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid = int(pid_file.read_text().strip())
            if pid != old and sweeper.pid_alive(pid):
                node.libvirtd_pid = pid
                break
        if time.monotonic() >= deadline:
            raise HostSetupError(
                f"{node.name}: restarted libvirtd wrote no pid file:\n{_tail(node.dir / 'log' / 'daemons.out')}"
            )
        time.sleep(0.1)
    last = ""
    while time.monotonic() < deadline:
        try:
            conn = node.open()
        except libvirt.libvirtError as err:
            last = str(err)
        else:
            try:
                conn.getHostname()
                return
            finally:
                conn.close()
        time.sleep(0.2)
    raise HostSetupError(f"{node.name}: restarted libvirtd does not answer on {node.uri}: {last}")


def _check_tcp_path(client: Node, server: Node) -> None:
    """From inside ``client``'s netns, ``server``'s libvirtd answers on its TCP URI."""
    deadline = time.monotonic() + DAEMON_TIMEOUT
    while True:
        res = client.run(["virsh", "-c", server.tcp_uri, "hostname"], timeout=DAEMON_TIMEOUT)
        if res.returncode == 0 and res.stdout.strip() == server.name:
            return
        if time.monotonic() >= deadline:
            raise HostSetupError(
                f"from {client.name}, {server.tcp_uri} does not answer as {server.name}: "
                f"rc={res.returncode} out={res.stdout.strip()!r} err={res.stderr.strip()!r}"
            )
        time.sleep(0.5)


def _stop_node(node: Node) -> list[str]:
    """Destroy the node's domains, stop its daemons and whatever else runs in its netns."""
    problems: list[str] = []
    if node.libvirtd_pid is not None and sweeper.pid_alive(node.libvirtd_pid) and node.socket.exists():
        try:
            conn = node.open()
        except libvirt.libvirtError as err:
            problems.append(f"{node.name}: cannot connect to destroy domains: {err}")
        else:
            try:
                for dom in conn.listAllDomains():
                    sweeper.remove_domain(conn, dom.name())
            except libvirt.libvirtError as err:
                problems.append(f"{node.name}: removing domains: {err}")
            finally:
                conn.close()
    daemons = [pid for pid in (node.libvirtd_pid, node.virtlogd_pid) if pid is not None]
    left = sweeper.stop_pids(daemons)
    if left:
        problems.append(f"{node.name}: daemons {left} did not stop")
    # QEMU processes (if a destroy failed) and anything else started in our namespace.
    others = sweeper.netns_pids(node.name)
    left = sweeper.stop_pids(others)
    if left:
        problems.append(f"{node.name}: processes {left} did not stop")
    node.libvirtd_pid = node.virtlogd_pid = None
    return problems


def stop_two_hosts(hosts: TwoHosts) -> list[str]:
    """Tear down what ``start_two_hosts`` made; return the problems met."""
    problems: list[str] = []
    for node in hosts.nodes:
        problems += _stop_node(node)
    for ns in hosts.namespaces:
        sweeper.delete_netns(ns)
    still = [ns for ns in hosts.namespaces if ns in sweeper.netns_names()]
    if still:
        problems.append(f"namespaces not deleted: {still}")
    shutil.rmtree(hosts.root, ignore_errors=True)
    return problems


def start_two_hosts() -> TwoHosts:
    """Create the two namespaces, the veth and both daemons; tear down on any failure."""
    pid = os.getpid()
    root = Path(tempfile.mkdtemp(prefix=f"pkv-hosts-{pid}-"))
    hosts_ips = list(NODE_NET.hosts())
    a = Node(f"pkvA-{pid}", str(hosts_ips[0]), root / f"pkvA-{pid}", str(uuid.uuid4()))
    b = Node(f"pkvB-{pid}", str(hosts_ips[1]), root / f"pkvB-{pid}", str(uuid.uuid4()))
    hosts = TwoHosts(a=a, b=b, root=root)
    try:
        existing = sweeper.netns_names()
        for node in hosts.nodes:
            if node.name in existing:
                raise HostSetupError(f"network namespace {node.name} exists already")
            _check(["ip", "netns", "add", node.name])
            hosts.namespaces.append(node.name)
        _check(["ip", "link", "add", "vA", "netns", a.name, "type", "veth", "peer", "name", "vB", "netns", b.name])
        for node, dev in ((a, "vA"), (b, "vB")):
            _check(["ip", "-n", node.name, "addr", "add", f"{node.ip}/{NODE_NET.prefixlen}", "dev", dev])
            _check(["ip", "-n", node.name, "link", "set", "lo", "up"])
            _check(["ip", "-n", node.name, "link", "set", dev, "up"])
        for node in hosts.nodes:
            _start_node(node)
        _check_tcp_path(a, b)
        _check_tcp_path(b, a)
    except (HostSetupError, OSError, libvirt.libvirtError):
        stop_two_hosts(hosts)
        raise
    return hosts


@pytest.fixture(scope="session")
def two_hosts(libvirt_uri: str) -> Iterator[TwoHosts]:
    """Two namespace hosts for the whole session; tests remove their own domains."""
    for binary in ("ip", "unshare", "nsenter", "libvirtd", "virtlogd", "virsh"):
        if shutil.which(binary) is None:
            tools.missing("libvirt", f"`{binary}` on PATH (namespace hosts)")
    sweeper.sweep_stale_hosts()
    try:
        hosts = start_two_hosts()
    except (HostSetupError, OSError, libvirt.libvirtError) as err:
        pytest.fail(f"[libvirt tier] namespace hosts could not start: {err}", pytrace=False)
    yield hosts
    problems = stop_two_hosts(hosts)
    if problems:
        pytest.fail("namespace hosts teardown: " + "; ".join(problems), pytrace=False)


# --------------------------------------------------------------------------- leak sweeping

_SWEEP_REPORT: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _libvirt_leak_sweeper() -> Iterator[None]:
    """Remove at session end the ``test-*`` objects this session leaked on qemu:///system.

    Only objects absent at session start are removed, and only when no other
    test session is running (``sweeper.SessionLock``); nothing happens when
    libvirtd does not answer (tiers that do not use it).
    """
    lock = sweeper.SessionLock()
    lock.shared()
    before: set[sweeper.ObjectKey] | None = None
    with contextlib.suppress(libvirt.libvirtError):
        conn = libvirt.open(SYSTEM_URI)
        try:
            before = sweeper.snapshot(conn)
        finally:
            conn.close()
    try:
        yield
        if before is None:
            return
        if not lock.try_exclusive():
            _SWEEP_REPORT.append("another test session is running: leak sweep skipped")
            return
        known = before
        with contextlib.suppress(libvirt.libvirtError):
            _SWEEP_REPORT.extend(sweeper.sweep_libvirt(SYSTEM_URI, keep=lambda key: key in known))
    finally:
        lock.release()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report what the leak sweeper had to remove (each line is a fixture bug)."""
    if _SWEEP_REPORT:
        terminalreporter.write_sep("-", "libvirt leak sweeper")
        for line in _SWEEP_REPORT:
            terminalreporter.write_line(line)
