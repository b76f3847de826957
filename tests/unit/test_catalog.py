import pytest

from computewatch.domain.catalog import Catalog
from computewatch.domain.errors import CatalogError

# REFERENCE §3: shape -> (chip, count)
AWS_SHAPES = {
    "p3.2xlarge": ("V100", 1),
    "p3.16xlarge": ("V100", 8),
    "p4d.24xlarge": ("A100", 8),
    "p4de.24xlarge": ("A100", 8),
    "p5.4xlarge": ("H100", 1),
    "p5.48xlarge": ("H100", 8),
    "p5en.48xlarge": ("H200", 8),
    "p6-b200.48xlarge": ("B200", 8),
    "g4dn.12xlarge": ("T4", 4),
    "g5.48xlarge": ("A10G", 8),
    "g6e.48xlarge": ("L40S", 8),
    "g6f.large": ("L4", 0.125),
    "trn1.32xlarge": ("Trainium", 16),
    "trn2.48xlarge": ("Trainium2", 16),
    "inf2.48xlarge": ("Inferentia2", 12),
}
AZURE_SHAPES = {
    "Standard_ND96isr_H100_v5": ("H100", 8),
    "Standard_NC24ads_A100_v4": ("A100", 1),
    "Standard_NC96ads_A100_v4": ("A100", 4),
    "Standard_ND96isr_MI300X_v5": ("MI300X", 8),
    "Standard_ND128isr_NDR_GB200_v6": ("GB200", 4),
    "Standard_NV36ads_A10_v5": ("A10", 1),
}


@pytest.mark.parametrize(("shape", "expected"), AWS_SHAPES.items())
def test_aws_shapes(catalog: Catalog, shape: str, expected: tuple[str, float]) -> None:
    s = catalog.shape("aws", shape)
    assert s is not None and (s.chip, s.count) == expected


@pytest.mark.parametrize(("shape", "expected"), AZURE_SHAPES.items())
def test_azure_shapes(catalog: Catalog, shape: str, expected: tuple[str, float]) -> None:
    s = catalog.shape("azure", shape)
    assert s is not None and (s.chip, s.count) == expected


def test_every_figure_has_source_and_status(catalog: Catalog) -> None:
    for chip in catalog.chips():
        for fig in (chip.peak_dense_flops, chip.memory_gib, chip.tpp):
            assert fig.source in catalog.sources
            assert fig.status in ("confirmed", "approximate", "unconfirmed")
            if fig.value is None:
                assert fig.status == "unconfirmed"


def test_unconfirmed_figures_are_not_usable(catalog: Catalog) -> None:
    a10g = catalog.chip("A10G")
    h100 = catalog.chip("H100")
    assert a10g is not None and h100 is not None
    assert not a10g.peak_dense_flops.usable
    assert h100.peak_dense_flops.usable and h100.peak_dense_flops.value == 9.89e14


@pytest.mark.parametrize(
    ("api_name", "chip"),
    [("H100", "H100"), ("a100", "A100"), ("Trainium2", "Trainium2"), ("Radeon Pro V520", None)],
)
def test_api_names_map_to_canonical_chips(
    catalog: Catalog, api_name: str, chip: str | None
) -> None:
    assert catalog.canonical_chip(api_name) == chip


def test_3a090_classes(catalog: Catalog) -> None:
    assert catalog.is_3a090("H100") and catalog.is_3a090("A100") and catalog.is_3a090("L40S")
    assert not catalog.is_3a090("T4") and not catalog.is_3a090("A10G")
    assert not catalog.is_3a090("Trainium")  # unconfirmed is not 'yes'


def test_inconsistent_catalog_is_rejected() -> None:
    data = {
        "sources": {"s": "x"},
        "chips": {},
        "instance_types": {
            "aws": {"source": "s", "types": {"p9.huge": {"chip": "Z9", "count": 1}}}
        },
    }
    with pytest.raises(CatalogError, match="unknown chip Z9"):
        Catalog(data)
