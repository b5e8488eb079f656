"""Disk downloads on a loopback HTTP server that misbehaves on purpose (real libvirtd).

A trickling server fails at the create deadline, a body shorter than its
Content-Length fails, a checksum is verified before the Disk is reported
created; every failure leaves neither the partial volume nor its ownership record.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from pulumi_kubevirt.provider.errors import InvalidSpec, OperationFailed, WaitTimeout
from pulumi_kubevirt.provider.resources import DiskProvider
from tests.harness.guest import unique_name

from .test_resources import checked

IMAGE = b"PKV-DOWNLOAD\n" + os.urandom((1 << 20) - 13)
TRICKLE_PAUSE = 4.0


class Handler(http.server.BaseHTTPRequestHandler):
    """/image: the whole IMAGE; /short: announces 8 MiB, sends 1 MiB, closes;
    /trickle: announces 8 MiB, sends 128 KiB, then one byte every 4 s (at most 15)."""

    def do_GET(self) -> None:
        if self.path == "/image":
            self._head(len(IMAGE))
            self.wfile.write(IMAGE)
        elif self.path == "/short":
            self._head(8 << 20)
            self.wfile.write(IMAGE)
            self.close_connection = True
        elif self.path == "/trickle":
            self._head(8 << 20)
            self.wfile.write(IMAGE[: 128 << 10])
            self.wfile.flush()
            try:
                for _ in range(15):
                    time.sleep(TRICKLE_PAUSE)
                    self.wfile.write(b"\0")
                    self.wfile.flush()
            except OSError:
                pass  # the client gave up, as it should
            self.close_connection = True
        else:
            self.send_error(404)

    def _head(self, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def disk(url: str, **source: object) -> dict[str, Any]:
    """Checked inputs of a raw Disk downloaded from `url` (`source`: e.g. checksum)."""
    return checked(
        DiskProvider(),
        {},
        {"name": unique_name("dl"), "format": "raw", "source": {"kind": "url", "url": url, **source}},
    )


def volumes(conn: libvirt.virConnect) -> list[str]:
    try:
        pool = conn.storagePoolLookupByName("default")
    except libvirt.libvirtError:
        return []
    pool.refresh(0)
    return pool.listVolumes()


def assert_nothing_left(conn: libvirt.virConnect, name: object) -> None:
    left = [v for v in volumes(conn) if v.startswith(f"{name}.")]
    assert left == [], f"partial volume or record left: {left}"


def test_checksum_verified_before_created(server: str, libvirt_conn: libvirt.virConnect) -> None:
    dp = DiskProvider()
    good = "sha256:" + hashlib.sha256(IMAGE).hexdigest()
    made = dp.create(disk(f"{server}/image", checksum=good))
    try:
        assert Path(made.outs["path"]).read_bytes() == IMAGE
    finally:
        dp.delete(made.id, made.outs)
    wrong = disk(f"{server}/image", checksum="sha256:" + "0" * 64)
    with pytest.raises(InvalidSpec) as err:
        dp.create(wrong)
    assert err.value.field == "source.checksum" and hashlib.sha256(IMAGE).hexdigest() in str(err.value)
    assert_nothing_left(libvirt_conn, wrong["name"])


def test_short_body_is_an_error_and_leaves_nothing(server: str, libvirt_conn: libvirt.virConnect) -> None:
    inputs = disk(f"{server}/short")
    with pytest.raises(OperationFailed, match=f"ended after {len(IMAGE)} of the {8 << 20} bytes"):
        DiskProvider().create(inputs)
    assert_nothing_left(libvirt_conn, inputs["name"])


def test_trickling_server_fails_at_the_create_deadline(server: str, libvirt_conn: libvirt.virConnect) -> None:
    inputs = checked(
        DiskProvider(),
        {},
        {
            "name": unique_name("dl"),
            "format": "raw",
            "source": {"kind": "url", "url": f"{server}/trickle"},
            "timeouts": {"create": "10s"},
        },
    )
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="create timeout"):
        DiskProvider().create(inputs)
    elapsed = time.monotonic() - started
    # the deadline is checked between reads, and no read waits past it
    assert 9.0 <= elapsed <= 10.0 + TRICKLE_PAUSE + 2.0, elapsed
    assert_nothing_left(libvirt_conn, inputs["name"])
