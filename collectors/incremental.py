"""Which days a sampled read can still change, so an hourly read re-derives only those.

The stored usage of a sampled unit is a function of the union of the spans its observations prove
(`ec2.proven_intervals`). A new read changes that union only where its spans reach beyond what
the history already proves (usually: from the previous read to now), and changes a resource's
chip only if its newest observation says so. Days before the earliest such change keep the
figures already stored, provided an earlier read of the same window derived them
(`CollectContext.derived_through`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from computewatch.domain import Observation, Window
from computewatch.domain.window import day_start


def _merged(spans: Iterable[tuple[datetime, datetime]]) -> list[list[datetime]]:
    out: list[list[datetime]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out


def _uncovered_from(lo: datetime, hi: datetime, spans: list[list[datetime]]) -> datetime | None:
    """The earliest moment of [lo, hi] the spans do not prove (None: all of it is proven)."""
    point = lo
    for a, b in spans:
        if a <= point <= b:
            point = b
    return None if point >= hi else point


def _retyped(past: Sequence[Observation], o: Observation) -> bool:
    """Whether `o` says other than the resource's newest earlier observation (chip, count, type)."""
    if not past:
        return False
    newest = max(past, key=lambda h: h.observed_at)
    return newest.observed_at <= o.observed_at and (
        newest.sku,
        newest.accelerator,
        newest.count,
    ) != (o.sku, o.accelerator, o.count)


def changed_since(history: Sequence[Observation], seen: Sequence[Observation]) -> datetime | None:
    """The earliest moment whose proven usage `seen` changes, given `history` (None: none).
    A resource whose newest chip, count or type differs changes from its first proven moment."""
    by_resource: dict[str, list[Observation]] = defaultdict(list)
    for o in history:
        by_resource[o.resource_id].append(o)
    earliest: datetime | None = None

    def note(moment: datetime) -> None:
        nonlocal earliest
        earliest = moment if earliest is None else min(earliest, moment)

    for o in seen:
        past = by_resource.get(o.resource_id, [])
        spans = _merged(p for p in (h.proven for h in past) if p is not None)
        if _retyped(past, o):
            note(min([o.started_at, *(lo for lo, _ in spans)]))
            continue
        proven = o.proven
        if proven is not None:
            moment = _uncovered_from(proven[0], proven[1], spans)
            if moment is not None:
                note(moment)
    return earliest


def days_to_derive(
    window: Window,
    history: Sequence[Observation],
    seen: Sequence[Observation],
    derived_through: datetime | None,
) -> Window | None:
    """The part of `window` (whole days) whose records this read must derive; None: nothing.
    Without an earlier derivation of the window (or without history), all of it."""
    if derived_through is None or not history:
        return window
    since = changed_since(history, seen)
    start = derived_through if since is None else min(since, derived_through)
    start = max(day_start(start), window.start)
    if start >= window.end:
        return None
    # A read that changes nothing re-derives only the day of the previous read (cheap, and it
    # leaves every figure as it was).
    return Window(start, window.end)


Older = Callable[[Sequence[str] | None], Sequence[Observation]]


def enough_history(
    recent: Sequence[Observation],
    seen: Sequence[Observation],
    derived_through: datetime | None,
    horizon: datetime,
    older: Older,
) -> Sequence[Observation]:
    """The history a read must derive from, given `recent`: the unit's intervals last observed
    at or after `horizon` (a day boundary). An interval last observed earlier ends earlier, so
    it adds nothing to a day from `horizon` on: `recent` decides the same days and figures as the
    whole history when the read changes nothing before `horizon`, knows each seen resource's
    past, and keeps the method (`sampled` needs some history). Otherwise the rest is fetched
    (`older(resources)`: of those resources; `older(None)`: the unit's whole past)."""
    if derived_through is None or derived_through < horizon:
        return [*older(None), *recent]
    known = {o.resource_id for o in recent}
    returning = sorted({o.resource_id for o in seen} - known)
    # A resource new to `recent` may have been seen before the horizon and not since.
    history = [*older(returning), *recent] if returning else recent
    if seen and not history:
        return [*older(None), *recent]
    by_resource: dict[str, list[Observation]] = defaultdict(list)
    for h in history:
        by_resource[h.resource_id].append(h)
    since = changed_since(history, seen)
    if any(_retyped(by_resource[o.resource_id], o) for o in seen) or (
        since is not None and day_start(since) < horizon
    ):
        return [*older(None), *recent]
    return history
