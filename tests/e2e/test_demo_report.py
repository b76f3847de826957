"""The demo's JSON report, figure by figure, against the reviewed golden copy: a refactoring
changes no figure unless the golden file changes with it (tests/helpers/report_diff.py)."""

from __future__ import annotations

import json
from pathlib import Path

from computewatch.reports.json_report import validate_contract
from tests.helpers.report_diff import GOLDEN, demo_report, diff, normalize


def test_demo_report_matches_the_golden_copy(tmp_path: Path) -> None:
    doc = demo_report(tmp_path)
    validate_contract(doc)
    expected = json.loads(GOLDEN.read_text("utf-8"))
    changes = diff(expected, normalize(doc))
    assert not changes, "the demo report changed:\n" + "\n".join(changes[:200])
