"""Cost Explorer: billing-grade accelerator-hours for every linked account in one query.

One organization-wide `GetCostAndUsage` (DAILY, `UsageQuantity`, grouped by LINKED_ACCOUNT x
INSTANCE_TYPE, filtered to accelerator instance types and running hours) covers every member
account. Each request costs USD 0.01, so days whose figures are final (`final_after` past the
day's end) and already in the store are not asked for again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from computewatch.collectors.aws.common import translate_errors
from computewatch.collectors.base import CollectContext, Collector, Permissions, Target
from computewatch.domain import Dimensions, Method, Metric, UsageRecord
from computewatch.domain.catalog import UNKNOWN_CHIP
from computewatch.domain.window import DAY, day_start


def _day(d: date) -> datetime:
    return day_start(d)


class CostExplorerCollector(Collector):
    name = "aws.costexplorer"
    provider = "aws"
    scope = "organization"
    # The organization-wide query runs as the caller, in the management (payer) account.
    permissions = Permissions(caller=("ce:GetCostAndUsage",))
    metrics = (Metric.ACCELERATOR_HOURS, Metric.INSTANCE_HOURS)
    description = (
        "Cost Explorer GetCostAndUsage: accelerator instance hours per linked account (billing)"
    )
    final_after: ClassVar[timedelta | None] = timedelta(days=3)
    bills_hours = True

    def _days_to_buy(self, ctx: CollectContext) -> list[date]:
        known = ctx.final_days.get(self.name, frozenset())
        today = ctx.now.astimezone(UTC).date()
        days = []
        for w in ctx.window.day_windows():
            d = w.start.date()
            if w.is_full_day() and d < today and d not in known:
                days.append(d)
        return days

    def collect(self, target: Target, ctx: CollectContext) -> list[UsageRecord]:
        days = self._days_to_buy(ctx)
        if not days:
            return []
        shapes = {s.name: s for s in ctx.catalog.shapes("aws")}
        request: dict[str, Any] = {
            "TimePeriod": {
                "Start": days[0].isoformat(),
                "End": (days[-1] + timedelta(days=1)).isoformat(),
            },
            "Granularity": "DAILY",
            "Metrics": ["UsageQuantity"],
            "GroupBy": [
                {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
                {"Type": "DIMENSION", "Key": "INSTANCE_TYPE"},
            ],
            "Filter": {
                "And": [
                    {"Dimensions": {"Key": "INSTANCE_TYPE", "Values": sorted(shapes)}},
                    {"Dimensions": {"Key": "USAGE_TYPE_GROUP", "Values": ["EC2: Running Hours"]}},
                ]
            },
        }
        ce = target.clients.client("ce")
        wanted = set(days)
        records: list[UsageRecord] = []
        with translate_errors("ce"):
            while True:  # botocore has no paginator for GetCostAndUsage
                page = ce.get_cost_and_usage(**request)
                for result in page.get("ResultsByTime", []):
                    start = date.fromisoformat(result["TimePeriod"]["Start"])
                    if start not in wanted:
                        continue
                    for group in result.get("Groups", []):
                        records.extend(self._records(group, start, shapes))
                token = page.get("NextPageToken")
                if not token:
                    break
                request["NextPageToken"] = token
        return records

    def _records(
        self, group: dict[str, Any], day: date, shapes: dict[str, Any]
    ) -> list[UsageRecord]:
        account, instance_type = group["Keys"]
        hours = float(group["Metrics"]["UsageQuantity"]["Amount"])
        if hours <= 0:
            return []
        shape = shapes.get(instance_type)
        chip, count = (shape.chip, shape.count) if shape else (UNKNOWN_CHIP, 1.0)
        dims = Dimensions(sku=instance_type, accelerator=chip)
        start, end = _day(day), _day(day) + DAY

        def rec(metric: Metric, unit: str, qty: float) -> UsageRecord:
            return UsageRecord(
                "aws",
                account,
                "global",
                self.name,
                metric,
                unit,
                dims,
                start,
                end,
                qty,
                Method.BILLING,
            )

        return [
            rec(Metric.ACCELERATOR_HOURS, "accelerator-hours", hours * count),
            rec(Metric.INSTANCE_HOURS, "hours", hours),
        ]
