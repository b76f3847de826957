"""store.ledger: the evidence hash chain, in order; an append on a taken seq is refused."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from computewatch.domain.errors import StoreError
from computewatch.store import Store
from tests.helpers.store import ledger_row


def test_entries_in_sequence_order(store: Store) -> None:
    assert store.ledger.entries() == []
    first = ledger_row(1)
    second = ledger_row(2, prev=first.digest)
    store.ledger.append(second)  # stored out of order, read back in order
    store.ledger.append(first)
    assert store.ledger.entries() == [first, second]


def test_an_append_on_a_taken_seq_or_digest_fails_and_forks_nothing(store: Store) -> None:
    first, second = ledger_row(1), ledger_row(2)
    store.ledger.append(first)
    store.ledger.append(second)
    with pytest.raises(StoreError) as err:
        store.ledger.append(replace(second, digest="f" * 64))
    assert "ledger entry 2" in str(err.value)
    with pytest.raises(StoreError, match="ledger entry 3"):
        store.ledger.append(replace(ledger_row(3), digest=second.digest))
    assert store.ledger.entries() == [first, second]


def test_concurrent_appends_of_the_same_seq_one_wins(store: Store) -> None:
    store.ledger.append(ledger_row(1))
    start = threading.Barrier(6)
    won: list[str] = []
    refused: list[StoreError] = []

    def append(n: int) -> None:
        row = replace(ledger_row(2), digest=f"{n:064d}")
        start.wait()
        try:
            store.ledger.append(row)
            won.append(row.digest)
        except StoreError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(won) == 1 and len(refused) == 5
    assert [r.digest for r in store.ledger.entries()][1:] == won
