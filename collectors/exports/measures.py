"""The measures of one billing period, by format: the same calls for DuckDB and Athena."""

from __future__ import annotations

from datetime import date
from typing import Any

from computewatch.collectors.exports.cur2 import PeriodRead, check_period, read_cur2
from computewatch.collectors.exports.focus import read_focus
from computewatch.collectors.exports.records import RecordSink
from computewatch.config.exports import ExportSource
from computewatch.domain.catalog import Catalog


def read_format(
    run: Any,
    table: str,
    source: ExportSource,
    period: date,
    catalog: Catalog,
    sink: RecordSink,
    one_delivery: bool = True,
    fetch: Any = None,
) -> PeriodRead:
    """The measures of one period, by format (the same for DuckDB and Athena). `one_delivery`:
    the table is one period's delivery, whose rows must all belong to that period (an Athena
    table holds every period, and each query filters its own)."""
    if source.format == "cur2":
        if one_delivery:
            check_period(run, table, "bill_billing_period_start_date", period, source.name)
        return read_cur2(run, table, period, catalog, sink, source.name, fetch)
    if one_delivery:
        check_period(run, table, "BillingPeriodStart", period, source.name)
    focus: PeriodRead = read_focus(run, table, period, catalog, sink, source, fetch)
    return focus
