"""Ownership markers: who created a backend object. Pure.

Every object the provider creates carries its owner: the Pulumi stack
(`project/stack`) and the resource's logical name. Backends record it (KubeVirt/
Kubernetes: a label and annotations; libvirt: domain/network `<metadata>`, and a
ledger for pools and volumes, which have no metadata) and compare it before they
adopt, update or delete anything. An object without our marker is foreign: create
refuses it with a Conflict (unless the resource says `adopt=True`) and delete
leaves it alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidSpec

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
