"""Live KubeVirt/CDI/nmstate/Multus objects -> the model's shape, preserving intent. Pure.

Only what render.py writes is read back, so status, managedFields, server
defaults and fields webhooks add (that the user did not set) never show up as
drift. Fields Kubernetes does not hold (target, timeouts, restart policy, the
cloud-init content behind a Secret) are carried over from the intent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..models import BridgeArgs, DiskArgs, VirtualMachineArgs, quantity_bytes
from ..models.common import dump
from ..models.instancetype import InstancetypeArgs, PreferenceArgs
from ..outputs import (
    BridgeOutputs,
    DiskOutputs,
    InstancetypeOutputs,
    MigrationOutputs,
    RestoreOutputs,
    SnapshotOutputs,
    VmOutputs,
)
from ..ownership import Owner
from .render import (
    MANAGED_BY,
    OWNER_KEYS,
    OWNER_RESOURCE,
    OWNER_STACK,
    PREFERENCE_FIRMWARE,
    SNAPSHOT_DESCRIPTION,
    dv_template_name,
)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _quantity(observed: Any, intent: str | None) -> Any:
    """The user's spelling when the value is the same amount (the apiserver may reformat)."""
    if observed is None or intent is None:
        return observed
    try:
        return intent if quantity_bytes(str(observed)) == quantity_bytes(intent) else str(observed)
    except ValueError:
        return str(observed)


def _labels(meta: dict[str, Any]) -> dict[str, str]:
    labels = dict(meta.get("labels") or {})
    for key in MANAGED_BY:
        labels.pop(key, None)
    return labels


def parse_owner(obj: dict[str, Any] | None) -> Owner | None:
    """The owner recorded on a live object, or None (absent, or not created by this provider)."""
    annotations = _get(obj, "metadata", "annotations")
    if not isinstance(annotations, dict):
        return None
    stack, resource = annotations.get(OWNER_STACK), annotations.get(OWNER_RESOURCE)
    if not isinstance(stack, str) or not isinstance(resource, str) or not stack or not resource:
        return None
    return Owner(stack, resource)


def owned(obj: dict[str, Any] | None, owner: Owner) -> bool:
    """Whether a live object carries exactly this owner's marker."""
    return obj is not None and parse_owner(obj) == owner


