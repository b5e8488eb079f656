"""Benchmark: our Migration resource vs `virsh migrate --live` on the same guest.

Two namespace libvirt hosts (the test harness's), one tiny guest moved back and
forth. Each round, both methods move it A -> B and B -> A with the same
options (live, peer-to-peer, persistent, undefine source, same migrate URI).
Reported per method: median wall time of the whole call and median
libvirt-measured elapsed/downtime (the destination's completed job stats);
the verdict is the ratio ours/virsh (target <= 1.1x). Not a test: nothing here
asserts a time.

    sudo .venv/bin/python -m bench.migration_vs_virsh [--rounds N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import libvirt

from pulumi_kubevirt.provider.resources import MigrationProvider, VirtualMachineProvider
from tests.harness.guest import HEARTBEAT_RE, guest_image, serial_log_path, unique_name, wait_for_serial
from tests.harness.libvirt_fixtures import Node, start_two_hosts, stop_two_hosts


def completed_stats(node: Node, name: str) -> dict[str, Any]:
    conn = libvirt.open(node.uri)
    try:
        return dict(conn.lookupByName(name).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED))
    finally:
        conn.close()


def virsh_migrate(src: Node, dst: Node, name: str) -> float:
    cmd = [
        "virsh",
        "-c",
        src.uri,
        "migrate",
        "--live",
        "--p2p",
        "--persistent",
        "--undefinesource",
        "--migrateuri",
        dst.migrate_uri,
        name,
        dst.tcp_uri,
    ]
    started = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
    return time.monotonic() - started


def ours_migrate(vm: dict[str, Any], src: Node, dst: Node) -> float:
    provider = MigrationProvider()
    checked = provider.check(
        {},
        {
            "name": unique_name("bench"),
            "vm": vm["name"],
            "target": {"kind": "libvirt", "uri": src.uri},
            "vm_spec": {**vm, "target": {"kind": "libvirt", "uri": src.uri}, "hosts": [dst.uri]},
            "destination_uri": dst.tcp_uri,
            "destination_client_uri": dst.uri,
            "migrate_uri": dst.migrate_uri,
        },
    )
    assert not checked.failures, checked.failures
    started = time.monotonic()
    provider.create(checked.inputs)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the raw samples here")
    opts = parser.parse_args()

    guest = guest_image()
    hosts = start_two_hosts()
    a, b = hosts.a, hosts.b
    samples: dict[str, list[dict[str, float]]] = {"virsh": [], "ours": []}
    name = unique_name("bench")
    try:
        vmp = VirtualMachineProvider()
        vm = {
            "name": name,
            "memory": "128Mi",
            "accelerator": "tcg",
            "kernel_boot": {"kernel": str(guest.kernel), "initrd": str(guest.initrd), "cmdline": "console=ttyS0"},
        }
        created = vmp.create(vmp.check({}, {**vm, "target": {"kind": "libvirt", "uri": a.uri}}).inputs)
        wait_for_serial(a.host_path(serial_log_path(name)), HEARTBEAT_RE, 90, count=3)
        for round_ in range(opts.rounds):
            for method in ("virsh", "ours"):
                for src, dst in ((a, b), (b, a)):
                    wall = virsh_migrate(src, dst, name) if method == "virsh" else ours_migrate(vm, src, dst)
                    stats = completed_stats(dst, name)
                    samples[method].append(
                        {
                            "wall_ms": wall * 1000,
                            "elapsed_ms": float(stats.get("time_elapsed", 0)),
                            "downtime_ms": float(stats.get("downtime", 0)),
                        }
                    )
                    print(
                        f"round {round_ + 1} {method:5} {src.name}->{dst.name}: wall {wall * 1000:7.0f} ms, "
                        f"elapsed {stats.get('time_elapsed')} ms, downtime {stats.get('downtime')} ms",
                        flush=True,
                    )
        vmp.delete(created.id, {**created.outs, "host_uri": a.uri, "hosts": [b.uri]})
    finally:
        problems = stop_two_hosts(hosts)
        if problems:
            print("teardown problems:", problems, file=sys.stderr)

    print("\nmedians (ours / virsh):")
    report: dict[str, Any] = {"rounds": opts.rounds, "samples": samples, "ratios": {}}
    for key in ("wall_ms", "elapsed_ms", "downtime_ms"):
        ours = statistics.median(s[key] for s in samples["ours"])
        theirs = statistics.median(s[key] for s in samples["virsh"])
        ratio = ours / theirs if theirs else float("nan")
        report["ratios"][key] = {"ours": ours, "virsh": theirs, "ratio": ratio}
        print(f"  {key:12} ours {ours:8.1f}  virsh {theirs:8.1f}  ratio {ratio:5.2f}x")
    if opts.json:
        opts.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
