"""Models -> libvirt XML (domain, network, pool, volume) and the NoCloud seed.

Pure: lxml builders only, never string formatting, so names and values with
`<&'"` cannot inject XML. Every device the user names carries a libvirt *user
alias* (`ua-disk-<name>`, `ua-nic-<name>`) so parse.py maps devices back to the
user's names whatever order libvirt keeps them in.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

import pycdlib
import yaml
from lxml import etree
from lxml.builder import E

from ..models import BridgeArgs, DiskArgs, MigrationArgs, VirtualMachineArgs, quantity_bytes
from ..models.common import parse_quantity
from ..models.snapshot import SnapshotArgs, SnapshotRestoreArgs

XMLNS = "https://pulumi-kubevirt.dev/xmlns/libvirt/1"
"""Namespace of the <metadata> element this provider owns in each domain and network."""

POOL_UUID_NAMESPACE = UUID("6f1d2b0e-5c1a-4d0e-9a53-70756c756d69")
"""UUIDv5 namespace of the pools this provider creates (see `pool_uuid`)."""

_M = str(etree.QName(XMLNS, "x"))[:-1]  # "{namespace}", the Clark-notation prefix
SEED_SUFFIX = "-cidata.iso"
_DEV_PREFIX = {"virtio": "vd", "sata": "sd", "scsi": "sd"}


def disk_alias(name: str) -> str:
    return f"ua-disk-{name}"


def nic_alias(name: str) -> str:
    return f"ua-nic-{name}"


def usb_alias(name: str) -> str:
    return f"ua-usb-{name}"


def seed_volume_name(vm_name: str) -> str:
    return vm_name + SEED_SUFFIX


def serial_log_path(vm_name: str) -> str:
    """Where the serial console is logged on the hypervisor host."""
    return f"/var/log/libvirt/qemu/{vm_name}-serial.log"


def _dev_name(prefix: str, index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return prefix + letters


def kib(quantity: str) -> str:
    return str(quantity_bytes(quantity) // 1024)


def _xml(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode", pretty_print=True)


@dataclass(frozen=True)
class SeedPlacement:
    """Where the cloud-init seed volume lives (decided by the backend)."""

    pool: str
    volume: str


def render_domain(
    args: VirtualMachineArgs,
    *,
    seed: SeedPlacement | None = None,
    uuid: str | None = None,
    owner: str | None = None,
) -> str:
    """The persistent domain definition of a VM; `uuid` when redefining an existing domain in place;
    `owner` (`project/stack::resource`) is the ownership marker in the provider's metadata."""
    domain = E.domain(type="kvm" if args.accelerator == "kvm" else "qemu")
    domain.append(E.name(args.name))
    if uuid is not None:
        domain.append(E.uuid(uuid))
    if args.description is not None:
        domain.append(E.description(args.description))
    domain.append(_metadata(args, owner))
    max_mem = args.max_memory or args.memory
    domain.append(E.memory(kib(max_mem), unit="KiB"))
    domain.append(E.currentMemory(kib(args.memory), unit="KiB"))
    vcpu = E.vcpu(str(args.cpu.max_vcpus), placement="static")
    if args.cpu.max_vcpus != args.cpu.vcpus:
        vcpu.set("current", str(args.cpu.vcpus))
    domain.append(vcpu)
    domain.append(_os(args))
    features = E.features(E.acpi(), E.apic())
    if args.smm is not None:
        features.append(E.smm(state="on" if args.smm else "off"))
    domain.append(features)
    domain.append(_cpu(args))
    domain.append(E.on_poweroff("destroy"))
    domain.append(E.on_reboot("restart"))
    domain.append(E.on_crash("destroy"))
    domain.append(_devices(args, seed))
    return _xml(domain)


