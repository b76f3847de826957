"""Fixtures: the scenario tenant behind a fake ARM over HTTPS, and providers wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from computewatch.collectors.azure.provider import AzureProvider
from computewatch.collectors.base import ApiCallCounter, CollectContext
from computewatch.config.azure import AzureSettings
from computewatch.demo.emulated_azure import EmulatedAzure
from computewatch.domain.catalog import Catalog
from tests.helpers.azure import NOW, TENANT, WINDOW, FakeCredential, MakeProvider


@pytest.fixture
def arm() -> Iterator[EmulatedAzure]:
    """A fresh emulator per test (faults and the request log start empty), small pages."""
    with EmulatedAzure(TENANT, page_size=2) as emulator:
        yield emulator


@pytest.fixture
def ctx(catalog: Catalog) -> CollectContext:
    """The audit context of the scenario (September 2026, read on 5 October)."""
    return CollectContext(window=WINDOW, now=NOW, catalog=catalog)


@pytest.fixture
def make_provider(arm: EmulatedAzure) -> MakeProvider:
    """An AzureProvider on the emulator's custom cloud with a test credential; `**section`
    overrides the config section."""

    def make(**section: Any) -> tuple[AzureProvider, ApiCallCounter, FakeCredential]:
        settings = AzureSettings.model_validate(
            {"cloud": arm.cloud_config(), "max_retry_after": 5, **section}
        )
        counter = ApiCallCounter()
        credential = FakeCredential(arm.fake.access_token)
        return AzureProvider(settings, counter, credential=credential), counter, credential

    return make