def parse_vm(obj: dict[str, Any], intent: VirtualMachineArgs) -> dict[str, Any]:
    """A VirtualMachine as model data, in the shape of `dump(intent)`."""
    out = dump(intent)
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    tpl = _get(spec, "template", "spec") or {}
    domain = tpl.get("domain") or {}
    out["name"] = meta.get("name")
    out["labels"] = _labels(meta)
    # virt-controller stamps every VM with kubevirt.io/ annotations (e.g.
    # kubevirt.io/latest-observed-api-version); they are KubeVirt's, never the user's.
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k not in OWNER_KEYS and not k.startswith("kubevirt.io/")
    }
    description = annotations.pop("pulumi-kubevirt.dev/description", None)
    if description is not None:
        out["description"] = description
    else:
        out.pop("description", None)

    strategy = spec.get("runStrategy")
    opts: dict[str, Any] | None = out.get("kubevirt")
    if opts is not None and intent.kubevirt is not None and intent.kubevirt.run_strategy is not None:
        opts["run_strategy"] = strategy
    elif strategy == "Halted":
        out["run_state"] = "stopped"
    elif intent.run_state == "stopped":
        out["run_state"] = "running"
    # "paused" is a VMI condition, merged by the reconciler.

    if intent.kubevirt is None or intent.kubevirt.instancetype is None:
        memory = domain.get("memory") or {}
        out["memory"] = _quantity(memory.get("guest"), intent.memory)
        if intent.max_memory is not None or memory.get("maxGuest") is not None:
            out["max_memory"] = _quantity(memory.get("maxGuest"), intent.max_memory)
        cpu = domain.get("cpu") or {}
        parsed_cpu: dict[str, Any] = {k: cpu.get(k, 1) for k in ("sockets", "cores", "threads")}
        if intent.cpu.max_sockets is not None or cpu.get("maxSockets") is not None:
            parsed_cpu["max_sockets"] = cpu.get("maxSockets")
        if intent.cpu.model is not None:
            parsed_cpu["model"] = cpu.get("model")
        out["cpu"] = parsed_cpu
    if intent.machine is not None:
        out["machine"] = _get(domain, "machine", "type")
    efi = _get(domain, "firmware", "bootloader", "efi")
    out["firmware"] = "uefi" if efi is not None else "bios"
    out["secure_boot"] = isinstance(efi, dict) and efi.get("secureBoot", True) is not False
    kernel_boot = _get(domain, "firmware", "kernelBoot")
    if isinstance(kernel_boot, dict):
        container = kernel_boot.get("container") or {}
        parsed_kb = {
            "container_image": container.get("image"),
            "kernel": container.get("kernelPath"),
            "initrd": container.get("initrdPath"),
            "cmdline": kernel_boot.get("kernelArgs"),
        }
        out["kernel_boot"] = {k: v for k, v in parsed_kb.items() if v}
    else:
        out.pop("kernel_boot", None)
    if intent.smm is not None:
        smm = _get(domain, "features", "smm")
        out["smm"] = smm.get("enabled", True) is not False if isinstance(smm, dict) else None

    devices = domain.get("devices") or {}
    out["serial_console"] = devices.get("autoattachSerialConsole", True) is not False
    if intent.vnc is not None:
        out["vnc"] = devices.get("autoattachGraphicsDevice") is not False  # absent: KubeVirt's default, attached
    else:
        # Unset keeps the VM's graphics device as it is (render_vm sends the VM's own value again):
        # a VM made by a version that rendered autoattachGraphicsDevice false is no drift from unset.
        out.pop("vnc", None)
    out["rng"] = devices.get("rng") is not None
    out["usb_host_devices"] = [
        {"name": h.get("name"), "resource_name": h.get("deviceName")} for h in devices.get("hostDevices") or []
    ]
    out["disks"] = _disks(devices.get("disks") or [], tpl.get("volumes") or [], spec, intent)
    out["interfaces"] = _interfaces(devices.get("interfaces") or [], tpl.get("networks") or [], intent)
    if opts is not None:
        _options(opts, tpl, spec, annotations, intent)
    return out


def parse_hotplugged(vm: Mapping[str, Any] | None) -> frozenset[str]:
    """The VM's volumes marked hotpluggable (attached by virt-api's addvolume): the ones removevolume
    can detach from the running VM."""
    volumes = _get(vm, "spec", "template", "spec", "volumes") or []
    return frozenset(
        str(v.get("name"))
        for v in volumes
        if _get(v, "dataVolume", "hotpluggable") is True or _get(v, "persistentVolumeClaim", "hotpluggable") is True
    )


def parse_graphics(vm: Mapping[str, Any] | None) -> bool | None:
    """The VM's autoattachGraphicsDevice as it is (None: absent, KubeVirt's default), what render_vm
    keeps while `vnc` is unset."""
    value = _get(vm, "spec", "template", "spec", "domain", "devices", "autoattachGraphicsDevice")
    return value if isinstance(value, bool) else None


def parse_volume_names(vm: Mapping[str, Any] | None) -> frozenset[str]:
    return frozenset(str(v.get("name")) for v in _get(vm, "spec", "template", "spec", "volumes") or [])