def _metadata(args: VirtualMachineArgs, owner: str | None) -> etree._Element:
    meta = etree.Element(_M + "vm", nsmap={"pkv": XMLNS})
    if owner is not None:
        etree.SubElement(meta, _M + "owner").text = owner
    labels = etree.SubElement(meta, _M + "labels")
    for key, value in sorted(args.labels.items()):
        etree.SubElement(labels, _M + "label", key=key, value=value)
    return E.metadata(meta)


def _os(args: VirtualMachineArgs) -> etree._Element:
    type_ = E.type("hvm", arch="x86_64")
    if args.machine:
        type_.set("machine", args.machine)
    os_ = E.os(type_)
    if args.firmware == "uefi":
        os_.set("firmware", "efi")
        # the feature explicit either way, so firmware autoselection never picks a secure-boot build
        # unasked; libvirt refuses loader secure='no' next to autoselection (9.0), so only 'yes'
        secure = "yes" if args.secure_boot else "no"
        os_.append(E.firmware(E.feature(enabled=secure, name="secure-boot")))
        if args.secure_boot:
            os_.append(E.loader(secure="yes"))
    if args.kernel_boot and args.kernel_boot.kernel:
        os_.append(E.kernel(args.kernel_boot.kernel))
        if args.kernel_boot.initrd:
            os_.append(E.initrd(args.kernel_boot.initrd))
        if args.kernel_boot.cmdline:
            os_.append(E.cmdline(args.kernel_boot.cmdline))
    return os_


def _cpu(args: VirtualMachineArgs) -> etree._Element:
    model = args.cpu.model
    if model in ("host-passthrough", "host-model"):
        cpu = E.cpu(mode=model)
    elif model:
        cpu = E.cpu(E.model(model, fallback="forbid"), mode="custom", match="exact")
    else:
        cpu = E.cpu()
    cpu.append(
        E.topology(
            sockets=str(args.cpu.max_sockets or args.cpu.sockets),
            dies="1",
            cores=str(args.cpu.cores),
            threads=str(args.cpu.threads),
        )
    )
    return cpu


def _devices(args: VirtualMachineArgs, seed: SeedPlacement | None) -> etree._Element:
    devices = E.devices()
    used: dict[str, int] = {}

    def next_dev(bus: str) -> str:
        prefix = _DEV_PREFIX[bus]
        index = used.get(prefix, 0)
        used[prefix] = index + 1
        return _dev_name(prefix, index)

    for disk in args.disks:
        device = "cdrom" if disk.cdrom else "disk"
        if disk.volume is not None:
            # Without an explicit driver type QEMU opens the volume as raw (no probing, by design).
            el = E.disk(E.driver(name="qemu", type=disk.volume.image_format), type="volume", device=device)
            el.append(E.source(pool=disk.volume.pool, volume=disk.volume.volume))
        else:
            assert disk.path is not None  # the model allows no other source on libvirt
            el = E.disk(E.driver(name="qemu", type="raw"), type="file", device=device)
            el.append(E.source(file=disk.path))
        el.append(E.target(dev=next_dev(disk.bus), bus=disk.bus))
        if disk.readonly or disk.cdrom:
            el.append(E.readonly())
        if disk.boot_order is not None:
            el.append(E.boot(order=str(disk.boot_order)))
        el.append(E.alias(name=disk_alias(disk.name)))
        devices.append(el)
    if seed is not None:
        el = E.disk(E.driver(name="qemu", type="raw"), type="volume", device="cdrom")
        el.append(E.source(pool=seed.pool, volume=seed.volume))
        el.append(E.target(dev=next_dev("sata"), bus="sata"))
        el.append(E.readonly())
        el.append(E.alias(name=disk_alias("cidata")))
        devices.append(el)
    for nic in args.interfaces:
        devices.append(render_interface(nic.name, nic.network or "", nic.model, nic.mac, nic.vlan))
    for usb in args.usb_host_devices:
        assert usb.vendor is not None and usb.product is not None  # the model requires both on libvirt
        source = E.source(E.vendor(id=usb.vendor), E.product(id=usb.product))
        devices.append(E.hostdev(source, E.alias(name=usb_alias(usb.name)), mode="subsystem", type="usb"))
    if args.serial_console:
        devices.append(
            E.serial(E.source(path=serial_log_path(args.name), append="on"), E.target(port="0"), type="file")
        )
    if args.vnc:
        devices.append(E.graphics(type="vnc", port="-1", autoport="yes", listen="127.0.0.1"))
    if args.guest_agent:
        devices.append(E.channel(E.target(type="virtio", name="org.qemu.guest_agent.0"), type="unix"))
    if args.rng:
        devices.append(E.rng(E.backend("/dev/urandom", model="random"), model="virtio"))
    return devices


