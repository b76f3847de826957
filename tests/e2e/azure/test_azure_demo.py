"""The demo's Azure tenant, audited on its own (`--provider azure`): what the demo report shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from computewatch.collectors.permissions import azure_actions
from computewatch.demo.emulated_azure import EmulatedAzure
from computewatch.demo.run import (
    AZURE_SECRET_ENV,
    azure_scenario,
    write_demo_config,
)
from computewatch.domain import Window, utc
from computewatch.pipeline.audit import AuditRequest, run_audit
from computewatch.pipeline.loading import load_config

NOW = utc(2026, 11, 28, 12)  # audits October 2026 (31 days)


def test_demo_azure_tenant(tmp_path: Path) -> None:
    window = Window.previous_month(NOW)
    granted = azure_actions()
    with (
        EmulatedAzure(azure_scenario(window, granted)) as arm,
        arm.secret_environment(AZURE_SECRET_ENV),
    ):
        path = write_demo_config(tmp_path, f"sqlite:///{tmp_path / 'demo.db'}", arm)
        outcome = run_audit(
            load_config(path),
            AuditRequest(
                window=window,
                now=NOW,
                out_dir=tmp_path / "reports",
                formats=["json"],
                providers={"azure"},
                bundle=False,
            ),
        )
    doc = json.loads(outcome.paths["json"].read_text("utf-8"))
    accounts = {a["name"]: a for a in doc["accounts"]}
    assert set(accounts) == {"borealis-ai-labs", "cobalt-assist-prod", "tundra-contractor-sandbox"}
    assert {a["provider"] for a in accounts.values()} == {"azure"}

    training = accounts["borealis-ai-labs"]
    # 8 H100 all month (31 d) + 8 H100 for 10 days; A100: notebook 204 h + node pool 8 x 480 h.
    assert training["accelerator_hours"] == {
        "H100": 8 * 31 * 24 + 8 * 240,
        "A100": 204 + 8 * 480,
        "A10": pytest.approx(31 * 24 / 3, rel=1e-6),  # fractional NV12ads_A10_v5
    }
    assert training["peak_concurrent_accelerators"] == {"H100": 16, "A100": 9, "A10": 1}

    tokens = accounts["cobalt-assist-prod"]["tokens"]
    assert set(tokens) == {"gpt-4o", "gpt-4o-mini", "text-embedding-3-large", "o3-mini"}
    assert 10_000_000 < tokens["gpt-4o"]["input"] < 100_000_000  # tens of millions a month

    sandbox = accounts["tundra-contractor-sandbox"]["coverage"]
    assert sandbox["status"] == "failed"
    assert {g["error"] for g in sandbox["gaps"]} == {"AuthorizationFailed"}
    assert any(
        f["status"] == "BREACH" and f["scope"]["key"] == f"azure:{training['account_id']}"
        for f in doc["findings"]
    )
