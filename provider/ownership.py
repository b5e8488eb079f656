"""Ownership markers: who created a backend object. Pure.

Every object the provider creates carries its owner: the Pulumi stack
(`project/stack`) and the resource's logical name. Backends record it (KubeVirt/
Kubernetes: a label and annotations; libvirt: domain/network `<metadata>`, and a
ledger for pools and volumes, which have no metadata) and compare it before they
adopt, update or delete anything. An object without our marker is foreign: create
refuses it with a Conflict (unless the resource says `adopt=True`) and delete
leaves it alone.

Adoption (`adopt=True`, which `pulumi import` of an object made outside Pulumi
writes into the imported inputs) makes an *unmarked* object this resource's to
read; the first real update stamps our marker onto it. A read never writes, so
an import leaves the object byte-for-byte as it was. An object marked by another
owner is never read as ours: with `adopt` that is a Conflict naming its owner
(an import must not silently move an object between stacks).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Conflict, InvalidSpec

OWNER = "__owner"
"""Input property the resource classes fill with the owner marker (`project/stack::logical-name`)."""


@dataclass(frozen=True)
class Owner:
    """The Pulumi stack (`project/stack`) and the logical name of the resource that owns an object."""

    stack: str
    resource: str

    def __str__(self) -> str:
        return f"{self.stack}::{self.resource}"

    @classmethod
    def parse(cls, text: object, *, resource: str) -> Owner:
        """The owner of `text` (`project/stack::name`); InvalidSpec when absent or malformed."""
        if not isinstance(text, str) or "::" not in text:
            raise InvalidSpec(
                "no owner marker: declare resources through the pulumi_kubevirt resource classes",
                resource=resource,
                field=OWNER,
            )
        stack, _, name = text.partition("::")
        if not stack or not name:
            raise InvalidSpec(f"malformed owner marker {text!r}", resource=resource, field=OWNER)
        return cls(stack, name)


def readable(marker: Owner | str | None, owner: Owner, *, adopt: bool, what: str, resource: str) -> bool:
    """Whether a read of `owner`'s resource sees the object carrying `marker` as its own.

    Ours: yes. Unmarked: only when the resource adopts it (`adopt=True`: declared, or
    written by `pulumi import`). Another owner's: no; with `adopt`, a Conflict naming that
    owner (an import, or an adopting resource, finds an object another stack manages).
    `what` names the object (`domain vm1`, `VirtualMachine ns/vm1`).
    """
    if marker is None:
        return adopt
    if str(marker) == str(owner):
        return True
    if adopt:
        raise Conflict(
            f"{what} is managed by {marker}, not by {owner}; it was left untouched. An object another "
            "stack manages is not imported: manage it from that stack, or take it over deliberately by "
            "declaring it in this stack with adopt=True",
            resource=resource,
            field="name",
        )
    return False
