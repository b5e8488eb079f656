"""Sweeper: removes what test runs leaked on this machine.

Role: the safety net behind the fixtures' own teardown.

- On a libvirt URI (default qemu:///system): ``test-*`` domains (destroyed,
  undefined, their serial/QEMU logs removed), ``test-*`` networks, ``test-*``
  storage volumes in any pool and ``test-*`` pools.
- Namespace hosts of dead test sessions: network namespaces ``pkvA-<pid>`` /
  ``pkvB-<pid>`` whose ``<pid>`` is gone (their processes are stopped, the
  namespace deleted) and their ``/tmp/pkv-hosts-<pid>-*`` directories.

Several test sessions (and people trying things by hand) share qemu:///system,
so sessions coordinate through ``SessionLock``: every pytest session holds it
shared; a sweep of everything ``test-*`` needs it exclusive. The autouse
session fixture in ``libvirt_fixtures`` sweeps at session end only the objects
that appeared during the session, and only when no other session is running.

A script that creates ``test-*`` objects outside pytest should run inside
``session_guard()``, or a test session ending meanwhile may sweep them.

``python -m tests.harness.sweeper`` (``make sweep``) sweeps everything
``test-*``; ``--dry-run`` lists, ``--force`` ignores running sessions.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import libvirt

PREFIX = "test-"
SYSTEM_URI = "qemu:///system"
QEMU_LOG_DIR = Path("/var/log/libvirt/qemu")
NETNS_RE = re.compile(r"^pkv[AB]-(\d+)$")
HOSTS_DIR_RE = re.compile(r"^pkv-hosts-(\d+)-")
_LOCK_DIR = Path("/run/lock") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())
LOCK_PATH = _LOCK_DIR / "pulumi-kubevirt-tests.lock"

#: (kind, name) of a libvirt object; volumes are named "<pool>/<volume>".
ObjectKey = tuple[str, str]


def _quiet_libvirt() -> None:
    """Stop libvirt-python from printing every error to stderr (exceptions still raise)."""

    def _ignore(_ctx: object, _err: object) -> None:
        return None

    libvirt.registerErrorHandler(_ignore, None)


_quiet_libvirt()


class SessionLock:
    """A machine-wide flock: shared by each test session, exclusive for a full sweep."""

    def __init__(self, path: Path = LOCK_PATH) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def _fd(self) -> int:
        if self._file is None:
            self._file = open(self.path, "ab")  # held until release()
        return self._file.fileno()

    def shared(self) -> None:
        """Hold the lock shared (blocks at most while someone sweeps)."""
        fcntl.flock(self._fd(), fcntl.LOCK_SH)

    def try_exclusive(self) -> bool:
        """Try to hold it exclusively (converting a shared hold); False if another holder exists."""
        try:
            fcntl.flock(self._fd(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        """Drop the lock."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


@contextlib.contextmanager
def session_guard() -> Iterator[None]:
    """Count as a running test session (shared ``SessionLock``) for the duration."""
    lock = SessionLock()
    lock.shared()
    try:
        yield
    finally:
        lock.release()


def _is_test(name: str) -> bool:
    return name.startswith(PREFIX)


def snapshot(conn: libvirt.virConnect) -> set[ObjectKey]:
    """The ``test-*`` domains, networks, pools and volumes that exist now."""
    found: set[ObjectKey] = set()
    for dom in conn.listAllDomains():
        if _is_test(dom.name()):
            found.add(("domain", dom.name()))
    for net in conn.listAllNetworks():
        if _is_test(net.name()):
            found.add(("network", net.name()))
    for pool in conn.listAllStoragePools():
        if _is_test(pool.name()):
            found.add(("pool", pool.name()))
        if not pool.isActive():
            continue
        with contextlib.suppress(libvirt.libvirtError):
            pool.refresh(0)
        for vol in pool.listAllVolumes():
            if _is_test(vol.name()):
                found.add(("volume", f"{pool.name()}/{vol.name()}"))
    return found


def _ignore_missing(err: libvirt.libvirtError) -> None:
    missing = {
        libvirt.VIR_ERR_NO_DOMAIN,
        libvirt.VIR_ERR_NO_NETWORK,
        libvirt.VIR_ERR_NO_STORAGE_POOL,
        libvirt.VIR_ERR_NO_STORAGE_VOL,
        libvirt.VIR_ERR_OPERATION_INVALID,  # e.g. destroy of an inactive object
    }
    if err.get_error_code() not in missing:
        raise err


def remove_domain(conn: libvirt.virConnect, name: str) -> bool:
    """Destroy and undefine domain ``name``; True if it existed."""
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError as err:
        _ignore_missing(err)
        return False
    try:
        if dom.isActive():
            dom.destroy()
        if dom.isPersistent():
            dom.undefineFlags(
                libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
                | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
            )
    except libvirt.libvirtError as err:
        _ignore_missing(err)
    return True


def remove_network(conn: libvirt.virConnect, name: str) -> bool:
    """Destroy and undefine network ``name``; True if it existed."""
    try:
        net = conn.networkLookupByName(name)
    except libvirt.libvirtError as err:
        _ignore_missing(err)
        return False
    try:
        if net.isActive():
            net.destroy()
        if net.isPersistent():
            net.undefine()
    except libvirt.libvirtError as err:
        _ignore_missing(err)
    return True


