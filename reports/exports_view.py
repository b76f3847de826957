"""What the reports show of billing exports: the delivery each period rests on, and where an
export and the live collectors both cover an account, both figures and the variance (per chip and
per model). Formats the engine's figures; never recomputes them."""

from __future__ import annotations

from dataclasses import dataclass

from computewatch.domain.metrics import metric_def
from computewatch.engine.assess import Assessment


@dataclass(frozen=True, slots=True)
class DeliveryView:
    export: str
    billing_period: str
    delivery_id: str
    format: str
    schema_version: str
    manifest: str
    files: tuple[tuple[str, str, int], ...]
    queries: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ExportVariance:
    account: str  # "aws:111100000001"
    name: str
    metric: str  # the metric's title
    key: str  # chip or model
    export: float
    live: float
    metric_id: str = ""  # the metric table's name (JSON report)

    @property
    def variance_pct(self) -> float | None:
        """Live against the export (the billing record)."""
        return None if self.export == 0 else 100.0 * (self.live - self.export) / self.export


@dataclass(frozen=True, slots=True)
class Overlap:
    """An account two or more exports name for one period: which one counted."""

    billing_period: str
    provider: str
    account_id: str
    name: str
    counted: str  # the export whose figures count (configured first)
    not_counted: tuple[str, ...]

    @property
    def note(self) -> str:
        return (
            f"{self.name or self.account_id} ({self.provider}:{self.account_id}) is in exports "
            f"{self.counted} and {', '.join(self.not_counted)} for {self.billing_period}: "
            f"figures from {self.counted} (configured first); the others are not added."
        )


@dataclass(frozen=True, slots=True)
class ExportsView:
    deliveries: tuple[DeliveryView, ...] = ()
    variances: tuple[ExportVariance, ...] = ()
    overlaps: tuple[Overlap, ...] = ()  # accounts in more than one export

    @property
    def notes(self) -> tuple[str, ...]:
        """Coverage notes, one per account in more than one export."""
        return tuple(o.note for o in self.overlaps)

    @property
    def shown(self) -> bool:
        return bool(self.deliveries or self.variances or self.overlaps)


def exports_view(a: Assessment) -> ExportsView:
    deliveries = tuple(
        DeliveryView(
            d.export,
            d.billing_period,
            d.delivery_id,
            d.format,
            d.schema_version,
            d.manifest,
            d.files,
            d.queries,
        )
        for d in a.deliveries
    )
    variances = []
    for u in a.accounts:
        for (metric, key), (export, live) in sorted(u.export_reconciliation.items()):
            if live == 0 and metric_def(metric).key.value == "model":
                continue  # no live figure for this model: nothing to compare
            variances.append(
                ExportVariance(
                    u.label, u.account.name, metric_def(metric).title, key, export, live, metric
                )
            )
    return ExportsView(deliveries, tuple(variances), overlaps(a))


def overlaps(a: Assessment) -> tuple[Overlap, ...]:
    """An account named by two exports for one period is read from the first configured (the
    provider's rule, `collectors/exports/provider.py`); the others' figures are not added."""
    first: dict[tuple[str, str, str], str] = {}
    others: dict[tuple[str, str, str], list[str]] = {}
    names: dict[tuple[str, str], str] = {}
    for d in a.deliveries:  # in configuration order
        for c in d.accounts:
            key = (d.billing_period, c.provider, c.account_id)
            names[(c.provider, c.account_id)] = c.name
            if key not in first:
                first[key] = d.export
            elif d.export != first[key]:
                others.setdefault(key, []).append(d.export)
    return tuple(
        Overlap(
            period,
            provider,
            account,
            names[(provider, account)],
            first[(period, provider, account)],
            tuple(rest),
        )
        for (period, provider, account), rest in sorted(others.items())
    )