def render_interface(name: str, network: str, model: str, mac: str | None, vlan: int | None) -> etree._Element:
    """One NIC; also used alone for live attach/detach/update."""
    el = E.interface(E.source(network=network), type="network")
    if mac:
        el.append(E.mac(address=mac))
    el.append(E.model(type=model))
    if vlan is not None:
        el.append(E.vlan(E.tag(id=str(vlan))))
    el.append(E.alias(name=nic_alias(name)))
    return el


def render_device_xml(domain_xml: str, alias: str) -> str | None:
    """The XML of the device carrying `alias` in a rendered domain (for hot plug)."""
    devices = etree.fromstring(domain_xml.encode()).find("devices")
    for el in devices if devices is not None else []:
        a = el.find("alias")
        if a is not None and a.get("name") == alias:
            return _xml(el)
    return None


def render_interface_update(device_xml: str, live_device_xml: str) -> str:
    """The NIC `device_xml` for a live update, keeping the MAC libvirt assigned to the running
    device (`live_device_xml`) when the user set none: the MAC identifies the device."""
    dev = etree.fromstring(device_xml.encode())
    if dev.find("mac") is None:
        live = etree.fromstring(live_device_xml.encode()).find("mac")
        if live is not None:
            dev.insert(1, live)
    return etree.tostring(dev, encoding="unicode")


def render_labels_metadata(args: VirtualMachineArgs, *, owner: str | None) -> str:
    """The provider's `<pkv:vm>` metadata element alone (owner marker and labels), for a live edit."""
    return etree.tostring(_metadata(args, owner)[0], encoding="unicode")


# virDomainMigrateFlags and the typed-parameter names of libvirt-domain.h: stable ABI values, written
# out so this module needs no libvirt import (tests/unit/test_migration_model.py compares them with
# the bindings).
MIGRATE_LIVE = 1
MIGRATE_PEER2PEER = 2
MIGRATE_TUNNELLED = 4
MIGRATE_PERSIST_DEST = 8
MIGRATE_UNDEFINE_SOURCE = 16
MIGRATE_NON_SHARED_DISK = 64
MIGRATE_NON_SHARED_INC = 128
MIGRATE_AUTO_CONVERGE = 8192
MIGRATE_POSTCOPY = 32768
MIGRATE_PARAM_URI = "migrate_uri"
MIGRATE_PARAM_BANDWIDTH = "bandwidth"


def render_migration_flags(args: MigrationArgs) -> int:
    """The virDomainMigrateFlags of a Migration."""
    flags = 0
    for enabled, flag in (
        (args.live, MIGRATE_LIVE),
        (args.peer_to_peer, MIGRATE_PEER2PEER),
        (args.tunnelled, MIGRATE_TUNNELLED),
        (args.persistent, MIGRATE_PERSIST_DEST),
        (args.undefine_source, MIGRATE_UNDEFINE_SOURCE),
        (args.auto_converge, MIGRATE_AUTO_CONVERGE),
        (args.post_copy, MIGRATE_POSTCOPY),
        (args.copy_storage == "all", MIGRATE_NON_SHARED_DISK),
        (args.copy_storage == "incremental", MIGRATE_NON_SHARED_INC),
    ):
        if enabled:
            flags |= flag
    return flags


