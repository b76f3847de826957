"""The findings lifecycle across runs, as a pure state machine (the store only remembers states).

    new       open (BREACH / UNKNOWN), not yet in a report
    ongoing   open and already reported
    resolved  was open (new, ongoing or resolved before), now OK
    none      never open

Re-evaluating the same data keeps status, lifecycle and first_seen as they were.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime

from computewatch.domain import Finding, FindingState, FindingStatus, Lifecycle

_WAS_OPEN = frozenset({Lifecycle.NEW, Lifecycle.ONGOING, Lifecycle.RESOLVED})


def step(finding: Finding, previous: FindingState | None, now: datetime) -> FindingState:
    """The state of one finding judged at `now`, given what the store remembered of it."""
    reported = None if previous is None else previous.reported_at
    if finding.status is not FindingStatus.OK:
        lifecycle = Lifecycle.ONGOING if reported is not None else Lifecycle.NEW
    elif previous is not None and previous.lifecycle in _WAS_OPEN:
        lifecycle = Lifecycle.RESOLVED
    else:
        lifecycle = Lifecycle.NONE
    first_seen = now if previous is None else previous.first_seen
    return FindingState(lifecycle, first_seen, now, reported)


def advance(
    findings: Iterable[Finding], previous: Mapping[str, FindingState], now: datetime
) -> dict[str, FindingState]:
    """Each finding's new state by id (for a repeated id, the last finding counts)."""
    return {f.id: step(f, previous.get(f.id), now) for f in findings}


def reported(
    findings: Iterable[Finding], states: Mapping[str, FindingState], now: datetime
) -> dict[str, FindingState]:
    """The findings that went out in a report at `now` and move on: open ones not reported
    before are `ongoing` from now on (the report itself showed them as `new`; a separate notice
    for them would be a duplicate). Findings already reported keep their first report time."""
    out: dict[str, FindingState] = {}
    for f in findings:
        state = states[f.id]
        if f.status is not FindingStatus.OK and state.reported_at is None:
            out[f.id] = dataclasses.replace(state, lifecycle=Lifecycle.ONGOING, reported_at=now)
    return out