def _disks(
    disks: list[dict[str, Any]], volumes: list[dict[str, Any]], spec: dict[str, Any], intent: VirtualMachineArgs
) -> list[dict[str, Any]]:
    by_volume = {v.get("name"): v for v in volumes}
    wanted = {d.name: d for d in intent.disks}
    templates = {_get(t, "metadata", "name"): t for t in spec.get("dataVolumeTemplates") or []}
    out: list[dict[str, Any]] = []
    for entry in disks:
        name = str(entry.get("name"))
        if name == "cloudinitdisk" and intent.cloud_init is not None:
            continue
        disk: dict[str, Any] = {"name": name}
        volume = by_volume.get(name) or {}
        want = wanted.get(name)
        data_volume = _get(volume, "dataVolume", "name")
        if want is not None and want.template is not None and data_volume == dv_template_name(intent.name, name):
            disk["template"] = dump(want.template)
            template = templates.get(data_volume)
            size = _get(template, "spec", "storage", "resources", "requests", "storage")
            disk["template"]["size"] = _quantity(size, want.template.size)
        elif data_volume is not None:
            disk["data_volume"] = data_volume
        elif _get(volume, "persistentVolumeClaim", "claimName") is not None:
            disk["pvc"] = volume["persistentVolumeClaim"]["claimName"]
        elif _get(volume, "containerDisk", "image") is not None:
            disk["container_image"] = volume["containerDisk"]["image"]
        elif _get(volume, "secret", "secretName") is not None:
            disk["secret"] = volume["secret"]["secretName"]
        elif _get(volume, "configMap", "name") is not None:
            disk["config_map"] = volume["configMap"]["name"]
        elif _get(volume, "emptyDisk", "capacity") is not None:
            capacity = volume["emptyDisk"]["capacity"]
            disk["empty_disk"] = _quantity(capacity, want.empty_disk if want is not None else None)
        if "cdrom" in entry:
            disk["cdrom"] = True
            disk["bus"] = _get(entry, "cdrom", "bus") or "sata"
            disk["readonly"] = bool(want.readonly) if want is not None else False
        else:
            disk["cdrom"] = False
            disk["bus"] = _get(entry, "disk", "bus") or "virtio"
            disk["readonly"] = bool(_get(entry, "disk", "readonly"))
        if entry.get("bootOrder") is not None:
            disk["boot_order"] = entry["bootOrder"]
        out.append(disk)
    return out


_BINDINGS = ("bridge", "masquerade", "sriov")


def _interfaces(
    interfaces: list[dict[str, Any]], networks: list[dict[str, Any]], intent: VirtualMachineArgs
) -> list[dict[str, Any]]:
    by_network = {n.get("name"): n for n in networks}
    wanted = {i.name: i for i in intent.interfaces}
    out: list[dict[str, Any]] = []
    for entry in interfaces:
        name = str(entry.get("name"))
        network = by_network.get(name) or {}
        pod = "pod" in network
        nic: dict[str, Any] = {"name": name, "pod": pod, "model": entry.get("model", "virtio")}
        if not pod:
            nic["network"] = _get(network, "multus", "networkName")
        binding = next((b for b in _BINDINGS if b in entry), None)
        want = wanted.get(name)
        if want is not None and want.binding is not None:
            nic["binding"] = binding
        elif binding != ("masquerade" if pod else "bridge"):
            nic["binding"] = binding
        if (want is not None and want.mac is not None) or entry.get("macAddress"):
            nic["mac"] = entry.get("macAddress")
        nic["ports"] = [
            {
                **({"name": p["name"]} if p.get("name") else {}),
                "port": p.get("port"),
                "protocol": p.get("protocol", "TCP"),
            }
            for p in entry.get("ports") or []
        ]
        out.append(nic)
    return out


def _options(
    opts: dict[str, Any],
    tpl: dict[str, Any],
    spec: dict[str, Any],
    annotations: dict[str, str],
    intent: VirtualMachineArgs,
) -> None:
    opts["node_selector"] = dict(tpl.get("nodeSelector") or {})
    opts["annotations"] = annotations
    for key, field in (
        ("evictionStrategy", "eviction_strategy"),
        ("terminationGracePeriodSeconds", "termination_grace_period_seconds"),
        ("hostname", "hostname"),
        ("affinity", "affinity"),
    ):
        if tpl.get(key) is not None:
            opts[field] = tpl[key]
        else:
            opts.pop(field, None)
    tolerations = []
    for t in tpl.get("tolerations") or []:
        item = {k: v for k, v in t.items() if k != "tolerationSeconds"}
        item.setdefault("operator", "Equal")
        if "tolerationSeconds" in t:
            item["toleration_seconds"] = t["tolerationSeconds"]
        tolerations.append(item)
    opts["tolerations"] = tolerations
    for key in ("instancetype", "preference"):
        ref = spec.get(key)
        if ref is None:
            opts.pop(key, None)
        else:
            want = getattr(intent.kubevirt, key) if intent.kubevirt is not None else None
            parsed = {"name": ref.get("name")}
            if (want is not None and want.kind is not None) or ref.get("kind") not in (
                "VirtualMachineClusterInstancetype",
                "VirtualMachineClusterPreference",
            ):
                parsed["kind"] = ref.get("kind")
            opts[key] = parsed


