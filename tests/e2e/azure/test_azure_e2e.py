"""End to end: a config with an `azure:` section, `run_audit`, and the JSON report's Azure accounts.

The real sign-in (service principal secret from the environment, MSAL against the emulator's
authority) and the real management clients, over HTTPS, into the store, rules and reports.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from computewatch.app.exits import EXIT_BREACH, audit_exit_code
from computewatch.demo.emulated_azure import EmulatedAzure
from computewatch.pipeline.audit import AuditRequest, run_audit
from computewatch.pipeline.loading import load_config
from computewatch.reports.json_report import validate_contract
from tests.helpers.azure import NOW, SUB_AI, SUB_DENIED, SUB_GPU, TENANT, WINDOW
from tests.helpers.paths import REPO

SECRET_ENV = "CW_E2E_AZURE_SECRET"
FIELDS = (
    "provider",
    "account_id",
    "name",
    "coverage",
    "accelerator_hours",
    "peak_concurrent_accelerators",
    "estimated_training_flop",
    "tokens",
    "methods",
)


def _denied_gap(collector: str, action: str) -> dict[str, str]:
    return {
        "provider": "azure",
        "account_id": SUB_DENIED,
        "region": "global",
        "collector": collector,
        "error": "AuthorizationFailed",
        "message": f"The client '{TENANT.client_id}' with object id '{TENANT.client_id}' does not "
        f"have authorization to perform action '{action}' over scope '/subscriptions/{SUB_DENIED}' "
        "or the scope is invalid.",
    }


def _complete() -> dict[str, Any]:
    return {"status": "complete", "units_read": 2, "units_total": 2, "gaps": []}


def _flop(
    hours_times_flops: float, excluded: dict[str, float], fastest: float | None = None
) -> dict[str, Any]:
    """Default band (10/40/60 %); the high end at the chips' FP8 peak where they have one."""
    seconds = hours_times_flops * 3600
    top = seconds if fastest is None else fastest * 3600
    return {
        "low": pytest.approx(seconds * 0.10),
        "central": pytest.approx(seconds * 0.40),
        "high": pytest.approx(top * 0.60),
        "excluded_accelerator_hours": excluded,
    }


EXPECTED = [
    {
        "provider": "azure",
        "account_id": SUB_GPU,
        "name": "orion-research",
        "coverage": _complete(),
        "accelerator_hours": {"H100": 3936.0, "A100": 2352.0, "unknown": 24.0},
        "peak_concurrent_accelerators": {"H100": 8, "A100": 6, "unknown": 1},
        # dense BF16 peaks from the catalog: H100 989 TFLOP/s, A100 312 TFLOP/s
        "estimated_training_flop": _flop(
            3936 * 989e12 + 2352 * 312e12, {"unknown": 24.0}, 3936 * 1979e12 + 2352 * 312e12
        ),
        "tokens": {},
        "methods": {
            "accelerator_hours": "activity-log",
            "instance_hours": "activity-log",
            "peak_concurrent_accelerators": "activity-log",
        },
    },
    {
        "provider": "azure",
        "account_id": SUB_AI,
        "name": "lumen-apps",
        "coverage": _complete(),
        "accelerator_hours": {},
        "peak_concurrent_accelerators": {},
        "estimated_training_flop": _flop(0, {}),
        "tokens": {
            "gpt-4o": {"input": 35_000_000.0, "output": 8_500_000.0, "invocations": 70_000.0},
            "gpt-4o-mini": {"input": 3_000_000.0, "output": 500_000.0, "invocations": 7_000.0},
            "text-embedding-3-large": {"input": 1_200_000.0, "output": 0.0, "invocations": 3_000.0},
        },
        "methods": {
            "fine_tuning_hours": "metrics",
            "model_input_tokens": "metrics",
            "model_invocations": "metrics",
            "model_output_tokens": "metrics",
        },
    },
    {
        "provider": "azure",
        "account_id": SUB_DENIED,
        "name": "quarantine-sandbox",
        "coverage": {
            "status": "failed",
            "units_read": 0,
            "units_total": 2,
            "gaps": [
                _denied_gap("azure.openai", "Microsoft.CognitiveServices/accounts/read"),
                _denied_gap("azure.vms", "Microsoft.Compute/virtualMachines/read"),
            ],
        },
        "accelerator_hours": {},
        "peak_concurrent_accelerators": {},
        "estimated_training_flop": None,
        "tokens": {},
        "methods": {},
    },
]

EXPECTED_CALLS = {
    "arm:GET Microsoft.Resources/subscriptions": 1,
    "arm:GET Microsoft.Compute/virtualMachines": 3,
    "arm:GET Microsoft.Compute/virtualMachineScaleSets": 2,
    "arm:GET Microsoft.Compute/virtualMachineScaleSets/instanceView": 1,
    "arm:GET Microsoft.Compute/skus": 1,
    "arm:GET Microsoft.Insights/eventtypes/values": 1,
    "arm:GET Microsoft.CognitiveServices/accounts": 3,
    "arm:GET Microsoft.CognitiveServices/accounts/deployments": 2,
    "arm:GET Microsoft.Insights/metricDefinitions": 2,
    "arm:GET Microsoft.Insights/metrics": 3,  # lumen-foundry's unsplit fine-tuning query
}


def test_audit_reports_azure_subscriptions_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, TENANT.client_secret)
    shutil.copy(REPO / "config" / "rules" / "example.yaml", tmp_path / "rules.yaml")
    with EmulatedAzure(TENANT) as arm:
        config = {
            "version": 1,
            "reporting_entity": {"name": "Northwind Cloud Resale Ltd. (fictional)"},
            "store": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
            "azure": {"cloud": arm.cloud_config(), "credential": arm.credential_config(SECRET_ENV)},
            "rules": ["rules.yaml"],
        }
        path = tmp_path / "computewatch.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        outcome = run_audit(
            load_config(path),
            AuditRequest(
                window=WINDOW,
                now=NOW,
                out_dir=tmp_path / "reports",
                formats=["json"],
                bundle=False,
            ),
        )
    doc = json.loads(outcome.paths["json"].read_text("utf-8"))
    validate_contract(doc)

    azure = [a for a in doc["accounts"] if a["provider"] == "azure"]
    assert [{k: a[k] for k in FIELDS} for a in azure] == EXPECTED
    assert {a["account_id"]: a["fine_tuning_hours"] for a in azure} == {
        SUB_GPU: {},
        SUB_AI: {"gpt-4o-mini": 15.0, "": 4.0},
        SUB_DENIED: {},
    }
    assert doc["run"]["api_calls"] == EXPECTED_CALLS
    assert audit_exit_code(outcome) == EXIT_BREACH

    status = {(f["rule"], f["scope"]["key"]): f["status"] for f in doc["findings"]}
    assert status[("internal-3a090-hours-month", f"azure:{SUB_GPU}")] == "BREACH"  # 6,288 h
    assert status[("internal-3a090-hours-month", f"azure:{SUB_AI}")] == "OK"
    assert status[("internal-3a090-hours-month", f"azure:{SUB_DENIED}")] == "UNKNOWN"
    assert doc["coverage"]["status"] == "partial"
    assert doc["coverage"]["accounts_failed"] == 1
