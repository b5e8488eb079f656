"""KubeVirt-only VM options (scheduling, probes, eviction, instancetypes). Pure.

Kept in a sub-model so the shared VM model stays backend-neutral; a libvirt
target rejects it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .common import Model


class Toleration(Model):
    """A Kubernetes toleration."""

    key: str | None = Field(None, description="Taint key (empty with operator Exists matches all)")
    operator: Literal["Equal", "Exists"] = Field("Equal", description="Equal or Exists")
    value: str | None = Field(None, description="Taint value (operator Equal)")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(None, description="Taint effect")
    toleration_seconds: int | None = Field(None, ge=0, description="NoExecute: how long to stay bound")


class Probe(Model):
    """A readiness/liveness probe (HTTP, TCP, exec through the guest agent, or agent ping)."""

    http_get_port: int | None = Field(None, ge=1, le=65535, description="HTTP GET on this guest port")
    http_get_path: str = Field("/", description="HTTP path")
    tcp_socket_port: int | None = Field(None, ge=1, le=65535, description="TCP connect to this guest port")
    exec_command: list[str] | None = Field(None, description="Command run by the guest agent")
    guest_agent_ping: bool = Field(False, description="Ping the guest agent")
    initial_delay_seconds: int | None = Field(None, ge=0, description="Delay before the first probe")
    period_seconds: int | None = Field(None, ge=1, description="Probe period")
    timeout_seconds: int | None = Field(None, ge=1, description="Probe timeout")
    failure_threshold: int | None = Field(None, ge=1, description="Failures before not ready")
    success_threshold: int | None = Field(None, ge=1, description="Successes before ready")

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        handlers = [self.http_get_port, self.tcp_socket_port, self.exec_command, self.guest_agent_ping or None]
        if sum(h is not None for h in handlers) != 1:
            raise ValueError("give exactly one of http_get_port, tcp_socket_port, exec_command, guest_agent_ping")
        return self


class ClusterRef(Model):
    """A reference to an instancetype or preference."""

    name: str = Field(description="Object name")
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
    node_selector: dict[str, str] = Field(default_factory=dict, description="Node labels the VM must run on")
    tolerations: list[Toleration] = Field(default_factory=list, description="Tolerated taints")
    affinity: dict[str, object] | None = Field(None, description="Kubernetes affinity (as in a Pod spec)")
    termination_grace_period_seconds: int | None = Field(None, ge=0, description="Shutdown grace period")
    readiness_probe: Probe | None = Field(None, description="Readiness probe")
    liveness_probe: Probe | None = Field(None, description="Liveness probe")
    instancetype: ClusterRef | None = Field(None, description="Instancetype (sizes come from it)")
    preference: ClusterRef | None = Field(None, description="Preference (device defaults come from it)")
    annotations: dict[str, str] = Field(default_factory=dict, description="VM object annotations")
    hostname: str | None = Field(None, description="Guest hostname (default: the VM name)")
