"""libvirt XML -> the model's shape, preserving user intent.

Pure. The result has the same shape as `dump(VirtualMachineArgs)` so plan.py can
diff it against the inputs. Optional fields the user left unset are not read
back (libvirt fills machine types, MACs, CPU defaults: reading those would be a
perpetual diff); fields the user set are always read back, so real drift shows.
Fields libvirt does not hold (target, timeouts, restart policy, cloud-init
content) are carried over from the intent.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ..models import BridgeArgs, VirtualMachineArgs, quantity_bytes
from ..models.common import dump
from .render import SNAPSHOT_OWNER_PREFIX, XMLNS, disk_alias, nic_alias, usb_alias

_MACHINE_FAMILIES = {"pc": "pc-i440fx-", "q35": "pc-q35-"}


def _root(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode())


def _quantity(observed_bytes: int, intent: str | None) -> str:
    """The user's spelling when the value is unchanged, else an exact KiB quantity."""
    if intent is not None and quantity_bytes(intent) == observed_bytes:
        return intent
    if observed_bytes % 2**30 == 0:
        return f"{observed_bytes // 2**30}Gi"
    if observed_bytes % 2**20 == 0:
        return f"{observed_bytes // 2**20}Mi"
    return f"{observed_bytes // 1024}Ki"


def _kib_bytes(el: etree._Element | None) -> int | None:
    if el is None or el.text is None:
        return None
    unit = el.get("unit", "KiB")
    scale = {"b": 1, "bytes": 1, "KiB": 1024, "k": 1024, "MiB": 2**20, "M": 2**20, "GiB": 2**30, "G": 2**30}
    return int(el.text) * scale.get(unit, 1024)


def parse_domain(xml: str, intent: VirtualMachineArgs) -> dict[str, Any]:
    """The domain as model data, in the shape of `dump(intent)`."""
    root = _root(xml)
    out = dump(intent)
    out["name"] = root.findtext("name")
    out["accelerator"] = "kvm" if root.get("type") == "kvm" else "tcg"
    desc = root.findtext("description")
    if desc is not None or intent.description is not None:
        out["description"] = desc
    if out.get("description") is None:
        out.pop("description", None)
    out["labels"] = {
        el.get("key"): el.get("value")
        for el in root.iterfind(f"metadata/{{{XMLNS}}}vm/{{{XMLNS}}}labels/{{{XMLNS}}}label")
    }

    current = _kib_bytes(root.find("currentMemory")) or _kib_bytes(root.find("memory")) or 0
    maximum = _kib_bytes(root.find("memory")) or current
    out["memory"] = _quantity(current, intent.memory)
    if intent.max_memory is not None or maximum != current:
        out["max_memory"] = _quantity(maximum, intent.max_memory or intent.memory)

    out["cpu"] = _parse_cpu(root, intent)
    machine = root.find("os/type")
    observed_machine = machine.get("machine") if machine is not None else None
    if intent.machine is not None:
        family = _MACHINE_FAMILIES.get(intent.machine)
        same = observed_machine == intent.machine or (
            family is not None and observed_machine is not None and observed_machine.startswith(family)
        )
        out["machine"] = intent.machine if same else observed_machine
    os_ = root.find("os")
    efi = os_ is not None and (os_.get("firmware") == "efi" or os_.find("loader") is not None)
    out["firmware"] = "uefi" if efi else "bios"
    out["secure_boot"] = (
        root.find("os/loader[@secure='yes']") is not None
        or root.find("os/firmware/feature[@name='secure-boot'][@enabled='yes']") is not None
    )
    if intent.smm is not None:
        # read only when set: libvirt turns SMM on by itself for firmware that needs it
        smm = root.find("features/smm")
        out["smm"] = smm.get("state", "on") == "on" if smm is not None else None
    kernel = root.findtext("os/kernel")
    if kernel is not None:
        kb: dict[str, str] = {"kernel": kernel}
        for f in ("initrd", "cmdline"):
            value = root.findtext(f"os/{f}")
            if value:
                kb[f] = value
        out["kernel_boot"] = kb
    else:
        out.pop("kernel_boot", None)

    devices = root.find("devices")
    out["disks"] = _parse_disks(devices, intent)
    out["interfaces"] = _parse_interfaces(devices, intent)
    out["usb_host_devices"] = _parse_usb(devices, intent)
    out["serial_console"] = devices is not None and devices.find("serial[@type='file']") is not None
    vnc = devices is not None and devices.find("graphics[@type='vnc']") is not None
    if intent.vnc is not None or vnc:
        out["vnc"] = vnc
    else:
        out.pop("vnc", None)
    out["guest_agent"] = (
        devices is not None and devices.find("channel/target[@name='org.qemu.guest_agent.0']") is not None
    )
    out["rng"] = devices is not None and devices.find("rng[@model='virtio']") is not None
    return out


