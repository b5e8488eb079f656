"""ComponentResources composing the pulumi-kubevirt resources (composition only, house rule 10).

- `Server`: a VM, its root disk from an image, cloud-init (user, SSH keys, packages) and on
  KubeVirt an optional Service exposing SSH/ports;
- `Router`: a VM with WAN/LAN(/DMZ) NICs on bridged networks;
- `BridgedNetwork`: node bridge + optional VLAN + the attachment VMs use, shared by many VMs;
- `VmPool`: N identical VMs from one template, changed one VM at a time;
- `VmWithDisks`: a VM plus its disks.
"""

from ._parts import POD_NETWORK
from .bridged_network import BridgedNetwork
from .cloud_config import render_cloud_config
from .router import Router
from .server import Server
from .vm_pool import VmPool
from .vm_with_disks import VmWithDisks

__all__ = ["POD_NETWORK", "BridgedNetwork", "Router", "Server", "VmPool", "VmWithDisks", "render_cloud_config"]
