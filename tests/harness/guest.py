"""The tiny real test guest: where it is, how to describe it to libvirt, how to read it.

Role: scripts/build-guest.sh builds a Debian cloud kernel plus a busybox
initramfs whose /init prints a line protocol on the serial console (ttyS0).
This module gives the tests

- ``guest_image()``: the kernel/initrd paths (``tools.missing`` when absent);
- ``cmdline()``, ``domain_xml()``, ``nat_network_xml()``: libvirt XML built with
  lxml (never string formatting), for TCG guests booted by direct kernel boot
  with their serial console in a file;
- ``wait_for_serial()``: bounded polling of that file for protocol lines.

Serial protocol (one line each, see scripts/build-guest.sh for the full list):
``PKV-GUEST-BOOTED``, ``PKV-ACPI-READY`` (from then on an ACPI shutdown request is
seen; one sent earlier is lost), ``PKV-DISK <name> <bytes>``, ``PKV-DISK-LABEL <name> <text>``,
``PKV-IP <iface> <addr>``, ``PKV-PING ok|fail <ip>``, ``PKV-READY``,
``PKV-HEARTBEAT <n>`` (every second), ``PKV-GUEST-SHUTDOWN``.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lxml import etree

from tests.harness import tools

BOOTED = "PKV-GUEST-BOOTED"
ACPI_READY = "PKV-ACPI-READY"
READY = "PKV-READY"
SHUTDOWN = "PKV-GUEST-SHUTDOWN"
HEARTBEAT_RE = re.compile(r"^PKV-HEARTBEAT (\d+)$")
IP_RE = re.compile(r"^PKV-IP (\S+) (\S+)$")
DISK_RE = re.compile(r"^PKV-DISK (\S+) (\d+)$")
DISK_LABEL_RE = re.compile(r"^PKV-DISK-LABEL (\S+) (\S+)$")
PING_RE = re.compile(r"^PKV-PING (ok|fail) (\S+)$")

BOOT_TIMEOUT = 120.0
"""Seconds a wait that spans a boot may take (to the boot marker, the lease, the first heartbeats): the
guest prints its marker in ~8 s on an idle machine under TCG, many times that on CI's two loaded cores."""

#: Where libvirtd (qemu:///system, and each namespace host in its own mount
#: namespace) keeps QEMU logs; serial logs of test guests go there too.
QEMU_LOG_DIR = Path("/var/log/libvirt/qemu")


@dataclass(frozen=True)
class GuestImage:
    """The built guest: kernel, initramfs and the build stamp (key=value lines)."""

    kernel: Path
    initrd: Path
    version: dict[str, str]


def guest_image() -> GuestImage:
    """The guest built by scripts/build-guest.sh, or ``tools.missing`` (fails the test)."""
    kernel = tools.GUEST_DIR / "vmlinuz"
    initrd = tools.GUEST_DIR / "initrd.img"
    stamp = tools.GUEST_DIR / "VERSION"
    for path in (kernel, initrd, stamp):
        if not path.is_file() or path.stat().st_size == 0:
            tools.missing("libvirt", f"tiny guest file {path} (built by scripts/build-guest.sh)")
    version: dict[str, str] = {}
    for line in stamp.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            version[key] = value
    return GuestImage(kernel=kernel, initrd=initrd, version=version)


def unique_name(kind: str) -> str:
    """A libvirt object name of the test convention: ``test-<kind>-<6 hex>``."""
    return f"test-{kind}-{secrets.token_hex(3)}"


def serial_log_path(domain: str) -> Path:
    """The serial log path of a test domain, as its libvirtd sees it."""
    return QEMU_LOG_DIR / f"{domain}-serial.log"


def cmdline(
    *,
    ip: str | None = None,
    gateway: str | None = None,
    ping: str | None = None,
    extra: Sequence[str] = (),
) -> str:
    """The guest kernel command line: serial console, quiet, plus the pkv.* knobs.

    ``ip`` is a CIDR for eth0 (no DHCP then), ``gateway`` a default route,
    ``ping`` an address the guest pings every 2 s.
    """
    args = ["console=ttyS0", "panic=-1", "quiet"]
    if ip is not None:
        ipaddress.ip_interface(ip)  # validates, raises ValueError
        args.append(f"pkv.ip={ip}")
    if gateway is not None:
        args.append(f"pkv.gw={ipaddress.ip_address(gateway)}")
    if ping is not None:
        args.append(f"pkv.ping={ipaddress.ip_address(ping)}")
    args.extend(extra)
    return " ".join(args)


@dataclass(frozen=True)
class Nic:
    """A virtio NIC on a libvirt network (MAC chosen by libvirt when None)."""

    network: str
    mac: str | None = None
    model: str = "virtio"


@dataclass(frozen=True)
class Disk:
    """A disk: a file (``path``) or a storage volume (``pool`` + ``volume``)."""

    path: Path | None = None
    pool: str | None = None
    volume: str | None = None
    fmt: Literal["raw", "qcow2"] = "raw"
    readonly: bool = False
    bus: str = "virtio"

    def __post_init__(self) -> None:
        if (self.path is None) == (self.pool is None or self.volume is None):
            raise ValueError("Disk needs either path, or pool and volume")


