"""The store under contract, opened on the backend `store_url` is parametrised over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from computewatch.store import Store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as s:
        yield s
