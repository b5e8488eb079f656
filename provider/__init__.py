"""pulumi-kubevirt: virtual machines, disks, bridges, migrations, instancetypes and snapshots as Pulumi resources.

`pulumi_kubevirt.provider` exports the resources; their typed inputs (the
keyword arguments and the TypedDicts they take, generated from the models) are
in `pulumi_kubevirt.provider.resources.inputs`. Layers, bottom up, each
importing only those below it (the contracts of `.importlinter`, checked by
`make lint`):

- `models`, `errors` -> `plan`, `outputs`, `ownership`, `waiting` -> `core`:
  validation, classification and the check/diff/CRUD driver; no I/O library
  (pure, but for `waiting`'s bounded sleeps and progress lines);
- the backends `libvirt` | `kubevirt`, which never import each other: pure
  `render`/`parse`/`rules` beside the reconcilers that do the I/O;
- `kinds` wires each kind and target to its reconciler, importing the backends
  lazily (importing the package loads no libvirt or Kubernetes client);
- `schema`, then the two Pulumi adapters, `resources` (the dynamic provider)
  and `plugin` (the resource-provider plugin), and `pulumi_kubevirt.components`,
  which reach the backends only through `kinds`.
"""

from .resources import (
    Bridge,
    Disk,
    Instancetype,
    Migration,
    Preference,
    Snapshot,
    SnapshotRestore,
    VirtualMachine,
)

__all__ = [
    "Bridge",
    "Disk",
    "Instancetype",
    "Migration",
    "Preference",
    "Snapshot",
    "SnapshotRestore",
    "VirtualMachine",
]
