"""The Azure tenant the tests audit (fictional names), and the figures it must produce.

September 2026 is audited on 5 October 2026. Expected figures are worked out by hand below from
the runs and daily usage, not by the code under test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from computewatch.collectors.azure.provider import AzureProvider
    from computewatch.collectors.base import ApiCallCounter

import time
from datetime import date
from typing import Any

from azure.core.credentials import AccessToken

from computewatch.demo.emulated_azure import (
    CognitiveAccountSpec,
    DailyUsage,
    DeploymentSpec,
    ScaleSetSpec,
    SubscriptionSpec,
    TenantSpec,
    VmSpec,
)
from computewatch.domain import Window, utc

WINDOW = Window.month("2026-09")
NOW = utc(2026, 10, 5, 12)
TENANT_ID = "9c2f7d1e-5b4a-4c3d-8e2f-1a0b9c8d7e6f"
SUB_GPU = "11111111-1111-4111-8111-111111111111"
SUB_AI = "22222222-2222-4222-8222-222222222222"
SUB_DENIED = "33333333-3333-4333-8333-333333333333"


def _usage(
    first: int, last: int, inp: int, out: int, req: int, month: int = 9, train: float = 0.0
) -> tuple[DailyUsage, ...]:
    return tuple(
        DailyUsage(date(2026, month, d), inp, out, req, train) for d in range(first, last + 1)
    )


GPU_SUB = SubscriptionSpec(
    SUB_GPU,
    "orion-research",
    vms=(
        # 8 x H100: runs Sep 1 00:00 - Sep 10 12:00 (228 h) and Sep 20 - now (264 h in Sep).
        VmSpec(
            "h100-train-01",
            "Standard_ND96isr_H100_v5",
            "eastus",
            created=utc(2026, 8, 20),
            runs=((utc(2026, 8, 20), utc(2026, 9, 10, 12)), (utc(2026, 9, 20), None)),
        ),
        # 1 x A100, created in the window, powered off after 48 h.
        VmSpec(
            "a100-dev-01",
            "Standard_NC24ads_A100_v4",
            "westeurope",
            created=utc(2026, 9, 5, 6),
            runs=((utc(2026, 9, 5, 6), utc(2026, 9, 7, 6)),),
            stop_action="powerOff",
        ),
        # A GPU size the catalog does not know: the resource SKUs say 1 GPU -> 24 unknown-hours.
        VmSpec(
            "viz-01",
            "Standard_NG32ads_V620_v1",
            "eastus",
            created=utc(2026, 7, 1),
            runs=((utc(2026, 7, 1), utc(2026, 7, 2)), (utc(2026, 9, 3), utc(2026, 9, 4))),
        ),
        VmSpec(
            "web-01",
            "Standard_D4s_v5",
            "eastus",
            created=utc(2026, 1, 1),
            runs=((utc(2026, 1, 1), None),),
        ),
    ),
    scale_sets=(
        # AKS GPU node pool: 3 x NC48ads_A100_v4 (2 x A100 each) from Sep 15: 16 d x 24 h x 6.
        ScaleSetSpec(
            "aks-gpupool-vmss",
            "Standard_NC48ads_A100_v4",
            "westeurope",
            capacity=3,
            created=utc(2026, 9, 15),
            runs=((utc(2026, 9, 15), None),),
        ),
    ),
)

AI_SUB = SubscriptionSpec(
    SUB_AI,
    "lumen-apps",
    accounts=(
        CognitiveAccountSpec(
            "lumen-openai",
            "eastus",
            fine_tuning="by_deployment",
            deployments=(
                DeploymentSpec(
                    "GPT4o-Prod",
                    "gpt-4o",
                    "2024-08-06",
                    _usage(1, 30, 1_000_000, 250_000, 2_000) + _usage(25, 31, 9, 9, 9, month=8),
                ),
                DeploymentSpec(
                    "mini-batch",
                    "gpt-4o-mini",
                    "2024-07-18",
                    _usage(10, 19, 300_000, 50_000, 700, train=1.5),
                ),
                DeploymentSpec(
                    "embed", "text-embedding-3-large", "1", _usage(1, 30, 40_000, 0, 100)
                ),
            ),
        ),
        CognitiveAccountSpec(
            "lumen-foundry",
            "swedencentral",
            kind="AIServices",
            fine_tuning="account",  # FineTunedTrainingHours without the deployment split
            deployments=(
                DeploymentSpec(
                    "gpt4o-eu", "gpt-4o", "2024-11-20", _usage(21, 30, 500_000, 100_000, 1_000)
                ),
                DeploymentSpec(
                    "gpt4o-eu-ft", "gpt-4o", "2024-11-20", _usage(21, 22, 0, 0, 0, train=2.0)
                ),
            ),
        ),
        CognitiveAccountSpec("lumen-language", "eastus", kind="TextAnalytics"),
    ),
)

# Visible in the subscription list, but every read answers 403 AuthorizationFailed.
DENIED_SUB = SubscriptionSpec(
    SUB_DENIED, "quarantine-sandbox", allowed_actions=("Microsoft.Resources/subscriptions/read",)
)

TENANT = TenantSpec(
    TENANT_ID,
    (GPU_SUB, AI_SUB, DENIED_SUB),
    sku_gpus={"Standard_NG32ads_V620_v1": 1, "Standard_NC24ads_A100_v4": 1},
)

# -- expected figures (September 2026) -------------------------------------------------------
H100_HOURS = 8 * (228 + 264)  # 3936
A100_HOURS = 1 * 48 + 6 * 16 * 24  # 48 + 2304 = 2352
UNKNOWN_HOURS = 24
TOKENS = {
    "gpt-4o": {
        "input": 30 * 1_000_000 + 10 * 500_000,  # 35,000,000
        "output": 30 * 250_000 + 10 * 100_000,  # 8,500,000
        "invocations": 30 * 2_000 + 10 * 1_000,  # 70,000
    },
    "gpt-4o-mini": {"input": 10 * 300_000, "output": 10 * 50_000, "invocations": 10 * 700},
    "text-embedding-3-large": {"input": 30 * 40_000, "output": 0, "invocations": 30 * 100},
}
# FineTunedTrainingHours: per model where split by deployment, "" where only account-wide.
FINE_TUNING_HOURS = {"gpt-4o-mini": 10 * 1.5, "": 2 * 2.0}


class FakeCredential:
    """A TokenCredential that hands out the emulator's token and remembers the scopes asked for."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


# Builds an AzureProvider on the emulator (the `make_provider` fixture of tests/e2e/azure).
MakeProvider = Callable[..., tuple["AzureProvider", "ApiCallCounter", FakeCredential]]
