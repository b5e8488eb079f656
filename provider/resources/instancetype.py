"""Instancetype and Preference: the Pulumi resources and their dynamic providers (KubeVirt only)."""

from __future__ import annotations

import pulumi

from ..kinds import INSTANCETYPE, PREFERENCE
from ._dynamic import DynamicAdapter
from .inputs import TypedInstancetype, TypedPreference


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

    ref: pulumi.Output[dict[str, str]]
    planned_change: pulumi.Output[str]

    provider_class = InstancetypeProvider


class Preference(TypedPreference, module="kubevirt", name="Preference"):
    """A KubeVirt VirtualMachinePreference (or, with cluster=True, VirtualMachineClusterPreference).

    A VM uses it with `kubevirt={"preference": pref.ref}`.
    """

    ref: pulumi.Output[dict[str, str]]
    planned_change: pulumi.Output[str]

    provider_class = PreferenceProvider
