"""Tutorial VM (SCENARIOS.md #1): cloud-init from a Secret, readiness probe, live-migratable.

The user data adds a user with an SSH key and serves HTTP on port 1500, which
the readiness probe polls; `evictionStrategy: LiveMigrate` lets node drains
move it. `virtctl ssh` then works with the key below.
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _target import kubevirt_target, resources

config = pulumi.Config()
ssh_key = config.get("sshKey") or "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnly demo@example"
user_data = f"""#!/bin/bash
useradd -m -s /bin/bash demo
mkdir -p /home/demo/.ssh
echo '{ssh_key}' > /home/demo/.ssh/authorized_keys
chown -R demo: /home/demo/.ssh
nohup python3 -m http.server 1500 >/dev/null 2>&1 &
"""

vm = resources().VirtualMachine(
    "ma-machine-virtuelle",
    target=kubevirt_target(),
    memory="1024M",
    disks=[{"name": "containerdisk", "container_image": "quay.io/containerdisks/centos-stream:9"}],
    interfaces=[{"name": "default", "pod": True}],
    cloud_init={"user_data": pulumi.Output.secret(user_data)},
    kubevirt={
        "termination_grace_period_seconds": 0,
        "eviction_strategy": "LiveMigrate",
        "readiness_probe": {
            "http_get_port": 1500,
            "initial_delay_seconds": 420,
            "period_seconds": 20,
            "timeout_seconds": 10,
            "failure_threshold": 10,
        },
    },
    opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="10m")),
)
pulumi.export("status", vm.printable_status)
pulumi.export("node", vm.node)
