"""The report's view of each account's true simultaneous peak (engine.concurrency) and the
implied cluster rate per region: a cluster is regional, so regional peaks are never summed."""

from __future__ import annotations

from dataclasses import dataclass

from computewatch.domain.catalog import Catalog
from computewatch.engine.assess import Assessment
from computewatch.engine.estimates import implied_cluster_flops


@dataclass(frozen=True, slots=True)
class PeakView:
    """An account's true simultaneous peak (from stored intervals), per-region peaks and the
    implied cluster rate per region."""

    account: str
    total: float
    by_chip: tuple[tuple[str, float], ...]
    by_region: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]
    cluster_ops_by_region: tuple[tuple[str, float | None], ...]  # None: a chip without a figure


def _region_ops(chips: dict[str, float], catalog: Catalog) -> float | None:
    """Implied cluster rate of one region; unknown (not zero) if a chip has no usable figure."""
    if any(implied_cluster_flops({c: 1.0}, catalog) == 0 for c in chips):
        return None
    return implied_cluster_flops(chips, catalog)


def peak_views(a: Assessment, catalog: Catalog) -> tuple[PeakView, ...]:
    return tuple(
        PeakView(
            f"{provider}:{account}",
            p.total,
            tuple(p.by_chip.items()),
            tuple((r, tuple(chips.items())) for r, chips in p.by_region.items()),
            tuple((r, _region_ops(chips, catalog)) for r, chips in p.by_region.items()),
        )
        for (provider, account), p in sorted(a.simultaneous_peaks.items())
    )
