"""AWS CUR 2.0: accelerator-hours per account x instance type, Bedrock tokens per model.

Only the aggregated rows cross into Python: the engine (DuckDB or Athena) scans and groups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from computewatch.collectors.exports import queries
from computewatch.collectors.exports.records import RecordSink
from computewatch.collectors.exports.tokens import (
    bedrock_models,
    parse_usage_type,
    tokens_per_unit,
)
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import SourceError

SERVICE = "exports"
Run = Callable[[queries.Query], list[tuple[Any, ...]]]
Fetch = Callable[[queries.Query], Any]


@dataclass
class AccountSeen:
    """An account as the export names it (know-your-customer evidence)."""

    account_id: str
    name: str = ""
    payer: str = ""
    reseller_id: str = ""
    reseller_name: str = ""
    customer_id: str = ""
    customer_name: str = ""
    line_items: int = 0


@dataclass
class PeriodRead:
    """What one billing period of one export gave."""

    accounts: dict[str, AccountSeen] = field(default_factory=dict)
    queries: dict[str, str] = field(default_factory=dict)  # query name -> SHA-256 of its text
    unknown_units: set[str] = field(default_factory=set)


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def check_period(run: Run, table: str, column: str, period_start: date, export: str) -> None:
    """A delivery whose rows belong to another billing period is refused (never counted)."""
    q = queries.Query("periods", f"SELECT DISTINCT CAST({column} AS DATE) FROM {table}")
    found = sorted({_day(r[0]) for r in run(q) if r[0] is not None})
    if found != [period_start]:
        shown = ", ".join(d.isoformat() for d in found) or "no rows"
        raise SourceError(
            SERVICE,
            "ExportWrongPeriod",
            f"export {export}: files for {period_start:%Y-%m} hold billing period(s) {shown}",
        )


def read_cur2(
    run: Run,
    table: str,
    period_start: date,
    catalog: Catalog,
    sink: RecordSink,
    export: str,
    fetch: Fetch | None = None,
) -> PeriodRead:
    """Accounts come back as rows; hours and tokens go from the engine (`fetch`: an Arrow
    stream from DuckDB, Athena's rows) into the sink's staging, never one object per row."""
    out = PeriodRead()
    start = f"{period_start.isoformat()} 00:00:00"
    accounts = queries.render(
        "accounts", queries.CUR2_ACCOUNTS, table=table, period_start=start, catalog=catalog
    )
    hours = queries.render(
        "hours", queries.CUR2_HOURS, table=table, period_start=start, catalog=catalog
    )
    tokens = queries.render(
        "tokens", queries.CUR2_TOKENS, table=table, period_start=start, catalog=catalog
    )
    for account_id, name, payer, items, *_ in run(accounts):
        out.accounts[str(account_id)] = AccountSeen(
            str(account_id), str(name or ""), str(payer or ""), line_items=int(items)
        )
    if not out.accounts:
        raise SourceError(
            SERVICE, "NoDelivery", f"export {export}: no rows for {period_start:%Y-%m}"
        )
    fetch = fetch or run
    sink.load_hours(fetch(hours))
    sink.load_tokens(fetch(tokens))
    models = bedrock_models()
    mapping = []
    for usage_type, product_code, unit in sink.token_kinds():
        parsed = parse_usage_type(usage_type, product_code)
        if parsed is None:
            continue
        per_unit = tokens_per_unit(unit)
        if per_unit is None:
            out.unknown_units.add(f"{usage_type} in {unit!r}")
            continue
        billed, metric = parsed
        mapping.append((usage_type, product_code, unit, models.model_id(billed), metric, per_unit))
    sink.map_tokens(mapping)
    if out.unknown_units:
        raise SourceError(
            SERVICE,
            "UnknownPricingUnit",
            f"export {export}: token quantities in units not known: "
            + "; ".join(sorted(out.unknown_units)),
        )
    out.queries = {q.name: q.digest for q in (accounts, hours, tokens)}
    out.queries["bedrock-models"] = models.version
    return out