def parse_data_volume(obj: dict[str, Any], intent: DiskArgs) -> dict[str, Any]:
    """A DataVolume as Disk data: only the size can drift (everything else is immutable)."""
    out = dump(intent)
    size = _get(obj, "spec", "storage", "resources", "requests", "storage")
    if size is not None:
        out["size"] = _quantity(size, intent.size)
    return out


def parse_bridge(nncp: dict[str, Any] | None, nad: dict[str, Any] | None, intent: BridgeArgs) -> dict[str, Any]:
    """NNCP + NAD as Bridge data."""
    out = dump(intent)
    if nad is not None:
        try:
            config = json.loads(_get(nad, "spec", "config") or "{}")
        except ValueError:
            config = {}
        out["bridge"] = config.get("bridge")
        out["cni_type"] = config.get("type", intent.cni_type)
        out["mac_spoof_check"] = bool(config.get("macspoofchk", False))
        if config.get("vlan") is not None:
            out["vlan"] = config["vlan"]
        elif not intent.vlan_on_node:
            out.pop("vlan", None)
    if nncp is not None and intent.manage_node_bridge:
        interfaces = _get(nncp, "spec", "desiredState", "interfaces") or []
        bridge: dict[str, Any] = next((i for i in interfaces if i.get("type") == "linux-bridge"), {})
        out["stp"] = bool(_get(bridge, "bridge", "options", "stp", "enabled"))
        out["node_selector"] = dict(_get(nncp, "spec", "nodeSelector") or {})
        if intent.bond is None and not intent.vlan_on_node:
            out["ports"] = [p.get("name") for p in _get(bridge, "bridge", "port") or []]
    return out


def condition(obj: Mapping[str, Any] | None, kind: str) -> dict[str, Any] | None:
    """The status condition of type `kind`, or None."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def phase(obj: Mapping[str, Any] | None) -> str | None:
    """`status.phase`, or None."""
    value = ((obj or {}).get("status") or {}).get("phase")
    return str(value) if value is not None else None


def parse_nncp_removing(nncp: Mapping[str, Any]) -> bool:
    """Whether the policy already says `state: absent` (a rerun of an interrupted delete)."""
    interfaces = _get(nncp, "spec", "desiredState", "interfaces") or []
    return bool(interfaces) and all(i.get("state") == "absent" for i in interfaces)


def parse_enactments_current(enactments: list[dict[str, Any]], generation: int) -> bool:
    """Whether every node's enactment of a policy applied that generation of it (nmstate's NNCP status
    carries no generation: until the nodes report the new one, its Available condition is the old one's)."""
    return bool(enactments) and all(
        _get(e, "status", "policyGeneration") == generation
        and (condition(e, "Available") or {}).get("status") == "True"
        for e in enactments
    )


def parse_vm_outputs(
    args: VirtualMachineArgs, namespace: str, vm: Mapping[str, Any], vmi: Mapping[str, Any]
) -> VmOutputs:
    """A VM's outputs from the live VirtualMachine and its instance."""
    vm_status = vm.get("status") or {}
    vmi_status = vmi.get("status") or {}
    macs: dict[str, str] = {}
    ipv4: dict[str, str] = {}
    for iface in vmi_status.get("interfaces") or []:
        name = iface.get("name")
        if not name:
            continue
        if iface.get("mac"):
            macs[name] = str(iface["mac"]).lower()
        addrs = [iface.get("ipAddress"), *(iface.get("ipAddresses") or [])]
        v4 = next((a for a in addrs if a and ":" not in a), None)
        if v4:
            ipv4[name] = v4
    restart = condition(vm, "RestartRequired")
    pending = restart is not None and restart.get("status") == "True"
    return {
        "uuid": (vm.get("metadata") or {}).get("uid"),
        "state": vm_status.get("printableStatus"),
        "printable_status": vm_status.get("printableStatus"),
        "phase": vmi_status.get("phase"),
        "node": vmi_status.get("nodeName"),
        "conditions": {
            str(c.get("type")): str(c.get("status")) for c in vm_status.get("conditions") or [] if c.get("type")
        },
        "macs": macs,
        "ipv4": ipv4,
        "serial_log_path": None,
        "pending_restart": pending,
        "pending_changes": [str(restart.get("message") or "RestartRequired")] if pending and restart else [],
        "host_uri": f"kubevirt:{namespace}/{vmi_status.get('nodeName') or ''}",
        "hot_plugged_disks": sorted(parse_hotplugged(vm)),
    }


