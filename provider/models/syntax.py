"""The syntax of the strings a resource carries: text, host paths, names. Pure.

Each rule is an `Annotated` type, so the failing element is named exactly
(`disks[1].path`, `labels.app`), and its JSON schema is unchanged (`string`).
Messages echo the offending value except where it may be a secret: `Text`,
`MultilineText` and `SingleLine` never echo (user data, keys and passwords are
of those types), and every echo is shortened to `_ECHO` characters.

Bounds chosen, and why:
- Kubernetes names, label and annotation keys and values follow
  k8s.io/apimachinery/pkg/util/validation (DNS-1123 label <= 63, subdomain
  <= 253, qualified name = [prefix/]name with name <= 63, label value <= 63,
  all annotations together <= 256 KiB);
- host paths are absolute and normalized (`..`, `.`, `//` would let a
  declaration name a file outside the directory it seems to name), <= PATH_MAX;
- libvirt pool/volume names: one path component (a pool name becomes a
  directory under /var/lib/libvirt/pools), <= NAME_MAX.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_ECHO = 80
_PATH_MAX = 4096
_NAME_MAX = 255
ANNOTATIONS_MAX_BYTES = 256 * 1024

# XML 1.0 refuses C0 controls but tab/LF/CR, surrogates and U+FFFE/U+FFFF; DEL
# and C1 controls are legal XML but never meant in a declaration (and garble
# terminals): refused everywhere. Lone surrogates cannot even be encoded to UTF-8.
_BAD_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BAD_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def echo(value: object) -> str:
    """`value` for an error message: repr, shortened, safe to print."""
    text = repr(value) if not isinstance(value, str) else repr(value.encode("utf-8", "replace").decode())
    return text if len(text) <= _ECHO else text[: _ECHO - 5] + "...'"


def bad_character(value: str, *, multiline: bool) -> str | None:
    """Why `value` cannot be carried (a control character and where), or None; never echoes it."""
    match = (_BAD_MULTILINE if multiline else _BAD_SINGLE_LINE).search(value)
    if match is None:
        return None
    char = match.group()
    kind = "a line break" if char in "\n\r" else "a tab" if char == "\t" else "a control character"
    return f"contains {kind} (U+{ord(char):04X}) at position {match.start()}: only printable text is accepted"


def check_text(value: str) -> str:
    problem = bad_character(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


def check_single_line(value: str) -> str:
    problem = bad_character(value, multiline=False)
    if problem:
        raise ValueError(problem)
    return value


MultilineText = Annotated[str, AfterValidator(check_text)]
"""Free text (descriptions, cloud-init data, annotation values): tab and line breaks allowed."""

SingleLine = Annotated[str, AfterValidator(check_single_line)]
"""One line of printable text (SSH keys, a kernel command line, a trigger)."""

Key = Annotated[str, StringConstraints(min_length=1), AfterValidator(check_single_line)]
"""A non-empty line of printable text (a libvirt metadata label key)."""


def check_host_path(value: str) -> str:
    check_single_line(value)
    if not value.startswith("/"):
        raise ValueError(f"{echo(value)} must be an absolute path on the hypervisor (starting with /)")
    if len(value) > _PATH_MAX:
        raise ValueError(f"the path is longer than {_PATH_MAX} characters")
    if ".." in value.split("/"):
        raise ValueError(f"{echo(value)} contains a '..' segment: give the absolute path without '..'")
    normal = posixpath.normpath(value)
    if normal != value:
        raise ValueError(f"{echo(value)} is not a normalized path: write it as {echo(normal)}")
    return value


HostPath = Annotated[str, AfterValidator(check_host_path)]
"""An absolute, normalized path on the hypervisor host (no `..`, `.`, `//` or trailing `/`)."""

_LIBVIRT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+@:-]*$")


def _check_libvirt_name(value: str) -> str:
    if not value or len(value) > _NAME_MAX or not _LIBVIRT_NAME.match(value):
        raise ValueError(
            f"{echo(value)} is not a libvirt pool/volume name: 1-{_NAME_MAX} letters, digits and '_.+@:-', "
            "not starting with '.' or '-' (one path component, no '/')"
        )
    return value


LibvirtName = Annotated[str, AfterValidator(_check_libvirt_name)]
"""A libvirt storage pool or volume name: a single, safe path component."""

_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.,+-]*$")


def _check_word(value: str) -> str:
    if len(value) > 128 or not _WORD.match(value):
        raise ValueError(f"{echo(value)} is not a model/type name: letters, digits and '_.,+-', at most 128 characters")
    return value


Word = Annotated[str, AfterValidator(_check_word)]
"""A machine type or CPU model name (q35, pc-q35-8.2, host-passthrough, Skylake-Server)."""

# -- Kubernetes (k8s.io/apimachinery/pkg/util/validation) -----------------------------
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


_DNS_LABEL_SAYS = (
    "is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
)
_DNS_SUBDOMAIN_SAYS = (
    "is not a valid Kubernetes object name: at most 253 lowercase letters, digits, "
    "'-' and '.', starting and ending with a letter or digit (DNS-1123 subdomain)"
)
_LABEL_VALUE_SAYS = (
    "is not a valid label value: at most 63 letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit (or empty)"
)


def _pattern_problem(value: str, most: int, pattern: re.Pattern[str], says: str) -> str | None:
    """`<value> <says>` when `value` is longer than `most` characters or does not match `pattern`."""
    if len(value) > most or not pattern.match(value):
        return f"{echo(value)} {says}"
    return None


def dns_label_problem(value: str) -> str | None:
    return _pattern_problem(value, 63, _DNS_LABEL, _DNS_LABEL_SAYS)


def dns_subdomain_problem(value: str) -> str | None:
    return _pattern_problem(value, 253, _DNS_SUBDOMAIN, _DNS_SUBDOMAIN_SAYS)


def qualified_name_problem(value: str) -> str | None:
    """A label/annotation key: `[prefix/]name`, prefix a DNS subdomain, name <= 63."""
    prefix, slash, name = value.rpartition("/")
    if slash and (not prefix or dns_subdomain_problem(prefix)):
        return f"{echo(value)} is not a valid key: the prefix before '/' must be a DNS subdomain (e.g. example.com)"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return (
            f"{echo(value)} is not a valid key: the name part must be 1-63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit, with an optional DNS-subdomain prefix and '/'"
        )
    return None


def label_value_problem(value: str) -> str | None:
    return _pattern_problem(value, 63, _LABEL_VALUE, _LABEL_VALUE_SAYS)


def _raising(problem: Callable[[str], str | None]) -> Callable[[str], str]:
    """An AfterValidator made of a `*_problem` check: the value, or a ValueError saying what is wrong."""

    def check(value: str) -> str:
        found = problem(value)
        if found:
            raise ValueError(found)
        return value

    return check


_check_dns_label = _raising(dns_label_problem)
_check_dns_subdomain = _raising(dns_subdomain_problem)
_check_qualified_name = _raising(qualified_name_problem)
_check_label_value = _raising(label_value_problem)


def nad_ref_problem(value: str) -> str | None:
    """Why `value` is no NetworkAttachmentDefinition reference (`name` or `namespace/name`), or None."""
    namespace, slash, name = value.rpartition("/")
    if slash and (not namespace or dns_label_problem(namespace)):
        return f"{echo(value)}: the namespace of a NetworkAttachmentDefinition reference must be a DNS-1123 label"
    if dns_subdomain_problem(name):
        return (
            f"{echo(value)} is not a NetworkAttachmentDefinition reference: use NAME or NAMESPACE/NAME "
            "(the name a DNS-1123 subdomain)"
        )
    return None


Name = Annotated[str, AfterValidator(_check_dns_label)]
"""A DNS-1123 label: valid as a libvirt name, a Kubernetes object name and a NIC name."""

Namespace = Annotated[str, AfterValidator(_check_dns_label)]
"""A Kubernetes namespace (DNS-1123 label)."""

ObjectName = Annotated[str, AfterValidator(_check_dns_subdomain)]
"""A Kubernetes object name (DNS-1123 subdomain): PVC, Secret, ConfigMap, storage class, ..."""

LabelKey = Annotated[str, AfterValidator(_check_qualified_name)]
"""A Kubernetes label or annotation key (`[prefix/]name`)."""

LabelValue = Annotated[str, AfterValidator(_check_label_value)]
"""A Kubernetes label value (<= 63, may be empty)."""


Labels = dict[LabelKey, LabelValue]
"""Kubernetes labels (or a node selector)."""


def _check_annotations(value: dict[str, str]) -> dict[str, str]:
    size = sum(len(k.encode()) + len(v.encode()) for k, v in value.items())
    if size > ANNOTATIONS_MAX_BYTES:
        raise ValueError(f"annotations total {size} bytes: Kubernetes allows at most {ANNOTATIONS_MAX_BYTES}")
    return value


Annotations = Annotated[dict[LabelKey, MultilineText], AfterValidator(_check_annotations)]
"""Kubernetes annotations: qualified keys, free-text values, <= 256 KiB in total."""


def label_problems(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(key, why) for every label Kubernetes would refuse (for models whose labels are
    Kubernetes labels only on a kubevirt target)."""
    out: list[tuple[str, str]] = []
    for key, value in labels.items():
        problem = qualified_name_problem(key) or label_value_problem(value)
        if problem:
            out.append((key, problem))
    return out


