"""store.outbox: queued once by Message-ID, claimed by one worker per attempt."""

from __future__ import annotations

import threading
from datetime import timedelta

from computewatch.domain import utc
from computewatch.store import Store
from tests.helpers.store import outbox_row

T0 = utc(2026, 11, 1, 8)


def test_a_message_is_queued_once(store: Store) -> None:
    row = outbox_row("<a@x>", T0)
    assert store.outbox.add(row)
    assert not store.outbox.add(outbox_row("<a@x>", T0 + timedelta(hours=1), kind="notice"))
    assert store.outbox.entries() == [row]  # the first one, unchanged


def test_entries_pending_and_due(store: Store) -> None:
    # Created c, a, b in that order; listed by creation time, whatever the insertion order.
    c = outbox_row("<c@x>", T0)
    a = outbox_row("<a@x>", T0 + timedelta(minutes=1))
    b = outbox_row("<b@x>", T0 + timedelta(minutes=2))
    for row in (b, c, a):
        store.outbox.add(row)
    assert [r.message_id for r in store.outbox.entries()] == ["<c@x>", "<a@x>", "<b@x>"]
    assert store.outbox.claim(a, T0 + timedelta(hours=1))
    store.outbox.done("<a@x>", sent_at=T0, next_attempt_at=T0, error="")
    assert store.outbox.claim(b, T0 + timedelta(hours=1))
    later = T0 + timedelta(minutes=30)
    store.outbox.done("<b@x>", sent_at=None, next_attempt_at=later, error="refused")
    assert [r.message_id for r in store.outbox.pending()] == ["<c@x>", "<b@x>"]
    assert [r.message_id for r in store.outbox.due(T0 + timedelta(minutes=5))] == ["<c@x>"]
    assert [r.message_id for r in store.outbox.due(later)] == ["<c@x>", "<b@x>"]
    failed = store.outbox.pending()[1]
    assert (failed.attempts, failed.last_error, failed.next_attempt_at) == (1, "refused", later)
    sent = store.outbox.entries()[1]
    assert sent.sent_at == T0 and sent.attempts == 1 and sent.recipients == a.recipients
    assert sent.message == a.message


def test_a_claim_is_exclusive(store: Store) -> None:
    row = outbox_row("<a@x>", T0)
    store.outbox.add(row)
    lease = T0 + timedelta(minutes=5)
    assert store.outbox.claim(row, lease)
    assert not store.outbox.claim(row, lease)  # the same snapshot: someone took it already
    [taken] = store.outbox.entries()
    assert taken.attempts == 1 and taken.next_attempt_at == lease
    store.outbox.done(row.message_id, sent_at=T0, next_attempt_at=T0, error="")
    [sent] = store.outbox.entries()
    assert not store.outbox.claim(sent, lease)  # a sent message is never claimed again


def test_concurrent_claims_one_worker_wins(store: Store) -> None:
    row = outbox_row("<a@x>", T0)
    store.outbox.add(row)
    start = threading.Barrier(6)
    results: list[bool] = []

    def claim() -> None:
        start.wait()
        results.append(store.outbox.claim(row, T0 + timedelta(minutes=5)))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [False] * 5 + [True]
    assert store.outbox.entries()[0].attempts == 1
