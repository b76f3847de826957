"""The interval fold and the days a read can change (pure): folding observations one at a time,
in any order, proves exactly what deriving from all of them at once proves; and re-deriving only
the days `days_to_derive` names reproduces every figure of a full derivation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from computewatch.collectors.aws.ec2 import proven_intervals
from computewatch.collectors.base import Target
from computewatch.collectors.incremental import days_to_derive, enough_history
from computewatch.collectors.intervals import interval_records
from computewatch.domain import Account, Method, Observation, Window, utc
from computewatch.domain.window import day_start
from computewatch.store.intervals import _new, merge

NOV = Window.month("2026-11")
T0 = utc(2026, 11, 1)
TARGET = Target(Account("aws", "1", ""), "us-east-1", None)  # type: ignore[arg-type]


def obs(rid: str, observed: int, start: int, end: int | None) -> Observation:
    h = timedelta(hours=1)
    return Observation(
        "aws", "1", "us-east-1", "aws.ec2", rid, T0 + observed * h, "p5.48xlarge", "H100", 8,
        "running" if end is None else "stopped", T0 + start * h, None if end is None else T0 + end * h,
    )  # fmt: skip


@st.composite
def observations(draw: st.DrawFn) -> list[Observation]:
    out = []
    for i in range(draw(st.integers(1, 12))):
        rid = draw(st.sampled_from(["i-a", "i-b", "i-c"]))
        start = draw(st.integers(0, 200))
        seen = start + draw(st.integers(-3, 60))
        stopped = draw(st.one_of(st.none(), st.integers(start - 2, max(seen, start - 2))))
        out.append(obs(rid, max(seen, 0) + i * 0, start, stopped))
    return out


def folded(items: list[Observation]) -> list[Observation]:
    """Observations standing for the rows the store would hold after folding `items` in order."""
    rows: dict[str, list[Any]] = {}
    for o in items:
        rows[o.resource_id] = merge(rows.get(o.resource_id, []), _new(o))
    out = []
    for rid, rs in rows.items():
        for r in rs:
            o = obs(rid, 0, 0, 0)
            out.append(
                replace(o, observed_at=r.last, state=r.state, started_at=r.start, ended_at=r.end)
            )
    return out


def spans(items: list[Observation]) -> list[tuple[str, object, object]]:
    return sorted((iv.resource_id, iv.start, iv.end) for iv in proven_intervals(items))


@settings(max_examples=200, deadline=None)
@given(observations(), st.randoms())
def test_folding_in_any_order_proves_what_all_prove(items: list[Observation], rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert spans(folded(shuffled)) == spans(items)


@settings(max_examples=150, deadline=None)
@given(observations(), observations())
def test_deriving_only_changed_days_gives_the_full_figures(
    earlier: list[Observation], now: list[Observation]
) -> None:
    history = folded(earlier)
    last_read = max(o.observed_at for o in earlier)
    seen = [o for o in now if o.observed_at >= last_read] or now[:0]
    before = {
        r.key: r
        for r in interval_records(TARGET, "aws.ec2", proven_intervals(history), NOV, Method.SAMPLED)
    }
    full = {
        r.key: r
        for r in interval_records(
            TARGET, "aws.ec2", proven_intervals([*history, *seen]), NOV, Method.SAMPLED
        )
    }
    days = days_to_derive(NOV, history, seen, last_read)
    part = (
        {}
        if days is None
        else {
            r.key: r
            for r in interval_records(
                TARGET, "aws.ec2", proven_intervals([*history, *seen]), days, Method.SAMPLED
            )
        }
    )
    assert before | part == full  # the stored rows updated by the partial derivation


@settings(max_examples=300, deadline=None)
@given(
    observations(),
    observations(),
    st.integers(0, 72),
    st.sets(st.sampled_from(["i-a", "i-b", "i-c"])),
)
def test_recent_history_derives_what_the_whole_history_derives(
    earlier: list[Observation], now: list[Observation], back: int, retyped: set[str]
) -> None:
    """An hourly read starts from the intervals last observed since a day boundary before its
    previous read; what it then derives (days, method, figures) is what the whole history
    gives, whatever it sees (returning resources, a changed chip, nothing)."""
    history = folded(earlier)
    last_read = max(o.observed_at for o in earlier)
    seen = [
        replace(o, sku="p4d.24xlarge", accelerator="A100") if o.resource_id in retyped else o
        for o in now
        if o.observed_at >= last_read
    ]
    horizon = day_start(last_read - timedelta(hours=back))
    recent = [h for h in history if h.observed_at >= horizon]

    def older(ids: Sequence[str] | None) -> list[Observation]:
        return [
            h for h in history if h.observed_at < horizon and (ids is None or h.resource_id in ids)
        ]

    def derived(past: Sequence[Observation]) -> tuple[Window | None, Method, dict[Any, Any]]:
        days = days_to_derive(NOV, past, seen, last_read)
        method = Method.SAMPLED if past else Method.LAUNCH_TIME_ESTIMATE
        intervals = proven_intervals([*past, *seen])
        records = (
            [] if days is None else interval_records(TARGET, "aws.ec2", intervals, days, method)
        )
        return days, method, {r.key: r for r in records}

    assert derived(enough_history(recent, seen, last_read, horizon, older)) == derived(history)
