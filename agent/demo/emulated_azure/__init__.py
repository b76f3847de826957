"""A local emulated Azure (ARM + token authority) for `computewatch demo` and the tests.

Azure has no emulator; this one serves the REST paths and JSON bodies the real management SDK
clients call, over HTTPS with trustme certificates, from a declarative scenario (specs).
"""

from computewatch.demo.emulated_azure.router import FakeArm, FakeResponse, SeenRequest
from computewatch.demo.emulated_azure.server import DEFAULT_SCOPE, EmulatedAzure, InProcessAdapter
from computewatch.demo.emulated_azure.specs import (
    CognitiveAccountSpec,
    DailyUsage,
    DeploymentSpec,
    Run,
    ScaleSetSpec,
    SubscriptionSpec,
    TenantSpec,
    VmSpec,
)

__all__ = [
    "DEFAULT_SCOPE",
    "CognitiveAccountSpec",
    "DailyUsage",
    "DeploymentSpec",
    "EmulatedAzure",
    "FakeArm",
    "FakeResponse",
    "InProcessAdapter",
    "Run",
    "ScaleSetSpec",
    "SeenRequest",
    "SubscriptionSpec",
    "TenantSpec",
    "VmSpec",
]