def parse_data_volume_outputs(args: DiskArgs, status: Mapping[str, Any]) -> DiskOutputs:
    """A Disk's outputs from its DataVolume's status."""
    return {
        "ref": {"data_volume": args.name},
        "path": None,
        "capacity": None,
        "allocation": None,
        "phase": status.get("phase"),
        "claim_name": status.get("claimName") or args.name,
    }


def parse_bridge_outputs(args: BridgeArgs, nncp: Mapping[str, Any] | None) -> BridgeOutputs:
    """A Bridge's outputs from its policy (None when the node bridge is not managed)."""
    conditions = ((nncp or {}).get("status") or {}).get("conditions") or []
    available = any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)
    return {
        "network_name": args.name,
        "bridge_device": args.bridge,
        "active": available or not args.manage_node_bridge,
        "pending_restart": False,
        "pending_changes": [],
    }


def parse_migration_outputs(
    migration_state: Mapping[str, Any], *, source_node: str | None, phase: str | None
) -> MigrationOutputs:
    """A Migration's outputs from the VMI's `status.migrationState`."""
    return {
        "source_host": migration_state.get("sourceNode") or source_node,
        "source_uri": None,
        "destination_host": migration_state.get("targetNode"),
        "elapsed_ms": _ms(migration_state.get("startTimestamp"), migration_state.get("endTimestamp")),
        "downtime_ms": None,
        "bytes_transferred": None,
        "vm_state": "Running",
        "phase": phase,
    }


