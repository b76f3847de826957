"""Know-your-customer from billing exports: the CSP export's customer and reseller names against
the registry (on the committed Azure FocusCost fixture)."""

from __future__ import annotations

from computewatch.collectors.base import ApiCallCounter, CollectContext
from computewatch.collectors.exports.provider import ExportsProvider
from computewatch.config.customers import AccountRef, Customer, Registry
from computewatch.config.exports import ExportSettings, ExportSource
from computewatch.domain import FindingStatus, Window
from computewatch.domain.catalog import Catalog
from computewatch.domain.window import utc
from computewatch.engine.export_kyc import export_claim_findings
from tests.helpers import export_fixtures as fx

OCTOBER = Window.month("2026-10")


def registry() -> Registry:
    northwind = Customer(id="northwind", legal_name="Northwind Cloud Resale GmbH", country="DE")
    contoso = Customer(
        id="contoso",
        legal_name="CONTOSO Research Ltd",
        country="GB",
        intermediary="northwind",
        accounts=[AccountRef(provider="azure", id=fx.SUB_GPU)],
    )
    # The registry says the AI subscription is another customer's, held directly.
    other = Customer(
        id="other",
        legal_name="Other Corp",
        country="US",
        accounts=[AccountRef(provider="azure", id=fx.SUB_AI)],
    )
    return Registry([northwind, contoso, other])


def test_export_claims_against_the_registry(catalog: Catalog) -> None:
    source = ExportSource(
        name="focus", format="focus", cloud="azure", location=str(fx.FIXTURES / "focus-azure")
    )
    provider = ExportsProvider(ExportSettings(sources=[source]), ApiCallCounter())
    provider.discover(CollectContext(OCTOBER, utc(2026, 11, 5), catalog), ["exports.billing"])
    (delivery,) = provider.deliveries()
    assert delivery.delivery_id == "run-0001" and delivery.provider == "azure"
    findings = {f.scope_key: f for f in export_claim_findings([delivery], registry(), OCTOBER)}
    gpu, ai, new = (findings[f"azure:{s}"] for s in (fx.SUB_GPU, fx.SUB_AI, fx.SUB_NEW))
    # Same names up to case and punctuation: agreement.
    assert gpu.status is FindingStatus.OK and gpu.value == 0
    assert ai.status is FindingStatus.BREACH and ai.value == 2
    assert "'Contoso Research Ltd.' != registry 'Other Corp'" in ai.detail
    assert "reseller 'Northwind Cloud Resale GmbH' != registry 'no intermediary'" in ai.detail
    assert new.status is FindingStatus.BREACH and "registry has no entry" in new.detail
    assert "Fabrikam AI Lab Co." in new.detail
