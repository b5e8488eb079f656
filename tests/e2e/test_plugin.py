"""The provider plugin `pulumi-resource-kubevirt` through the real pulumi CLI (libvirt on qemu:///system).

The CLI finds the plugin on PATH (the venv's bin, where `pip install` put the console
script); the programs use no generated SDK: `pulumi.CustomResource("kubevirt:index:...")`.

- a VM stack: up, no-op up, `preview --diff` with property-level changes (update and
  replace), update, destroy; the owner marker comes from the URN, progress shows
  against the resource;
- customTimeouts bound a create directly, and more than 4 creates overlap (Disks from
  a loopback HTTP server that answers slowly and counts the requests in flight);
- `pulumi import` of a domain the dynamic resources created (same owner marker):
  the plugin reads it with only its ID, and the program's next `up` changes nothing.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.harness.guest import unique_name
from tests.harness.pulumi_fixtures import PulumiCLI, StackFactory, parse_json_stream

VM_TYPE = "kubevirt:index:VirtualMachine"

VM_PROGRAM = """
import pulumi

config = pulumi.Config()
vm = pulumi.CustomResource(
    "kubevirt:index:VirtualMachine",
    "vm",
    {
        "name": config.require("name"),
        "memory": config.get("memory") or "64Mi",
        "accelerator": "tcg",
        "run_state": "stopped",
        "labels": {"tier": config.get("tier") or "a", "app.kubernetes.io/name": "web"},
        "state": None,
        "uuid": None,
    },
)
pulumi.export("state", vm.state)
pulumi.export("uuid", vm.uuid)
"""


def steps(cli: PulumiCLI, project: Path, stack: str) -> dict[str, dict[str, Any]]:
    """`preview --json` steps of the VirtualMachine resources, by logical name."""
    out = cli.stack_run(project, stack, "preview", "--json", "--show-sames").stdout
    return {
        s["urn"].rsplit("::", 1)[-1]: s for s in json.loads(out).get("steps", []) if s["urn"].split("::")[2] == VM_TYPE
    }


def test_vm_stack_up_noop_diff_update_replace_destroy(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    project, stack = pulumi_stacks.python(tmp_path / "plugin-vm", "pkv-plugin-vm", VM_PROGRAM, prefix="test-plugin")
    name = unique_name("plug")

    pulumi_cli.config(project, stack, {"name": name})
    up = pulumi_cli.stack_run(project, stack, "up", "--yes", "--skip-preview").stdout
    assert f"{VM_TYPE} vm created" in up and "pulumi-python:dynamic" not in up
    assert "defining the domain" in up  # progress shows against the resource
    dom = libvirt_conn.lookupByName(name)
    assert dom.isActive() == 0
    assert f"pkv-plugin-vm/{stack}::vm" in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)  # owner from the URN
    assert pulumi_cli.outputs(project, stack)["state"] == "stopped"

    assert pulumi_cli.up_changes(project, stack) == {"same": 2}
    refresh = pulumi_cli.stack_run(project, stack, "refresh", "--yes", "--skip-preview", "--json").stdout
    summary = [e["summaryEvent"] for e in parse_json_stream(refresh) if "summaryEvent" in e][-1]
    assert summary["resourceChanges"] == {"same": 2}, refresh  # read back exactly as declared
    assert "Traceback" not in refresh  # the plugin's shutdown leaves nothing on stderr either
    # The flags the CLI passes on to its plugins (the plugin and the language host accept them).
    pulumi_cli.stack_run(project, stack, "preview", "--logflow", "-v=1")
    assert pulumi_cli.up_changes(project, stack) == {"same": 2}

    pulumi_cli.config(project, stack, {"memory": "128Mi", "tier": "b"})
    diff = pulumi_cli.stack_run(project, stack, "preview", "--diff").stdout
    assert f"~ {VM_TYPE}: (update)" in diff, diff
    assert re.search(r'~ memory\s*: "64Mi" => "128Mi"', diff), diff
    assert '~ tier: "a" => "b"' in diff, diff
    assert "restart: memory 64Mi->128Mi; live: labels.tier a->b" in diff, diff
    update = steps(pulumi_cli, project, stack)["vm"]
    assert update["op"] == "update"
    assert update["detailedDiff"]["memory"]["kind"] == "update"
    assert update["detailedDiff"]["labels.tier"]["kind"] == "update"

    pulumi_cli.config(project, stack, {"name": name + "-b"})
    diff = pulumi_cli.stack_run(project, stack, "preview", "--diff").stdout
    assert f"+-{VM_TYPE}: (replace)" in diff, diff
    assert re.search(rf'~ name\s*: "{name}" => "{name}-b"', diff), diff
    replace = steps(pulumi_cli, project, stack)["vm"]
    assert replace["op"] == "replace" and replace["replaceReasons"] == ["name"]
    assert replace["detailedDiff"]["name"]["kind"] == "update-replace"
    assert replace["detailedDiff"]["memory"]["kind"] == "update"

    pulumi_cli.config(project, stack, {"name": name})
    assert pulumi_cli.up_changes(project, stack) == {"same": 1, "update": 1}
    assert libvirt_conn.lookupByName(name).maxMemory() == 128 * 1024
    assert pulumi_cli.up_changes(project, stack) == {"same": 2}

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.lookupByName(name)


# -- customTimeouts and concurrency -------------------------------------------------------------
class SlowImages(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; each GET waits `delay` seconds (`slow` for paths under /slow/) first,
    and the server counts the GETs in flight."""

    # Long enough that more than four downloads overlap however slowly libvirtd serves the claims
    # that precede them: each Disk create claims its volume under the pool lock, one at a time, and
    # only then downloads: at 2 s, claims of 0.5 s each (a loaded libvirtd) left four in flight at most.
    delay = 6.0
    slow = 120.0
    lock = threading.Lock()
    running = 0
    peak = 0

    def do_GET(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.running += 1
            cls.peak = max(cls.peak, cls.running)
        try:
            time.sleep(cls.slow if self.path.startswith("/slow/") else cls.delay)
            if self.path.startswith("/slow/"):
                self.path = self.path.removeprefix("/slow")
            super().do_GET()
        finally:
            with cls.lock:
                cls.running -= 1

    def log_message(self, format: str, *args: Any) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the provider gave up on a slow download (its customTimeout): expected here
        super().handle_error(request, client_address)


@pytest.fixture
def slow_images(tmp_path: Path) -> Iterator[tuple[type[SlowImages], str]]:
    folder = tmp_path / "images"
    folder.mkdir()
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", str(folder / "base.qcow2"), "8M"], check=True, timeout=30
    )
    handler_class = type("Images", (SlowImages,), {"lock": threading.Lock(), "running": 0, "peak": 0})
    server = QuietServer(("127.0.0.1", 0), functools.partial(handler_class, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler_class, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)


def pool_volumes(conn: libvirt.virConnect, pool: str) -> list[str]:
    """The volumes of `pool`; none when the pool is gone (a Disk that created it removes it with the last volume)."""
    try:
        return list(conn.storagePoolLookupByName(pool).listVolumes())
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
            return []
        raise


DISKS_PROGRAM = """
import pulumi

config = pulumi.Config()
prefix, base, count = config.require("prefix"), config.require("base"), config.require_int("count")
disks = [
    pulumi.CustomResource(
        "kubevirt:index:Disk",
        f"d{i}",
        {"name": f"{prefix}-{i}", "size": "16Mi", "source": {"kind": "url", "url": f"{base}/base.qcow2"}},
    )
    for i in range(count)
]
if config.get_bool("stuck"):
    pulumi.CustomResource(
        "kubevirt:index:Disk",
        "stuck",
        {"name": f"{prefix}-stuck", "size": "16Mi", "source": {"kind": "url", "url": f"{base}/slow/base.qcow2"}},
        opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="4s")),
    )
"""


DYNAMIC_DISKS = """
import pulumi
from pulumi_kubevirt.provider import Disk

config = pulumi.Config()
prefix, base = config.require("prefix"), config.require("base")
for i in range(config.require_int("count")):
    Disk(f"d{i}", name=f"{prefix}-{i}", size="16Mi", source={"kind": "url", "url": f"{base}/base.qcow2"})
"""


def test_custom_timeouts_bound_a_create_and_more_than_four_creates_overlap(
    tmp_path: Path,
    pulumi_cli: PulumiCLI,
    pulumi_stacks: StackFactory,
    libvirt_conn: libvirt.virConnect,
    slow_images: tuple[type[SlowImages], str],
) -> None:
    server, base = slow_images
    project, stack = pulumi_stacks.python(
        tmp_path / "plugin-disks", "pkv-plugin-disks", DISKS_PROGRAM, prefix="test-plugin"
    )
    prefix, count = unique_name("pdisk"), 12
    pulumi_cli.config(project, stack, {"prefix": prefix, "base": base, "count": str(count)})

    # The same creates through the dynamic resources first: their host runs at most 4 calls at once.
    dynamic, dynamic_stack = pulumi_stacks.python(
        tmp_path / "dynamic-disks", "pkv-dynamic-disks", DYNAMIC_DISKS, prefix="test-plugin"
    )
    dynamic_prefix = unique_name("ddisk")
    pulumi_cli.config(dynamic, dynamic_stack, {"prefix": dynamic_prefix, "base": base, "count": str(count)})
    started = time.monotonic()
    assert pulumi_cli.up_changes(dynamic, dynamic_stack, "--parallel", "16") == {"create": count + 1}
    dynamic_elapsed, dynamic_peak = time.monotonic() - started, server.peak
    pulumi_cli.stack_run(dynamic, dynamic_stack, "destroy", "--yes")
    server.peak = 0

    started = time.monotonic()
    assert pulumi_cli.up_changes(project, stack, "--parallel", "16") == {"create": count + 1}
    elapsed = time.monotonic() - started
    volumes = set(pool_volumes(libvirt_conn, "default"))
    assert {f"{prefix}-{i}.qcow2" for i in range(count)} <= volumes
    print(
        f"{count} Disk creates (each download answered after {SlowImages.delay:.0f}s): "
        f"dynamic peak {dynamic_peak} in flight, up {dynamic_elapsed:.1f}s; "
        f"plugin peak {server.peak} in flight, up {elapsed:.1f}s"
    )
    assert server.peak > 4 and server.peak > dynamic_peak, (server.peak, dynamic_peak)

    pulumi_cli.config(project, stack, {"stuck": "true"})
    started = time.monotonic()
    failed = pulumi_cli.stack_run(project, stack, "up", "--yes", "--skip-preview", check=False)
    elapsed = time.monotonic() - started
    assert failed.returncode != 0
    output = failed.stdout + failed.stderr
    assert "stuck" in output and ("4s" in output or "timed out" in output or "gave up" in output), output
    print(f"customTimeouts create=4s, download answered after {SlowImages.slow:.0f}s: up failed after {elapsed:.1f}s")
    assert elapsed < SlowImages.slow / 2, f"the 4s customTimeout did not bound the create ({elapsed:.0f}s)"
    assert f"{prefix}-stuck.qcow2" not in pool_volumes(libvirt_conn, "default")
    pulumi_cli.stack_run(project, stack, "config", "rm", "stuck")

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    left = set(pool_volumes(libvirt_conn, "default"))
    assert not any(v.startswith(prefix) for v in left), sorted(v for v in left if v.startswith(prefix))


# -- import ---------------------------------------------------------------------------------------
DYNAMIC_PROGRAM = """
import pulumi
from pulumi_kubevirt.provider import VirtualMachine

config = pulumi.Config()
VirtualMachine("vm", name=config.require("name"), memory="96Mi", accelerator="tcg", run_state="stopped")
"""

PLUGIN_PROGRAM = """
import pulumi

config = pulumi.Config()
pulumi.CustomResource(
    "kubevirt:index:VirtualMachine",
    "vm",
    {"name": config.require("name"), "memory": "96Mi", "accelerator": "tcg", "run_state": "stopped"},
)
"""


def test_import_a_domain_by_id_then_up_changes_nothing(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    """From the dynamic resources to the plugin: forget the dynamic resource, import the domain
    by its ID (the owner marker is the same: project/stack::vm), and run the plugin program."""
    project, stack = pulumi_stacks.python(
        tmp_path / "plugin-import", "pkv-plugin-import", DYNAMIC_PROGRAM, prefix="test-plugin"
    )
    name = unique_name("pimp")
    pulumi_cli.config(project, stack, {"name": name})
    pulumi_cli.stack_run(project, stack, "up", "--yes", "--skip-preview")
    dynamic = [r for r in pulumi_cli.resources(project, stack) if r.get("id", "").endswith(f"/{name}")]
    assert len(dynamic) == 1
    pulumi_cli.stack_run(project, stack, "state", "delete", "--yes", dynamic[0]["urn"])

    resource_id = f"qemu:///system/{name}"
    pulumi_cli.stack_run(
        project, stack, "import", VM_TYPE, "vm", resource_id, "--yes", "--protect=false", "--generate-code=false"
    )
    imported = next(r for r in pulumi_cli.resources(project, stack) if r["type"] == VM_TYPE)
    assert imported["id"] == resource_id
    assert imported["inputs"]["memory"] == "96Mi" and imported["inputs"]["run_state"] == "stopped"
    assert imported["outputs"]["state"] == "stopped"
    assert "timeouts" not in imported["inputs"]  # defaults are not written as the user's inputs

    (project / "__main__.py").write_text(PLUGIN_PROGRAM)
    assert steps(pulumi_cli, project, stack)["vm"]["op"] == "same"
    up = pulumi_cli.up_changes(project, stack)
    assert "update" not in up and "replace" not in up and "create" not in up, up

    # Nothing at the ID: refused (objects made outside Pulumi or by another stack: test_import.py).
    args = ("import", VM_TYPE, "other", f"qemu:///system/{unique_name('pnone')}", "--yes", "--generate-code=false")
    refused = pulumi_cli.stack_run(project, stack, *args, check=False)
    assert refused.returncode != 0 and "nothing to import" in refused.stdout + refused.stderr
    assert not any(r["type"] == VM_TYPE and r["urn"].endswith("::other") for r in pulumi_cli.resources(project, stack))

    pulumi_cli.stack_run(project, stack, "destroy", "--yes")
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.lookupByName(name)


# -- parity ---------------------------------------------------------------------------------------
PARITY_FIELDS = """{
    "memory": "96Mi",
    "max_memory": "128Mi",
    "cpu": {"sockets": 1, "max_sockets": 2},
    "accelerator": "tcg",
    "run_state": "stopped",
    "description": "parity",
    "labels": {"tier": "web"},
    "cloud_init": {"user_data": "#cloud-config\\nhostname: parity\\n"},
}"""

PARITY_PROGRAMS = {
    "dynamic": f"""
import pulumi
from pulumi_kubevirt.provider import VirtualMachine

config = pulumi.Config()
vm = VirtualMachine("vm", name=config.require("name"), **{PARITY_FIELDS})
for key in ("state", "pending_restart", "pending_changes", "macs", "host_uri", "planned_change"):
    pulumi.export(key, getattr(vm, key))
""",
    "plugin": f"""
import pulumi

config = pulumi.Config()
keys = ("state", "pending_restart", "pending_changes", "macs", "host_uri", "planned_change")
vm = pulumi.CustomResource(
    "kubevirt:index:VirtualMachine", "vm", {{"name": config.require("name"), **{PARITY_FIELDS}, **dict.fromkeys(keys)}}
)
for key in keys:
    pulumi.export(key, getattr(vm, key))
""",
}


def normalized_domain(conn: libvirt.virConnect, name: str, stack: str) -> str:
    """The persistent definition with what differs by construction (name, uuid, stack) blanked."""
    xml = conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    xml = re.sub(r"<uuid>[^<]*</uuid>", "<uuid/>", xml).replace(stack, "STACK").replace(name, "NAME")
    return re.sub(r"pkv-parity-(dynamic|plugin)", "PROJECT", xml)


def test_the_same_vm_through_both_adapters(
    tmp_path: Path, pulumi_cli: PulumiCLI, pulumi_stacks: StackFactory, libvirt_conn: libvirt.virConnect
) -> None:
    """Parity: the dynamic resource and the plugin define the same domain and report the same outputs."""
    results: dict[str, tuple[str, dict[str, Any], dict[str, int]]] = {}
    for adapter, program in PARITY_PROGRAMS.items():
        project, stack = pulumi_stacks.python(
            tmp_path / adapter, f"pkv-parity-{adapter}", program, prefix="test-parity"
        )
        name = unique_name("par")
        pulumi_cli.config(project, stack, {"name": name})
        pulumi_cli.stack_run(project, stack, "up", "--yes", "--skip-preview")
        outputs = pulumi_cli.outputs(project, stack)
        noop = pulumi_cli.up_changes(project, stack)
        results[adapter] = (normalized_domain(libvirt_conn, name, stack), outputs, noop)
        pulumi_cli.stack_run(project, stack, "destroy", "--yes")
        with pytest.raises(libvirt.libvirtError):
            libvirt_conn.lookupByName(name)
    (dyn_xml, dyn_out, dyn_noop), (plug_xml, plug_out, plug_noop) = results["dynamic"], results["plugin"]
    assert plug_xml == dyn_xml
    assert plug_out == dyn_out
    assert plug_out["state"] == "stopped" and plug_out["planned_change"] == "create"
    assert dyn_noop == {"same": 2} and plug_noop == {"same": 2}
