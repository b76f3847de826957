"""An export read summed per account, metric and the metric's key (chip, model or sku): what the
export tests compare with the fixtures' expected figures."""

from __future__ import annotations

from collections import defaultdict

from computewatch.collectors.exports.reader import ExportRead
from computewatch.domain import Metric
from computewatch.domain.metrics import Key, metric_def


def totals(read: ExportRead) -> dict[tuple[str, Metric, str], float]:
    out: dict[tuple[str, Metric, str], float] = defaultdict(float)
    for account, records in read.records.items():
        for r in records:
            d = metric_def(r.metric)
            key = {
                Key.CHIP: r.dimensions.accelerator,
                Key.MODEL: r.dimensions.model,
                Key.SKU: r.dimensions.sku,
            }[d.key]
            out[(account, r.metric, key)] += r.quantity
    return dict(out)
