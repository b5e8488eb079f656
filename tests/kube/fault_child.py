"""Provider processes the fault tests kill: each runs one reconciler call and SIGKILLs itself at a named step.

Not a test module. `python -m tests.kube.fault_child` is a zygote: it imports
the provider once, then for each JSON request line on stdin
(``{"kind": "vm|disk|bridge|migration", "op": "create|update|delete",
"props": {...}, "olds": {...}, "kill_at": N}``) forks a provider process that
runs the KubeVirt reconciler as the dynamic provider would (same parsing, same
owner marker) with a progress callback that records every line and, at the
N-th write step (a line starting with created/updated/adopted/deleted, see
provider/kubevirt/owned.py), kills itself with SIGKILL: no rollback, no
`finally`, exactly like `kill -9` of a provider. The zygote answers each
request with one JSON line: ``{"signal": 9 or 0, "code": exit code, "log":
[progress lines..., "DONE <steps>" when the call finished before step N]}``.

Forking is safe here: the zygote has no threads and no API client; each
provider process makes its own. It saves the ~2 s import per fault.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import traceback
from typing import Any

from pulumi_kubevirt.provider.core import Backends, begin
from pulumi_kubevirt.provider.kinds import BRIDGE, DISK, MIGRATION, VIRTUAL_MACHINE
from pulumi_kubevirt.provider.kubevirt import bridges, disks, migrations, vms  # noqa: F401 - imported before forking
from pulumi_kubevirt.provider.models.common import dump
from pulumi_kubevirt.provider.ownership import OWNER, Owner
from pulumi_kubevirt.provider.waiting import Progress

KINDS: dict[str, Any] = {"vm": VIRTUAL_MACHINE, "disk": DISK, "bridge": BRIDGE, "migration": MIGRATION}
STEP = re.compile(r"^(created|updated|adopted|deleted) ")


def call(request: dict[str, Any], progress: Progress) -> dict[str, Any] | None:
    """The reconciler call of `request`, parsed as the dynamic provider parses it."""
    kind = KINDS[request["kind"]]
    props: dict[str, Any] = request["props"]
    args = kind.parse(props, resource=props["name"])
    owner = Owner.parse(props[OWNER], resource=args.name)
    reconciler = kind.reconciler(Backends(), "kubevirt")
    if request["op"] == "create":
        return dict(reconciler.create(begin("create", args, owner=owner, progress=progress)))
    if request["op"] == "update":
        olds: dict[str, Any] = request["olds"]
        old = kind.parse(olds, resource=args.name)
        plan = kind.plan(olds, dump(args))
        return dict(reconciler.update(begin("update", args, olds, owner=owner, progress=progress), old, plan))
    reconciler.delete(begin("delete", args, props, owner=owner, progress=progress))
    return None


def _provider_process(request: dict[str, Any], log_fd: int) -> None:
    """In the forked process: run the call, write each progress line to `log_fd`; never returns."""
    steps = 0

    def write(line: str) -> None:
        os.write(log_fd, (line.replace("\n", " ") + "\n").encode())

    def progress(message: str) -> None:
        nonlocal steps
        write(message)
        if STEP.match(message):
            steps += 1
            if steps == request["kill_at"]:
                write(f"KILLED after {message}")
                os.kill(os.getpid(), signal.SIGKILL)

    try:
        call(request, progress)
    except BaseException:  # noqa: BLE001 - reported to the test through the log
        write("ERROR " + traceback.format_exc())
        os._exit(1)
    write(f"DONE {steps}")
    os._exit(0)


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _provider_process(request, write_end)
        os.close(write_end)
        with os.fdopen(read_end) as log:
            lines = log.read().splitlines()
        _, status = os.waitpid(pid, 0)
        answer = {
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
            "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "log": lines,
        }
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
