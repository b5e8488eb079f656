"""VirtualMachineArgs: one typed VM for every backend.

Pure. Cross-field rules live here (unique names/MACs, max >= current, one
source per disk, what a libvirt target cannot express); each error names the
field path, and the resource adapter prefixes the resource name.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, field_validator, model_serializer, model_validator

from .common import (
    VCPUS_MAX,
    Adopt,
    Bool,
    DiskQuantity,
    Duration,
    Int,
    MemoryQuantity,
    Model,
    Name,
    Timeouts,
    field_error,
    quantity_bytes,
)
from .kubevirt import KubevirtVmOptions
from .secrets import SECRET
from .sources import DiskTemplate, ImageReference, VolumeRef
from .syntax import (
    HostPath,
    Key,
    LabelKey,
    MultilineText,
    ObjectName,
    PortName,
    SingleLine,
    UsbId,
    Word,
    echo,
    label_problems,
    nad_ref_problem,
)
from .target import LibvirtTarget, LibvirtUri, Target, libvirt_host

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class Cpu(Model):
    """vCPU topology; vCPUs = sockets x cores x threads."""

    sockets: Int = Field(1, ge=1, le=64, description="CPU sockets (hot-pluggable up to max_sockets)")
    cores: Int = Field(1, ge=1, le=64, description="Cores per socket")
    threads: Int = Field(1, ge=1, le=8, description="Threads per core")
    max_sockets: Int | None = Field(
        None, ge=1, le=64, description="Hot-plug headroom: sockets can change live up to this many"
    )
    model: Word | None = Field(
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
            raise field_error(
                ("max_sockets",), f"max_sockets ({self.max_sockets}) is smaller than sockets ({self.sockets})"
            )
        if self.max_vcpus > VCPUS_MAX:
            raise field_error(
                ("max_sockets" if self.max_sockets else "sockets",),
                f"{self.max_vcpus} vCPUs (sockets x cores x threads) is more than {VCPUS_MAX}, the most KVM runs",
            )
        return self


_DISK_SOURCES = (
    "volume",
    "path",
    "data_volume",
    "pvc",
    "container_image",
    "secret",
    "config_map",
    "template",
    "empty_disk",
)
_KUBE_ONLY_SOURCES = ("data_volume", "pvc", "container_image", "secret", "config_map", "template", "empty_disk")
_LIBVIRT_HINTS = {
    # libvirt has no scratch disk of its own: a volume made behind the user's back would be an
    # object the stack owns but never declared. A blank Disk is explicit, owned and crash-safe.
    "empty_disk": "; on libvirt declare a Disk (blank source, size=...) and attach it with disk= "
    "(unlike an emptyDisk it keeps its data across restarts)",
}


class DiskAttachment(Model):
    """A disk of the VM; exactly one source."""

    name: Name = Field(description="Device name, unique in the VM")
    volume: VolumeRef | None = Field(None, description="A libvirt volume (pass a Disk resource as `disk=`)")
    path: HostPath | None = Field(None, description="An absolute host path (libvirt), e.g. an ISO")
    data_volume: ObjectName | None = Field(None, description="KubeVirt: a DataVolume name (pass a Disk as `disk=`)")
    pvc: ObjectName | None = Field(None, description="KubeVirt: a PersistentVolumeClaim name")
    container_image: ImageReference | None = Field(None, description="KubeVirt: a containerDisk image")
    secret: ObjectName | None = Field(None, description="KubeVirt: expose this Secret as a disk")
    config_map: ObjectName | None = Field(None, description="KubeVirt: expose this ConfigMap as a disk")
    template: DiskTemplate | None = Field(
        None, description="KubeVirt: a DataVolume owned by the VM (dataVolumeTemplates)"
    )
    empty_disk: DiskQuantity | None = Field(
        None, description="KubeVirt: a scratch disk of this capacity (emptyDisk), blank again at every VM start"
    )
    bus: Literal["virtio", "sata", "scsi"] = Field("virtio", description="Disk bus")
    readonly: Bool = Field(False, description="Attach read-only")
    cdrom: Bool = Field(False, description="Attach as a CD-ROM (read-only, sata/scsi bus)")
    boot_order: Int | None = Field(None, ge=1, le=65535, description="Boot priority, 1 = first")

    @model_validator(mode="after")
    def _one_source(self) -> DiskAttachment:
        sources = [f for f in _DISK_SOURCES if getattr(self, f)]
        if len(sources) != 1:
            raise field_error(
                (),
                f"give exactly one source ({', '.join(_DISK_SOURCES)}; `disk=` sets volume or data_volume); got "
                + (", ".join(sources) or "none"),
            )
        if self.cdrom and self.bus == "virtio":
            raise field_error(("bus",), "a cdrom cannot use the virtio bus: use bus='sata' or 'scsi'")
        return self


class Port(Model):
    """A port the KubeVirt masquerade binding forwards to the guest."""

    name: PortName | None = Field(None, description="Port name (IANA service name, e.g. http), unique in the NIC")
    port: Int = Field(ge=1, le=65535, description="Port number")
    protocol: Literal["TCP", "UDP"] = Field("TCP", description="TCP or UDP")


class Interface(Model):
    """A NIC."""

    name: Name = Field(description="Interface name, unique in the VM")
    network: SingleLine | None = Field(
        None, description="libvirt network or KubeVirt NetworkAttachmentDefinition (pass a Bridge as `bridge=`)"
    )
    pod: Bool = Field(False, description="KubeVirt: the pod network")
    binding: Literal["bridge", "masquerade", "sriov"] | None = Field(
        None, description="KubeVirt binding (default: masquerade on the pod network, bridge otherwise)"
    )
    model: Literal["virtio", "e1000", "e1000e", "rtl8139"] = Field("virtio", description="NIC model")
    mac: str | None = Field(None, description="Fixed MAC address (default: assigned once, then kept)")
    vlan: Int | None = Field(None, ge=1, le=4094, description="VLAN tag of the port (libvirt <vlan>)")
    ports: list[Port] = Field(
        default_factory=list,
        description="KubeVirt masquerade binding: forward only these ports to the guest (default: every port)",
    )

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
            raise field_error((), "give exactly one of network (or bridge) and pod=True")
        _unique(("ports",), "name", [p.name for p in self.ports])
        return self


class UsbHostDevice(Model):
    """A USB device of the host handed to the guest."""

    name: Name = Field(description="Device name, unique in the VM")
    vendor: UsbId | None = Field(None, description="libvirt: USB vendor id, e.g. 0x046d")
    product: UsbId | None = Field(None, description="libvirt: USB product id, e.g. 0xc52b")
    resource_name: LabelKey | None = Field(
        None,
        description="KubeVirt: a resource name the KubeVirt CR permits (permittedHostDevices.usb[].resourceName, "
        "which selects the devices by vendor/product), e.g. kubevirt.io/storage",
    )


class CloudInit(Model):
    """NoCloud seed: user data, network data and SSH keys (treated as secrets)."""

    user_data: MultilineText | None = Field(
        None, description="cloud-config or script (secret)", json_schema_extra=SECRET
    )
    network_data: MultilineText | None = Field(
        None, description="Network config v1/v2 (secret)", json_schema_extra=SECRET
    )
    ssh_authorized_keys: list[SingleLine] = Field(default_factory=list, description="Keys for the default user")
    secret_name: ObjectName | None = Field(
        None, description="KubeVirt: use this existing Secret (keys userdata/networkdata) instead of user_data"
    )

    @model_validator(mode="after")
    def _content(self) -> CloudInit:
        if self.secret_name and (self.user_data or self.network_data):
            raise field_error(("secret_name",), "give either secret_name or user_data/network_data, not both")
        if not (self.secret_name or self.user_data or self.network_data or self.ssh_authorized_keys):
            raise field_error((), "empty: set user_data, network_data, ssh_authorized_keys or secret_name")
        return self


class KernelBoot(Model):
    """Direct kernel boot: files on the hypervisor (libvirt) or inside a container image (KubeVirt)."""

    container_image: ImageReference | None = Field(
        None, description="KubeVirt: the container image holding kernel and initrd (firmware.kernelBoot.container)"
    )
    kernel: HostPath | None = Field(
        None, description="Absolute kernel path: on the hypervisor (libvirt, required) or inside container_image"
    )
    initrd: HostPath | None = Field(
        None, description="Absolute initramfs path: on the hypervisor (libvirt) or inside container_image"
    )
    cmdline: SingleLine | None = Field(None, description="Kernel command line (KubeVirt: kernelArgs)")


class RestartPolicy(Model):
    """What to do with a change that needs a reboot."""

    mode: Literal["never", "auto"] = Field(
        "never", description="never: apply on next boot and report pending_restart; auto: restart now"
    )
    shutdown_timeout: Duration = Field("2m", description="Graceful shutdown wait before power-off (auto mode, delete)")


class VirtualMachineArgs(Model):
    """A virtual machine."""

    name: Name = Field(description="VM name (libvirt domain / KubeVirt VirtualMachine)")
    target: Target = Field(default_factory=LibvirtTarget, description="Where the VM lives")
    hosts: list[LibvirtUri] = Field(
        default_factory=list,
        description="libvirt: other hypervisors a Migration may move this VM to; read/update/delete look there too",
    )
    memory: MemoryQuantity = Field("512Mi", description="Guest memory (16Mi .. 16Ti), e.g. 1Gi or 1024M")
    max_memory: MemoryQuantity | None = Field(None, description="Memory ceiling for live changes (balloon/hotplug)")
    cpu: Cpu = Field(default_factory=Cpu, description="vCPU topology and model")
    machine: Word | None = Field(None, description="Machine type, e.g. q35 or pc (default: hypervisor's)")
    accelerator: Literal["kvm", "tcg"] = Field(
        "kvm", description="libvirt: hardware virtualization (kvm) or pure emulation (tcg, slow; nested/CI hosts)"
    )
    firmware: Literal["bios", "uefi"] = Field("bios", description="Firmware")
    secure_boot: Bool = Field(
        False, description="UEFI secure boot (needs firmware='uefi' and smm=True; libvirt: a q35 machine)"
    )
    smm: Bool | None = Field(
        None, description="System Management Mode (secure boot needs it on); unset: the hypervisor's default"
    )
    kernel_boot: KernelBoot | None = Field(
        None, description="Boot a kernel/initrd directly (libvirt: host paths; KubeVirt: from a container image)"
    )
    disks: list[DiskAttachment] = Field(default_factory=list, description="Disks, in device order")
    interfaces: list[Interface] = Field(default_factory=list, description="NICs, in device order")
    usb_host_devices: list[UsbHostDevice] = Field(
        default_factory=list,
        description="Host USB devices passed through (libvirt: by vendor/product; KubeVirt: by a permitted resource)",
    )
    cloud_init: CloudInit | None = Field(
        None, description="NoCloud seed (secret as a whole, whatever was passed)", json_schema_extra=SECRET
    )
    serial_console: Bool = Field(True, description="Serial console (libvirt: logged to a file)")
    vnc: Bool | None = Field(
        None,
        description="VNC graphics (unset: the backend's default for a new VM, KubeVirt attaching a graphics device "
        "and libvirt none; on KubeVirt, unset leaves an existing VM's graphics device as it is)",
    )
    guest_agent: Bool = Field(False, description="QEMU guest agent channel")
    rng: Bool = Field(False, description="virtio-rng device")
    wait_for_ip: Bool = Field(
        False, description="On create, wait (bounded) until a NIC has an IPv4 lease from a libvirt-managed network"
    )
    run_state: Literal["running", "stopped", "paused"] = Field("running", description="Desired power state")
    restart_policy: RestartPolicy = Field(default_factory=RestartPolicy, description="Restart-class changes")
    description: MultilineText | None = Field(None, description="Free text")
    labels: dict[Key, SingleLine] = Field(
        default_factory=dict, description="Labels (libvirt: metadata; KubeVirt: Kubernetes labels)"
    )
    kubevirt: KubevirtVmOptions | None = Field(None, description="KubeVirt-only options")
    adopt: Adopt = False
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Wait bounds")

    @model_validator(mode="after")
    def _consistent(self) -> VirtualMachineArgs:
        if self.max_memory is not None and quantity_bytes(self.max_memory) < quantity_bytes(self.memory):
            raise field_error(("max_memory",), f"max_memory ({self.max_memory}) is smaller than memory ({self.memory})")
        _unique(("disks",), "name", [d.name for d in self.disks])
        _unique(("disks",), "boot_order", [d.boot_order for d in self.disks])
        _unique(("interfaces",), "name", [i.name for i in self.interfaces])
        _unique(("interfaces",), "mac", [i.mac for i in self.interfaces])
        _unique(("usb_host_devices",), "name", [u.name for u in self.usb_host_devices])
        if self.secure_boot and self.firmware != "uefi":
            raise field_error(("secure_boot",), "secure boot is a UEFI feature: set firmware='uefi'")
        if self.secure_boot and self.smm is not True:
            # KubeVirt's webhook refuses it (SMM unset counts as off); OVMF's secure-boot builds need it
            raise field_error(("smm",), "secure boot needs System Management Mode: set smm=True")
        if isinstance(self.target, LibvirtTarget):
            self._libvirt_only(self.target)
        else:
            self._kubevirt_only()
        return self

    def _libvirt_only(self, target: LibvirtTarget) -> None:
        for i, disk in enumerate(self.disks):
            for f in _KUBE_ONLY_SOURCES:
                if getattr(disk, f):
                    raise field_error(("disks", i, f), f"{f} needs a kubevirt target" + _LIBVIRT_HINTS.get(f, ""))
        if self.kubevirt is not None:
            raise field_error(("kubevirt",), "these options need a kubevirt target")
        for i, nic in enumerate(self.interfaces):
            for f in ("pod", "binding", "ports"):
                if getattr(nic, f):
                    raise field_error(("interfaces", i, f), f"{f} needs a kubevirt target")
            if nic.network is not None and _LIBVIRT_NETWORK.match(nic.network) is None:
                raise field_error(
                    ("interfaces", i, "network"),
                    f"{echo(nic.network)} is not a libvirt network name (letters, digits, '_.+-', at most 255)",
                )
        if self.cloud_init and self.cloud_init.secret_name:
            raise field_error(("cloud_init", "secret_name"), "secret_name needs a kubevirt target")
        for i, usb in enumerate(self.usb_host_devices):
            if usb.resource_name is not None:
                raise field_error(
                    ("usb_host_devices", i, "resource_name"),
                    "resource_name needs a kubevirt target: libvirt selects the device by vendor and product",
                )
            for f in ("vendor", "product"):
                if getattr(usb, f) is None:
                    raise field_error(
                        ("usb_host_devices", i, f), f"libvirt selects the host device by vendor and product: set {f}"
                    )
        if self.kernel_boot is not None and self.kernel_boot.container_image is not None:
            raise field_error(
                ("kernel_boot", "container_image"),
                "container_image needs a kubevirt target: on libvirt give kernel (and initrd) as hypervisor paths",
            )
        if self.kernel_boot is not None and self.kernel_boot.kernel is None:
            raise field_error(("kernel_boot", "kernel"), "libvirt boots a kernel file: set its path on the hypervisor")
        if self.secure_boot and "q35" not in (self.machine or ""):
            # QEMU runs OVMF's secure-boot builds (SMM) on q35 only; libvirt's x86 default machine is pc
            raise field_error(("machine",), "secure boot needs a q35 machine: set machine='q35'")
        seen: dict[str, int] = {libvirt_host(target.uri): -1}
        for i, host in enumerate(self.hosts):
            first = seen.setdefault(libvirt_host(host), i)
            if first == -1:
                raise field_error(("hosts", i), f"{echo(host)} is the VM's own target host: list only the others")
            if first != i:
                raise field_error(("hosts", i), f"{echo(host)} is the host of hosts[{first}] again")

    def _kubevirt_memory_hotplug(self, max_memory: str) -> None:
        """KubeVirt renders max_memory as memory.maxGuest (memory hotplug under LiveUpdate), which its
        VM webhook (v1.8 liveupdate/memory ValidateLiveUpdateMemory) refuses below 1Gi of guest memory
        and off its 2Mi hotplug block; it names spec.template.spec.domain.memory.guest, so do we,
        except for maxGuest's own alignment."""
        block = 2 * 2**20
        if quantity_bytes(self.memory) < 2**30:
            raise field_error(
                ("memory",),
                f"KubeVirt hot-plugs memory (max_memory) only for at least 1Gi of memory (memory is {self.memory}): "
                "raise memory to 1Gi or drop max_memory",
            )
        if quantity_bytes(self.memory) % block:
            raise field_error(
                ("memory",),
                f"{self.memory} is not a multiple of 2Mi, KubeVirt's memory hotplug block (max_memory is set): "
                "use Mi or Gi sizes such as 1Gi or 1536Mi",
            )
        if quantity_bytes(max_memory) % block:
            raise field_error(
                ("max_memory",),
                f"{max_memory} is not a multiple of 2Mi, KubeVirt's memory hotplug block: use Mi or Gi sizes",
            )

    def _kubevirt_only(self) -> None:
        for i, disk in enumerate(self.disks):
            for f in ("path", "volume"):
                if getattr(disk, f):
                    raise field_error(("disks", i, f), f"{f} needs a libvirt target")
        sized_by_instancetype = self.kubevirt is not None and self.kubevirt.instancetype is not None
        if self.max_memory is not None and not sized_by_instancetype:  # (else refused on its own below)
            self._kubevirt_memory_hotplug(self.max_memory)
        kb = self.kernel_boot
        if kb is not None and kb.container_image is None:
            # KubeVirt's webhook: kernel arguments without an external kernel are refused, and host
            # paths are not reachable from the VM's pod
            raise field_error(
                ("kernel_boot", "container_image"),
                "on KubeVirt the kernel comes from a container image: set container_image "
                "(kernel/initrd are then paths inside it)",
            )
        if kb is not None and kb.kernel is None and kb.initrd is None:
            raise field_error(
                ("kernel_boot", "kernel"), "give kernel and/or initrd: their absolute paths inside container_image"
            )
        if self.accelerator != "kvm":
            raise field_error(("accelerator",), "on KubeVirt emulation is a cluster setting (useEmulation)")
        if self.hosts:
            raise field_error(("hosts",), "hosts are libvirt hypervisors: KubeVirt picks the node")
        for i, nic in enumerate(self.interfaces):
            if nic.vlan is not None:
                raise field_error(("interfaces", i, "vlan"), "on KubeVirt the VLAN belongs to the Bridge (NAD)")
            if nic.network is not None:
                problem = nad_ref_problem(nic.network)
                if problem:
                    raise field_error(("interfaces", i, "network"), problem)
            # KubeVirt's webhook: masquerade only on the pod network, SR-IOV only on a Multus one
            if nic.binding == "masquerade" and not nic.pod:
                raise field_error(("interfaces", i, "binding"), "masquerade works only on the pod network (pod=True)")
            if nic.binding == "sriov" and nic.pod:
                raise field_error(
                    ("interfaces", i, "binding"), "sriov needs a network (an SR-IOV NAD), not the pod network"
                )
            # KubeVirt forwards ports[] only through masquerade (on bridge/sriov it ignores them: the
            # guest is on the wire with every port)
            if nic.ports and (nic.binding or ("masquerade" if nic.pod else "bridge")) != "masquerade":
                raise field_error(
                    ("interfaces", i, "ports"),
                    "ports are forwarded by the masquerade binding only (pod=True); a bridge or sriov NIC "
                    "exposes every port of the guest",
                )
        for i, usb in enumerate(self.usb_host_devices):
            for f in ("vendor", "product"):
                if getattr(usb, f) is not None:
                    # the devices a VM may take are the cluster admin's choice (KubeVirt CR)
                    raise field_error(
                        ("usb_host_devices", i, f),
                        "on KubeVirt the cluster maps vendor/product to a resource name (KubeVirt CR "
                        "permittedHostDevices.usb): give resource_name instead",
                    )
            if usb.resource_name is None:
                raise field_error(
                    ("usb_host_devices", i, "resource_name"),
                    "KubeVirt hands out host USB devices by resource name: set resource_name to a "
                    "permittedHostDevices.usb resourceName of the KubeVirt CR",
                )
        for key, problem in label_problems(self.labels):
            raise field_error(("labels", key), problem)
        if self.kubevirt is not None and self.kubevirt.instancetype is not None:
            self._sized_by_instancetype()

    def _sized_by_instancetype(self) -> None:
        # KubeVirt's webhook refuses memory.guest and cpu sockets/cores/threads next to an instancetype
        # ("VM field(s) spec.template.spec.domain.memory.guest conflicts with selected instance type");
        # cpu.model, maxSockets and maxGuest conflict when the instancetype sets them too, which only the
        # cluster knows: none of them is sent with an instancetype, so none may be given. (Preferences
        # never conflict: they fill only what the VM leaves unset.)
        sized: list[tuple[str, ...]] = [(f,) for f in ("memory", "max_memory") if f in self.model_fields_set]
        if "cpu" in self.model_fields_set:
            sized += [("cpu", f) for f in ("sockets", "cores", "threads", "max_sockets", "model")]
            sized = [p for p in sized if p[0] != "cpu" or p[1] in self.cpu.model_fields_set]
        if sized:
            raise field_error(
                sized[0],
                f"the instancetype sizes the VM: KubeVirt refuses {'.'.join(sized[0])} next to it (the VM field "
                "conflicts with the selected instance type); remove it, or the instancetype",
            )

    @model_serializer(mode="wrap")
    def _without_sizes_of_an_instancetype(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.kubevirt is not None and self.kubevirt.instancetype is not None:
            # nothing was given there (the validator refuses it): the defaults stand for nothing, and
            # dumped they would read as given at the next validation
            data.pop("memory", None)
            data.pop("cpu", None)
        return data


def vm_state_today(data: dict[str, Any]) -> dict[str, Any]:
    """A VM's state (or a document of this version) in this version's terms. Before 96e2ebc the state
    of a VM sized by an instancetype carried memory and cpu (the defaults, or values the user gave),
    but that version's render sent no memory, max_memory or cpu next to an instancetype: they stood
    for nothing, and this version's model refuses them as given. Dropped, such a state validates, so
    the VM can be refreshed, updated and destroyed after an upgrade, and plans no change."""
    kubevirt = data.get("kubevirt")
    if isinstance(kubevirt, dict) and kubevirt.get("instancetype") is not None:
        return {k: v for k, v in data.items() if k not in ("memory", "max_memory", "cpu")}
    return data


_LIBVIRT_NETWORK = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}$")


def _unique(field: tuple[str | int, ...], what: str, values: list[object]) -> None:
    seen: dict[object, int] = {}
    for index, value in enumerate(values):
        if value is None:
            continue
        if value in seen:
            name = field[-1]
            raise field_error(field, f"{what} {value!r} appears twice ({name}[{seen[value]}] and {name}[{index}])")
        seen[value] = index