def render_migration_params(args: MigrationArgs) -> dict[str, Any]:
    """The typed parameters of `migrate3`/`migrateToURI3` for a Migration."""
    params: dict[str, Any] = {}
    if args.migrate_uri is not None:
        params[MIGRATE_PARAM_URI] = args.migrate_uri
    if args.bandwidth_mib_s is not None:
        params[MIGRATE_PARAM_BANDWIDTH] = args.bandwidth_mib_s
    return params


def render_network(args: BridgeArgs, *, owner: str | None = None, uuid: str | None = None) -> str:
    """A libvirt network for a Bridge; `uuid` when redefining an existing network in place;
    `owner` is the ownership marker in its <metadata> (network metadata is kept by libvirt
    since 2.1; only its *API* setter is 9.7+)."""
    net = E.network(E.name(args.name))
    if uuid is not None:
        net.append(E.uuid(uuid))
    if owner is not None:
        meta = etree.Element(_M + "network", nsmap={"pkv": XMLNS})
        etree.SubElement(meta, _M + "owner").text = owner
        net.append(E.metadata(meta))
    if args.mode == "bridge":
        net.append(E.forward(mode="bridge"))
        net.append(E.bridge(name=args.bridge or ""))
    else:
        if args.mode in ("nat", "route", "open"):
            net.append(E.forward(mode=args.mode))
        bridge = E.bridge(stp="on" if args.stp else "off", delay="0")
        if args.bridge:
            bridge.set("name", args.bridge)
        net.append(bridge)
    if args.mtu:
        net.append(E.mtu(size=str(args.mtu)))
    if args.ipv4 is not None:
        iface = args.ipv4.interface
        ip = E.ip(address=str(iface.ip), prefix=str(iface.network.prefixlen))
        if args.ipv4.dhcp:
            start, end = args.ipv4.dhcp_range()
            ip.append(E.dhcp(E.range(start=start, end=end)))
        net.append(ip)
    if args.vlan is not None:
        net.append(E.portgroup(E.vlan(E.tag(id=str(args.vlan))), name="default", default="yes"))
    return _xml(net)


def pool_uuid(name: str) -> str:
    """The UUID of a pool this provider creates: a UUIDv5 of its name.

    Pools have no <metadata>; a UUID chosen by us is recorded by the very
    `storagePoolDefineXML` that creates the pool, so "created by pulumi-kubevirt"
    can never be lost between two calls (a crash cannot leave an unmarked pool).
    """
    return str(uuid5(POOL_UUID_NAMESPACE, name))


def render_pool(name: str, path: str) -> str:
    """A directory storage pool, marked as created by this provider (`pool_uuid`)."""
    return _xml(E.pool(E.name(name), E.uuid(pool_uuid(name)), E.target(E.path(path)), type="dir"))


def render_record_volume(name: str, size: int) -> str:
    """An ownership record volume (see libvirt/ledger.py): raw, `size` bytes."""
    return render_seed_volume(name, size)


def render_volume(args: DiskArgs, *, capacity: int, backing: tuple[str, str] | None = None) -> str:
    """A storage volume; `backing` is (path, format) of a backing file for overlays."""
    vol = E.volume(E.name(volume_name(args)))
    vol.append(E.capacity(str(capacity), unit="bytes"))
    vol.append(E.target(E.format(type=args.format)))
    if backing is not None:
        vol.append(E.backingStore(E.path(backing[0]), E.format(type=backing[1])))
    return _xml(vol)


def render_seed_volume(name: str, size: int) -> str:
    return _xml(E.volume(E.name(name), E.capacity(str(size), unit="bytes"), E.target(E.format(type="raw"))))


def volume_name(args: DiskArgs) -> str:
    """Volume file name in the pool: the disk name plus the format's extension."""
    return f"{args.name}.{args.format}"


