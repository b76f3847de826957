"""Issue 14 item 2: an estimate that rests on a collector that failed for the account is unknown
(None / null / "unknown"), in the account's figures and in every roll-up that includes it."""

import json

from computewatch.config.customers import AccountRef, Customer, Registry
from computewatch.domain import (
    Account,
    CoverageEntry,
    CoverageStatus,
    DailyRow,
    Method,
    Metric,
    utc,
)
from computewatch.domain.catalog import Catalog
from computewatch.engine.assess import Aggregates, account_usage, assess
from computewatch.engine.scopes import combine
from computewatch.pipeline.assess import hour_sources
from computewatch.reports.render import render
from tests.helpers.engine import OCT
from tests.helpers.usage import BAND, context

PARTIAL, FULL, NO_TOKENS = (
    "5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63",
    "0a0b0c0d-1111-2222-3333-444455556666",
    "9f9e9d9c-aaaa-bbbb-cccc-ddddeeeeffff",
)
ACCOUNTS = [Account("azure", sub, sub[:8]) for sub in (PARTIAL, FULL, NO_TOKENS)]


def _entry(sub: str, collector: str, ok: bool) -> CoverageEntry:
    status = CoverageStatus.OK if ok else CoverageStatus.FAILED
    code = "" if ok else "AuthorizationFailed"
    return CoverageEntry("azure", sub, "global", collector, OCT.start, OCT.end, status, code)


COVERAGE = [
    _entry(PARTIAL, "azure.vms", ok=False),  # the compute collector failed ...
    _entry(PARTIAL, "azure.openai", ok=True),  # ... the token collector did not: partial
    _entry(FULL, "azure.vms", ok=True),
    _entry(FULL, "azure.openai", ok=True),
    _entry(NO_TOKENS, "azure.vms", ok=True),
    _entry(NO_TOKENS, "azure.openai", ok=False),  # tokens failed: compute estimates still known
]
DAILY = [
    DailyRow("azure", sub, str(Metric.ACCELERATOR_HOURS), "H100", "", Method.ACTIVITY_LOG, day, 24)
    for sub in (FULL, NO_TOKENS)
    for day in (utc(2026, 10, 1), utc(2026, 10, 2))
]


def _usages(catalog: Catalog) -> dict[str, object]:
    agg = Aggregates(daily=DAILY)
    usages = account_usage(ACCOUNTS, agg, COVERAGE, catalog, BAND, hour_sources())
    return {u.account.account_id: u for u in usages}


def test_failed_compute_collector_makes_estimates_unknown(catalog: Catalog) -> None:
    by_id = _usages(catalog)
    partial, full, no_tokens = (by_id[s] for s in (PARTIAL, FULL, NO_TOKENS))
    assert partial.flop is None and partial.tpp is None  # was 0 / 0 / 0 and 0
    assert full.flop is not None and full.flop.central > 0 and full.tpp is not None
    assert no_tokens.flop is not None and no_tokens.tpp is not None


def test_rollups_including_an_unknown_estimate_are_unknown(catalog: Catalog) -> None:
    by_id = _usages(catalog)
    label = Account("customer", "c")
    mixed = combine(label, [by_id[FULL], by_id[PARTIAL]])  # type: ignore[list-item]
    assert mixed.flop is None and mixed.tpp is None
    known = combine(label, [by_id[FULL], by_id[NO_TOKENS]])  # type: ignore[list-item]
    assert known.flop is not None and known.tpp is not None


def test_every_format_says_unknown(catalog: Catalog) -> None:
    registry = Registry(
        [
            Customer(
                id="acme",
                legal_name="Acme",
                country="FR",
                accounts=[AccountRef(provider="azure", id=s) for s in (PARTIAL, FULL)],
            )
        ]
    )
    a = assess(
        window=OCT,
        now=utc(2026, 11, 2),
        accounts=ACCOUNTS,
        coverage=COVERAGE,
        aggregates={OCT: Aggregates(daily=DAILY)},
        rules=[],
        registry=registry,
        restricted=[],
        catalog=catalog,
        band=BAND,
        hour_sources=hour_sources(),
    )
    ctx = context(a, catalog)
    doc = json.loads(render(ctx, "json"))
    account = next(x for x in doc["accounts"] if x["account_id"] == PARTIAL)
    assert account["estimated_training_flop"] is None and account["tpp_hours"] is None
    (customer,) = doc["customers"]
    assert customer["estimated_training_flop"] is None
    for fmt, strong in (("md", "**unknown**"), ("html", "<strong>unknown</strong>")):
        text = render(ctx, fmt)
        account_section = text[text.index(f"{PARTIAL} — {PARTIAL[:8]}") :]
        assert account_section.split("Estimated training compute")[1].startswith(
            f" and TPP-hours: {strong}"
        )
        if fmt == "md":
            assert f"estimated training compute {strong}" in text  # the customer's roll-up
        else:  # the HTML lists customers as a table: the training-FLOP cell says unknown
            customers = text[text.index('<section id="customers">') :].split("</section>")[0]
            assert '<td class="n">unknown</td>' in customers
