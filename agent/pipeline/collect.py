"""Collect: providers discover accounts, collectors read them, the store keeps what was read."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from computewatch.collectors.base import ApiCallCounter, CollectContext, Provider, UnitKey
from computewatch.collectors.registry import builtin
from computewatch.collectors.runner import CollectionResult, Progress, run_collection
from computewatch.collectors.sampling import close_billed_gaps
from computewatch.config.loader import LoadedConfig
from computewatch.domain import SAMPLING_GAP, Account, CoverageEntry, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import UsageError
from computewatch.store import Store


@dataclass(frozen=True)
class Collected:
    """What a run read: the accounts, the coverage to judge by (units carried over included)."""

    accounts: tuple[Account, ...]
    coverage: tuple[CoverageEntry, ...]
    records_written: int


def build_providers(
    config: LoadedConfig, wanted: set[str] | None, counter: ApiCallCounter
) -> list[Provider]:
    """Every registered provider whose config section is present (and that was asked for)."""
    known = builtin().provider_names()
    if wanted:
        unknown = wanted - set(known)
        if unknown:
            raise UsageError(
                f"unknown provider(s) {', '.join(sorted(unknown))} (known: {', '.join(known)})"
            )
    built = []
    for name, cls in builtin().providers.items():
        section = getattr(config.app, name, None)
        if section is None or (wanted and name not in wanted):
            continue
        built.append(cls.from_config(section, counter))
    if not built:
        raise UsageError(
            f"no provider to audit: configure one of {', '.join(known)} in {config.path}"
        )
    return built


def check_collectors(wanted: set[str] | None) -> frozenset[str] | None:
    if wanted is None:
        return None
    unknown = wanted - set(builtin().collector_names())
    if unknown:
        raise UsageError(
            f"unknown collector(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(builtin().collector_names())})"
        )
    return frozenset(wanted)


def collect_context(
    config: LoadedConfig,
    window: Window,
    now: datetime,
    store: Store,
    catalog: Catalog,
    only: frozenset[str] | None,
    until_read: set[str],
) -> CollectContext:
    """What collectors need from earlier runs: final days, sampled history, read times, and for
    a run limited to `only` some collectors, the others' latest coverage of the window (those of
    `until_read` that have none run too)."""
    carried = store.coverage.for_window(window) if only is not None else {}
    if only is not None:
        read = {unit[3] for unit in carried}
        only = only | {name for name in until_read if name not in read}
    final_days = {
        name: store.coverage.final_days(cls.provider, name, cls.final_after)
        for name, cls in builtin().collectors.items()
        if cls.final_after is not None
    }
    sampling = [name for name, cls in builtin().collectors.items() if cls.samples]
    return CollectContext(
        window=window,
        now=now,
        catalog=catalog,
        final_days=final_days,
        history=store.intervals.history(window, before=now),
        derived_through=derived_through(store, window, sampling),
        reads=store.coverage.read_times(sampling, window.start, now),
        max_sample_gap=timedelta(minutes=config.app.collection.max_sample_gap_minutes),
        only=only,
        carried=carried,
    )


def derived_through(store: Store, window: Window, sampling: list[str]) -> dict[UnitKey, datetime]:
    """Sampled units whose days of `window` an earlier read derived (and when), except those
    whose stored figures are still a first read's launch-time estimate."""
    estimated = store.intervals.estimated_units(window, sampling)
    reads = store.coverage.last_good_reads(window, sampling)
    return {unit: at for unit, at in reads.items() if unit not in estimated}


def final_billing(store: Store) -> dict[str, dict[str, frozenset[date]]]:
    """Per provider, the billing collectors and the days the store holds in final form."""
    out: dict[str, dict[str, frozenset[date]]] = defaultdict(dict)
    for name, cls in builtin().collectors.items():
        if cls.bills_hours and cls.final_after is not None:
            out[cls.provider][name] = store.coverage.final_days(cls.provider, name, cls.final_after)
    return out


def write_coverage(
    store: Store, run_id: int, result: CollectionResult, now: datetime
) -> list[CoverageEntry]:
    """Store the run's coverage; sampling gaps last, once this run's own billing reads count
    towards closing them. Returns the coverage to judge by (with units carried over)."""
    reads = [e for e in result.coverage if e.error_code != SAMPLING_GAP]
    store.coverage.write(run_id, reads, now)
    billed = final_billing(store)
    gaps = close_billed_gaps([e for e in result.coverage if e.error_code == SAMPLING_GAP], billed)
    store.coverage.write(run_id, gaps, now)
    result.coverage = [*reads, *gaps]
    return [*result.coverage, *close_billed_gaps(result.carried, billed)]


def collect(
    config: LoadedConfig,
    store: Store,
    run_id: int,
    *,
    window: Window,
    now: datetime,
    provider_list: list[Provider],
    catalog: Catalog,
    only: frozenset[str] | None,
    until_read: set[str],
    accounts: set[str] | None,
    progress: Progress | None,
) -> Collected:
    """Read every unit of the window and store records, observations, coverage and accounts."""
    ctx = collect_context(config, window, now, store, catalog, only, until_read)
    result = run_collection(provider_list, ctx, accounts, progress)
    for provider in provider_list:  # billing exports: a re-delivered period replaces its figures
        for delivery in provider.deliveries():
            store.exports.replace_period(delivery, run_id, now, accounts)
    written = store.usage.write(run_id, result.records, now)
    store.usage.write_observations(run_id, result.observations)
    coverage = write_coverage(store, run_id, result, now)
    store.usage.save_accounts(result.accounts)
    return Collected(tuple(result.accounts), tuple(coverage), written)
