"""Test harness: starts the real components (libvirtd + QEMU, kube-apiserver +
etcd, the pulumi CLI) for the test tiers and tears down only what it started.

Nothing here is imported by the product; it lives under tests/ on purpose.
"""
