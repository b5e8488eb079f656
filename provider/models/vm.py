"""VirtualMachineArgs: one typed VM for every backend.

Pure. Cross-field rules live here (unique names/MACs, max >= current, one
source per disk, what a libvirt target cannot express); each error names the
field path, and the resource adapter prefixes the resource name.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .common import Model, Name, Quantity, Timeouts, parse_duration, quantity_bytes
from .kubevirt import KubevirtVmOptions
from .sources import DiskTemplate, VolumeRef
from .target import LibvirtTarget, LibvirtUri, Target

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class Cpu(Model):
    """vCPU topology; vCPUs = sockets x cores x threads."""

    sockets: int = Field(1, ge=1, le=64, description="CPU sockets (hot-pluggable up to max_sockets)")
    cores: int = Field(1, ge=1, le=64, description="Cores per socket")
    threads: int = Field(1, ge=1, le=8, description="Threads per core")
    max_sockets: int | None = Field(
        None, ge=1, le=64, description="Hot-plug headroom: sockets can change live up to this many"
    )
    model: str | None = Field(
        None, description="CPU model: host-passthrough, host-model or a named model (default: hypervisor's)"
    )

    @property
    def vcpus(self) -> int:
        return self.sockets * self.cores * self.threads

    @property
    def max_vcpus(self) -> int:
        return (self.max_sockets or self.sockets) * self.cores * self.threads

    @model_validator(mode="after")
    def _max(self) -> Cpu:
        if self.max_sockets is not None and self.max_sockets < self.sockets:
            raise ValueError(f"max_sockets ({self.max_sockets}) is smaller than sockets ({self.sockets})")
        return self


_DISK_SOURCES = ("volume", "path", "data_volume", "pvc", "container_image", "secret", "config_map", "template")
_KUBE_ONLY_SOURCES = ("data_volume", "pvc", "container_image", "secret", "config_map", "template")


class DiskAttachment(Model):
    """A disk of the VM; exactly one source."""

    name: Name = Field(description="Device name, unique in the VM")
    volume: VolumeRef | None = Field(None, description="A libvirt volume (pass a Disk resource as `disk=`)")
    path: str | None = Field(None, description="A host path (libvirt), e.g. an ISO")
    data_volume: str | None = Field(None, description="KubeVirt: a DataVolume name (pass a Disk as `disk=`)")
    pvc: str | None = Field(None, description="KubeVirt: a PersistentVolumeClaim name")
    container_image: str | None = Field(None, description="KubeVirt: a containerDisk image")
    secret: str | None = Field(None, description="KubeVirt: expose this Secret as a disk")
    config_map: str | None = Field(None, description="KubeVirt: expose this ConfigMap as a disk")
    template: DiskTemplate | None = Field(
        None, description="KubeVirt: a DataVolume owned by the VM (dataVolumeTemplates)"
    )
    bus: Literal["virtio", "sata", "scsi"] = Field("virtio", description="Disk bus")
    readonly: bool = Field(False, description="Attach read-only")
    cdrom: bool = Field(False, description="Attach as a CD-ROM (read-only, sata/scsi bus)")
    boot_order: int | None = Field(None, ge=1, description="Boot priority, 1 = first")

    @model_validator(mode="after")
    def _one_source(self) -> DiskAttachment:
        sources = [f for f in _DISK_SOURCES if getattr(self, f)]
        if len(sources) != 1:
            raise ValueError(
                f"give exactly one source ({', '.join(_DISK_SOURCES)}; `disk=` sets volume or data_volume); got "
                + (", ".join(sources) or "none")
            )
        if self.cdrom and self.bus == "virtio":
            raise ValueError("a cdrom cannot use the virtio bus: use bus='sata' or 'scsi'")
        return self


class Interface(Model):
    """A NIC."""

    name: Name = Field(description="Interface name, unique in the VM")
    network: str | None = Field(
        None, description="libvirt network or KubeVirt NetworkAttachmentDefinition (pass a Bridge as `bridge=`)"
    )
    pod: bool = Field(False, description="KubeVirt: the pod network")
    binding: Literal["bridge", "masquerade", "sriov"] | None = Field(
        None, description="KubeVirt binding (default: masquerade on the pod network, bridge otherwise)"
    )
    model: Literal["virtio", "e1000", "e1000e", "rtl8139"] = Field("virtio", description="NIC model")
    mac: str | None = Field(None, description="Fixed MAC address (default: assigned once, then kept)")
    vlan: int | None = Field(None, ge=1, le=4094, description="VLAN tag of the port (libvirt <vlan>)")

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str | None) -> str | None:
        if value is None:
            return None
        mac = value.lower()
        if not _MAC.match(mac):
            raise ValueError(f"{value!r} is not a MAC address (six hex pairs, e.g. 52:54:00:12:34:56)")
        if int(mac[:2], 16) & 1:
            raise ValueError(f"{value!r} is a multicast MAC: the first octet must be even")
        return mac

    @model_validator(mode="after")
    def _one_network(self) -> Interface:
        if bool(self.network) == self.pod:
            raise ValueError("give exactly one of network (or bridge) and pod=True")
        return self


class CloudInit(Model):
    """NoCloud seed: user data, network data and SSH keys (treated as secrets)."""

    user_data: str | None = Field(None, description="cloud-config or script (secret)")
    network_data: str | None = Field(None, description="Network config v1/v2 (secret)")
    ssh_authorized_keys: list[str] = Field(default_factory=list, description="Keys for the default user")
    secret_name: str | None = Field(
        None, description="KubeVirt: use this existing Secret (keys userdata/networkdata) instead of user_data"
    )

    @model_validator(mode="after")
    def _content(self) -> CloudInit:
        if self.secret_name and (self.user_data or self.network_data):
            raise ValueError("give either secret_name or user_data/network_data, not both")
        if not (self.secret_name or self.user_data or self.network_data or self.ssh_authorized_keys):
            raise ValueError("cloud_init is empty: set user_data, network_data, ssh_authorized_keys or secret_name")
        return self


class KernelBoot(Model):
    """Direct kernel boot."""

    kernel: str = Field(description="Kernel image path on the hypervisor")
    initrd: str | None = Field(None, description="initramfs path on the hypervisor")
    cmdline: str | None = Field(None, description="Kernel command line")


class RestartPolicy(Model):
    """What to do with a change that needs a reboot."""

    mode: Literal["never", "auto"] = Field(
        "never", description="never: apply on next boot and report pending_restart; auto: restart now"
    )
    shutdown_timeout: str = Field("2m", description="Graceful shutdown wait before power-off (auto mode, delete)")

    @field_validator("shutdown_timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class VirtualMachineArgs(Model):
    """A virtual machine."""

    name: Name = Field(description="VM name (libvirt domain / KubeVirt VirtualMachine)")
    target: Target = Field(default_factory=LibvirtTarget, description="Where the VM lives")
    hosts: list[LibvirtUri] = Field(
        default_factory=list,
        description="libvirt: other hypervisors a Migration may move this VM to; read/update/delete look there too",
    )
    memory: Quantity = Field("512Mi", description="Guest memory, e.g. 1Gi or 1024M")
    max_memory: Quantity | None = Field(None, description="Memory ceiling for live changes (balloon/hotplug)")
    cpu: Cpu = Field(default_factory=Cpu, description="vCPU topology and model")
    machine: str | None = Field(None, description="Machine type, e.g. q35 or pc (default: hypervisor's)")
    accelerator: Literal["kvm", "tcg"] = Field(
        "kvm", description="libvirt: hardware virtualization (kvm) or pure emulation (tcg, slow; nested/CI hosts)"
    )
    firmware: Literal["bios", "uefi"] = Field("bios", description="Firmware")
    kernel_boot: KernelBoot | None = Field(None, description="Boot a kernel/initrd directly")
    disks: list[DiskAttachment] = Field(default_factory=list, description="Disks, in device order")
    interfaces: list[Interface] = Field(default_factory=list, description="NICs, in device order")
    cloud_init: CloudInit | None = Field(None, description="NoCloud seed")
    serial_console: bool = Field(True, description="Serial console (libvirt: logged to a file)")
    vnc: bool = Field(False, description="VNC graphics")
    guest_agent: bool = Field(False, description="QEMU guest agent channel")
    rng: bool = Field(False, description="virtio-rng device")
    wait_for_ip: bool = Field(
        False, description="On create, wait (bounded) until a NIC has an IPv4 lease from a libvirt-managed network"
    )
    run_state: Literal["running", "stopped", "paused"] = Field("running", description="Desired power state")
    restart_policy: RestartPolicy = Field(default_factory=RestartPolicy, description="Restart-class changes")
    description: str | None = Field(None, description="Free text")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels (libvirt: metadata)")
    kubevirt: KubevirtVmOptions | None = Field(None, description="KubeVirt-only options")
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")

    @model_validator(mode="after")
    def _consistent(self) -> VirtualMachineArgs:
        if self.max_memory is not None and quantity_bytes(self.max_memory) < quantity_bytes(self.memory):
            raise ValueError(f"max_memory ({self.max_memory}) is smaller than memory ({self.memory})")
        if quantity_bytes(self.memory) < 16 * 2**20:
            raise ValueError(f"memory ({self.memory}) is below the 16Mi a guest needs")
        _unique("disks", [d.name for d in self.disks])
        _unique("interfaces", [i.name for i in self.interfaces])
        _unique("interfaces (mac)", [i.mac for i in self.interfaces if i.mac])
        _unique("disks (boot_order)", [d.boot_order for d in self.disks if d.boot_order])
        if isinstance(self.target, LibvirtTarget):
            for i, disk in enumerate(self.disks):
                if any(getattr(disk, f) for f in _KUBE_ONLY_SOURCES):
                    raise ValueError(f"disks[{i}]: {'/'.join(_KUBE_ONLY_SOURCES)} need a kubevirt target")
            if self.kubevirt is not None:
                raise ValueError("kubevirt: these options need a kubevirt target")
            for i, nic in enumerate(self.interfaces):
                if nic.pod or nic.binding:
                    raise ValueError(f"interfaces[{i}]: pod/binding need a kubevirt target")
            if self.cloud_init and self.cloud_init.secret_name:
                raise ValueError("cloud_init.secret_name needs a kubevirt target")
        else:
            for i, disk in enumerate(self.disks):
                if disk.path or disk.volume:
                    raise ValueError(f"disks[{i}]: path/volume need a libvirt target")
            # KubeVirt renders max_memory as memory.maxGuest (memory hotplug), which its VM
            # webhook refuses below 1Gi of guest memory (v1.8 "Memory hotplug is only available
            # for VMs with at least 1Gi of guest memory").
            if self.max_memory is not None and quantity_bytes(self.memory) < 2**30:
                raise ValueError(
                    f"max_memory: KubeVirt hot-plugs memory only for at least 1Gi of memory (memory is "
                    f"{self.memory}): raise memory to 1Gi or drop max_memory"
                )
            if self.kernel_boot is not None:
                raise ValueError("kernel_boot: direct kernel boot from host paths needs a libvirt target")
            if self.accelerator != "kvm":
                raise ValueError("accelerator: on KubeVirt emulation is a cluster setting (useEmulation)")
            for i, nic in enumerate(self.interfaces):
                if nic.vlan is not None:
                    raise ValueError(f"interfaces[{i}].vlan: on KubeVirt the VLAN belongs to the Bridge (NAD)")
        return self


def _unique(what: str, values: list[object]) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what}: {value!r} appears twice")
        seen.add(value)
