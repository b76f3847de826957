"""The declarative scenario an emulated Azure tenant serves: subscriptions and what runs in them.

Times are aware UTC datetimes. A run is (start, end); end None means still running now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Run = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class VmSpec:
    """A VM; its Activity Log has a start and a stop event per run (none for a run that begins
    at creation, which Azure logs as a `write`)."""

    name: str
    size: str
    location: str
    created: datetime
    runs: tuple[Run, ...] = ()
    resource_group: str = "gpu-workloads"
    stop_action: Literal["deallocate", "powerOff"] = "deallocate"
    # Whether listings carry its size: ARM has been seen to list a VM without a hardware profile
    # in the status-only listing ("full-listing-only"), or in every listing ("never").
    size_listed: Literal["always", "full-listing-only", "never"] = "always"


@dataclass(frozen=True)
class ScaleSetSpec:
    """A uniform scale set (e.g. an AKS GPU node pool) of `capacity` identical VMs."""

    name: str
    size: str
    location: str
    capacity: int
    created: datetime
    runs: tuple[Run, ...] = ()
    resource_group: str = "aks-nodepools"
    orchestration: Literal["Uniform", "Flexible"] = "Uniform"


@dataclass(frozen=True)
class DailyUsage:
    day: date
    input_tokens: int
    output_tokens: int
    requests: int
    training_hours: float = 0.0  # FineTunedTrainingHours, where the account defines it


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    model: str
    version: str
    usage: tuple[DailyUsage, ...] = ()
    sku: str = "GlobalStandard"


@dataclass(frozen=True)
class CognitiveAccountSpec:
    """A Microsoft.CognitiveServices account. Kind `AIServices` also defines the newer
    InputTokens / OutputTokens / ModelRequests metrics (same figures as the classic ones).
    `fine_tuning` defines FineTunedTrainingHours: split by deployment, or account-wide only."""

    name: str
    location: str
    kind: str = "OpenAI"
    deployments: tuple[DeploymentSpec, ...] = ()
    resource_group: str = "ai-apps"
    fine_tuning: Literal["none", "by_deployment", "account"] = "none"


@dataclass(frozen=True)
class SubscriptionSpec:
    """Only the `allowed_actions` (None: computewatch's custom role, the actions its Azure
    provider and collectors declare) are granted on the subscription; everything else answers
    403 AuthorizationFailed. The subscription is listed only to callers holding
    Microsoft.Resources/subscriptions/read."""

    id: str
    name: str
    vms: tuple[VmSpec, ...] = ()
    scale_sets: tuple[ScaleSetSpec, ...] = ()
    accounts: tuple[CognitiveAccountSpec, ...] = ()
    allowed_actions: tuple[str, ...] | None = None
    state: str = "Enabled"
    management_group: str = ""  # the management group it sits under ("" = the root only)


@dataclass(frozen=True)
class TenantSpec:
    tenant_id: str
    subscriptions: tuple[SubscriptionSpec, ...]
    client_id: str = "6a1d3c52-0b7e-4f0e-9d4a-5c2e8f1b7a90"
    client_secret: str = "emulated-secret"  # noqa: S105 - the emulator's own, not a real secret
    # What a Kubernetes workload identity's token file holds (client_assertion instead of a secret)
    federated_token: str = "emulated-federated-token"  # noqa: S105 - not a real token
    # GPUs capability of resource SKUs the catalog may not know, by size
    sku_gpus: dict[str, int] = field(default_factory=dict)
