"""Conference demo `testvm` (SCENARIOS.md #3): a halted cirros VM with cloud-init on the pod network.

Start it later with `pulumi config set running true` (an in-place runStrategy edit, never a replacement).
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _target import kubevirt_target, resources

config = pulumi.Config()
vm = resources().VirtualMachine(
    "testvm",
    target=kubevirt_target(),
    run_state="running" if config.get_bool("running") else "stopped",
    memory="64M",
    labels={"kubevirt.io/size": "small", "kubevirt.io/domain": "testvm"},
    disks=[{"name": "containerdisk", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"}],
    interfaces=[{"name": "default", "pod": True}],
    cloud_init={"user_data": pulumi.Output.secret("#!/bin/sh\n\necho 'printed from cloud-init userdata'\n")},
)
pulumi.export("status", vm.printable_status)
pulumi.export("planned_change", vm.planned_change)
