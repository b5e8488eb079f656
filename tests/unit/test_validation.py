"""Preview-time validation: the bad inputs users really write, refused at check with the exact
field; what must keep working (XML-special text, floats from the wire, other hosts); URI
normalisation; error paths; secrets never echoed; and no wrong input to a resource class
breaks the program (checked with Pulumi's mocks: the inputs the engine would receive go
through check)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_kubevirt.provider.core import Failure, ResourceKind, _format_loc
from pulumi_kubevirt.provider.kinds import BRIDGE, DISK, MIGRATION, VIRTUAL_MACHINE
from pulumi_kubevirt.provider.models import (
    DiskArgs,
    VirtualMachineArgs,
    normalize_libvirt_uri,
    same_libvirt_host,
)
from tests.support import pulumi_mocks
from tests.support.pulumi_mocks import RecordingMocks

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET = "hunter2-Sw0rdfish"

VM: dict[str, Any] = {"name": "vm1", "memory": "256Mi", "accelerator": "tcg"}
KVM: dict[str, Any] = {"name": "vm1", "target": {"kind": "kubevirt", "namespace": "vms"}}
KDISK: dict[str, Any] = {"name": "d", "target": {"kind": "kubevirt"}, "size": "1Gi"}
MIG: dict[str, Any] = {"name": "m", "vm": "v", "target": {"kind": "libvirt", "uri": "qemu+tcp://10.77.0.1/system"}}


def failures(kind: ResourceKind[Any], inputs: dict[str, Any]) -> dict[str, str]:
    _checked, found = kind.check(None, inputs, unknown=UNKNOWN)
    return {f.property: f.reason for f in found}


def _tpl(**source: Any) -> dict[str, Any]:
    return {**KVM, "disks": [{"name": "root", "template": {"size": "1Gi", "source": source}}]}


BAD: list[tuple[str, ResourceKind[Any], dict[str, Any], str, str]] = [
    # strict types: no bool as int, no int as bool; floats only when integral
    ("sockets=True", VIRTUAL_MACHINE, {**VM, "cpu": {"sockets": True}}, "cpu.sockets", "valid integer (got a boolean)"),
    ("sockets=2.5", VIRTUAL_MACHINE, {**VM, "cpu": {"sockets": 2.5}}, "cpu.sockets", "valid integer"),
    ("sockets='2'", VIRTUAL_MACHINE, {**VM, "cpu": {"sockets": "2"}}, "cpu.sockets", "(got a string)"),
    ("vnc=1", VIRTUAL_MACHINE, {**VM, "vnc": 1}, "vnc", "valid boolean (got a number)"),
    ("vnc='yes'", VIRTUAL_MACHINE, {**VM, "vnc": "yes"}, "vnc", "valid boolean"),
    ("disks='root'", VIRTUAL_MACHINE, {**VM, "disks": "root"}, "disks", "valid list (got a string)"),
    ("disks={...}", VIRTUAL_MACHINE, {**VM, "disks": {"name": "root"}}, "disks", "valid list (got an object)"),
    ("memory=2**30", VIRTUAL_MACHINE, {**VM, "memory": 2**30}, "memory", "give a quantity with its unit"),
    # bounds
    ("memory 1Ei", VIRTUAL_MACHINE, {**VM, "memory": "1Ei"}, "memory", "more than 16Ti"),
    ("memory 17Ti", VIRTUAL_MACHINE, {**VM, "memory": "17Ti"}, "memory", "more than 16Ti"),
    ("memory 5000 digits", VIRTUAL_MACHINE, {**VM, "memory": "9" * 5000}, "memory", "5000 characters"),
    ("memory 1e999", VIRTUAL_MACHINE, {**VM, "memory": "1e999"}, "memory", "larger than any machine"),
    ("memory 8Mi", VIRTUAL_MACHINE, {**VM, "memory": "8Mi"}, "memory", "below the 16Mi"),
    ("2048 vCPUs", VIRTUAL_MACHINE, {**VM, "cpu": {"sockets": 64, "cores": 32}}, "cpu.sockets", "more than 1024"),
    ("max vCPUs", VIRTUAL_MACHINE, {**VM, "cpu": {"cores": 64, "max_sockets": 32}}, "cpu.max_sockets", "1024"),
    ("10-byte disk", DISK, {"name": "d", "size": "10"}, "size", "below the 1Mi"),
    ("2 PiB disk", DISK, {"name": "d", "size": "2Pi"}, "size", "more than 1Pi"),
    (
        "grace period 2**40",
        VIRTUAL_MACHINE,
        {**KVM, "kubevirt": {"termination_grace_period_seconds": 2**40}},
        "kubevirt.termination_grace_period_seconds",
        "less than or equal",
    ),
    (
        "timeout 'soon'",
        DISK,
        {"name": "d", "size": "1Gi", "timeouts": {"create": "soon"}},
        "timeouts.create",
        "not a duration",
    ),
    ("timeout 0s", DISK, {"name": "d", "size": "1Gi", "timeouts": {"create": "0s"}}, "timeouts.create", "at least 1s"),
    (
        "timeout 1000h",
        DISK,
        {"name": "d", "size": "1Gi", "timeouts": {"delete": "1000h"}},
        "timeouts.delete",
        "at most 168h",
    ),
    # control characters, anywhere
    ("description BEL", VIRTUAL_MACHINE, {**VM, "description": "a\x07b"}, "description", "control character"),
    ("description ESC", VIRTUAL_MACHINE, {**VM, "description": "\x1b[31m"}, "description", "U+001B"),
    ("label value NUL", VIRTUAL_MACHINE, {**VM, "labels": {"a": "b\x00"}}, "labels.a", "control character"),
    (
        "cmdline newline",
        VIRTUAL_MACHINE,
        {**VM, "kernel_boot": {"kernel": "/k", "cmdline": "a\nb"}},
        "kernel_boot.cmdline",
        "line break",
    ),
    (
        "ssh key newline",
        VIRTUAL_MACHINE,
        {**VM, "cloud_init": {"ssh_authorized_keys": ["ssh-ed25519 A\nB"]}},
        "cloud_init.ssh_authorized_keys[0]",
        "line break",
    ),
    ("surrogate", VIRTUAL_MACHINE, {**VM, "description": "\ud800"}, "description", "U+D800"),
    # host paths
    (
        "relative disk path",
        VIRTUAL_MACHINE,
        {**VM, "disks": [{"name": "r", "path": "../../etc/passwd"}]},
        "disks[0].path",
        "absolute",
    ),
    (
        "disk path ..",
        VIRTUAL_MACHINE,
        {**VM, "disks": [{"name": "r", "path": "/srv/../etc/shadow"}]},
        "disks[0].path",
        "'..' segment",
    ),
    (
        "disk path //",
        VIRTUAL_MACHINE,
        {**VM, "disks": [{"name": "r", "path": "/srv//x.iso"}]},
        "disks[0].path",
        "write it as '/srv/x.iso'",
    ),
    (
        "pool_path ..",
        DISK,
        {"name": "d", "size": "1Gi", "pool_path": "/var/lib/libvirt/../../../etc"},
        "pool_path",
        "'..' segment",
    ),
    ("pool_path relative", DISK, {"name": "d", "size": "1Gi", "pool_path": "pools/x"}, "pool_path", "absolute"),
    ("pool name ../", DISK, {"name": "d", "size": "1Gi", "pool": "../../etc"}, "pool", "one path component"),
    (
        "kernel relative",
        VIRTUAL_MACHINE,
        {**VM, "kernel_boot": {"kernel": "vmlinuz"}},
        "kernel_boot.kernel",
        "absolute",
    ),
    (
        "initrd ..",
        VIRTUAL_MACHINE,
        {**VM, "kernel_boot": {"kernel": "/k", "initrd": "/boot/../x"}},
        "kernel_boot.initrd",
        "'..'",
    ),
    ("image path ..", DISK, {"name": "d", "source": {"kind": "image", "path": "/a/../b.qcow2"}}, "source.path", "'..'"),
    # URLs
    (
        "url file://",
        DISK,
        {"name": "d", "size": "1Gi", "source": {"kind": "url", "url": "file:///etc/passwd"}},
        "source.url",
        "not an http(s) URL",
    ),
    (
        "url credentials",
        DISK,
        {"name": "d", "size": "1Gi", "source": {"kind": "url", "url": "https://u:pw@h/x"}},
        "source.url",
        "credentials",
    ),
    (
        "url bad port",
        DISK,
        {"name": "d", "size": "1Gi", "source": {"kind": "url", "url": "http://h:99999/x"}},
        "source.url",
        "not a valid URL",
    ),
    (
        "registry file://",
        DISK,
        {**KDISK, "source": {"kind": "registry", "url": "file:///x"}},
        "source.url",
        "docker://",
    ),
    (
        "registry https://",
        DISK,
        {**KDISK, "source": {"kind": "registry", "url": "https://quay.io/x"}},
        "source.url",
        "docker://",
    ),
    (
        "registry bad ref",
        DISK,
        {**KDISK, "source": {"kind": "registry", "url": "docker://Quay.io/UPPER:"}},
        "source.url",
        "image reference",
    ),
    (
        "template url in disk",
        VIRTUAL_MACHINE,
        _tpl(kind="url", url="ftp://x/y"),
        "disks[0].template.source.url",
        "http(s)",
    ),
    (
        "containerDisk ref",
        VIRTUAL_MACHINE,
        {**KVM, "disks": [{"name": "c", "container_image": "not a ref"}]},
        "disks[0].container_image",
        "image reference",
    ),
    # Kubernetes syntax
    (
        "namespace",
        VIRTUAL_MACHINE,
        {**KVM, "target": {"kind": "kubevirt", "namespace": "Team_A"}},
        "target.namespace",
        "not a valid name",
    ),
    ("storage class", DISK, {**KDISK, "storage_class": "Fast SSD"}, "storage_class", "Kubernetes object name"),
    ("label key", VIRTUAL_MACHINE, {**KVM, "labels": {"-bad": "x"}}, "labels.-bad", "not a valid key"),
    ("label key prefix", VIRTUAL_MACHINE, {**KVM, "labels": {"Example.COM/x": "y"}}, "labels.Example.COM/x", "prefix"),
    ("label key 64", VIRTUAL_MACHINE, {**KVM, "labels": {"k" * 64: "y"}}, "labels." + "k" * 64, "1-63"),
    ("label value 64", VIRTUAL_MACHINE, {**KVM, "labels": {"k": "v" * 64}}, "labels.k", "label value"),
    ("label value space", VIRTUAL_MACHINE, {**KVM, "labels": {"k": "a b"}}, "labels.k", "label value"),
    ("annotation key", DISK, {**KDISK, "annotations": {"a/b/c": "x"}}, "annotations.a/b/c", "not a valid key"),
    (
        "node selector",
        VIRTUAL_MACHINE,
        {**KVM, "kubevirt": {"node_selector": {"zone": "eu west"}}},
        "kubevirt.node_selector.zone",
        "label value",
    ),
    (
        "NAD ref",
        VIRTUAL_MACHINE,
        {**KVM, "interfaces": [{"name": "n", "network": "a/b/c"}]},
        "interfaces[0].network",
        "NetworkAttachmentDefinition",
    ),
    (
        "NAD name",
        VIRTUAL_MACHINE,
        {**KVM, "interfaces": [{"name": "n", "network": "ns/Bad_Name"}]},
        "interfaces[0].network",
        "NetworkAttachmentDefinition",
    ),
    (
        "pvc name",
        VIRTUAL_MACHINE,
        {**KVM, "disks": [{"name": "p", "pvc": "my_pvc"}]},
        "disks[0].pvc",
        "Kubernetes object name",
    ),
    (
        "clone namespace",
        DISK,
        {**KDISK, "source": {"kind": "clone", "pvc": "p", "pvc_namespace": "a.b"}},
        "source.pvc_namespace",
        "not a valid name",
    ),
    (
        "hostname",
        VIRTUAL_MACHINE,
        {**KVM, "kubevirt": {"hostname": "web.example.com"}},
        "kubevirt.hostname",
        "not a valid name",
    ),
    (
        "affinity kind",
        VIRTUAL_MACHINE,
        {**KVM, "kubevirt": {"affinity": {"nodeAfinity": {}}}},
        "kubevirt.affinity",
        "unknown affinity",
    ),
    (
        "toleration Exists+value",
        VIRTUAL_MACHINE,
        {**KVM, "kubevirt": {"tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]}},
        "kubevirt.tolerations[0].value",
        "Exists",
    ),
    # cross-field rules land on the field
    (
        "duplicate disk",
        VIRTUAL_MACHINE,
        {**VM, "disks": [{"name": "a", "path": "/a"}, {"name": "a", "path": "/b"}]},
        "disks",
        "disks[0] and disks[1]",
    ),
    (
        "duplicate MAC",
        VIRTUAL_MACHINE,
        {
            **VM,
            "interfaces": [
                {"name": "a", "network": "n", "mac": "52:54:00:00:00:01"},
                {"name": "b", "network": "n", "mac": "52:54:00:00:00:01"},
            ],
        },
        "interfaces",
        "appears twice",
    ),
    (
        "duplicate boot order",
        VIRTUAL_MACHINE,
        {**VM, "disks": [{"name": "a", "path": "/a", "boot_order": 1}, {"name": "b", "path": "/b", "boot_order": 1}]},
        "disks",
        "boot_order 1 appears twice",
    ),
    (
        "kube source on libvirt",
        VIRTUAL_MACHINE,
        {**VM, "disks": [{"name": "a", "pvc": "p"}]},
        "disks[0].pvc",
        "kubevirt target",
    ),
    (
        "vlan on kube NIC",
        VIRTUAL_MACHINE,
        {**KVM, "interfaces": [{"name": "a", "network": "n", "vlan": 5}]},
        "interfaces[0].vlan",
        "Bridge",
    ),
    (
        "own host in hosts",
        VIRTUAL_MACHINE,
        {**VM, "hosts": ["qemu+tcp://localhost/system"]},
        "hosts[0]",
        "own target host",
    ),
    (
        "same host twice in hosts",
        VIRTUAL_MACHINE,
        {**VM, "hosts": ["qemu+tcp://h2/system", "qemu+ssh://root@H2/system"]},
        "hosts[1]",
        "hosts[0] again",
    ),
    (
        "masquerade off the pod network",
        VIRTUAL_MACHINE,
        {**KVM, "interfaces": [{"name": "a", "network": "lan", "binding": "masquerade"}]},
        "interfaces[0].binding",
        "pod network",
    ),
    # KubeVirt's VM webhook (LiveUpdate memory hotplug) reports these on memory.guest
    (
        "memory hotplug below 1Gi",
        VIRTUAL_MACHINE,
        {**KVM, "memory": "512Mi", "max_memory": "2Gi"},
        "memory",
        "at least 1Gi",
    ),
    (
        "memory hotplug off the 2Mi block",
        VIRTUAL_MACHINE,
        {**KVM, "memory": "1100M", "max_memory": "4Gi"},
        "memory",
        "multiple of 2Mi",
    ),
    (
        "maxGuest off the 2Mi block",
        VIRTUAL_MACHINE,
        {**KVM, "memory": "1Gi", "max_memory": "3000M"},
        "max_memory",
        "multiple of 2Mi",
    ),
    (
        "sriov on the pod network",
        VIRTUAL_MACHINE,
        {**KVM, "interfaces": [{"name": "a", "pod": True, "binding": "sriov"}]},
        "interfaces[0].binding",
        "SR-IOV NAD",
    ),
    ("blank disk no size", DISK, {"name": "d"}, "size", "needs a size"),
    ("bridge mode no bridge", BRIDGE, {"name": "b", "mode": "bridge"}, "bridge", "existing host bridge"),
    ("bridge /1 ok, /31 not", BRIDGE, {"name": "b", "ipv4": {"address": "10.0.0.1/31"}}, "ipv4.address", "/30"),
    ("ifname", BRIDGE, {"name": "b", "mode": "bridge", "bridge": "br:0"}, "bridge", "interface name"),
    # migrations to the same host under another spelling
    (
        "same host default port",
        MIGRATION,
        {**MIG, "destination_uri": "qemu+tcp://10.77.0.1:16509/system"},
        "destination_uri",
        "own host",
    ),
    (
        "same host other transport",
        MIGRATION,
        {**MIG, "destination_uri": "qemu+ssh://root@10.77.0.1/system"},
        "destination_uri",
        "own host",
    ),
    (
        "same host params",
        MIGRATION,
        {**MIG, "destination_uri": "qemu+tcp://10.77.0.1/system?no_verify=1"},
        "destination_uri",
        "own host",
    ),
    (
        "same host by case",
        MIGRATION,
        {
            **MIG,
            "target": {"kind": "libvirt", "uri": "qemu+tcp://HV1.example/system"},
            "destination_uri": "qemu+tcp://hv1.example./system",
        },
        "destination_uri",
        "own host",
    ),
    (
        "local vs loopback",
        MIGRATION,
        {**MIG, "target": {"kind": "libvirt"}, "destination_uri": "qemu+tcp://127.0.0.1/system"},
        "destination_uri",
        "own host",
    ),
    (
        "trailing slash",
        MIGRATION,
        {**MIG, "destination_uri": "qemu+tcp://10.77.0.2/system/"},
        "destination_uri",
        "must end in /system",
    ),
    (
        "uri password",
        MIGRATION,
        {**MIG, "destination_uri": "qemu+ssh://u:pw@10.77.0.2/system"},
        "destination_uri",
        "password",
    ),
    (
        "migrate uri",
        MIGRATION,
        {**MIG, "destination_uri": "qemu+tcp://10.77.0.2/system", "migrate_uri": "tcp://"},
        "migrate_uri",
        "tcp://HOST",
    ),
]
BAD.append(
    (
        "template 10 bytes",
        VIRTUAL_MACHINE,
        {**KVM, "disks": [{"name": "r", "template": {"size": "10"}}]},
        "disks[0].template.size",
        "below the 1Mi",
    )
)


@pytest.mark.parametrize(("label", "kind", "inputs", "path", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_at_check_naming_the_field(
    label: str, kind: ResourceKind[Any], inputs: dict[str, Any], path: str, words: str
) -> None:
    found = failures(kind, inputs)
    assert path in found, found
    assert words in found[path], found[path]


GOOD: list[tuple[str, ResourceKind[Any], dict[str, Any]]] = [
    ("XML-special text", VIRTUAL_MACHINE, {**VM, "description": "<b>&'\"</b>\n\ttab", "labels": {"<&>": "'\""}}),
    (
        "floats from the wire",
        VIRTUAL_MACHINE,
        {**VM, "cpu": {"sockets": 2.0, "cores": 1.0}, "interfaces": [{"name": "n", "network": "lan", "vlan": 10.0}]},
    ),
    ("1024 vCPUs, 16Ti", VIRTUAL_MACHINE, {**VM, "memory": "16Ti", "cpu": {"sockets": 16, "cores": 64}}),
    ("1Mi and 1Pi disks", DISK, {"name": "d", "size": "1Mi"}),
    ("1Pi disk", DISK, {"name": "d", "size": "1Pi"}),
    (
        "docker ref with digest",
        DISK,
        {**KDISK, "source": {"kind": "registry", "url": "docker://registry:5000/a/b@sha256:" + "0" * 64}},
    ),
    ("docker hub short", DISK, {**KDISK, "source": {"kind": "registry", "url": "docker://kubevirt/fedora-cloud"}}),
    ("oci-archive", DISK, {**KDISK, "source": {"kind": "registry", "url": "oci-archive:///data/disk.tar"}}),
    ("labels with prefix", VIRTUAL_MACHINE, {**KVM, "labels": {"app.kubernetes.io/name": "web", "empty": ""}}),
    ("NAD in another namespace", VIRTUAL_MACHINE, {**KVM, "interfaces": [{"name": "n", "network": "net/lan.v10"}]}),
    ("other host", MIGRATION, {**MIG, "destination_uri": "qemu+tcp://10.77.0.2/system"}),
    (
        "other local daemon",
        MIGRATION,
        {
            **MIG,
            "target": {"kind": "libvirt", "uri": "qemu+unix:///system?socket=/a"},
            "destination_uri": "qemu+tcp://10.77.0.2/system",
            "destination_client_uri": "qemu+unix:///system?socket=/b",
        },
    ),
    (
        "ISO path",
        VIRTUAL_MACHINE,
        {**VM, "disks": [{"name": "cd", "path": "/srv/iso/seed v1.iso", "cdrom": True, "bus": "sata"}]},
    ),
    ("shutdown 0s", VIRTUAL_MACHINE, {**VM, "restart_policy": {"shutdown_timeout": "0s"}}),
]


@pytest.mark.parametrize(("label", "kind", "inputs"), GOOD, ids=[g[0] for g in GOOD])
def test_valid_input_still_passes(label: str, kind: ResourceKind[Any], inputs: dict[str, Any]) -> None:
    assert failures(kind, inputs) == {}


def test_integral_floats_become_ints() -> None:
    checked, _ = VIRTUAL_MACHINE.check(None, {**VM, "cpu": {"sockets": 2.0}}, unknown=UNKNOWN)
    assert checked["cpu"]["sockets"] == 2 and isinstance(checked["cpu"]["sockets"], int)


# -- error paths ------------------------------------------------------------------------
def test_fields_named_like_union_tags_keep_their_name() -> None:
    found = failures(VIRTUAL_MACHINE, {**KVM, "kubevirt": {"termination_grace_period_seconds": -1}})
    assert list(found) == ["kubevirt.termination_grace_period_seconds"]
    found = failures(DISK, {"name": "d", "size": "1Gi", "source": {"kind": "url", "url": "x"}})
    assert list(found) == ["source.url"]
    # the tags pydantic inserts are dropped; real fields of the same name are not
    assert _format_loc(("target", "libvirt", "uri"), VirtualMachineArgs) == "target.uri"
    assert _format_loc(("source", "url", "url"), DiskArgs) == "source.url"
    assert _format_loc(("kubevirt", "hostname"), VirtualMachineArgs) == "kubevirt.hostname"
    loc = ("disks", 0, "template", "source", "url", "url")
    assert _format_loc(loc, VirtualMachineArgs) == "disks[0].template.source.url"
    assert _format_loc(("labels", "k", "[key]"), VirtualMachineArgs) == "labels.k"


def test_rules_between_fields_wait_for_unknowns_but_field_errors_do_not() -> None:
    # memory unknown: max_memory cannot be compared yet
    assert failures(VIRTUAL_MACHINE, {**VM, "memory": UNKNOWN, "max_memory": "128Mi"}) == {}
    # an unrelated wrong field is still reported while something else is unknown
    found = failures(VIRTUAL_MACHINE, {**VM, "name": UNKNOWN, "cpu": {"sockets": True}})
    assert list(found) == ["cpu.sockets"]


# -- secrets ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cloud_init",
    [
        {"user_data": f"password: {SECRET}\x07"},
        {"network_data": f"{SECRET}\x00"},
        {"user_data": f"password: {SECRET}", "secret_name": "s"},
        {"user_data": [SECRET]},
        {"user_data": f"{SECRET}", "extra": SECRET},
        {"secret_name": SECRET},
        {"ssh_authorized_keys": [f"ssh-rsa {SECRET}\n"]},
    ],
)
def test_cloud_init_failures_never_echo_the_value(cloud_init: dict[str, Any]) -> None:
    from pulumi_kubevirt.provider.resources import VirtualMachineProvider

    target = {"kind": "kubevirt"} if "secret_name" in cloud_init else {"kind": "libvirt"}
    inputs = {**VM, "target": target, "cloud_init": cloud_init}
    if target["kind"] == "kubevirt":
        inputs.pop("accelerator")
    found = failures(VIRTUAL_MACHINE, inputs)
    assert found and all(path.startswith("cloud_init") for path in found), found
    assert not any(SECRET in reason for reason in found.values()), found
    engine = VirtualMachineProvider().check({}, inputs).failures  # what the engine prints
    assert engine and not any(SECRET in str(f.reason) for f in engine)


def test_no_failure_names_a_whole_secret_or_container_field() -> None:
    """The engine prints the value of a top-level property a failure names (secrets too)."""
    assert list(failures(VIRTUAL_MACHINE, {**VM, "cloud_init": f"password: {SECRET}"})) == ["cloud_init (secret)"]
    spec = {"name": "v", "cloud_init": {"user_data": f"{SECRET}\x07"}}
    found = failures(MIGRATION, {**MIG, "destination_uri": "qemu+tcp://10.77.0.2/system", "vm_spec": spec})
    assert list(found) == ["vm_spec.cloud_init.user_data"]
    assert list(failures(VIRTUAL_MACHINE, {**VM, "labels": {"k\x07": "v"}})) == ["labels.k\x07"]


# -- URIs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("qemu+tcp://10.77.0.1/system", "qemu+tcp://10.77.0.1:16509/system"),
        ("qemu+tcp://10.77.0.1/system", "QEMU+TCP://10.77.0.1/system"),
        ("qemu+tls://Host.Example/system", "qemu+tls://host.example:16514/system"),
        ("qemu+ssh://root@h/system?keyfile=/k", "qemu+ssh://root@h:22/system"),
        ("qemu+tcp://[::1]/system", "qemu+tcp://[0:0:0:0:0:0:0:1]/system"),
        ("qemu+unix:///system?socket=/s&mode=legacy", "qemu+unix:///system?socket=/s"),
    ],
)
def test_uri_spellings_normalise_to_one(a: str, b: str) -> None:
    assert normalize_libvirt_uri(a) == normalize_libvirt_uri(b)
    assert same_libvirt_host(a, b)


def test_different_daemons_stay_different() -> None:
    assert not same_libvirt_host("qemu+tcp://10.77.0.1/system", "qemu+tcp://10.77.0.2/system")
    assert not same_libvirt_host("qemu+unix:///system?socket=/a", "qemu+unix:///system?socket=/b")
    assert normalize_libvirt_uri("qemu+tcp://h:16510/system") == "qemu+tcp://h:16510/system"
    assert same_libvirt_host("qemu:///system", "qemu+ssh://root@localhost/system")


# -- properties: valid values pass, other spellings of the VM's host do not --------------------
_dns_label = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
_label_name = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?", fullmatch=True)
_label_key = st.builds(
    lambda p, n: f"{p}/{n}" if p else n,
    st.none() | st.builds(".".join, st.lists(_dns_label, min_size=1, max_size=3)),
    _label_name,
)
_segment = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.+ -]{0,15}", fullmatch=True).filter(lambda s: s not in ("..",))


@settings(max_examples=150, deadline=None)
@given(
    labels=st.dictionaries(_label_key, st.just("") | _label_name, max_size=4),
    path=st.lists(_segment, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts)),
    mib=st.integers(16, 16 * 2**20),
    sockets=st.integers(1, 16),
)
def test_valid_values_pass(labels: dict[str, str], path: str, mib: int, sockets: int) -> None:
    kube = {**KVM, "labels": labels, "memory": f"{mib}Mi", "cpu": {"sockets": float(sockets)}}
    assert failures(VIRTUAL_MACHINE, kube) == {}
    libvirt = {**VM, "disks": [{"name": "iso", "path": path, "cdrom": True, "bus": "sata"}], "labels": labels}
    assert failures(VIRTUAL_MACHINE, libvirt) == {}


@settings(max_examples=100, deadline=None)
@given(
    host=st.sampled_from(["10.77.0.1", "hv1.example", "[fd00::1]"]),
    scheme=st.sampled_from(["qemu+tcp", "qemu+ssh", "qemu+tls", "qemu+libssh2"]),
    upper=st.booleans(),
    port=st.sampled_from(["", ":16509", ":22", ":16514"]),
    user=st.sampled_from(["", "root@"]),
    query=st.sampled_from(["", "?no_verify=1", "?keyfile=/root/k&no_tty=1"]),
)
def test_every_spelling_of_the_own_host_is_refused(
    host: str, scheme: str, upper: bool, port: str, user: str, query: str
) -> None:
    spelled = host.upper() if upper else host
    inputs = {
        **MIG,
        "target": {"kind": "libvirt", "uri": f"qemu+tcp://{host}/system"},
        "destination_uri": f"{scheme}://{user}{spelled}{port}/system{query}",
    }
    assert "own host" in failures(MIGRATION, inputs)["destination_uri"]


# -- the resource classes: no wrong input breaks the program -----------------------------------
@pytest.fixture
def mocks() -> RecordingMocks:
    return pulumi_mocks.install(preview=True)


class _Opaque:
    pass


WRONG_PYTHON_VALUES: list[tuple[str, Any]] = [
    ("a set", {1, 2}),
    ("bytes", b"root"),
    ("an object", _Opaque()),
    ("a huge int", 10**400),
    ("NaN", float("nan")),
    ("a lone surrogate", "\ud800"),
    ("a non-str key", {1: "x"}),
    ("a nested set", [{"name": "x", "bus": {"virtio"}}]),
    ("a tuple of junk", ("root", 5)),
]
CLASS_CASES = [
    (resource, field, label, value)
    for resource, fields in (
        ("VirtualMachine", ["memory", "disks", "interfaces", "cpu", "description", "cloud_init", "labels", "target"]),
        ("Disk", ["size", "source", "pool_path", "annotations"]),
        ("Bridge", ["ipv4", "ports", "vlan"]),
    )
    for field in fields
    for label, value in WRONG_PYTHON_VALUES
]


def _resource(kind_name: str) -> tuple[type[Any], ResourceKind[Any]]:
    from pulumi_kubevirt.provider.resources import Bridge, Disk, VirtualMachine

    return {"VirtualMachine": (VirtualMachine, VIRTUAL_MACHINE), "Disk": (Disk, DISK), "Bridge": (Bridge, BRIDGE)}[
        kind_name
    ]


def _checked(mocks: RecordingMocks, kind: ResourceKind[Any], name: str) -> list[Failure]:
    return kind.check(None, mocks.inputs[name], unknown=UNKNOWN)[1]


@pytest.mark.parametrize(("resource", "field", "label", "value"), CLASS_CASES)
@pulumi.runtime.test
def test_wrong_python_values_reach_check_as_field_failures(
    mocks: RecordingMocks, resource: str, field: str, label: str, value: Any
) -> Any:
    cls, kind = _resource(resource)
    res = cls("r", **{field: value})

    def judge(_urn: str) -> None:
        found = _checked(mocks, kind, "r")
        assert any(f.property == field or f.property.startswith((field + ".", field + "[")) for f in found), found

    return res.urn.apply(judge)


@pytest.mark.parametrize(
    "timeouts",
    [
        pulumi.CustomTimeouts(create="soon"),
        pulumi.CustomTimeouts(create=20),  # type: ignore[arg-type]
        pulumi.CustomTimeouts(delete="-5s"),
        {"create": "10 minutes"},
    ],
)
@pulumi.runtime.test
def test_unparsable_custom_timeouts_become_a_check_failure(mocks: RecordingMocks, timeouts: Any) -> Any:
    from pulumi_kubevirt.provider.resources import Disk

    disk = Disk("d", size="1Gi", opts=pulumi.ResourceOptions(custom_timeouts=timeouts))

    def judge(_urn: str) -> None:
        found = _checked(mocks, DISK, "d")
        assert [f.property for f in found] in (["timeouts.create"], ["timeouts.delete"]), found

    return disk.urn.apply(judge)


@pulumi.runtime.test
def test_valid_custom_timeouts_still_reach_the_timeouts_input(mocks: RecordingMocks) -> Any:
    from pulumi_kubevirt.provider.resources import Disk

    disk = Disk("d", size="1Gi", opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="20s")))
    return disk.urn.apply(lambda _: _assert_equal(mocks.inputs["d"]["timeouts"], {"create": "20s"}))


def _assert_equal(a: Any, b: Any) -> None:
    assert a == b


@pytest.mark.parametrize("vm", ["web", 5, _Opaque()])
@pulumi.runtime.test
def test_migration_of_something_not_a_vm_is_a_check_failure(mocks: RecordingMocks, vm: Any) -> Any:
    from pulumi_kubevirt.provider.resources import Migration

    move = Migration("m", vm=vm, destination_uri="qemu+tcp://10.77.0.2/system")

    def judge(_urn: str) -> None:
        found = _checked(mocks, MIGRATION, "m")
        if vm == "web":
            assert found == []
        else:
            assert [f.property for f in found] == ["vm"], found

    return move.urn.apply(judge)
