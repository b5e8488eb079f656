"""Server: a VM with a root disk from an image, cloud-init, and (KubeVirt) a Service for SSH.

Composition only (house rule 10). Children, all parented to the component:
- `<name>-root`: a Disk (libvirt volume or KubeVirt DataVolume) made from `image`,
  attached first with boot order 1 — unless the root is a KubeVirt containerDisk
  (`container_image`) or a `dataVolumeTemplates` entry (`root_disk_template=True`),
  which live inside the VM;
- `<name>`: the VirtualMachine, with `#cloud-config` user data rendered from the
  typed arguments by components.cloud_config (a secret, like every user data) when
  any of them is given;
- KubeVirt, when `expose_ports` is given: `<name>` a core/v1 Service (pulumi-kubernetes)
  selecting the VM's virt-launcher pod by `vm.kubevirt.io/name`, as `virtctl expose` does,
  in the VM's namespace, through `<name>-kubernetes`, a pulumi-kubernetes provider for
  the VM's cluster (unless `kubernetes_provider` is given).
  The NIC on the pod network uses masquerade, which forwards every port when no
  interface `ports` are listed, so the Service reaches the guest.

`ssh_endpoints` lists `host:port` strings a client can use: the Service's DNS name,
cluster IP and load-balancer ingress when exposed, else the VM's IPv4 addresses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from pulumi_kubevirt.provider import Disk, VirtualMachine

from ._parts import (
    POD_NETWORK,
    ImageRef,
    NetworkRef,
    child_options,
    component_error,
    disk_source,
    interface,
    target_kind,
)
from .cloud_config import render_cloud_config

LAUNCHER_POD_LABEL = "vm.kubevirt.io/name"
"""The label KubeVirt puts on a VM's virt-launcher pod (what `virtctl expose` selects)."""

ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer"]


