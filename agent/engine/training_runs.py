"""Training-run detection from the stored daily history (pure).

The 702.7 and EU Art. 51 thresholds are defined per training run (cumulative per model), not per
calendar window. From outside the workload a run shows as sustained multi-accelerator use: a
customer's (or an unregistered account's) contiguous days on which its accelerators, across accounts
and clouds, averaged at least `min_concurrent` at once, for at least `min_days` days. Each run is
reported with its start, end (or "ongoing"), accounts, chips, peak daily concurrency, hours and
compute band, and is judged against the per-run thresholds whatever calendar windows it spans.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from computewatch.config.customers import Registry
from computewatch.domain import Metric
from computewatch.domain.aggregates import DailyRow, DailyTotal
from computewatch.domain.catalog import Catalog
from computewatch.engine.estimates import FlopBand, training_flop
from computewatch.engine.usage import billing_rank

DAY = timedelta(days=1)
# Per-run thresholds (operations): EO 14110 / proposed 702.7 1e26, EU AI Act Art. 51 1e25.
RUN_THRESHOLDS = ((1e26, "702.7 / EO 14110 (1e26)"), (1e25, "EU AI Act Art. 51 (1e25)"))


@dataclass(frozen=True, slots=True)
class RunThresholds:
    """Defaults: 8 accelerators is one full 8-GPU node (p5.48xlarge, ND96isr H100 v5, HGX); a
    day-average of 8 for two consecutive days (48 h) separates sustained multi-accelerator work
    from a node rented for an afternoon. Both are configurable per call."""

    min_concurrent: float = 8.0
    min_days: int = 2


@dataclass(frozen=True, slots=True)
class TrainingRun:
    owner: str  # "customer:<id>", or "<provider>:<account>" for an unregistered account
    label: str
    start: datetime
    end: datetime  # exclusive: the day after the last active day
    ongoing: bool  # the run's last day is the last day with data and it reaches `now`
    accounts: tuple[str, ...]
    chips: tuple[str, ...]
    peak_concurrent: float  # highest day-average concurrency (a lower bound of the true peak)
    accelerator_hours: float
    flop: FlopBand
    crossed: tuple[str, ...]  # per-run thresholds its compute band's central value exceeds


Daily = dict[tuple[str, str, str, datetime], float]  # (provider, account, chip, day) -> hours


def _daily_by_account_chip(rows: Iterable[DailyRow]) -> Daily:
    """Accelerator-hours per account, chip and day; the day's best billing source supersedes the
    others (export > billing > inventory), and a row repeated by overlapping windows counts once."""
    seen: set[DailyRow] = set()
    by_day: dict[tuple[str, str, datetime], list[DailyRow]] = defaultdict(list)
    for r in rows:
        if r.metric != Metric.ACCELERATOR_HOURS or r in seen:
            continue
        seen.add(r)
        by_day[(r.provider, r.account_id, r.day)].append(r)
    out: dict[tuple[str, str, str, datetime], float] = defaultdict(float)
    for (provider, account, day), day_rows in by_day.items():
        top = max(billing_rank(r.method) for r in day_rows)
        for r in day_rows:
            if billing_rank(r.method) == top:
                out[(provider, account, r.accelerator, day)] += r.quantity
    return out


def daily_series(windows: Iterable[Sequence[DailyTotal]]) -> Daily:
    """The store's per account × chip × day series of several windows as one (a day two windows
    both hold is the same figure in each; it counts once)."""
    out: Daily = {}
    for rows in windows:
        for r in rows:
            out[(r.provider, r.account_id, r.accelerator, r.day)] = r.quantity
    return out


def detect_training_runs(
    rows: Iterable[DailyRow] | Daily,
    registry: Registry,
    catalog: Catalog,
    band: Sequence[float],
    now: datetime,
    thresholds: RunThresholds = RunThresholds(),
    run_thresholds: Sequence[tuple[float, str]] = RUN_THRESHOLDS,
) -> list[TrainingRun]:
    """Runs from per-day rows, or from a series the store already chose per day (`daily_series`)."""
    daily = rows if isinstance(rows, dict) else _daily_by_account_chip(rows)
    owners: dict[str, str] = {}
    per_owner: dict[str, dict[datetime, dict[tuple[str, str], float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    last_day = max((k[3] for k in daily), default=None)
    for (provider, account, chip, day), hours in daily.items():
        customer = registry.customer_of(provider, account)
        owner = f"customer:{customer.id}" if customer else f"{provider}:{account}"
        owners[owner] = customer.legal_name if customer else f"{provider}:{account} (unregistered)"
        cell = per_owner[owner][day]
        cell[(f"{provider}:{account}", chip)] = (
            cell.get((f"{provider}:{account}", chip), 0.0) + hours
        )
    runs: list[TrainingRun] = []
    for owner, days in sorted(per_owner.items()):
        active = sorted(
            d for d, cells in days.items() if sum(cells.values()) / 24 >= thresholds.min_concurrent
        )
        for streak in _streaks(active):
            if len(streak) < thresholds.min_days:
                continue
            runs.append(
                _run(
                    owner, owners[owner], streak, days, catalog, band, now, last_day, run_thresholds
                )
            )
    return runs


def _streaks(days: list[datetime]) -> list[list[datetime]]:
    out: list[list[datetime]] = []
    for d in days:
        if out and d - out[-1][-1] == DAY:
            out[-1].append(d)
        else:
            out.append([d])
    return out


def _run(
    owner: str,
    label: str,
    streak: list[datetime],
    days: dict[datetime, dict[tuple[str, str], float]],
    catalog: Catalog,
    band: Sequence[float],
    now: datetime,
    last_day: datetime | None,
    run_thresholds: Sequence[tuple[float, str]],
) -> TrainingRun:
    by_chip: dict[str, float] = defaultdict(float)
    accounts: set[str] = set()
    for d in streak:
        for (account, chip), hours in days[d].items():
            by_chip[chip] += hours
            accounts.add(account)
    low, central, high = band
    flop = training_flop(by_chip, catalog, low, central, high)
    end = streak[-1] + DAY
    return TrainingRun(
        owner=owner,
        label=label,
        start=streak[0],
        end=end,
        ongoing=streak[-1] == last_day and end >= now,
        accounts=tuple(sorted(accounts)),
        chips=tuple(sorted(by_chip)),
        peak_concurrent=max(sum(days[d].values()) / 24 for d in streak),
        accelerator_hours=sum(by_chip.values()),
        flop=flop,
        crossed=tuple(name for limit, name in run_thresholds if flop.central > limit),
    )