def _ms(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return int((_time(end) - _time(start)).total_seconds() * 1000)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


_SPEC = r"^spec\.template\.spec\."
_CAUSE_FIELDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), field)
    for pattern, field in (
        (_SPEC + r"domain\.devices\.interfaces\[(\d+)\]\.(?:masquerade|bridge|sriov)\b", r"interfaces[\1].binding"),
        (_SPEC + r"domain\.devices\.interfaces\[(\d+)\]\.macAddress$", r"interfaces[\1].mac"),
        (_SPEC + r"domain\.devices\.interfaces\[(\d+)\]\.model$", r"interfaces[\1].model"),
        (
            _SPEC + r"domain\.devices\.interfaces\[(\d+)\]\.ports\[(\d+)\]\.(name|protocol)$",
            r"interfaces[\1].ports[\2].\3",
        ),
        (_SPEC + r"domain\.devices\.interfaces\[(\d+)\]\.ports\[(\d+)\]", r"interfaces[\1].ports[\2]"),
        (_SPEC + r"domain\.devices\.interfaces\[(\d+)\]", r"interfaces[\1]"),
        (_SPEC + r"networks\[(\d+)\]\.multus\.networkName$", r"interfaces[\1].network"),
        (_SPEC + r"networks\[(\d+)\]\.pod\b", r"interfaces[\1].pod"),
        (_SPEC + r"networks\[(\d+)\]", r"interfaces[\1]"),
        (_SPEC + r"domain\.devices\.disks\[(\d+)\]\.(?:disk|cdrom|lun)\.bus$", r"disks[\1].bus"),
        (_SPEC + r"domain\.devices\.disks\[(\d+)\]\.bootOrder$", r"disks[\1].boot_order"),
        (_SPEC + r"domain\.devices\.disks\[(\d+)\]", r"disks[\1]"),
        (_SPEC + r"volumes\[(\d+)\]", r"disks[\1]"),
        (_SPEC + r"domain\.memory\.guest$", "memory"),
        (_SPEC + r"domain\.memory\.maxGuest$", "max_memory"),
        (_SPEC + r"domain\.cpu\.(sockets|cores|threads|model)$", r"cpu.\1"),
        (_SPEC + r"domain\.machine\.type$", "machine"),
        (_SPEC + r"domain\.devices\.hostDevices\[(\d+)\]\.deviceName$", r"usb_host_devices[\1].resource_name"),
        (_SPEC + r"domain\.devices\.hostDevices\[(\d+)\]", r"usb_host_devices[\1]"),
        (_SPEC + r"domain\.devices\.hostDevices\b", "usb_host_devices"),
        # KubeVirt v1.8's "Host Devices feature gate is not enabled" cause names this path
        (_SPEC + r"HostDevices$", "usb_host_devices"),
        (_SPEC + r"domain\.firmware\.kernelBoot\.container\.image$", "kernel_boot.container_image"),
        (_SPEC + r"domain\.firmware\.kernelBoot\.container\.kernelPath$", "kernel_boot.kernel"),
        (_SPEC + r"domain\.firmware\.kernelBoot\.container\.initrdPath$", "kernel_boot.initrd"),
        (_SPEC + r"domain\.firmware\.kernelBoot\.kernelArgs$", "kernel_boot.cmdline"),
        (_SPEC + r"domain\.firmware\.kernelBoot\b", "kernel_boot"),
        (r"^spec\.runStrategy$", "kubevirt.run_strategy"),
        (r"^spec\.storage\.resources\.requests\.storage$", "size"),
        (r"^spec\.vmiName$", "vm"),
        (r"^metadata\.name$", "name"),
        (r"^metadata\.labels\b", "labels"),
        (r"^metadata\.annotations\b", "annotations"),
    )
)
"""Manifest paths (as render.py writes them) -> the input field they come from. Interfaces and
networks are rendered in the order of `interfaces`, disks in the order of `disks`."""


def parse_cause_field(field: str) -> str | None:
    """The input field an apiserver cause's field path (`details.causes[].field`, e.g.
    `spec.template.spec.domain.devices.interfaces[0].masquerade`) comes from, or None when unknown."""
    for pattern, replacement in _CAUSE_FIELDS:
        match = pattern.match(field)
        if match is not None:
            return match.expand(replacement)
    return None


def parse_status_causes(status: Mapping[str, Any]) -> list[str]:
    """The field paths a Kubernetes `Status` (a 422's body) names in `details.causes`, in order."""
    causes = _get(status, "details", "causes") or []
    return [str(c["field"]) for c in causes if isinstance(c, dict) and c.get("field")]


