"""A Migration back to the VM's home host is not a migration "to its own host"."""

from __future__ import annotations

from pulumi_kubevirt.provider.kinds import MIGRATION

HOME = "qemu+unix:///system?socket=/run/pkv/a/libvirt-sock"


def test_coming_home_is_allowed_and_the_same_host_is_not() -> None:
    base = {"name": "move", "vm": "web", "target": {"kind": "libvirt", "uri": HOME}}
    back = {**base, "destination_uri": "qemu+tcp://10.77.0.1/system", "destination_client_uri": HOME}
    _inputs, found = MIGRATION.check(None, back, unknown=object())
    assert found == []
    same = {**base, "destination_uri": HOME + "&no_verify=1", "destination_client_uri": HOME}
    _inputs, found = MIGRATION.check(None, same, unknown=object())
    assert [(f.property, "own host" in f.reason) for f in found] == [("destination_uri", True)]