def remove_volume(conn: libvirt.virConnect, pool_name: str, vol_name: str) -> bool:
    """Delete storage volume ``vol_name`` of pool ``pool_name``; True if it existed."""
    try:
        vol = conn.storagePoolLookupByName(pool_name).storageVolLookupByName(vol_name)
        vol.delete(0)
    except libvirt.libvirtError as err:
        _ignore_missing(err)
        return False
    return True


def remove_pool(conn: libvirt.virConnect, name: str) -> bool:
    """Delete the volumes of pool ``name``, stop it, delete its target (when empty), undefine it."""
    try:
        pool = conn.storagePoolLookupByName(name)
    except libvirt.libvirtError as err:
        _ignore_missing(err)
        return False
    try:
        if pool.isActive():
            for vol in pool.listAllVolumes():
                vol.delete(0)
            pool.destroy()
        with contextlib.suppress(libvirt.libvirtError):
            pool.delete(0)  # removes an empty dir-pool target; not every pool type can
        if pool.isPersistent():
            pool.undefine()
    except libvirt.libvirtError as err:
        _ignore_missing(err)
    return True


def remove_logs(domain: str, log_dir: Path = QEMU_LOG_DIR) -> None:
    """Remove a test domain's serial log and QEMU log."""
    for path in (log_dir / f"{domain}-serial.log", log_dir / f"{domain}.log"):
        path.unlink(missing_ok=True)


def sweep_libvirt(
    uri: str = SYSTEM_URI,
    *,
    keep: Callable[[ObjectKey], bool] = lambda _key: False,
    dry_run: bool = False,
) -> list[str]:
    """Remove every ``test-*`` object on ``uri`` except those ``keep`` says; return what was done."""
    done: list[str] = []
    conn = libvirt.open(uri)
    try:
        # Domains first (they use networks and volumes), pools last.
        order = {"domain": 0, "network": 1, "volume": 2, "pool": 3}
        for kind, name in sorted(snapshot(conn), key=lambda key: (order[key[0]], key[1])):
            if keep((kind, name)):
                continue
            done.append(f"{'would remove' if dry_run else 'removed'} {kind} {name} on {uri}")
            if dry_run:
                continue
            if kind == "domain":
                remove_domain(conn, name)
                if uri == SYSTEM_URI:
                    remove_logs(name)
            elif kind == "network":
                remove_network(conn, name)
            elif kind == "volume":
                pool_name, _, vol_name = name.partition("/")
                remove_volume(conn, pool_name, vol_name)
            else:
                remove_pool(conn, name)
    finally:
        conn.close()
    return done


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie counts as dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    match = re.search(r"^State:\s+(\S)", status, re.MULTILINE)
    return not (match and match.group(1) in ("Z", "X"))


def stop_pids(pids: list[int], *, grace: float = 10.0) -> list[int]:
    """SIGTERM ``pids``, wait up to ``grace`` s, SIGKILL the rest; return those still alive."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if pid_alive(p)]


def netns_names() -> list[str]:
    """The names of the network namespaces (``ip netns list``)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30, check=True)
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def netns_pids(name: str) -> list[int]:
    """The processes in network namespace ``name``."""
    out = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=30)
    return [int(tok) for tok in out.stdout.split() if tok.isdigit()]


def delete_netns(name: str) -> None:
    """Delete network namespace ``name`` (no error if it is already gone)."""
    subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30)


def sweep_stale_hosts(*, dry_run: bool = False) -> list[str]:
    """Remove namespace hosts (netns + dirs) whose owning test process is dead."""
    done: list[str] = []
    for name in netns_names():
        match = NETNS_RE.match(name)
        if not match or pid_alive(int(match.group(1))):
            continue
        pids = netns_pids(name)
        done.append(f"{'would remove' if dry_run else 'removed'} netns {name} (processes {pids})")
        if dry_run:
            continue
        left = stop_pids(pids)
        if left:
            done.append(f"  processes {left} in {name} did not stop")
        delete_netns(name)
    tmp = Path(tempfile.gettempdir())
    for path in tmp.glob("pkv-hosts-*"):
        match = HOSTS_DIR_RE.match(path.name)
        if not match or pid_alive(int(match.group(1))):
            continue
        done.append(f"{'would remove' if dry_run else 'removed'} {path}")
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
    return done


@contextlib.contextmanager
def _exclusive(force: bool) -> Iterator[bool]:
    lock = SessionLock()
    try:
        yield lock.try_exclusive() or force
    finally:
        lock.release()


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.harness.sweeper``: sweep everything ``test-*`` and stale namespace hosts."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness.sweeper",
        description="Remove leaked test-* libvirt objects and stale namespace hosts.",
    )
    parser.add_argument("--uri", default=SYSTEM_URI, help="libvirt URI (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="list, do not remove")
    parser.add_argument("--force", action="store_true", help="sweep even while a test session runs")
    args = parser.parse_args(argv)
    done = sweep_stale_hosts(dry_run=args.dry_run)
    with _exclusive(args.force) as allowed:
        if not allowed:
            print(
                f"[sweeper] a test session holds {LOCK_PATH}: not touching {args.uri} (use --force to sweep anyway)",
                file=sys.stderr,
            )
            for line in done:
                print(f"[sweeper] {line}")
            return 1
        try:
            done += sweep_libvirt(args.uri, dry_run=args.dry_run)
        except libvirt.libvirtError as err:
            print(f"[sweeper] {args.uri}: {err}", file=sys.stderr)
            return 2
    for line in done:
        print(f"[sweeper] {line}")
    if not done:
        print("[sweeper] nothing to sweep")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
