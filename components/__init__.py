"""ComponentResources composing the pulumi-kubevirt resources (composition only)."""

from .vm_with_disks import VmWithDisks

__all__ = ["VmWithDisks"]