class Server(pulumi.ComponentResource):
    """A ready-to-SSH VM: root disk from an image, a cloud-init user, SSH keys and packages."""

    vm: VirtualMachine
    root_disk: Disk | None
    service: k8s.core.v1.Service | None
    kubernetes_provider: k8s.Provider | None
    user_data: pulumi.Output[str] | None
    """The rendered #cloud-config (secret), when the server has cloud-init."""
    ssh_user: str | None
    ssh_endpoints: pulumi.Output[list[str]]
    """`host:port` strings SSH reaches the guest at."""

    def __init__(
        self,
        name: str,
        *,
        target: Mapping[str, Any] | None = None,
        image: ImageRef | None = None,
        container_image: str | None = None,
        disk_size: str | None = None,
        root_disk_template: bool = False,
        root_disk_options: Mapping[str, Any] | None = None,
        memory: str = "1Gi",
        cpus: int = 1,
        hostname: str | None = None,
        user: str | None = None,
        ssh_authorized_keys: pulumi.Input[Sequence[pulumi.Input[str]]] = (),
        packages: Sequence[str] = (),
        cloud_config: Mapping[str, Any] | None = None,
        cloud_init: bool | None = None,
        networks: Sequence[NetworkRef] = (),
        pod_network: bool | None = None,
        expose_ports: Mapping[str, int] | None = None,
        service_type: ServiceType = "ClusterIP",
        ssh_port: int = 22,
        kubernetes_provider: k8s.Provider | None = None,
        vm_options: Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the server.

        Args:
            name: logical name; also the VM's name (and the Service's).
            target: where it lives (default: the stack-config target).
            image: root disk content (see components._parts.ImageRef): URL, docker:// reference,
                hypervisor path or a Disk source mapping.
            container_image: KubeVirt: boot an ephemeral containerDisk instead of `image`.
            disk_size: root disk size (default: the image's; required for a KubeVirt import).
            root_disk_template: KubeVirt: make the root a dataVolumeTemplates entry owned by the VM
                instead of a separate Disk (DataVolume) resource.
            root_disk_options: further Disk fields (format, pool, storage_class, access_modes, ...).
            memory: guest memory, e.g. `2Gi`.
            cpus: vCPUs (sockets).
            hostname: guest hostname (default: `name`).
            user: a user to create (sudo, locked password) owning `ssh_authorized_keys`; without it
                the keys go to the image's default user.
            ssh_authorized_keys: public keys (may be Outputs, e.g. secrets from config).
            packages: packages installed on first boot.
            cloud_config: further #cloud-config keys (runcmd, write_files, ...).
            cloud_init: give the VM this #cloud-config (default: when any of hostname, user,
                ssh_authorized_keys, packages or cloud_config is given).
            networks: NICs, in order (`nic0`, `nic1`, ...): BridgedNetwork, Bridge, a network/NAD name.
            pod_network: KubeVirt: a first NIC `default` on the pod network (default: True on KubeVirt).
            expose_ports: KubeVirt: a Service exposing these `{port name: guest port}` (e.g.
                `{"ssh": 22}`); not available on libvirt.
            service_type: the Service's type.
            ssh_port: the guest's SSH port (for `ssh_endpoints`).
            kubernetes_provider: provider of the Service (default: a child provider made from the
                VM's resolved target: its kubeconfig, context and namespace).
            vm_options: further VirtualMachine fields (kubevirt, kernel_boot, accelerator,
                restart_policy, labels, ...); `disks` listed here follow the root disk.
            opts: resource options of the component.
        """
        super().__init__("pulumi-kubevirt:components:Server", name, None, opts)
        kind = target_kind(target)
        kubevirt = kind == "kubevirt"
        fields: dict[str, Any] = dict(vm_options or {})
        if target is not None:
            fields["target"] = dict(target)
        if expose_ports and not kubevirt:
            raise component_error("Server", name, "expose_ports", "a Service needs a kubevirt target")
        if container_image and not kubevirt:
            raise component_error("Server", name, "container_image", "a containerDisk needs a kubevirt target")
        if container_image and image is not None:
            raise component_error("Server", name, "container_image", "give either image or container_image")
        if root_disk_template and not kubevirt:
            raise component_error("Server", name, "root_disk_template", "dataVolumeTemplates need a kubevirt target")

        self.root_disk = None
        root: dict[str, Any] | None = None
        if container_image:
            root = {"name": "root", "container_image": container_image, "boot_order": 1}
        elif image is not None:
            try:
                source = disk_source(image)
            except ValueError as err:
                raise component_error("Server", name, "image", str(err)) from err
            disk_fields: dict[str, Any] = {"source": source, **dict(root_disk_options or {})}
            if disk_size is not None:
                disk_fields["size"] = disk_size
            if root_disk_template:
                root = {"name": "root", "template": disk_fields, "boot_order": 1}
            else:
                if target is not None:
                    disk_fields["target"] = dict(target)
                self.root_disk = Disk(f"{name}-root", opts=child_options(self), **disk_fields)
                root = {"name": "root", "disk": self.root_disk, "boot_order": 1}
        if root is None and not (fields.get("kernel_boot") or fields.get("disks")):
            raise component_error(
                "Server", name, "image", "give image or container_image (or vm_options with kernel_boot or disks)"
            )
        fields["disks"] = ([root] if root else []) + list(fields.get("disks") or [])

        nics: list[dict[str, Any]] = []
        if pod_network if pod_network is not None else kubevirt:
            if not kubevirt:
                raise component_error("Server", name, "pod_network", "the pod network needs a kubevirt target")
            nics.append(interface("default", POD_NETWORK))
        nics += [interface(f"nic{i}", network) for i, network in enumerate(networks)]
        fields["interfaces"] = nics + list(fields.get("interfaces") or [])

        keys_given = isinstance(ssh_authorized_keys, pulumi.Output) or bool(ssh_authorized_keys)
        wanted = bool(user or packages or cloud_config or hostname or keys_given)
        self.user_data = None
        if cloud_init if cloud_init is not None else wanted:
            try:  # the same check the apply below makes, at construction where the inputs are plain
                render_cloud_config(extra=cloud_config, user=user, hostname=hostname or name, packages=packages)
            except ValueError as err:
                raise component_error("Server", name, "cloud_config", str(err)) from err

            def user_data(keys: Sequence[Any] | None) -> str:
                return render_cloud_config(
                    hostname=hostname or name,
                    user=user,
                    ssh_authorized_keys=[str(k) for k in keys or []],
                    packages=packages,
                    extra=cloud_config,
                )

            self.user_data = pulumi.Output.secret(pulumi.Output.from_input(ssh_authorized_keys).apply(user_data))
            fields["cloud_init"] = {**dict(fields.get("cloud_init") or {}), "user_data": self.user_data}
        fields["memory"] = memory
        fields["cpu"] = {**dict(fields.get("cpu") or {}), "sockets": cpus}
        self.vm = VirtualMachine(name, opts=child_options(self), **fields)
        self.ssh_user = user

        self.service = None
        self.kubernetes_provider = None
        if expose_ports:
            self.service = self._service(name, expose_ports, service_type, kubernetes_provider)
            self.ssh_endpoints = _service_endpoints(self.service, ssh_port)
        else:
            self.ssh_endpoints = self.vm.ipv4.apply(
                lambda ips: [f"{ip}:{ssh_port}" for _nic, ip in sorted((ips or {}).items())]
            )
        self.register_outputs({"ssh_endpoints": self.ssh_endpoints, "state": self.vm.state, "ipv4": self.vm.ipv4})

    def _service(
        self,
        name: str,
        ports: Mapping[str, int],
        service_type: ServiceType,
        provider: k8s.Provider | None,
    ) -> k8s.core.v1.Service:
        """`virtctl expose vm <name>`: a Service selecting the VM's launcher pod.

        The namespace, kubeconfig and context are the VM's own resolved target (an output of
        the VM resource, so a target taken from stack config is followed too)."""
        # the VM resource exposes its checked inputs as outputs: `name` and `target`
        vm_name: pulumi.Output[str] = getattr(self.vm, "name")  # noqa: B009
        vm_target: pulumi.Output[dict[str, Any]] = getattr(self.vm, "target")  # noqa: B009
        if provider is None:
            provider = k8s.Provider(
                f"{name}-kubernetes",
                kubeconfig=vm_target.apply(lambda t: (t or {}).get("kubeconfig")),
                context=vm_target.apply(lambda t: (t or {}).get("context")),
                opts=child_options(self),
            )
            self.kubernetes_provider = provider
        return k8s.core.v1.Service(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=vm_name,
                namespace=vm_target.apply(lambda t: (t or {}).get("namespace") or "default"),
                labels={"app.kubernetes.io/managed-by": "pulumi-kubevirt"},
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                type=service_type,
                selector=vm_name.apply(lambda n: {LAUNCHER_POD_LABEL: n}),
                ports=[
                    k8s.core.v1.ServicePortArgs(name=port_name, port=port, target_port=port, protocol="TCP")
                    for port_name, port in ports.items()
                ],
            ),
            opts=child_options(self, provider=provider, depends_on=[self.vm]),
        )


def _service_endpoints(service: k8s.core.v1.Service, ssh_port: int) -> pulumi.Output[list[str]]:
    """The Service's DNS name, cluster IP and load-balancer ingress, each with the port the
    Service maps to the guest's SSH port (none when no port maps it)."""

    def endpoints(values: list[Any]) -> list[str]:
        metadata, spec, status = values
        ports = _get(spec, "ports", "ports") or []
        mapped = [p for p in ports if _get(p, "target_port", "targetPort") in (ssh_port, str(ssh_port))]
        if not mapped:  # the Service exposes other ports only
            return []
        port = _get(mapped[0], "port", "port")
        hosts = [f"{_get(metadata, 'name', 'name')}.{_get(metadata, 'namespace', 'namespace') or 'default'}.svc"]
        cluster_ip = _get(spec, "cluster_ip", "clusterIP")
        if cluster_ip and cluster_ip != "None":
            hosts.append(cluster_ip)
        ingress = _get(_get(status, "load_balancer", "loadBalancer"), "ingress", "ingress") or []
        hosts += [h for i in ingress if (h := _get(i, "ip", "ip") or _get(i, "hostname", "hostname"))]
        return [f"{host}:{port}" for host in hosts]

    return pulumi.Output.all(service.metadata, service.spec, service.status).apply(endpoints)


def _get(value: Any, attribute: str, key: str) -> Any:
    """A field of a pulumi-kubernetes output type (an attribute) or of a plain dict (its wire key)."""
    if value is None:
        return None
    if isinstance(value, Mapping) and (key in value or attribute in value):
        return value.get(key, value.get(attribute))
    return getattr(value, attribute, None)
