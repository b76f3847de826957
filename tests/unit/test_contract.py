"""The JSON report contract: the committed schema is the one the typed models generate, so a
change to the report shape is a reviewed change to `reports/schemas/audit-1.schema.json`."""

from __future__ import annotations

import json

from computewatch.reports.contract import contract_schema
from tests.helpers.paths import REPO

COMMITTED = REPO / "reports" / "schemas" / "audit-1.schema.json"


def test_committed_schema_is_the_generated_one() -> None:
    committed = json.loads(COMMITTED.read_text("utf-8"))
    assert committed == contract_schema(), (
        "the report models changed: regenerate with\n"
        "  .venv/bin/computewatch schema report > reports/schemas/audit-1.schema.json"
    )


def test_token_roles_not_always_shown_are_optional() -> None:
    tokens = contract_schema()["$defs"]["Tokens"]
    assert set(tokens["required"]) == {"input", "output", "invocations"}
    assert {"cache_read_input", "cache_write_input"} <= set(tokens["properties"])
