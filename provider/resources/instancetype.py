"""Instancetype and Preference: the Pulumi resources and their dynamic providers (KubeVirt only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from ..kinds import INSTANCETYPE, PREFERENCE
from ._dynamic import DynamicAdapter
from .inputs import TypedInstancetype, TypedPreference

if TYPE_CHECKING:
    from typing import TypeAlias

    from .inputs import ClusterRefArgs

    Reference: TypeAlias = ClusterRefArgs
    """What `ref` holds, {name, kind}: the reference a VM's kubevirt.instancetype / kubevirt.preference takes."""
else:
    # Pulumi translates an output by its annotation as evaluated at run time, and refuses a dict for a
    # TypedDict ("Unexpected type"): at run time `ref` is the plain dict the provider returns.
    Reference = dict[str, str]


class InstancetypeProvider(DynamicAdapter):
    """Dynamic provider of Instancetype."""

    kind = INSTANCETYPE


class PreferenceProvider(DynamicAdapter):
    """Dynamic provider of Preference."""

    kind = PREFERENCE


class Instancetype(TypedInstancetype, module="kubevirt", name="Instancetype"):
    """A KubeVirt VirtualMachineInstancetype (or, with cluster=True, VirtualMachineClusterInstancetype).

    A VM uses it with `kubevirt={"instancetype": it.ref}`. Updating it changes the object at once;
    VMs that already use it keep the revision KubeVirt captured for them (see kubevirt/rules.py).
    """

    ref: pulumi.Output[Reference]
    planned_change: pulumi.Output[str]

    provider_class = InstancetypeProvider


class Preference(TypedPreference, module="kubevirt", name="Preference"):
    """A KubeVirt VirtualMachinePreference (or, with cluster=True, VirtualMachineClusterPreference).

    A VM uses it with `kubevirt={"preference": pref.ref}`.
    """

    ref: pulumi.Output[Reference]
    planned_change: pulumi.Output[str]

    provider_class = PreferenceProvider
