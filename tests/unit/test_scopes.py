"""The rule engine beyond the account: every scope and window, cross-cloud roll-up, UNKNOWN
propagation, know-your-customer checks, and the findings lifecycle on both store backends."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computewatch.config.customers import AccountRef, Customer, Registry
from computewatch.domain import (
    Account,
    CoverageEntry,
    CoverageLevel,
    CoverageStatus,
    Finding,
    FindingState,
    FindingStatus,
    Window,
    utc,
)
from computewatch.domain.catalog import Catalog
from computewatch.engine import lifecycle
from computewatch.engine.evaluate import evaluate_window, rule_windows
from computewatch.engine.kyc import kyc_findings
from computewatch.engine.scopes import combine
from computewatch.engine.usage import AccountUsage, coverage_level
from computewatch.store import Store
from tests.helpers.engine import BREACH, OCT, OK, RULE, UNKNOWN
from tests.helpers.usage import usage as make_usage

REGISTRY = Registry(
    [
        Customer(id="reseller", legal_name="Reseller Ltd", country="IE"),
        Customer(
            id="cn-lab",
            legal_name="深圳示例实验室",
            country="CN",
            intermediary="reseller",
            accounts=[AccountRef(provider="aws", id="111111111111")],
        ),
        Customer(
            id="swiss",
            legal_name="Swiss AG",
            country="CH",
            accounts=[
                AccountRef(provider="aws", id="222222222222"),
                AccountRef(provider="azure", id="5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63"),
            ],
        ),
        Customer(
            id="uk",
            legal_name="UK Ltd",
            country="GB",
            intermediary="reseller",
            accounts=[AccountRef(provider="aws", id="333333333333")],
        ),
    ]
)


def usage(
    provider: str,
    account: str,
    hours: dict[str, float],
    failed_regions: int = 0,
    ok_regions: int = 1,
) -> AccountUsage:
    entries = [
        CoverageEntry(provider, account, f"ok{i}", "c", OCT.start, OCT.end, CoverageStatus.OK)
        for i in range(ok_regions)
    ] + [
        CoverageEntry(
            provider,
            account,
            f"bad{i}",
            "c",
            OCT.start,
            OCT.end,
            CoverageStatus.FAILED,
            "AccessDenied",
        )
        for i in range(failed_regions)
    ]
    return make_usage(
        Account(provider, account, account),
        entries,
        level=coverage_level(entries) if entries else CoverageLevel.COMPLETE,
        read=ok_regions,
        total=ok_regions + failed_regions,
        accelerator_hours=dict(hours),
    )


def fleet() -> list[AccountUsage]:
    return [
        usage("aws", "111111111111", {"H100": 80}),  # cn-lab, through the reseller
        usage("aws", "222222222222", {"H100": 60}),  # swiss on AWS ...
        usage("azure", "5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63", {"A100": 60}),  # ... and on Azure
        usage("aws", "333333333333", {"H100": 30}),  # uk, through the reseller
        usage("aws", "444444444444", {"H100": 5}),  # nobody registered
    ]


def by_scope(findings: list[Finding]) -> dict[str, tuple[FindingStatus, float | None]]:
    return {f.scope_key: (f.status, f.value) for f in findings}


@pytest.mark.parametrize(
    ("scope", "groups", "expected"),
    [
        (
            "account",
            (),
            {
                "aws:111111111111": (OK, 80),
                "aws:222222222222": (OK, 60),
                "azure:5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63": (OK, 60),
                "aws:333333333333": (OK, 30),
                "aws:444444444444": (OK, 5),
            },
        ),
        # One customer on AWS and Azure is one total: 60 + 60 > 100.
        (
            "customer",
            (),
            {"customer:cn-lab": (OK, 80), "customer:swiss": (BREACH, 120), "customer:uk": (OK, 30)},
        ),
        ("intermediary", (), {"intermediary:reseller": (BREACH, 110)}),
        ("organization", (), {"organization:organization": (BREACH, 235)}),
        # Country group D:5: cn-lab surely; the unregistered account might be (5 h): 80 + 5 <= 100.
        ("country_group", ("D:5",), {"country_group:D:5": (OK, 80)}),
        ("customer", ("D:5",), {"customer:cn-lab": (OK, 80)}),
    ],
)
def test_every_scope(
    catalog: Catalog,
    scope: str,
    groups: tuple[str, ...],
    expected: dict[str, tuple[FindingStatus, float]],
) -> None:
    rule = replace(RULE, scope=scope, country_groups=groups)
    assert by_scope(evaluate_window([rule], fleet(), OCT, catalog, REGISTRY)) == expected


def test_unregistered_account_makes_a_country_group_rule_unknown(catalog: Catalog) -> None:
    rule = replace(RULE, scope="country_group", country_groups=("D:5",), threshold=82)
    (f,) = evaluate_window([rule], fleet(), OCT, catalog, REGISTRY)
    assert (f.status, f.value) == (UNKNOWN, 80)  # the unregistered 5 h could be in D:5
    assert "no registered customer" in f.detail


def test_one_failed_region_makes_the_customer_unknown(catalog: Catalog) -> None:
    us = fleet()
    us[2] = usage("azure", "5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63", {"A100": 10}, failed_regions=1)
    rule = replace(RULE, scope="customer")
    found = by_scope(evaluate_window([rule], us, OCT, catalog, REGISTRY))
    assert found["customer:swiss"] == (UNKNOWN, 70)
    assert found["customer:uk"] == (OK, 30)


def test_provider_filter(catalog: Catalog) -> None:
    rule = replace(RULE, scope="customer", provider="azure", threshold=50)
    assert by_scope(evaluate_window([rule], fleet(), OCT, catalog, REGISTRY)) == {
        "customer:swiss": (BREACH, 60)
    }


def test_kyc_findings(catalog: Catalog) -> None:
    us = [*fleet(), usage("aws", "555555555555", {}, failed_regions=1, ok_regions=0)]
    found = {
        (f.rule.id, f.scope_key): f.status
        for f in kyc_findings(us, REGISTRY, ["D:5", "Macau"], OCT)
    }
    assert found == {
        ("kyc-unregistered-account", "aws:444444444444"): BREACH,
        ("kyc-unregistered-account", "aws:555555555555"): UNKNOWN,  # could not look: not "no usage"
        ("kyc-restricted-country-usage", "customer:cn-lab"): BREACH,
    }


@pytest.mark.parametrize(
    ("window", "days", "expected"),
    [
        (
            "calendar_month",
            0,
            [
                (utc(2026, 10, 15), utc(2026, 11, 1)),
                (utc(2026, 11, 1), utc(2026, 12, 1)),
                (utc(2026, 12, 1), utc(2026, 12, 10)),
            ],
        ),
        # A quarter's thresholds are cumulative: read from its first day (issue 13).
        ("quarter", 0, [(utc(2026, 10, 1), utc(2026, 12, 10))]),
        ("rolling_days", 30, [(utc(2026, 11, 10), utc(2026, 12, 10))]),
        ("audit_period", 0, [(utc(2026, 10, 15), utc(2026, 12, 10))]),
    ],
)
def test_every_window(window: str, days: int, expected: list[tuple[object, object]]) -> None:
    audit = Window(utc(2026, 10, 15), utc(2026, 12, 10))
    got = rule_windows(replace(RULE, window=window, window_days=days), audit)
    assert [(w.start, w.end) for w in got] == expected


def test_quarters_split_at_quarter_boundaries() -> None:
    audit = Window(utc(2026, 9, 1), utc(2026, 11, 1))
    got = rule_windows(replace(RULE, window="quarter"), audit)
    assert [(w.start, w.end) for w in got] == [
        (utc(2026, 7, 1), utc(2026, 10, 1)),  # Q3 from its first day: cumulative
        (utc(2026, 10, 1), utc(2026, 11, 1)),
    ]


def test_lifecycle_over_three_evaluations(catalog: Catalog, store_url: str) -> None:
    rule = replace(RULE, scope="customer")
    t1, t2, t3 = utc(2026, 11, 1), utc(2026, 11, 2), utc(2026, 11, 3)

    def run(store: Store, us: list[AccountUsage], now: datetime) -> tuple[Finding, FindingState]:
        found = evaluate_window([rule], us, OCT, catalog, REGISTRY)
        states = lifecycle.advance(found, store.findings.states(f.id for f in found), now)
        store.findings.save(found, states, 1)
        swiss = next(f for f in found if f.scope_key == "customer:swiss")
        return swiss, states[swiss.id]

    with Store.open(store_url) as store:
        first, state = run(store, fleet(), t1)
        assert (first.status, state.lifecycle, state.first_seen) == (BREACH, "new", t1)
        # Re-evaluating the same data changes nothing.
        again, state = run(store, fleet(), t1 + timedelta(minutes=5))
        assert (again.status, state.lifecycle, state.first_seen) == (BREACH, "new", t1)
        store.findings.mark_reported(lifecycle.reported([first], {first.id: state}, t1))
        _, state = run(store, fleet(), t2)
        assert (state.lifecycle, state.first_seen) == ("ongoing", t1)
        quiet = fleet()
        quiet[1] = usage("aws", "222222222222", {"H100": 1})
        third, state = run(store, quiet, t3)
        assert (third.status, state.lifecycle, state.first_seen) == (OK, "resolved", t1)
        assert [r.lifecycle for r in store.findings.find(scope="swiss")] == ["resolved"]
        assert store.findings.find(status=BREACH) == []


hours = st.dictionaries(
    st.sampled_from(["H100", "A100", "T4", "unknown"]), st.floats(0, 1e6), max_size=4
)


@settings(max_examples=60, deadline=None)
@given(st.lists(hours, min_size=1, max_size=6), st.randoms())
def test_rollup_is_independent_of_order(parts: list[dict[str, float]], rnd: object) -> None:
    us = [usage("aws", f"{i:012d}", h) for i, h in enumerate(parts)]
    shuffled = list(us)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a = combine(Account("scope", "x"), us).accelerator_hours
    b = combine(Account("scope", "x"), shuffled).accelerator_hours
    assert a.keys() == b.keys()
    for chip in a:
        assert a[chip] == pytest.approx(b[chip])