@dataclass(frozen=True)
class DomainSpec:
    """Everything ``domain_xml`` renders; defaults make a 128 MiB, 1 vCPU TCG guest."""

    name: str
    image: GuestImage
    serial_log: Path
    memory_mib: int = 128
    vcpu: int = 1
    cmdline: str = field(default_factory=cmdline)
    nics: Sequence[Nic] = ()
    disks: Sequence[Disk] = ()
    machine: str = "pc"
    acpi: bool = True


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def domain_xml(spec: DomainSpec) -> str:
    """The libvirt domain XML of a test guest (``<domain type='qemu'>``, direct kernel boot)."""
    if not spec.name.startswith("test-"):
        raise ValueError(f"test domains are named test-...: {spec.name!r}")
    dom = etree.Element("domain", type="qemu")
    _sub(dom, "name", spec.name)
    _sub(dom, "memory", str(spec.memory_mib), unit="MiB")
    _sub(dom, "vcpu", str(spec.vcpu))
    os_ = _sub(dom, "os")
    _sub(os_, "type", "hvm", arch="x86_64", machine=spec.machine)
    _sub(os_, "kernel", str(spec.image.kernel))
    _sub(os_, "initrd", str(spec.image.initrd))
    _sub(os_, "cmdline", spec.cmdline)
    if spec.acpi:
        _sub(_sub(dom, "features"), "acpi")
    _sub(dom, "on_poweroff", "destroy")
    _sub(dom, "on_reboot", "restart")
    _sub(dom, "on_crash", "destroy")
    devices = _sub(dom, "devices")
    for index, disk in enumerate(spec.disks):
        if disk.path is not None:
            el = _sub(devices, "disk", type="file", device="disk")
            _sub(el, "driver", name="qemu", type=disk.fmt)
            _sub(el, "source", file=str(disk.path))
        else:
            assert disk.pool is not None and disk.volume is not None
            el = _sub(devices, "disk", type="volume", device="disk")
            _sub(el, "driver", name="qemu", type=disk.fmt)
            _sub(el, "source", pool=disk.pool, volume=disk.volume)
        _sub(el, "target", dev=f"vd{chr(ord('a') + index)}", bus=disk.bus)
        if disk.readonly:
            _sub(el, "readonly")
    for nic in spec.nics:
        el = _sub(devices, "interface", type="network")
        _sub(el, "source", network=nic.network)
        if nic.mac is not None:
            _sub(el, "mac", address=nic.mac)
        _sub(el, "model", type=nic.model)
    serial = _sub(devices, "serial", type="file")
    _sub(serial, "source", path=str(spec.serial_log))
    _sub(serial, "target", port="0")
    _sub(devices, "memballoon", model="none")
    return etree.tostring(dom, pretty_print=True, encoding="unicode")


def nat_network_xml(name: str, bridge: str, subnet: ipaddress.IPv4Network) -> str:
    """A libvirt NAT network with DHCP over the upper half of ``subnet``; gateway = first host."""
    if not name.startswith("test-"):
        raise ValueError(f"test networks are named test-...: {name!r}")
    hosts = list(subnet.hosts())
    gateway, first, last = hosts[0], hosts[len(hosts) // 2], hosts[-1]
    net = etree.Element("network")
    _sub(net, "name", name)
    _sub(net, "forward", mode="nat")
    _sub(net, "bridge", name=bridge, stp="off", delay="0")
    ip = _sub(net, "ip", address=str(gateway), netmask=str(subnet.netmask))
    dhcp = _sub(ip, "dhcp")
    _sub(dhcp, "range", start=str(first), end=str(last))
    return etree.tostring(net, pretty_print=True, encoding="unicode")


def read_serial(path: Path) -> list[str]:
    """The lines of a serial log so far (CR stripped; [] while it does not exist)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [line.rstrip("\r") for line in data.decode("utf-8", errors="replace").split("\n")]


def heartbeats(lines: Sequence[str]) -> list[int]:
    """The heartbeat numbers in ``lines``, in order."""
    return [int(m.group(1)) for line in lines if (m := HEARTBEAT_RE.match(line))]


class SerialTimeout(AssertionError):
    """A protocol line did not appear in a serial log in time."""


def wait_for_serial(
    path: Path,
    pattern: str | re.Pattern[str],
    timeout: float,
    *,
    count: int = 1,
    poll: float = 0.25,
) -> list[str]:
    """Poll ``path`` until at least ``count`` lines match ``pattern`` (re.search); return them all.

    Sleeps ``poll`` seconds between reads; raises ``SerialTimeout`` (with the
    tail of the log) after ``timeout`` seconds.
    """
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    deadline = time.monotonic() + timeout
    while True:
        lines = read_serial(path)
        found = [line for line in lines if regex.search(line)]
        if len(found) >= count:
            return found
        if time.monotonic() >= deadline:
            tail = "\n".join(f"    {line}" for line in lines[-25:]) or "    (empty or missing)"
            raise SerialTimeout(
                f"{len(found)}/{count} lines matching {regex.pattern!r} in {path} "
                f"after {timeout:.0f} s; last lines:\n{tail}"
            )
        time.sleep(poll)
