"""The #cloud-config document the components hand to cloud-init. Pure.

Built as a dict and dumped with PyYAML (never string-built YAML), so a key with
a quote, a colon or a newline stays data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

HEADER = "#cloud-config\n"


def render_cloud_config(
    *,
    hostname: str | None = None,
    user: str | None = None,
    ssh_authorized_keys: Sequence[str] = (),
    packages: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> str:
    """`#cloud-config` user data.

    `user` is created with passwordless sudo and a locked password, owning the
    SSH keys; without `user` the keys go to the image's default user. `packages`
    are installed on first boot (after a package index update). `extra` adds
    further cloud-config keys; a key the other arguments already set is an error
    (ValueError naming it) rather than a silent override.
    """
    doc: dict[str, Any] = {}
    if hostname:
        doc["hostname"] = hostname
    keys = [str(k) for k in ssh_authorized_keys]
    if user:
        entry: dict[str, Any] = {
            "name": user,
            "shell": "/bin/bash",
            "sudo": "ALL=(ALL) NOPASSWD:ALL",
            "lock_passwd": True,
        }
        if keys:
            entry["ssh_authorized_keys"] = keys
        doc["users"] = ["default", entry]
    elif keys:
        doc["ssh_authorized_keys"] = keys
    if packages:
        doc["package_update"] = True
        doc["packages"] = [str(p) for p in packages]
    for key, value in (extra or {}).items():
        if key in doc:
            raise ValueError(f"{key!r} is already set by the component's own arguments")
        doc[key] = value
    return HEADER + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
