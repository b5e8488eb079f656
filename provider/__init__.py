"""pulumi-kubevirt: virtual machines, disks, bridges and migrations as Pulumi resources.

`pulumi_kubevirt.provider` exports the resources; the typed inputs are in
`pulumi_kubevirt.provider.models`. Layers (enforced by .importlinter):
models -> render/parse/plan (pure) -> backends (I/O) -> core -> resources (Pulumi).
"""

from .resources import Bridge, Disk, Migration, VirtualMachine

__all__ = ["Bridge", "Disk", "Migration", "VirtualMachine"]
