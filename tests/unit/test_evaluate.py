"""The rule engine, table-driven: BREACH / OK / UNKNOWN from usage, coverage and uncertainty."""

from dataclasses import replace

import pytest

from computewatch.domain import Account, CoverageEntry, CoverageStatus, FindingStatus, Window, utc
from computewatch.domain.catalog import Catalog
from computewatch.engine.evaluate import evaluate_window, judge, rule_windows
from computewatch.engine.measures import Measured
from computewatch.engine.usage import AccountUsage
from tests.helpers.engine import BREACH, OCT, OK, RULE, UNKNOWN
from tests.helpers.usage import usage as make_usage


@pytest.mark.parametrize(
    ("comparison", "value", "uncertain", "complete", "expected"),
    [
        (">", 150, 0, True, BREACH),
        (">", 150, 0, False, BREACH),  # missing data can only add usage: already crossed
        (">", 100, 0, True, OK),  # strictly more than
        (">=", 100, 0, True, BREACH),
        (">", 50, 0, True, OK),
        (">", 50, 0, False, UNKNOWN),  # incomplete coverage: no upper bound
        (">", 50, 60, True, UNKNOWN),  # uncertain usage could cross it
        (">", 50, 40, True, OK),  # ... or provably cannot
        ("<", 50, 0, True, BREACH),
        ("<", 50, 0, False, UNKNOWN),
        ("<", 150, 0, False, OK),  # lower bound already above: fine whatever is missing
        ("<", 50, 60, True, UNKNOWN),
        ("<=", 100, 0, True, BREACH),
    ],
)
def test_judge(
    comparison: str, value: float, uncertain: float, complete: bool, expected: FindingStatus
) -> None:
    rule = replace(RULE, comparison=comparison)
    assert judge(rule, Measured(value, uncertain), complete) is expected


def test_nothing_read_is_unknown_never_ok() -> None:
    assert judge(RULE, None, False) is UNKNOWN


def usage(account: str, hours: dict[str, float], cov: list[CoverageStatus]) -> AccountUsage:
    entries = [
        CoverageEntry(
            "aws",
            account,
            f"r{i}",
            "aws.ec2",
            OCT.start,
            OCT.end,
            s,
            "AccessDenied" if s == "failed" else "",
        )
        for i, s in enumerate(cov)
    ]
    return make_usage(Account("aws", account, ""), entries, accelerator_hours=hours)


READ, FAIL = CoverageStatus.OK, CoverageStatus.FAILED


@pytest.mark.parametrize(
    ("hours", "cov", "expected", "value"),
    [
        ({"H100": 150}, [READ, READ], BREACH, 150),
        ({"H100": 60, "A100": 60}, [READ], BREACH, 120),  # both 3A090
        ({"H100": 60, "T4": 500}, [READ], OK, 60),  # T4 is not 3A090
        ({"H100": 60}, [READ, FAIL], UNKNOWN, 60),  # one failed region makes it UNKNOWN
        ({}, [FAIL, FAIL], UNKNOWN, None),  # nothing read: value unknown, not 0
        ({"A10G": 500}, [READ], UNKNOWN, 0),  # 3A090 class unconfirmed (no datasheet)
        ({"Trainium": 500}, [READ], BREACH, 500),  # TPP 3,040: at least 3A090.b for any die
        ({"L4": 500}, [READ], BREACH, 500),  # 3A090.a by performance density
        ({"unknown": 500}, [READ], UNKNOWN, 0),  # unknown accelerator
        ({"unknown": 30, "H100": 60}, [READ], OK, 60),  # cannot reach 100 even if all were 3A090
        ({}, [READ], OK, 0),  # a measured zero
    ],
)
def test_account_findings(
    catalog: Catalog,
    hours: dict[str, float],
    cov: list[CoverageStatus],
    expected: FindingStatus,
    value: float | None,
) -> None:
    (f,) = evaluate_window([RULE], [usage("111111111111", hours, cov)], OCT, catalog)
    assert f.status is expected
    assert f.value == value
    assert f.scope_key == "aws:111111111111"


def test_chip_list_filter(catalog: Catalog) -> None:
    rule = replace(RULE, chip_class="", chips=("A100",))
    (f,) = evaluate_window([rule], [usage("1", {"H100": 500, "A100": 120}, [READ])], OCT, catalog)
    assert (f.status, f.value) == (BREACH, 120)


def test_finding_ids_are_stable_and_distinct(catalog: Catalog) -> None:
    u = [usage("1", {"H100": 500}, [READ]), usage("2", {"H100": 5}, [READ])]
    a = evaluate_window([RULE], u, OCT, catalog)
    b = evaluate_window([RULE], u, OCT, catalog)
    assert [f.id for f in a] == [f.id for f in b]
    assert len({f.id for f in a}) == 2
    nov = evaluate_window([RULE], u, Window.month("2026-11"), catalog)
    assert not {f.id for f in a} & {f.id for f in nov}


def test_gap_is_named_in_evidence(catalog: Catalog) -> None:
    (f,) = evaluate_window([RULE], [usage("1", {"H100": 5}, [READ, FAIL])], OCT, catalog)
    assert any("AccessDenied" in e for e in f.evidence)
    assert "lower bound" in f.detail


def test_rule_windows() -> None:
    q = Window(utc(2026, 10, 15), utc(2026, 12, 10))
    months = rule_windows(RULE, q)
    assert [(w.start, w.end) for w in months] == [
        (utc(2026, 10, 15), utc(2026, 11, 1)),
        (utc(2026, 11, 1), utc(2026, 12, 1)),
        (utc(2026, 12, 1), utc(2026, 12, 10)),
    ]
    assert rule_windows(replace(RULE, window="audit_period"), q) == [q]
