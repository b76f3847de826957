"""store.findings: what the lifecycle decided is saved in one upsert and read back as it was."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from computewatch.domain import Finding, FindingState, FindingStatus, Lifecycle, utc
from computewatch.engine import lifecycle
from computewatch.store import FindingRow, Store
from tests.helpers.store import NOV, OCT, RULE, finding

BREACH, UNKNOWN, OK = FindingStatus.BREACH, FindingStatus.UNKNOWN, FindingStatus.OK
T1, T2, T3, T4 = (utc(2026, 11, d) for d in (1, 2, 3, 4))


def evaluate(
    store: Store, found: list[Finding], now: datetime, run: int = 1
) -> dict[str, FindingState]:
    """What the pipeline does with a run's findings."""
    states = lifecycle.advance(found, store.findings.states(f.id for f in found), now)
    store.findings.save(found, states, run)
    return states


def test_saved_findings_read_back_typed(store: Store) -> None:
    f = finding(BREACH, value=None)
    states = evaluate(store, [f], T1, run=7)
    assert store.findings.states([f.id, "unknown-id"]) == states
    assert store.findings.states([]) == {}
    assert store.findings.find() == [
        FindingRow(
            id=f.id,
            rule_id="r",
            scope_kind="account",
            scope_key="aws:111111111111",
            window_start=OCT.start,
            window_end=OCT.end,
            status=BREACH,
            value=None,
            threshold=100.0,
            severity="high",
            lifecycle=Lifecycle.NEW,
            first_seen=T1,
            last_seen=T1,
            reported_at=None,
            detail="detail",
            run_id=7,
        )
    ]


def test_saving_again_replaces_never_adds_and_keeps_first_seen(store: Store) -> None:
    f = finding(BREACH)
    evaluate(store, [f], T1, run=1)
    changed = replace(f, value=250.0, detail="more")
    late = {f.id: FindingState(Lifecycle.NEW, T3, T2, T3)}  # first_seen and reported_at ignored
    store.findings.save([changed], late, 2)
    [row] = store.findings.find()
    assert (row.value, row.detail, row.run_id, row.last_seen) == (250.0, "more", 2, T2)
    assert (row.first_seen, row.reported_at) == (T1, None)


def test_lifecycle_persists_across_runs(store: Store) -> None:
    breach, calm, unknown = finding(BREACH), finding(OK, "aws:2"), finding(UNKNOWN, "aws:3")
    first = evaluate(store, [breach, calm, unknown], T1)
    assert {k: s.lifecycle for k, s in first.items()} == {
        breach.id: Lifecycle.NEW,
        calm.id: Lifecycle.NONE,
        unknown.id: Lifecycle.NEW,
    }
    # Re-evaluating the same data keeps status, lifecycle and first_seen.
    again = evaluate(store, [breach, calm, unknown], T1 + timedelta(minutes=5))
    assert again[breach.id] == replace(first[breach.id], last_seen=T1 + timedelta(minutes=5))
    store.findings.mark_reported(lifecycle.reported([breach, calm, unknown], again, T1))
    stored = store.findings.states([breach.id, calm.id, unknown.id])
    assert stored[breach.id].lifecycle is Lifecycle.ONGOING and stored[breach.id].reported_at == T1
    assert stored[calm.id].reported_at is None  # an OK finding is never reported
    second = evaluate(store, [breach, calm, unknown], T2)
    assert second[breach.id] == FindingState(Lifecycle.ONGOING, T1, T2, T1)
    assert second[unknown.id].lifecycle is Lifecycle.ONGOING
    third = evaluate(store, [replace(breach, status=OK), calm, replace(unknown, status=OK)], T3)
    assert [third[i].lifecycle for i in (breach.id, calm.id, unknown.id)] == [
        Lifecycle.RESOLVED,
        Lifecycle.NONE,
        Lifecycle.RESOLVED,
    ]
    fourth = evaluate(store, [replace(breach, status=OK)], T4)
    assert fourth[breach.id] == FindingState(Lifecycle.RESOLVED, T1, T4, T1)
    assert [r.lifecycle for r in store.findings.find(lifecycle=Lifecycle.RESOLVED)] == [
        Lifecycle.RESOLVED,
        Lifecycle.RESOLVED,
    ]


def test_a_later_report_keeps_the_first_report_time(store: Store) -> None:
    f = finding(BREACH)
    states = evaluate(store, [f], T1)
    store.findings.mark_reported(lifecycle.reported([f], states, T1))
    store.findings.mark_reported(lifecycle.reported([f], states, T2))  # a stale view of it
    store.findings.mark_reported({})
    [row] = store.findings.find()
    assert (row.lifecycle, row.reported_at) == (Lifecycle.ONGOING, T1)


def test_find_filters_and_order(store: Store) -> None:
    other = replace(RULE, id="other")
    found = [
        finding(BREACH, "customer:50%_off", window=NOV),
        finding(UNKNOWN, "aws:1"),
        finding(OK, "customer:swiss"),
        finding(BREACH, "aws:2", rule=other),
    ]
    evaluate(store, found, T1)
    keys = [r.scope_key for r in store.findings.find()]
    assert keys == ["aws:2", "aws:1", "customer:swiss", "customer:50%_off"]  # window, rule, scope
    assert [r.scope_key for r in store.findings.find(status=BREACH)] == [
        "aws:2",
        "customer:50%_off",
    ]
    assert [r.scope_key for r in store.findings.find(rule_id="other")] == ["aws:2"]
    assert [r.scope_key for r in store.findings.find(scope="swiss")] == ["customer:swiss"]
    assert [r.scope_key for r in store.findings.find(scope="50%_")] == ["customer:50%_off"]
    assert store.findings.find(scope="5_%") == []  # wildcards are matched literally
    assert [r.scope_key for r in store.findings.find(lifecycle=Lifecycle.NONE)] == [
        "customer:swiss"
    ]
    assert store.findings.open_by_status() == {BREACH: 2, UNKNOWN: 1}


def test_a_large_run_is_saved_whole(store: Store) -> None:
    found = [finding(BREACH if i % 3 else OK, f"aws:{i}") for i in range(1234)]
    states = evaluate(store, found, T1)
    assert store.findings.states(f.id for f in found) == states
    assert store.findings.open_by_status() == {BREACH: 822}
    assert len(store.findings.find()) == 1234
