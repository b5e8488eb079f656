"""Models -> KubeVirt, CDI, nmstate and Multus manifests (plain dicts). Pure.

Every object carries the managed-by label (for listing) and the owner's stack
and resource as annotations (label values are capped at 63 characters, an owner
is not): `parse.parse_owner` reads them back and the reconcilers compare them
before they adopt, update or delete anything. Cloud-init content goes into a Secret referenced by
`cloudInitNoCloud.secretRef`, never inline in the VM (the VM object is visible
to anyone who can list VMs, and Kubernetes objects are capped at ~1 MiB).
Unit tests validate every manifest against the official schemas in
third_party/api-reference.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..models import BridgeArgs, DiskArgs, DiskAttachment, KernelBoot, MigrationArgs, VirtualMachineArgs
from ..models.instancetype import InstancetypeArgs, PreferenceArgs
from ..models.kubevirt import ClusterRef, Probe
from ..models.snapshot import SnapshotArgs, SnapshotRestoreArgs
from ..models.sources import BlankSource, CloneSource, DiskSource, DiskTemplate, RegistrySource, UrlSource
from ..ownership import Owner


@dataclass(frozen=True)
class Gvr:
    """Group, version, plural, kind (and whether namespaced) of a resource: the one table of the API
    resources this backend touches (render writes apiVersion/kind from it, client addresses calls by it)."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def header(self) -> dict[str, str]:
        """`apiVersion` and `kind` of a manifest of this resource."""
        return {"apiVersion": self.api_version, "kind": self.kind}

    def describe(self, name: str, namespace: str | None) -> str:
        """`Kind namespace/name` (`Kind name` when cluster-scoped), for messages."""
        return f"{self.kind} {namespace}/{name}" if self.namespaced else f"{self.kind} {name}"