def _object_meta(out: dict[str, Any], obj: dict[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The name, labels and annotations of a live object into `out` (the owner marker and `drop` left out);
    the annotations left for the caller."""
    meta = obj.get("metadata") or {}
    out["name"] = meta.get("name")
    out["labels"] = _labels(meta)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in OWNER_KEYS and k not in drop}
    out["annotations"] = annotations
    return annotations


def _sizing(obj: dict[str, Any], intent: InstancetypeArgs | PreferenceArgs) -> tuple[dict[str, Any], dict[str, Any]]:
    """The data of an instancetype.kubevirt.io object so far (`dump(intent)` with its name, labels and
    annotations), and its spec to read the rest from."""
    out = dump(intent)
    _object_meta(out, obj)
    return out, obj.get("spec") or {}


def parse_instancetype(obj: dict[str, Any], intent: InstancetypeArgs) -> dict[str, Any]:
    """A (Cluster)Instancetype as Instancetype data, in the shape of `dump(intent)`."""
    out, spec = _sizing(obj, intent)
    cpu = spec.get("cpu") or {}
    parsed_cpu: dict[str, Any] = {
        "guest": cpu.get("guest"),
        "dedicated_cpu_placement": bool(cpu.get("dedicatedCPUPlacement", False)),
        "isolate_emulator_thread": bool(cpu.get("isolateEmulatorThread", False)),
    }
    for key, field in (("model", "model"), ("maxSockets", "max_sockets")):
        if cpu.get(key) is not None:
            parsed_cpu[field] = cpu[key]
    out["cpu"] = parsed_cpu
    memory = spec.get("memory") or {}
    parsed_memory: dict[str, Any] = {"guest": _quantity(memory.get("guest"), intent.memory.guest)}
    if memory.get("maxGuest") is not None:
        parsed_memory["max_guest"] = _quantity(memory["maxGuest"], intent.memory.max_guest)
    if _get(memory, "hugepages", "pageSize") is not None:
        parsed_memory["hugepages_page_size"] = memory["hugepages"]["pageSize"]
    if memory.get("overcommitPercent") is not None:
        parsed_memory["overcommit_percent"] = memory["overcommitPercent"]
    out["memory"] = parsed_memory
    out["node_selector"] = dict(spec.get("nodeSelector") or {})
    out["vm_annotations"] = dict(spec.get("annotations") or {})
    if spec.get("ioThreadsPolicy") is not None:
        out["io_threads_policy"] = spec["ioThreadsPolicy"]
    else:
        out.pop("io_threads_policy", None)
    return out


def parse_preference(obj: dict[str, Any], intent: PreferenceArgs) -> dict[str, Any]:
    """A (Cluster)Preference as Preference data, in the shape of `dump(intent)`."""
    out, spec = _sizing(obj, intent)
    devices = spec.get("devices") or {}
    firmware = spec.get("firmware") or {}
    observed: dict[str, Any] = {
        "cpu_topology": _get(spec, "cpu", "preferredCPUTopology"),
        "disk_bus": devices.get("preferredDiskBus"),
        "cdrom_bus": devices.get("preferredCdromBus"),
        "interface_model": devices.get("preferredInterfaceModel"),
        "autoattach_graphics": devices.get("preferredAutoattachGraphicsDevice"),
        "autoattach_serial_console": devices.get("preferredAutoattachSerialConsole"),
        "firmware": next((name for name, block in PREFERENCE_FIRMWARE.items() if block == firmware), None),
        "machine_type": _get(spec, "machine", "preferredMachineType"),
        "termination_grace_period_seconds": spec.get("preferredTerminationGracePeriodSeconds"),
        "storage_class": _get(spec, "volumes", "preferredStorageClassName"),
        "min_cpu": _get(spec, "requirements", "cpu", "guest"),
        "min_memory": _quantity(_get(spec, "requirements", "memory", "guest"), intent.min_memory),
    }
    # rng=False renders nothing, like rng unset: the intent decides which of the two it reads back as
    observed["rng"] = True if "preferredRng" in devices else (False if intent.rng is False else None)
    for field, value in observed.items():
        if value is None:
            out.pop(field, None)
        else:
            out[field] = value
    return out


def parse_instancetype_outputs(name: str, kind: str) -> InstancetypeOutputs:
    """The reference a VM's kubevirt.instancetype / kubevirt.preference takes."""
    return {"ref": {"name": name, "kind": kind}}


def parse_vm_snapshot_outputs(obj: Mapping[str, Any] | None) -> SnapshotOutputs:
    """readyToUse, phase and creation time of a VirtualMachineSnapshot."""
    status = (obj or {}).get("status") or {}
    return {
        "ready": status.get("readyToUse") is True,
        "phase": status.get("phase"),
        "creation_time": status.get("creationTime"),
        "vm_state": None,
    }


def parse_vm_restore_outputs(obj: Mapping[str, Any] | None) -> RestoreOutputs:
    """Whether a VirtualMachineRestore completed, and when."""
    status = (obj or {}).get("status") or {}
    return {
        "complete": status.get("complete") is True,
        "phase": "Complete" if status.get("complete") is True else None,
        "restore_time": status.get("restoreTime"),
        "vm_state": None,
    }


def parse_snapshot_description(obj: Mapping[str, Any]) -> str | None:
    """The description a VirtualMachineSnapshot carries (an annotation)."""
    value = _get(obj, "metadata", "annotations", SNAPSHOT_DESCRIPTION)
    return value if isinstance(value, str) else None
