"""scripts/start-libvirtd.sh changes host configuration only on opt-in.

Only the path without opt-in runs here (it stops before touching anything);
the opt-in path is what `make setup` runs on every CI machine.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "start-libvirtd.sh"


def run(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PKV_CONFIGURE_HOST"} | {"PKV_QEMU_CONF": str(conf)}
    return subprocess.run(
        [str(SCRIPT), *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False
    )


def test_without_opt_in_it_prints_what_it_would_change_and_fails(tmp_path: Path) -> None:
    conf = tmp_path / "qemu.conf"
    original = '# the admin\'s own settings\nuser = "libvirt-qemu"\ncgroup_controllers = [ ]\n'
    conf.write_text(original)
    result = run(conf)
    assert result.returncode == 1
    assert f"echo 'user = \"root\"' >>{conf}" in result.stderr
    assert f"echo 'group = \"root\"' >>{conf}" in result.stderr
    assert "cgroup_controllers" not in result.stderr  # already set: not listed
    assert "PKV_CONFIGURE_HOST=1" in result.stderr
    assert conf.read_text() == original  # byte for byte


def test_unknown_argument_is_refused(tmp_path: Path) -> None:
    result = run(tmp_path / "qemu.conf", "--yes")
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert not (tmp_path / "qemu.conf").exists()
