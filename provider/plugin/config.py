"""Provider configuration of the plugin (`kubevirt:*` stack config or an explicit Provider). No I/O.

Keys (the same as the dynamic resources' stack config, under the plugin's own
namespace): `targetKind` (libvirt | kubevirt), `libvirtUri`, `kubeconfig` (a
file path *or* the kubeconfig content), `context`, `namespace`, `inCluster`.

The default target of a resource that names none comes from here. A kubeconfig
given as content never enters a resource's inputs or state: the target keeps
no kubeconfig, and the provider process hands the reconcilers a private file
written from the content (see server.py). CheckConfig returns the content as a
secret whatever the user passed, so the Provider resource's state holds only
ciphertext.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core import Failure
from ..models.syntax import Namespace, SingleLine, check_text
from ..models.target import DEFAULT_LIBVIRT_URI, LibvirtUri
from .values import UNKNOWN

PACKAGE = "kubevirt"
"""The plugin's package name: binary `pulumi-resource-kubevirt`, tokens `kubevirt:index:*`, config `kubevirt:*`."""

KUBECONFIG = "kubeconfig"
ENGINE_KEYS = frozenset({"version", "pluginDownloadURL"})
"""Inputs the engine adds to every provider resource; not ours to validate."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    target_kind: Literal["libvirt", "kubevirt"] = Field("libvirt", alias="targetKind")
    libvirt_uri: LibvirtUri = Field(DEFAULT_LIBVIRT_URI, alias="libvirtUri")
    kubeconfig: str | None = None
    context: SingleLine | None = None
    namespace: Namespace = "default"
    in_cluster: bool = Field(False, alias="inCluster")


@dataclass(frozen=True)
class ProviderConfig:
    """The validated configuration of one provider instance."""

    target_kind: str = "libvirt"
    libvirt_uri: str = DEFAULT_LIBVIRT_URI
    kubeconfig_path: str | None = None
    kubeconfig_content: str | None = None
    context: str | None = None
    namespace: str = "default"
    in_cluster: bool = False

    def __repr__(self) -> str:  # the content is a secret: never in a log line or a traceback
        content = "<secret>" if self.kubeconfig_content is not None else None
        return (
            f"ProviderConfig(target_kind={self.target_kind!r}, libvirt_uri={self.libvirt_uri!r}, "
            f"kubeconfig_path={self.kubeconfig_path!r}, kubeconfig_content={content}, "
            f"context={self.context!r}, namespace={self.namespace!r}, in_cluster={self.in_cluster})"
        )

    def default_target(self) -> dict[str, Any]:
        """The target of a resource that names none (what its state records)."""
        if self.target_kind != "kubevirt":
            return {"kind": "libvirt", "uri": self.libvirt_uri}
        target: dict[str, Any] = {"kind": "kubevirt", "namespace": self.namespace}
        if self.in_cluster:
            target["in_cluster"] = True
            return target
        if self.kubeconfig_path is not None:
            target["kubeconfig"] = self.kubeconfig_path
        if self.context is not None:
            target["context"] = self.context
        return target


def is_content(kubeconfig: str) -> bool:
    """A kubeconfig given inline (YAML or JSON document) rather than as a file path."""
    text = kubeconfig.lstrip()
    return "\n" in kubeconfig or text.startswith("{") or text.startswith("apiVersion")


def _bool(value: Any) -> Any:
    """Stack config values arrive as strings: `true`/`false` are booleans here."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def parse_config(values: Mapping[str, Any]) -> tuple[ProviderConfig, list[Failure]]:
    """The config from provider inputs (camelCase keys, as in schema.json's `config`)."""
    # An unknown value (preview, config from another resource's output) is judged once known.
    given = {k: v for k, v in values.items() if k not in ENGINE_KEYS and v is not None and v != "" and v != UNKNOWN}
    if "inCluster" in given:
        given["inCluster"] = _bool(given["inCluster"])
    try:
        model = _Config.model_validate(given)
    except ValidationError as err:
        failures = []
        for item in err.errors():
            key = ".".join(str(p) for p in item["loc"]) or "(provider)"
            msg = item["msg"].removeprefix("Value error, ")
            if key == KUBECONFIG:
                msg = "must be a file path or the kubeconfig content"  # never echo a secret
            failures.append(Failure(key, f"provider config {key}: {msg}"))
        return ProviderConfig(), failures
    path = content = None
    if model.kubeconfig is not None:
        if is_content(model.kubeconfig):
            content = model.kubeconfig
        else:
            try:
                path = check_text(model.kubeconfig.strip())
            except ValueError as err:
                return ProviderConfig(), [Failure(KUBECONFIG, f"provider config kubeconfig: {err}")]
    return (
        ProviderConfig(
            target_kind=model.target_kind,
            libvirt_uri=model.libvirt_uri,
            kubeconfig_path=path,
            kubeconfig_content=content,
            context=model.context,
            namespace=model.namespace,
            in_cluster=model.in_cluster,
        ),
        [],
    )


def config_from_variables(variables: Mapping[str, str]) -> dict[str, str]:
    """`kubevirt:config:libvirtUri` -> `libvirtUri` (the engine's older, string-only config form)."""
    prefix = f"{PACKAGE}:config:"
    return {k[len(prefix) :]: v for k, v in variables.items() if k.startswith(prefix)}


SECRET_CONFIG_KEYS = frozenset({KUBECONFIG})
"""Config inputs returned as secrets by CheckConfig when they hold content (not a path)."""
