"""VmPool: N identical VMs from one template, scaled by a count, changed one VM at a time.

Composition only (house rule 10). Children `<name>-0` .. `<name>-<count-1>` are
VirtualMachines made from `template` (plus, with `root_disk`, one Disk each,
`<name>-<i>-root`, attached first). Scaling down removes the highest indexes;
the others keep their names and state.

Rolling changes come from the engine's ordering, not from code here: VM i (and
its root disk) `depends_on` VM i-1, so an `up` that changes every VM updates them one after
another, and the template's restart_policy defaults to `auto`, so each VM's
update reboots it into the new config and waits (bounded by the update timeout,
`update_timeout` here) until it runs again before the next VM's update starts.
A VM whose update fails or times out stops the rollout there: the VMs after it
keep their old config. The price is that creation is sequential too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from pulumi_kubevirt.provider import Disk, VirtualMachine

from ._parts import child_options, component_error


class VmPool(pulumi.ComponentResource):
    """`count` VMs from one template, updated one at a time."""

    vms: list[VirtualMachine]
    disks: list[Disk]
    names: list[str]
    ipv4: pulumi.Output[list[dict[str, str]]]
    """Each VM's `ipv4` output, in index order."""

    def __init__(
        self,
        name: str,
        *,
        count: int,
        template: Mapping[str, Any],
        target: Mapping[str, Any] | None = None,
        root_disk: Mapping[str, Any] | None = None,
        rolling: bool = True,
        update_timeout: str = "10m",
        shutdown_timeout: str = "2m",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the pool.

        Args:
            name: logical name; the VMs are `<name>-<index>`.
            count: how many VMs (0 .. 100).
            template: VirtualMachine fields every VM gets (memory, cpu, disks, interfaces,
                cloud_init, kubevirt, ...). A `restart_policy` here overrides the rolling default.
            target: where they live (default: the stack-config target).
            root_disk: Disk fields each VM's own root disk is made from (e.g. a URL source, or
                `{"kind": "backing", "volume": base.ref}` overlays of one base Disk on libvirt).
            rolling: chain the VMs (VM i depends on VM i-1) so changes roll one VM at a time;
                False updates (and creates) them all at once.
            update_timeout: bound of each VM's update, restart and wait included — the longest
                the rollout waits on one VM before it stops with an error.
            shutdown_timeout: graceful shutdown before power-off when a VM restarts.
            opts: resource options of the component.
        """
        super().__init__("pulumi-kubevirt:components:VmPool", name, None, opts)
        if not 0 <= count <= 100:
            raise component_error("VmPool", name, "count", f"{count} is not between 0 and 100")
        if "name" in template:
            raise component_error("VmPool", name, "template.name", "the VMs are named <pool>-<index>")
        base: dict[str, Any] = dict(template)
        base.setdefault("restart_policy", {"mode": "auto", "shutdown_timeout": shutdown_timeout})
        if target is not None:
            base["target"] = dict(target)
        self.vms, self.disks, self.names = [], [], []
        previous: VirtualMachine | None = None
        for index in range(count):
            vm_name = f"{name}-{index}"
            fields = dict(base)
            depends_on = [previous] if rolling and previous is not None else []
            if root_disk is not None:
                disk_fields = dict(root_disk)
                if target is not None:
                    disk_fields["target"] = dict(target)
                # chained too: a disk replaced (new image) restarts its VM, so it waits its turn
                disk = Disk(f"{vm_name}-root", opts=child_options(self, depends_on=depends_on), **disk_fields)
                self.disks.append(disk)
                fields["disks"] = [{"name": "root", "disk": disk, "boot_order": 1}, *list(base.get("disks") or [])]
            vm = VirtualMachine(
                vm_name,
                opts=child_options(
                    self,
                    depends_on=depends_on,
                    custom_timeouts=pulumi.CustomTimeouts(update=update_timeout),
                ),
                **fields,
            )
            self.vms.append(vm)
            self.names.append(vm_name)
            previous = vm
        self.ipv4 = pulumi.Output.all(*[vm.ipv4 for vm in self.vms]).apply(list)
        self.register_outputs({"names": self.names, "ipv4": self.ipv4})