def _check_ifname(value: str) -> str:
    # the kernel's dev_valid_name(): 1-15 bytes, not "." or "..", no '/', ':' or whitespace
    if (
        not 1 <= len(value.encode()) <= 15
        or value in (".", "..")
        or any(c in value for c in "/:")
        or any(c.isspace() for c in value)
        or bad_character(value, multiline=False)
    ):
        raise ValueError(f"{echo(value)} is not a Linux interface name (1-15 chars, no '/', ':' or spaces)")
    return value


IfName = Annotated[str, AfterValidator(_check_ifname)]
"""A Linux network interface name (bridge, bond, NIC)."""

# Kubernetes' IsValidPortName (an IANA_SVC_NAME), which KubeVirt's webhook applies to ports[].name
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$")
_PORT_NAME_SAYS = (
    "is not a port name: at most 15 lowercase letters, digits and single inner '-', "
    "with at least one letter (an IANA service name, e.g. http or ssh-alt)"
)


def port_name_problem(value: str) -> str | None:
    return _pattern_problem(value, 15, _PORT_NAME, _PORT_NAME_SAYS)


PortName = Annotated[str, AfterValidator(_raising(port_name_problem))]
"""A named port (IANA_SVC_NAME): what a Service's targetPort can refer to."""

_USB_ID = re.compile(r"^(0x)?([0-9a-f]{4})$")


def _check_usb_id(value: str) -> str:
    match = _USB_ID.match(value.lower())
    if match is None:
        raise ValueError(f"{echo(value)} is not a USB id: four hex digits, e.g. 0x046d (as lsusb prints 046d)")
    return "0x" + match.group(2)


UsbId = Annotated[str, AfterValidator(_check_usb_id)]
"""A USB vendor or product id, normalized to libvirt's 0x-prefixed lowercase form."""