def size_bytes(size: str | None) -> int | None:
    return None if size is None else int(parse_quantity(size))


def render_seed(
    *, instance_id: str, hostname: str, user_data: str | None, network_data: str | None, ssh_authorized_keys: list[str]
) -> bytes:
    """A NoCloud seed ISO (volume label `cidata`) as bytes."""
    meta: dict[str, object] = {"instance-id": instance_id, "local-hostname": hostname}
    if ssh_authorized_keys:
        meta["public-keys"] = list(ssh_authorized_keys)
    files = {
        "meta-data": yaml.safe_dump(meta, sort_keys=True).encode(),
        "user-data": (user_data or "#cloud-config\n{}\n").encode(),
    }
    if network_data:
        files["network-config"] = network_data.encode()
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident="cidata")
    for index, (name, data) in enumerate(sorted(files.items())):
        iso.add_fp(io.BytesIO(data), len(data), f"/FILE{index};1", rr_name=name, joliet_path=f"/{name}")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


# virDomainSnapshotCreateFlags / virDomainSnapshotRevertFlags (this module imports no libvirt; checked
# against the binding in tests/unit/test_new_kinds.py)
SNAPSHOT_CREATE_DISK_ONLY = 16
SNAPSHOT_CREATE_ATOMIC = 128
SNAPSHOT_REVERT_RUNNING = 1
SNAPSHOT_REVERT_PAUSED = 2

SNAPSHOT_OWNER_PREFIX = "pulumi-kubevirt.dev/owner="
"""First line of the description of a libvirt snapshot this provider takes (snapshots have no
<metadata> element): the owner marker; the user's description follows on the next lines."""


def render_snapshot(args: SnapshotArgs, *, owner: str) -> str:
    """The <domainsnapshot> of a Snapshot: its name and the description carrying the owner marker.
    What is captured (memory or disks only) is the create flags' business: see `snapshot_flags`."""
    description = SNAPSHOT_OWNER_PREFIX + owner
    if args.description is not None:
        description += "\n" + args.description
    root = E.domainsnapshot(E.name(args.name), E.description(description))
    if args.disk_only:
        root.append(E.memory(snapshot="no"))
    return _xml(root)


def snapshot_flags(args: SnapshotArgs) -> int:
    """snapshotCreateXML flags: all or nothing (ATOMIC); disk-only as external overlays when asked."""
    flags = SNAPSHOT_CREATE_ATOMIC
    if args.disk_only:
        flags |= SNAPSHOT_CREATE_DISK_ONLY
    return flags


def revert_flags(args: SnapshotRestoreArgs) -> int:
    """revertToSnapshot flags: the guest's state afterwards (default: the one the snapshot recorded)."""
    return {
        "snapshot": 0,
        "running": SNAPSHOT_REVERT_RUNNING,
        "paused": SNAPSHOT_REVERT_PAUSED,
    }[args.run_after]


def render_disk_only_snapshot(args: SnapshotArgs, *, owner: str, overlays: dict[str, str | None]) -> str:
    """The <domainsnapshot> of a disk-only Snapshot: every disk by target, with its overlay file
    (`overlays[dev]`), or `snapshot='no'` for a disk that takes none (read-only, CD-ROM)."""
    root = etree.fromstring(render_snapshot(args, owner=owner))
    disks = E.disks()
    for dev, overlay in overlays.items():
        if overlay is None:
            disks.append(E.disk(name=dev, snapshot="no"))
        else:
            disks.append(E.disk(E.source(file=overlay), name=dev, snapshot="external", type="file"))
    root.append(disks)
    return _xml(root)


def overlay_path(disk_path: str, snapshot: str) -> str:
    """Where a disk-only snapshot puts a disk's overlay: next to the disk (what libvirt picks itself)."""
    return f"{disk_path}.{snapshot}"
