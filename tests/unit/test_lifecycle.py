"""The findings lifecycle as a pure state machine: every transition, no store."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from computewatch.domain import FindingState, FindingStatus, Lifecycle, utc
from computewatch.engine import lifecycle
from tests.helpers.store import finding

BREACH, UNKNOWN, OK = FindingStatus.BREACH, FindingStatus.UNKNOWN, FindingStatus.OK
NEW, ONGOING, RESOLVED, NONE = Lifecycle.NEW, Lifecycle.ONGOING, Lifecycle.RESOLVED, Lifecycle.NONE
T0, T1, NOW = utc(2026, 10, 1), utc(2026, 10, 2), utc(2026, 11, 1)


@pytest.mark.parametrize(
    ("status", "before", "reported", "after"),
    [
        (BREACH, None, None, NEW),  # first seen open
        (UNKNOWN, None, None, NEW),  # unknown is open too
        (OK, None, None, NONE),  # never open
        (BREACH, NEW, None, NEW),  # open, still not in a report
        (BREACH, NEW, T1, ONGOING),  # open and reported
        (BREACH, ONGOING, T1, ONGOING),
        (BREACH, RESOLVED, None, NEW),  # open again, never reported
        (BREACH, RESOLVED, T1, ONGOING),  # open again after a report
        (BREACH, NONE, None, NEW),
        (OK, NEW, None, RESOLVED),  # was open, now OK
        (OK, ONGOING, T1, RESOLVED),
        (OK, RESOLVED, T1, RESOLVED),
        (OK, NONE, None, NONE),
    ],
)
def test_each_transition(
    status: FindingStatus, before: Lifecycle | None, reported: datetime | None, after: Lifecycle
) -> None:
    f = finding(status)
    previous = {} if before is None else {f.id: FindingState(before, T0, T1, reported)}
    state = lifecycle.advance([f], previous, NOW)[f.id]
    first_seen = NOW if before is None else T0
    assert state == FindingState(after, first_seen, NOW, reported)


def test_re_evaluating_the_same_data_keeps_the_state() -> None:
    found = [finding(BREACH), finding(OK, "aws:2")]
    first = lifecycle.advance(found, {}, T0)
    again = lifecycle.advance(found, first, T1)
    assert {k: (s.lifecycle, s.first_seen) for k, s in again.items()} == {
        k: (s.lifecycle, s.first_seen) for k, s in first.items()
    }
    assert all(s.last_seen == T1 for s in again.values())


def test_a_repeated_id_takes_the_last_finding() -> None:
    f = finding(BREACH)
    assert lifecycle.advance([f, replace(f, status=OK)], {}, T0)[f.id].lifecycle is NONE


def test_reported_moves_open_unreported_findings_to_ongoing() -> None:
    new, done, calm = finding(BREACH), finding(UNKNOWN, "aws:2"), finding(OK, "aws:3")
    states = {
        new.id: FindingState(NEW, T0, T1, None),
        done.id: FindingState(ONGOING, T0, T1, T0),
        calm.id: FindingState(NONE, T0, T1, None),
    }
    assert lifecycle.reported([new, done, calm], states, NOW) == {
        new.id: FindingState(ONGOING, T0, T1, NOW)
    }
    assert states[new.id].lifecycle is NEW  # the input is left as it was
