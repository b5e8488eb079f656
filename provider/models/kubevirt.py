"""KubeVirt-only VM options (scheduling, probes, eviction, instancetypes). Pure.

Kept in a sub-model so the shared VM model stays backend-neutral; a libvirt
target rejects it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .common import INT32_MAX, Bool, Int, Model, field_error
from .syntax import Annotations, LabelKey, Labels, LabelValue, Name, ObjectName, SingleLine

_AFFINITY_KINDS = ("nodeAffinity", "podAffinity", "podAntiAffinity")


class Toleration(Model):
    """A Kubernetes toleration."""

    key: LabelKey | None = Field(None, description="Taint key (empty with operator Exists matches all)")
    operator: Literal["Equal", "Exists"] = Field("Equal", description="Equal or Exists")
    value: LabelValue | None = Field(None, description="Taint value (operator Equal)")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(None, description="Taint effect")
    toleration_seconds: Int | None = Field(None, ge=0, le=INT32_MAX, description="NoExecute: how long to stay bound")

    @model_validator(mode="after")
    def _operator(self) -> Toleration:
        if self.operator == "Exists" and self.value:
            raise field_error(("value",), "a toleration with operator Exists has no value")
        if self.key is None and self.operator != "Exists":
            raise field_error(("operator",), "a toleration without a key must use operator Exists")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise field_error(("toleration_seconds",), "toleration_seconds only applies to effect NoExecute")
        return self


class Probe(Model):
    """A readiness/liveness probe (HTTP, TCP, exec through the guest agent, or agent ping)."""

    http_get_port: Int | None = Field(None, ge=1, le=65535, description="HTTP GET on this guest port")
    http_get_path: SingleLine = Field("/", description="HTTP path")
    tcp_socket_port: Int | None = Field(None, ge=1, le=65535, description="TCP connect to this guest port")
    exec_command: list[SingleLine] | None = Field(None, description="Command run by the guest agent")
    guest_agent_ping: Bool = Field(False, description="Ping the guest agent")
    initial_delay_seconds: Int | None = Field(None, ge=0, le=INT32_MAX, description="Delay before the first probe")
    period_seconds: Int | None = Field(None, ge=1, le=INT32_MAX, description="Probe period")
    timeout_seconds: Int | None = Field(None, ge=1, le=INT32_MAX, description="Probe timeout")
    failure_threshold: Int | None = Field(None, ge=1, le=INT32_MAX, description="Failures before not ready")
    success_threshold: Int | None = Field(None, ge=1, le=INT32_MAX, description="Successes before ready")

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        handlers = [self.http_get_port, self.tcp_socket_port, self.exec_command, self.guest_agent_ping or None]
        if sum(h is not None for h in handlers) != 1:
            raise field_error((), "give exactly one of http_get_port, tcp_socket_port, exec_command, guest_agent_ping")
        return self


class ClusterRef(Model):
    """A reference to an instancetype or preference."""

    name: ObjectName = Field(description="Object name")
    kind: (
        Literal[
            "VirtualMachineInstancetype",
            "VirtualMachineClusterInstancetype",
            "VirtualMachinePreference",
            "VirtualMachineClusterPreference",
        ]
        | None
    ) = Field(None, description="Kind (default: the cluster-scoped one)")


class KubevirtVmOptions(Model):
    """Options only a KubeVirt VirtualMachine has."""

    run_strategy: Literal["Always", "Halted", "Manual", "RerunOnFailure", "Once"] | None = Field(
        None, description="Override the runStrategy derived from run_state"
    )
    eviction_strategy: Literal["LiveMigrate", "LiveMigrateIfPossible", "None", "External"] | None = Field(
        None, description="What node drains do to the VM (LiveMigrate moves it)"
    )
    node_selector: Labels = Field(default_factory=dict, description="Node labels the VM must run on")
    tolerations: list[Toleration] = Field(default_factory=list, description="Tolerated taints")
    affinity: dict[str, object] | None = Field(None, description="Kubernetes affinity (as in a Pod spec)")
    termination_grace_period_seconds: Int | None = Field(None, ge=0, le=INT32_MAX, description="Shutdown grace period")
    readiness_probe: Probe | None = Field(None, description="Readiness probe")
    liveness_probe: Probe | None = Field(None, description="Liveness probe")
    instancetype: ClusterRef | None = Field(None, description="Instancetype (sizes come from it)")
    preference: ClusterRef | None = Field(None, description="Preference (device defaults come from it)")
    annotations: Annotations = Field(default_factory=dict, description="VM object annotations")
    hostname: Name | None = Field(None, description="Guest hostname, a DNS-1123 label (default: the VM name)")

    @field_validator("affinity")
    @classmethod
    def _affinity(cls, value: dict[str, object] | None) -> dict[str, object] | None:
        unknown = sorted(set(value or {}) - set(_AFFINITY_KINDS))
        if unknown:
            raise ValueError(f"unknown affinity kind(s) {', '.join(unknown)}: use {', '.join(_AFFINITY_KINDS)}")
        for kind, spec in (value or {}).items():
            if not isinstance(spec, dict):
                raise ValueError(f"{kind} must be an object, as in a Pod spec")
        return value