def _parse_cpu(root: etree._Element, intent: VirtualMachineArgs) -> dict[str, Any]:
    vcpu = root.find("vcpu")
    max_vcpus = int(vcpu.text or "1") if vcpu is not None else 1
    current = int(vcpu.get("current", max_vcpus)) if vcpu is not None else 1
    topo = root.find("cpu/topology")
    cores = int(topo.get("cores", "1")) if topo is not None else 1
    threads = int(topo.get("threads", "1")) if topo is not None else 1
    per_socket = cores * threads
    cpu: dict[str, Any] = {"sockets": max(1, current // per_socket), "cores": cores, "threads": threads}
    max_sockets = max(1, max_vcpus // per_socket)
    if intent.cpu.max_sockets is not None or max_sockets != cpu["sockets"]:
        cpu["max_sockets"] = max_sockets
    if intent.cpu.model is not None:
        cpu_el = root.find("cpu")
        mode = cpu_el.get("mode", "custom") if cpu_el is not None else "custom"
        cpu["model"] = mode if mode in ("host-passthrough", "host-model") else root.findtext("cpu/model")
    return cpu


def _by_alias(devices: etree._Element | None, tag: str, prefix: str) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    if devices is None:
        return found
    for el in devices.iterfind(tag):
        alias = el.find("alias")
        name = alias.get("name", "") if alias is not None else ""
        if name.startswith(prefix):
            found[name[len(prefix) :]] = el
    return found


def _parse_disks(devices: etree._Element | None, intent: VirtualMachineArgs) -> list[dict[str, Any]]:
    disks = _by_alias(devices, "disk", disk_alias(""))
    disks.pop("cidata", None)
    wanted = {d.name: d for d in intent.disks}
    order = [n for n in wanted if n in disks] + [n for n in disks if n not in wanted]
    out: list[dict[str, Any]] = []
    for name in order:
        el = disks[name]
        disk: dict[str, Any] = {"name": name}
        source = el.find("source")
        if el.get("type") == "volume" and source is not None:
            disk["volume"] = {"pool": source.get("pool"), "volume": source.get("volume")}
            want = wanted.get(name)
            if want is not None and want.volume is not None and want.volume.format is not None:
                disk["volume"]["format"] = _attr(el.find("driver"), "type", "raw")
        elif source is not None:
            disk["path"] = source.get("file") or source.get("dev")
        target = el.find("target")
        disk["bus"] = target.get("bus", "virtio") if target is not None else "virtio"
        disk["cdrom"] = el.get("device") == "cdrom"
        # A cdrom is read-only by nature: only the user's own flag is meaningful there.
        disk["readonly"] = _ro(wanted.get(name)) if disk["cdrom"] else el.find("readonly") is not None
        boot = el.find("boot")
        if boot is not None:
            disk["boot_order"] = int(boot.get("order", "1"))
        out.append(disk)
    return out


def _attr(el: etree._Element | None, name: str, default: str) -> str:
    return el.get(name, default) if el is not None else default


def _ro(disk: Any) -> bool:
    return bool(disk is not None and disk.readonly)


def _parse_interfaces(devices: etree._Element | None, intent: VirtualMachineArgs) -> list[dict[str, Any]]:
    nics = _by_alias(devices, "interface", nic_alias(""))
    wanted = {i.name: i for i in intent.interfaces}
    order = [n for n in wanted if n in nics] + [n for n in nics if n not in wanted]
    out: list[dict[str, Any]] = []
    for name in order:
        el = nics[name]
        source = el.find("source")
        nic: dict[str, Any] = {
            "name": name,
            "network": source.get("network") if source is not None else None,
            "pod": False,
            "model": _attr(el.find("model"), "type", "virtio"),
            "ports": [],
        }
        want = wanted.get(name)
        mac = observed_mac(el)
        if want is not None and want.mac is not None:
            nic["mac"] = mac
        tag = el.find("vlan/tag")
        if tag is not None:
            nic["vlan"] = int(tag.get("id", "0"))
        out.append(nic)
    return out


def _parse_usb(devices: etree._Element | None, intent: VirtualMachineArgs) -> list[dict[str, Any]]:
    found = _by_alias(devices, "hostdev[@type='usb']", usb_alias(""))
    wanted = [u.name for u in intent.usb_host_devices]
    order = [n for n in wanted if n in found] + [n for n in found if n not in wanted]
    return [
        {
            "name": name,
            "vendor": _usb_id(found[name].find("source/vendor")),
            "product": _usb_id(found[name].find("source/product")),
        }
        for name in order
    ]


def _usb_id(el: etree._Element | None) -> str | None:
    text = el.get("id") if el is not None else None
    return "0x" + text.lower().removeprefix("0x").zfill(4) if text else None


def observed_mac(el: etree._Element) -> str | None:
    mac = el.find("mac")
    return mac.get("address", "").lower() if mac is not None else None


def parse_macs(xml: str) -> dict[str, str]:
    """MAC per interface name (computed output)."""
    devices = _root(xml).find("devices")
    return {
        name: mac for name, el in _by_alias(devices, "interface", nic_alias("")).items() if (mac := observed_mac(el))
    }


def parse_network(xml: str, intent: BridgeArgs) -> dict[str, Any]:
    """A libvirt network as BridgeArgs data."""
    root = _root(xml)
    out = dump(intent)
    forward = root.find("forward")
    mode = forward.get("mode", "nat") if forward is not None else "isolated"
    out["mode"] = mode
    bridge = root.find("bridge")
    if bridge is not None and (intent.bridge is not None or mode == "bridge"):
        out["bridge"] = bridge.get("name")
    if mode != "bridge":
        out["stp"] = bridge is not None and bridge.get("stp", "on") == "on"
    mtu = root.find("mtu")
    if mtu is not None or intent.mtu is not None:
        out["mtu"] = int(mtu.get("size", "0")) if mtu is not None else None
    ip = root.find("ip")
    if ip is not None and intent.ipv4 is not None:
        ipv4: dict[str, Any] = {"address": f"{ip.get('address')}/{ip.get('prefix') or _prefix(ip)}"}
        dhcp_range = ip.find("dhcp/range")
        ipv4["dhcp"] = dhcp_range is not None
        if dhcp_range is not None:
            if intent.ipv4.dhcp_start is not None or dhcp_range.get("start") != intent.ipv4.dhcp_range()[0]:
                ipv4["dhcp_start"] = dhcp_range.get("start")
            if intent.ipv4.dhcp_end is not None or dhcp_range.get("end") != intent.ipv4.dhcp_range()[1]:
                ipv4["dhcp_end"] = dhcp_range.get("end")
        out["ipv4"] = ipv4
    elif ip is None:
        out.pop("ipv4", None)
    tag = root.find("portgroup/vlan/tag")
    if tag is not None:
        out["vlan"] = int(tag.get("id", "0"))
    else:
        out.pop("vlan", None)
    return {k: v for k, v in out.items() if v is not None}


def _prefix(ip: etree._Element) -> str:
    netmask = ip.get("netmask")
    if not netmask:
        return "24"
    return str(sum(bin(int(octet)).count("1") for octet in netmask.split(".")))


def network_bridge_name(xml: str) -> str | None:
    bridge = _root(xml).find("bridge")
    return bridge.get("name") if bridge is not None else None


def parse_volume_format(xml: str) -> str:
    """A storage volume's format (`target/format type`), raw when the XML names none."""
    fmt = _root(xml).find("target/format")
    return fmt.get("type", "raw") if fmt is not None else "raw"


def parse_owner(xml: str) -> str | None:
    """The ownership marker (`project/stack::resource`) in a domain's or network's
    provider metadata, or None when it carries none (an object this provider did not create)."""
    root = _root(xml)
    for kind in ("vm", "network"):
        text = root.findtext(f"metadata/{{{XMLNS}}}{kind}/{{{XMLNS}}}owner")
        if text:
            return text
    return None


def parse_snapshot(xml: str) -> tuple[str | None, str | None, str | None, int | None]:
    """(owner marker, user description, recorded state, creation time in seconds) of a <domainsnapshot>."""
    root = _root(xml)
    text = root.findtext("description")
    owner: str | None = None
    description = text
    if text is not None and text.startswith(SNAPSHOT_OWNER_PREFIX):
        first, _, rest = text.partition("\n")
        owner = first.removeprefix(SNAPSHOT_OWNER_PREFIX) or None
        description = rest or None
    created = root.findtext("creationTime")
    return owner, description, root.findtext("state"), int(created) if created and created.isdigit() else None


def parse_snapshot_disks(domain_xml: str) -> list[tuple[str, str | None, tuple[str, str] | None, bool]]:
    """The disks of a domain as a disk-only snapshot sees them: (target dev, source file or None,
    (pool, volume) or None, whether it takes an overlay: writable disks, not CD-ROMs)."""
    out: list[tuple[str, str | None, tuple[str, str] | None, bool]] = []
    for el in _root(domain_xml).iterfind("devices/disk"):
        target = el.find("target")
        if target is None or not target.get("dev"):
            continue
        source = el.find("source")
        file = source.get("file") if source is not None else None
        pool_volume = (
            (str(source.get("pool")), str(source.get("volume")))
            if source is not None and source.get("pool") and source.get("volume")
            else None
        )
        writable = el.get("device", "disk") == "disk" and el.find("readonly") is None
        out.append((str(target.get("dev")), file, pool_volume, writable))
    return out


def parse_disk_files(domain_xml: str) -> set[str]:
    """Every file a domain's disks use: each disk's source and the files of its backing chain
    (`<backingStore>` in the live XML). An overlay in this set is in use and must stay."""
    return {
        str(source.get("file"))
        for disk in _root(domain_xml).iterfind("devices/disk")
        for source in disk.iter("source")
        if source.get("file")
    }


def parse_backing_path(volume_xml: str) -> str | None:
    """The file a storage volume is layered on (`<backingStore><path>`), None for a standalone one."""
    path = _root(volume_xml).findtext("backingStore/path")
    return path or None


def parse_disk_only_owner(snapshot_xml: str) -> str | None:
    """The owner marker of a disk-only (external) snapshot; None for an internal one or an unmarked one."""
    owner, _description, state, _created = parse_snapshot(snapshot_xml)
    return owner if state == "disk-snapshot" else None
