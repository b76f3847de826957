"""Aggregated export rows -> UsageRecords (method `billing-export`), one per key and day.

Rows arrive already aggregated by the engine (DuckDB or Athena); several rows can share a record
key (on-demand and reserved hours of one shape, batch and on-demand tokens of one model), so
quantities are summed per key here before records are made.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from computewatch.domain import Dimensions, Method, Metric, UsageRecord, Window
from computewatch.domain.window import DAY, day_start

UNITS = {
    Metric.ACCELERATOR_HOURS: "accelerator-hours",
    Metric.INSTANCE_HOURS: "hours",
    Metric.TRAINING_JOB_ACCELERATOR_HOURS: "accelerator-hours",
    Metric.MODEL_INPUT_TOKENS: "tokens",
    Metric.MODEL_OUTPUT_TOKENS: "tokens",
    Metric.MODEL_CACHE_READ_INPUT_TOKENS: "tokens",
    Metric.MODEL_CACHE_WRITE_INPUT_TOKENS: "tokens",
    Metric.FINE_TUNING_HOURS: "hours",
    Metric.FINE_TUNING_TRAINING_TOKENS: "tokens",
}

Key = tuple[str, Metric, Dimensions, date]  # account, metric, dimensions, day


class RecordSink:
    """Sums quantities per (account, metric, dimensions, day) inside the window."""

    def __init__(self, provider: str, region: str, collector: str, window: Window) -> None:
        self.provider = provider
        self.region = region
        self.collector = collector
        self.window = window
        self._sums: dict[Key, float] = defaultdict(float)
        self._days: dict[date, bool] = {}

    def add(self, account: str, metric: Metric, dims: Dimensions, day: date, qty: float) -> None:
        if qty > 0 and self._inside(day):
            self._sums[(account, metric, dims, day)] += qty

    def _inside(self, day: date) -> bool:
        inside = self._days.get(day)
        if inside is None:
            inside = self._days[day] = self.window.contains(day_start(day))
        return inside

    def hours(
        self,
        account: str,
        day: date,
        shape: str,
        chip: str,
        count: float,
        hours: float,
        training: bool,
    ) -> None:
        dims = Dimensions(sku=shape, accelerator=chip)
        self.add(account, Metric.INSTANCE_HOURS, dims, day, hours)
        self.add(account, Metric.ACCELERATOR_HOURS, dims, day, hours * count)
        if training:
            self.add(account, Metric.TRAINING_JOB_ACCELERATOR_HOURS, dims, day, hours * count)

    def tokens(self, account: str, day: date, model: str, metric: Metric, qty: float) -> None:
        self.add(account, metric, Dimensions(model=model), day, qty)

    def by_account(self) -> dict[str, list[UsageRecord]]:
        out: dict[str, list[UsageRecord]] = defaultdict(list)
        starts = {day: day_start(day) for day in self._days}
        for (account, metric, dims, day), qty in sorted(
            self._sums.items(),
            key=lambda kv: (kv[0][0], kv[0][1], kv[0][3], kv[0][2].sku, kv[0][2].model),
        ):
            start = starts[day]
            out[account].append(
                UsageRecord(
                    self.provider,
                    account,
                    self.region,
                    self.collector,
                    metric,
                    UNITS[metric],
                    dims,
                    start,
                    start + DAY,
                    qty,
                    Method.BILLING_EXPORT,
                )
            )
        return dict(out)