VM = Gvr("kubevirt.io", "v1", "virtualmachines", "VirtualMachine")
VMI = Gvr("kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance")
VMIM = Gvr("kubevirt.io", "v1", "virtualmachineinstancemigrations", "VirtualMachineInstanceMigration")
DATA_VOLUME = Gvr("cdi.kubevirt.io", "v1beta1", "datavolumes", "DataVolume")
NNCP = Gvr("nmstate.io", "v1", "nodenetworkconfigurationpolicies", "NodeNetworkConfigurationPolicy", namespaced=False)
NNCE = Gvr(
    "nmstate.io", "v1beta1", "nodenetworkconfigurationenactments", "NodeNetworkConfigurationEnactment", namespaced=False
)
"""nmstate's per-node record of a policy: which generation of it the node applied (label POLICY_LABEL)."""
POLICY_LABEL = "nmstate.io/policy"
NAD = Gvr("k8s.cni.cncf.io", "v1", "network-attachment-definitions", "NetworkAttachmentDefinition")
SECRET = Gvr("", "v1", "secrets", "Secret")
PVC = Gvr("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
INSTANCETYPE = Gvr("instancetype.kubevirt.io", "v1beta1", "virtualmachineinstancetypes", "VirtualMachineInstancetype")
CLUSTER_INSTANCETYPE = Gvr(
    "instancetype.kubevirt.io",
    "v1beta1",
    "virtualmachineclusterinstancetypes",
    "VirtualMachineClusterInstancetype",
    namespaced=False,
)
PREFERENCE = Gvr("instancetype.kubevirt.io", "v1beta1", "virtualmachinepreferences", "VirtualMachinePreference")
CLUSTER_PREFERENCE = Gvr(
    "instancetype.kubevirt.io",
    "v1beta1",
    "virtualmachineclusterpreferences",
    "VirtualMachineClusterPreference",
    namespaced=False,
)
VM_SNAPSHOT = Gvr("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots", "VirtualMachineSnapshot")
VM_RESTORE = Gvr("snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores", "VirtualMachineRestore")

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi-kubevirt"}
OWNER_STACK = "pulumi-kubevirt.dev/stack"
OWNER_RESOURCE = "pulumi-kubevirt.dev/resource"
OWNER_KEYS = (OWNER_STACK, OWNER_RESOURCE)
FIELD_MANAGER = "pulumi-kubevirt"
MAX_SECRET_BYTES = 1_000_000
"""Kubernetes rejects objects over ~1 MiB (etcd's request limit); fail clearly before that."""


def cloud_init_secret_name(vm: str) -> str:
    return f"{vm}-cloudinit"


def ssh_keys_secret_name(vm: str) -> str:
    return f"{vm}-ssh-keys"


def run_strategy(args: VirtualMachineArgs) -> str:
    """Pause is not a run strategy: a paused VM runs (Always) and is paused via virt-api."""
    if args.kubevirt is not None and args.kubevirt.run_strategy is not None:
        return args.kubevirt.run_strategy
    return "Halted" if args.run_state == "stopped" else "Always"


def _labels(extra: dict[str, str]) -> dict[str, str]:
    return {**extra, **MANAGED_BY}


def owner_annotations(owner: Owner) -> dict[str, str]:
    """The annotations that say which stack resource owns an object."""
    return {OWNER_STACK: owner.stack, OWNER_RESOURCE: owner.resource}


def _metadata(
    name: str,
    namespace: str | None,
    owner: Owner,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = _labels(labels or {})
    meta["annotations"] = {**(annotations or {}), **owner_annotations(owner)}
    return meta


def render_vm(
    args: VirtualMachineArgs,
    *,
    namespace: str,
    owner: Owner,
    hotplugged: frozenset[str] = frozenset(),
    graphics: bool | None = None,
) -> dict[str, Any]:
    """The kubevirt.io/v1 VirtualMachine; the disks named in `hotplugged` (attached to the running VM
    through virt-api's addvolume) keep the volume source's `hotpluggable` mark virt-api gave them.
    `graphics`: the existing VM's autoattachGraphicsDevice (parse.parse_graphics), kept while `vnc`
    is unset: unset leaves a VM's graphics device as it is (a VM made before vnc followed
    KubeVirt's default has it false), and a new VM gets KubeVirt's default."""
    opts = args.kubevirt
    annotations = dict(opts.annotations) if opts else {}
    if args.description is not None:
        annotations["pulumi-kubevirt.dev/description"] = args.description
    meta = _metadata(args.name, namespace, owner, labels=args.labels, annotations=annotations)
    spec: dict[str, Any] = {"runStrategy": run_strategy(args), "template": _template(args, hotplugged, graphics)}
    templates = [
        _dv_template(d.name, args.name, d.template, owner, namespace) for d in args.disks if d.template is not None
    ]
    if templates:
        spec["dataVolumeTemplates"] = templates
    if opts is not None and opts.instancetype is not None:
        spec["instancetype"] = _ref(opts.instancetype, "VirtualMachineClusterInstancetype")
    if opts is not None and opts.preference is not None:
        spec["preference"] = _ref(opts.preference, "VirtualMachineClusterPreference")
    return {**VM.header(), "metadata": meta, "spec": spec}


def _ref(ref: ClusterRef, default: str) -> dict[str, str]:
    return {"name": ref.name, "kind": ref.kind or default}


def _template(args: VirtualMachineArgs, hotplugged: frozenset[str], graphics: bool | None) -> dict[str, Any]:
    opts = args.kubevirt
    uses_instancetype = opts is not None and opts.instancetype is not None
    domain: dict[str, Any] = {"devices": _devices(args, graphics)}
    if not uses_instancetype:
        cpu: dict[str, Any] = {"sockets": args.cpu.sockets, "cores": args.cpu.cores, "threads": args.cpu.threads}
        if args.cpu.max_sockets is not None:
            cpu["maxSockets"] = args.cpu.max_sockets
        if args.cpu.model is not None:
            cpu["model"] = args.cpu.model
        domain["cpu"] = cpu
        memory: dict[str, Any] = {"guest": args.memory}
        if args.max_memory is not None:
            memory["maxGuest"] = args.max_memory
        domain["memory"] = memory
    if args.machine is not None:
        domain["machine"] = {"type": args.machine}
    firmware: dict[str, Any] = {}
    if args.firmware == "uefi":
        # explicit either way: KubeVirt's default for an efi bootloader is secureBoot true
        firmware["bootloader"] = {"efi": {"secureBoot": args.secure_boot}}
    if args.kernel_boot is not None:
        firmware["kernelBoot"] = _kernel_boot(args.kernel_boot)
    if firmware:
        domain["firmware"] = firmware
    if args.smm is not None:
        domain["features"] = {"smm": {"enabled": args.smm}}
    spec: dict[str, Any] = {"domain": domain}
    networks = [
        {"name": nic.name, "pod": {}} if nic.pod else {"name": nic.name, "multus": {"networkName": nic.network}}
        for nic in args.interfaces
    ]
    if networks:
        spec["networks"] = networks
    volumes = _volumes(args, hotplugged)
    if volumes:
        spec["volumes"] = volumes
    if args.cloud_init is not None and args.cloud_init.ssh_authorized_keys:
        spec["accessCredentials"] = [
            {
                "sshPublicKey": {
                    "source": {"secret": {"secretName": ssh_keys_secret_name(args.name)}},
                    "propagationMethod": {"noCloud": {}},
                }
            }
        ]
    if opts is not None:
        if opts.node_selector:
            spec["nodeSelector"] = dict(opts.node_selector)
        if opts.tolerations:
            spec["tolerations"] = [_toleration(t.model_dump(exclude_none=True)) for t in opts.tolerations]
        if opts.affinity is not None:
            spec["affinity"] = opts.affinity
        if opts.eviction_strategy is not None:
            spec["evictionStrategy"] = opts.eviction_strategy
        if opts.termination_grace_period_seconds is not None:
            spec["terminationGracePeriodSeconds"] = opts.termination_grace_period_seconds
        if opts.readiness_probe is not None:
            spec["readinessProbe"] = _probe(opts.readiness_probe)
        if opts.liveness_probe is not None:
            spec["livenessProbe"] = _probe(opts.liveness_probe)
        if opts.hostname is not None:
            spec["hostname"] = opts.hostname
    template_meta: dict[str, Any] = {"labels": _labels({**args.labels, "kubevirt.io/domain": args.name})}
    return {"metadata": template_meta, "spec": spec}


def _kernel_boot(kb: KernelBoot) -> dict[str, Any]:
    container: dict[str, Any] = {"image": kb.container_image}
    if kb.kernel is not None:
        container["kernelPath"] = kb.kernel
    if kb.initrd is not None:
        container["initrdPath"] = kb.initrd
    out: dict[str, Any] = {"container": container}
    if kb.cmdline is not None:
        out["kernelArgs"] = kb.cmdline
    return out


def _toleration(t: dict[str, Any]) -> dict[str, Any]:
    names = {"toleration_seconds": "tolerationSeconds"}
    return {names.get(k, k): v for k, v in t.items()}


def _probe(probe: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if probe.http_get_port is not None:
        out["httpGet"] = {"port": probe.http_get_port, "path": probe.http_get_path}
    elif probe.tcp_socket_port is not None:
        out["tcpSocket"] = {"port": probe.tcp_socket_port}
    elif probe.exec_command is not None:
        out["exec"] = {"command": list(probe.exec_command)}
    else:
        out["guestAgentPing"] = {}
    for field, key in (
        ("initial_delay_seconds", "initialDelaySeconds"),
        ("period_seconds", "periodSeconds"),
        ("timeout_seconds", "timeoutSeconds"),
        ("failure_threshold", "failureThreshold"),
        ("success_threshold", "successThreshold"),
    ):
        value = getattr(probe, field)
        if value is not None:
            out[key] = value
    return out


def _devices(args: VirtualMachineArgs, graphics: bool | None) -> dict[str, Any]:
    disks = [render_disk(disk) for disk in args.disks]
    if args.cloud_init is not None:
        disks.append({"name": "cloudinitdisk", "disk": {"bus": "virtio"}})
    interfaces: list[dict[str, Any]] = []
    for nic in args.interfaces:
        binding = nic.binding or ("masquerade" if nic.pod else "bridge")
        entry: dict[str, Any] = {"name": nic.name, binding: {}, "model": nic.model}
        if nic.mac is not None:
            entry["macAddress"] = nic.mac
        if nic.ports:
            entry["ports"] = [
                {**({"name": p.name} if p.name is not None else {}), "port": p.port, "protocol": p.protocol}
                for p in nic.ports
            ]
        interfaces.append(entry)
    devices: dict[str, Any] = {
        "disks": disks,
        "interfaces": interfaces,
        "autoattachSerialConsole": args.serial_console,
    }
    # Server-side apply removes a field our manager stops sending: with vnc unset, the value the VM
    # has is sent again, so an upgrade or an unrelated update never adds (or drops) a graphics device.
    kept = args.vnc if args.vnc is not None else graphics
    if kept is not None:  # neither: KubeVirt's default, a graphics device
        devices["autoattachGraphicsDevice"] = kept
    if args.rng:
        devices["rng"] = {}
    if args.usb_host_devices:
        devices["hostDevices"] = [{"name": u.name, "deviceName": u.resource_name} for u in args.usb_host_devices]
    return devices


def render_disk(disk: DiskAttachment) -> dict[str, Any]:
    """One entry of domain.devices.disks (also the `disk` of an addvolume request)."""
    entry: dict[str, Any] = {"name": disk.name}
    if disk.cdrom:
        entry["cdrom"] = {"bus": disk.bus, "readonly": True}
    else:
        entry["disk"] = {"bus": disk.bus}
        if disk.readonly:
            entry["disk"]["readonly"] = True
    if disk.boot_order is not None:
        entry["bootOrder"] = disk.boot_order
    return entry


def render_volume(vm: str, disk: DiskAttachment, *, hotplugged: bool = False) -> dict[str, Any]:
    """One entry of spec.volumes; `hotplugged` marks a claim or DataVolume source as virt-api's
    addvolume does (its `volumeSource` is this entry without the name)."""
    entry: dict[str, Any] = {"name": disk.name}
    if disk.template is not None:
        entry["dataVolume"] = {"name": dv_template_name(vm, disk.name)}
    elif disk.data_volume is not None:
        entry["dataVolume"] = {"name": disk.data_volume}
    elif disk.pvc is not None:
        entry["persistentVolumeClaim"] = {"claimName": disk.pvc}
    elif disk.container_image is not None:
        entry["containerDisk"] = {"image": disk.container_image}
    elif disk.secret is not None:
        entry["secret"] = {"secretName": disk.secret}
    elif disk.config_map is not None:
        entry["configMap"] = {"name": disk.config_map}
    elif disk.empty_disk is not None:
        entry["emptyDisk"] = {"capacity": disk.empty_disk}
    if hotplugged:
        for source in ("dataVolume", "persistentVolumeClaim"):
            if source in entry:
                entry[source]["hotpluggable"] = True
    return entry


def _volumes(args: VirtualMachineArgs, hotplugged: frozenset[str]) -> list[dict[str, Any]]:
    volumes = [render_volume(args.name, disk, hotplugged=disk.name in hotplugged) for disk in args.disks]
    ci = args.cloud_init
    if ci is not None:
        secret = ci.secret_name or cloud_init_secret_name(args.name)
        source: dict[str, Any] = {"secretRef": {"name": secret}}
        if ci.network_data is not None or ci.secret_name is not None:
            source["networkDataSecretRef"] = {"name": secret}
        volumes.append({"name": "cloudinitdisk", "cloudInitNoCloud": source})
    return volumes


def dv_template_name(vm: str, disk: str) -> str:
    return f"{vm}-{disk}"


def template_data_volumes(args: VirtualMachineArgs) -> list[str]:
    """The DataVolumes KubeVirt makes from the VM's dataVolumeTemplates."""
    return [dv_template_name(args.name, d.name) for d in args.disks if d.template is not None]


def _dv_template(disk: str, vm: str, template: DiskTemplate, owner: Owner, namespace: str) -> dict[str, Any]:
    """KubeVirt creates the DataVolume from this (metadata included) and garbage-collects it with the VM."""
    return {
        "metadata": _metadata(dv_template_name(vm, disk), None, owner),
        "spec": dv_spec(
            template.source,
            template.size,
            template.storage_class,
            template.access_modes,
            template.volume_mode,
            namespace=namespace,
        ),
    }


def dv_spec(
    source: DiskSource,
    size: str,
    storage_class: str | None,
    access_modes: Sequence[str] | None,
    volume_mode: str | None,
    *,
    namespace: str,
) -> dict[str, Any]:
    """A DataVolume spec with the `storage` API (StorageProfiles fill what is unset); `namespace` is the
    DataVolume's own, where a clone's source claim is unless the source names another."""
    storage: dict[str, Any] = {"resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        storage["storageClassName"] = storage_class
    if access_modes:
        storage["accessModes"] = list(access_modes)
    if volume_mode is not None:
        storage["volumeMode"] = volume_mode
    return {"source": _dv_source(source, namespace), "storage": storage}


def _dv_source(source: DiskSource, namespace: str) -> dict[str, Any]:
    if isinstance(source, UrlSource):
        return {"http": {"url": source.url}}
    if isinstance(source, RegistrySource):
        return {"registry": {"url": source.url}}
    if isinstance(source, CloneSource):
        # CDI requires the namespace of a clone's source claim (the schema's `required`)
        return {"pvc": {"name": source.pvc, "namespace": source.pvc_namespace or namespace}}
    if isinstance(source, BlankSource):
        return {"blank": {}}
    raise ValueError(f"source kind {source.kind!r} has no DataVolume form")  # the model forbids it


def render_data_volume(args: DiskArgs, *, namespace: str, owner: Owner) -> dict[str, Any]:
    """A CDI DataVolume for a Disk."""
    assert args.size is not None or not isinstance(args.source, BlankSource)
    size = args.size or "1Gi"
    annotations = {**args.annotations, "cdi.kubevirt.io/storage.deleteAfterCompletion": "false"}
    return {
        **DATA_VOLUME.header(),
        "metadata": _metadata(args.name, namespace, owner, annotations=annotations),
        "spec": dv_spec(
            args.source, size, args.storage_class, args.access_modes, args.volume_mode, namespace=namespace
        ),
    }


def render_cloud_init_secrets(args: VirtualMachineArgs, *, namespace: str, owner: Owner) -> list[dict[str, Any]]:
    """The Secrets holding cloud-init content and SSH keys (none when the user brings a Secret)."""
    ci = args.cloud_init
    out: list[dict[str, Any]] = []
    if ci is None:
        return out
    if ci.secret_name is None:
        data = {"userdata": ci.user_data or "#cloud-config\n{}\n"}
        if ci.network_data is not None:
            data["networkdata"] = ci.network_data
        size = sum(len(v.encode()) for v in data.values())
        if size > MAX_SECRET_BYTES:
            raise ValueError(
                f"cloud-init data is {size} bytes; a Kubernetes Secret holds at most ~1 MiB: "
                "move large files into a disk image or a DataVolume"
            )
        out.append(_secret(cloud_init_secret_name(args.name), namespace, owner, data))
    if ci.ssh_authorized_keys:
        keys = {f"key{i}": key for i, key in enumerate(ci.ssh_authorized_keys)}
        out.append(_secret(ssh_keys_secret_name(args.name), namespace, owner, keys))
    return out


def secret_names(args: VirtualMachineArgs) -> list[str]:
    """The names of the Secrets `render_cloud_init_secrets` writes (no content needed)."""
    ci = args.cloud_init
    if ci is None:
        return []
    names = [cloud_init_secret_name(args.name)] if ci.secret_name is None else []
    if ci.ssh_authorized_keys:
        names.append(ssh_keys_secret_name(args.name))
    return names


def _secret(name: str, namespace: str, owner: Owner, data: dict[str, str]) -> dict[str, Any]:
    return {
        **SECRET.header(),
        "metadata": _metadata(name, namespace, owner),
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())},
    }


def render_nncp(args: BridgeArgs, *, owner: Owner, absent: bool = False) -> dict[str, Any]:
    """nmstate NodeNetworkConfigurationPolicy: the Linux bridge (over a bond or ports) on the nodes.

    `absent`: the same interfaces with `state: absent`, which is how nmstate removes
    them from the nodes (deleting a policy leaves its interfaces in place).
    """
    interfaces: list[dict[str, Any]] = []
    ports: list[dict[str, Any]]
    if args.bond is not None:
        bond: dict[str, Any] = {
            "name": args.bond.name,
            "type": "bond",
            "state": "up",
            "ipv4": {"enabled": False},
            "link-aggregation": {"mode": args.bond.mode, "port": list(args.bond.ports)},
        }
        if args.bond.miimon is not None:
            bond["link-aggregation"]["options"] = {"miimon": args.bond.miimon}
        if args.bond.mtu is not None:
            bond["mtu"] = args.bond.mtu
        interfaces.append(bond)
        ports = [{"name": args.bond.name}]
    elif args.vlan_on_node and args.vlan is not None:
        base = args.ports[0]
        sub = f"{base}.{args.vlan}"
        interfaces.append(
            {
                "name": sub,
                "type": "vlan",
                "state": "up",
                "ipv4": {"enabled": False},
                "vlan": {"base-iface": base, "id": args.vlan},
            }
        )
        ports = [{"name": sub}]
    else:
        ports = [{"name": p} for p in args.ports]
    bridge: dict[str, Any] = {
        "name": args.bridge,
        "type": "linux-bridge",
        "state": "up",
        "ipv4": {"enabled": False},
        "bridge": {"options": {"stp": {"enabled": args.stp}}, "port": ports},
    }
    if args.mtu is not None:
        bridge["mtu"] = args.mtu
    interfaces.append(bridge)
    if absent:
        interfaces = [{**iface, "state": "absent"} for iface in interfaces]
    spec: dict[str, Any] = {"desiredState": {"interfaces": interfaces}}
    if args.node_selector:
        spec["nodeSelector"] = dict(args.node_selector)
    meta = _metadata(args.name, None, owner, annotations=dict(args.annotations))
    return {**NNCP.header(), "metadata": meta, "spec": spec}


def render_nad(args: BridgeArgs, *, namespace: str, owner: Owner) -> dict[str, Any]:
    """Multus NetworkAttachmentDefinition with the bridge CNI config VMs attach to."""
    config: dict[str, Any] = {
        "cniVersion": "0.3.1",
        "name": args.name,
        "type": args.cni_type,
        "bridge": args.bridge,
        "macspoofchk": args.mac_spoof_check,
        "ipam": {},
        "preserveDefaultVlan": False,
    }
    if args.vlan is not None and not args.vlan_on_node:
        config["vlan"] = args.vlan
    if args.mtu is not None:
        config["mtu"] = args.mtu
    return {
        **NAD.header(),
        "metadata": _metadata(
            args.name,
            namespace,
            owner,
            annotations={
                **args.annotations,
                "k8s.v1.cni.cncf.io/resourceName": f"bridge.network.kubevirt.io/{args.bridge}",
            },
        ),
        "spec": {"config": json.dumps(config, sort_keys=True)},
    }


def render_claim_resize(claim: str, *, namespace: str, size: str) -> dict[str, Any]:
    """The apply body that grows a DataVolume's claim (volume expansion): only the storage request."""
    return {
        **PVC.header(),
        "metadata": {"name": claim, "namespace": namespace},
        "spec": {"resources": {"requests": {"storage": size}}},
    }


def render_vmim(args: MigrationArgs, *, namespace: str, owner: Owner) -> dict[str, Any]:
    """The kubevirt.io/v1 VirtualMachineInstanceMigration."""
    spec: dict[str, Any] = {"vmiName": args.vm}
    if args.target_node_selector:
        spec["addedNodeSelector"] = dict(args.target_node_selector)
    meta = _metadata(args.name, namespace, owner, annotations=dict(args.annotations))
    return {**VMIM.header(), "metadata": meta, "spec": spec}


def instancetype_gvr(args: InstancetypeArgs) -> Gvr:
    """The namespaced or the cluster-scoped instancetype resource."""
    return CLUSTER_INSTANCETYPE if args.cluster else INSTANCETYPE


def preference_gvr(args: PreferenceArgs) -> Gvr:
    """The namespaced or the cluster-scoped preference resource."""
    return CLUSTER_PREFERENCE if args.cluster else PREFERENCE


def render_instancetype(args: InstancetypeArgs, *, namespace: str, owner: Owner) -> dict[str, Any]:
    """An instancetype.kubevirt.io/v1beta1 (Cluster)Instancetype."""
    gvr = instancetype_gvr(args)
    cpu: dict[str, Any] = {"guest": args.cpu.guest}
    if args.cpu.model is not None:
        cpu["model"] = args.cpu.model
    if args.cpu.dedicated_cpu_placement:
        cpu["dedicatedCPUPlacement"] = True
    if args.cpu.isolate_emulator_thread:
        cpu["isolateEmulatorThread"] = True
    if args.cpu.max_sockets is not None:
        cpu["maxSockets"] = args.cpu.max_sockets
    memory: dict[str, Any] = {"guest": args.memory.guest}
    if args.memory.max_guest is not None:
        memory["maxGuest"] = args.memory.max_guest
    if args.memory.hugepages_page_size is not None:
        memory["hugepages"] = {"pageSize": args.memory.hugepages_page_size}
    if args.memory.overcommit_percent is not None:
        memory["overcommitPercent"] = args.memory.overcommit_percent
    spec: dict[str, Any] = {"cpu": cpu, "memory": memory}
    if args.node_selector:
        spec["nodeSelector"] = dict(args.node_selector)
    if args.io_threads_policy is not None:
        spec["ioThreadsPolicy"] = args.io_threads_policy
    if args.vm_annotations:
        spec["annotations"] = dict(args.vm_annotations)
    meta = _metadata(
        args.name,
        namespace if gvr.namespaced else None,
        owner,
        labels=dict(args.labels),
        annotations=dict(args.annotations),
    )
    return {**gvr.header(), "metadata": meta, "spec": spec}


PREFERENCE_FIRMWARE: dict[str, dict[str, Any]] = {
    "bios": {"preferredUseBios": True},
    "efi": {"preferredUseEfi": True, "preferredUseSecureBoot": False},
    "efi-secure-boot": {"preferredUseEfi": True, "preferredUseSecureBoot": True},
}
"""PreferenceArgs.firmware -> the preference's firmware block (secure boot needs SMM: see render_preference)."""


def render_preference(args: PreferenceArgs, *, namespace: str, owner: Owner) -> dict[str, Any]:
    """An instancetype.kubevirt.io/v1beta1 (Cluster)Preference."""
    gvr = preference_gvr(args)
    spec: dict[str, Any] = {}
    if args.cpu_topology is not None:
        spec["cpu"] = {"preferredCPUTopology": args.cpu_topology}
    devices: dict[str, Any] = {}
    for value, key in (
        (args.disk_bus, "preferredDiskBus"),
        (args.cdrom_bus, "preferredCdromBus"),
        (args.interface_model, "preferredInterfaceModel"),
        (args.autoattach_graphics, "preferredAutoattachGraphicsDevice"),
        (args.autoattach_serial_console, "preferredAutoattachSerialConsole"),
    ):
        if value is not None:
            devices[key] = value
    if args.rng:
        devices["preferredRng"] = {}
    if devices:
        spec["devices"] = devices
    if args.firmware is not None:
        spec["firmware"] = dict(PREFERENCE_FIRMWARE[args.firmware])
        if args.firmware == "efi-secure-boot":
            spec["features"] = {"preferredSmm": {"enabled": True}}  # KubeVirt refuses secure boot without SMM
    if args.machine_type is not None:
        spec["machine"] = {"preferredMachineType": args.machine_type}
    if args.termination_grace_period_seconds is not None:
        spec["preferredTerminationGracePeriodSeconds"] = args.termination_grace_period_seconds
    if args.storage_class is not None:
        spec["volumes"] = {"preferredStorageClassName": args.storage_class}
    requirements: dict[str, Any] = {}
    if args.min_cpu is not None:
        requirements["cpu"] = {"guest": args.min_cpu}
    if args.min_memory is not None:
        requirements["memory"] = {"guest": args.min_memory}
    if requirements:
        spec["requirements"] = requirements
    meta = _metadata(
        args.name,
        namespace if gvr.namespaced else None,
        owner,
        labels=dict(args.labels),
        annotations=dict(args.annotations),
    )
    return {**gvr.header(), "metadata": meta, "spec": spec}


SNAPSHOT_DESCRIPTION = "pulumi-kubevirt.dev/description"


def render_vm_snapshot(args: SnapshotArgs, *, namespace: str, owner: Owner) -> dict[str, Any]:
    """A snapshot.kubevirt.io/v1beta1 VirtualMachineSnapshot of the VM `args.vm`."""
    annotations = dict(args.annotations)
    if args.description is not None:
        annotations[SNAPSHOT_DESCRIPTION] = args.description
    spec: dict[str, Any] = {"source": {"apiGroup": VM.group, "kind": VM.kind, "name": args.vm}}
    if args.failure_deadline is not None:
        spec["failureDeadline"] = args.failure_deadline
    meta = _metadata(args.name, namespace, owner, labels=dict(args.labels), annotations=annotations)
    return {**VM_SNAPSHOT.header(), "metadata": meta, "spec": spec}


def render_vm_restore(args: SnapshotRestoreArgs, *, namespace: str, owner: Owner) -> dict[str, Any]:
    """A snapshot.kubevirt.io/v1beta1 VirtualMachineRestore of `args.snapshot` onto the VM `args.vm`."""
    spec: dict[str, Any] = {
        "target": {"apiGroup": VM.group, "kind": VM.kind, "name": args.vm_name},
        "virtualMachineSnapshotName": args.snapshot,
    }
    if args.target_readiness_policy is not None:
        spec["targetReadinessPolicy"] = args.target_readiness_policy
    annotations = {"pulumi-kubevirt.dev/trigger": args.trigger} if args.trigger is not None else {}
    meta = _metadata(args.name, namespace, owner, annotations=annotations)
    return {**VM_RESTORE.header(), "metadata": meta, "spec": spec}
