"""Smoke tests of the libvirt tier's real parts: the tiny guest on qemu:///system,
live migration between the two namespace hosts, DHCP on a libvirt NAT network.

They check the test bed itself (guest, fixtures, hosts), so that failures of
the product's libvirt tests can be trusted to be the product's.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from pathlib import Path

import libvirt

from tests.harness.guest import (
    ACPI_READY,
    BOOT_TIMEOUT,
    BOOTED,
    DISK_LABEL_RE,
    DISK_RE,
    HEARTBEAT_RE,
    IP_RE,
    SHUTDOWN,
    Disk,
    DomainSpec,
    GuestImage,
    Nic,
    cmdline,
    domain_xml,
    heartbeats,
    read_serial,
    serial_log_path,
    unique_name,
    wait_for_serial,
)
from tests.harness.libvirt_fixtures import LibvirtObjects, TwoHosts, create_nat_network


def _wait_state(dom: libvirt.virDomain, state: int, timeout: float) -> tuple[int, int]:
    """Poll the domain state until it is ``state``; return (state, reason)."""
    deadline = time.monotonic() + timeout
    while True:
        current, reason = dom.state()
        if current == state:
            return current, reason
        if time.monotonic() >= deadline:
            raise AssertionError(f"{dom.name()} in state {current} (reason {reason}) after {timeout:.0f} s")
        time.sleep(0.25)


def test_guest_boots_reads_disk_and_shuts_down(
    libvirt_conn: libvirt.virConnect, libvirt_objects: LibvirtObjects, guest: GuestImage, tmp_path: Path
) -> None:
    name = unique_name("boot")
    label = f"PKV-LABEL-{name}"
    disk = tmp_path / "data.img"
    disk.write_bytes(label.encode() + b"\n")
    size = 16 * 1024 * 1024
    with disk.open("r+b") as f:
        f.truncate(size)
    log = serial_log_path(name)
    spec = DomainSpec(name=name, image=guest, serial_log=log, disks=[Disk(path=disk)])

    start = time.monotonic()
    dom = libvirt_objects.define_domain(libvirt_conn, domain_xml(spec))
    wait_for_serial(log, f"^{BOOTED}$", BOOT_TIMEOUT)
    boot_s = time.monotonic() - start
    wait_for_serial(log, HEARTBEAT_RE, 30, count=2)

    lines = read_serial(log)
    assert lines.count(BOOTED) == 1, "the guest booted more than once"
    beats = heartbeats(lines)
    assert beats[:2] == [1, 2], f"heartbeats start at 1 and count up: {beats}"
    disks = {m.group(1): int(m.group(2)) for line in lines if (m := DISK_RE.match(line))}
    assert disks == {"vda": size}, f"PKV-DISK lines: {disks}"
    labels = {m.group(1): m.group(2) for line in lines if (m := DISK_LABEL_RE.match(line))}
    assert labels == {"vda": label}
    assert dom.isActive() and dom.isPersistent()
    assert ACPI_READY in lines, "the guest's acpid did not start"

    # ACPI power button -> guest acpid -> poweroff: a graceful stop in seconds.
    dom.shutdown()
    wait_for_serial(log, f"^{SHUTDOWN}$", 60)
    _, reason = _wait_state(dom, libvirt.VIR_DOMAIN_SHUTOFF, 60)
    assert reason == libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN, f"shutoff reason {reason}"
    print(f"boot marker after {boot_s:.1f} s")


def test_live_migration_between_namespace_hosts(
    two_hosts: TwoHosts, libvirt_objects: LibvirtObjects, guest: GuestImage
) -> None:
    a, b = two_hosts.a, two_hosts.b
    name = unique_name("mig")
    log = serial_log_path(name)
    spec = DomainSpec(name=name, image=guest, serial_log=log)
    conn_a, conn_b = a.open(), b.open()
    try:
        libvirt_objects.track(b.uri, "domain", name)
        dom = libvirt_objects.define_domain(conn_a, domain_xml(spec))
        wait_for_serial(a.host_path(log), HEARTBEAT_RE, BOOT_TIMEOUT, count=3)

        flags = (
            libvirt.VIR_MIGRATE_LIVE
            | libvirt.VIR_MIGRATE_PERSIST_DEST
            | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
            | libvirt.VIR_MIGRATE_PEER2PEER
        )
        start = time.monotonic()
        # Peer to peer: libvirtd A (inside its namespace) connects to B's TCP URI.
        dom.migrateToURI3(b.tcp_uri, {libvirt.VIR_MIGRATE_PARAM_URI: b.migrate_uri}, flags)
        wall_s = time.monotonic() - start

        assert name not in [d.name() for d in conn_a.listAllDomains()], "domain still on A"
        dom_b = conn_b.lookupByName(name)
        assert dom_b.isActive() and dom_b.isPersistent(), "domain not running persistently on B"
        stats = dom_b.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        assert stats.get("type") == libvirt.VIR_DOMAIN_JOB_COMPLETED, stats
        assert stats.get("time_elapsed", 0) > 0, f"completed job stats: {stats}"

        beats_a = heartbeats(read_serial(a.host_path(log)))
        wait_for_serial(b.host_path(log), HEARTBEAT_RE, 60, count=3)
        lines_b = read_serial(b.host_path(log))
        beats_b = heartbeats(lines_b)
        assert BOOTED not in lines_b, "the guest booted again on B"
        assert beats_b == sorted(set(beats_b)), f"heartbeats on B not increasing: {beats_b}"
        assert beats_a[-1] < beats_b[0] <= beats_a[-1] + 3, (
            f"heartbeats do not continue across the move: A ended {beats_a[-3:]}, B began {beats_b[:3]}"
        )
        print(
            f"migration: wall {wall_s:.2f} s, elapsed {stats['time_elapsed']} ms, "
            f"downtime {stats.get('downtime')} ms, heartbeat {beats_a[-1]} on A -> {beats_b[0]} on B"
        )
    finally:
        conn_a.close()
        conn_b.close()


def test_guest_gets_dhcp_lease_on_nat_network(
    libvirt_conn: libvirt.virConnect, libvirt_objects: LibvirtObjects, guest: GuestImage
) -> None:
    net_name = unique_name("nat")
    net, subnet = create_nat_network(libvirt_objects, libvirt_conn, net_name)
    gateway = next(subnet.hosts())
    name = unique_name("dhcp")
    log = serial_log_path(name)
    mac = "52:54:00:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))
    spec = DomainSpec(
        name=name,
        image=guest,
        serial_log=log,
        nics=[Nic(network=net_name, mac=mac)],
        cmdline=cmdline(ping=str(gateway)),
    )
    libvirt_objects.define_domain(libvirt_conn, domain_xml(spec))

    wait_for_serial(log, f"^{BOOTED}$", BOOT_TIMEOUT)
    (line,) = wait_for_serial(log, r"^PKV-IP", 90)
    match = IP_RE.match(line)
    assert match, f"no lease: {line!r}"
    iface, addr = match.group(1), ipaddress.ip_address(match.group(2))
    assert iface == "eth0"
    assert addr in subnet and addr != gateway, f"{addr} not a DHCP address of {subnet}"

    deadline = time.monotonic() + 30
    leases = net.DHCPLeases()
    while not any(lease["mac"] == mac for lease in leases) and time.monotonic() < deadline:
        time.sleep(0.5)
        leases = net.DHCPLeases()
    mine = [lease for lease in leases if lease["mac"] == mac]
    assert [lease["ipaddr"] for lease in mine] == [str(addr)], f"leases of {net_name}: {leases}"

    # The guest reaches the network's gateway (the host bridge) through the NIC.
    wait_for_serial(log, rf"^PKV-PING ok {gateway}$", 60)
