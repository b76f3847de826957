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
    "p6-b300.48xlarge": ("B300", 8),
    "p6e-gb200.36xlarge": ("GB200", 4),  # AWS: P6e-GB200 UltraServers carry GB200, not B200
    "g4ad.16xlarge": ("Radeon-Pro-V520", 4),
    "gr6.4xlarge": ("L4", 1),
    "gr6f.4xlarge": ("L4", 0.5),
    "g7e.48xlarge": ("RTX-PRO-6000", 8),
    "inf1.24xlarge": ("Inferentia", 16),
    "dl2q.24xlarge": ("Qualcomm-AI100", 8),
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
    "Standard_NV36adms_A10_v5": ("A10", 1),
    "Standard_NC24rs_v3": ("V100", 4),
    "Standard_ND40rs_v2": ("V100", 8),
    "Standard_NCC40ads_H100_v5": ("H100-NVL", 1),
    "Standard_ND128isr_GB300_v6": ("GB300", 4),
}

# Memory per accelerator belongs to the shape's variant (AWS / Azure size documentation).
SHAPE_MEMORY = [
    ("aws", "p4d.24xlarge", 40),  # A100 40 GB
    ("aws", "p4de.24xlarge", 80),
    ("aws", "p3.16xlarge", 16),  # V100 16 GB
    ("aws", "p3dn.24xlarge", 32),
    ("azure", "Standard_ND96asr_v4", 40),
    ("azure", "Standard_ND96amsr_A100_v4", 80),
    ("azure", "Standard_NC6s_v3", 16),
    ("azure", "Standard_ND40rs_v2", 32),
    ("aws", "p5.48xlarge", 80),  # chip default
]


@pytest.mark.parametrize(("provider", "shape", "gib"), SHAPE_MEMORY)
def test_memory_is_per_shape_variant(
    catalog: Catalog, provider: str, shape: str, gib: float
) -> None:
    fig = catalog.memory_gib(provider, shape)
    assert fig is not None and fig.value == gib


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
        for fig in (chip.peak_dense_flops, chip.memory_gib, chip.tpp, chip.die_area_mm2):
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
    ("chip", "flops"),
    [
        ("A10", 1.25e14),  # NVIDIA A10 datasheet: BF16 125 TFLOPS dense
        ("H100-NVL", 8.355e14),  # H100 datasheet: NVL BF16 1,671 TFLOPS with sparsity
        ("GB200", 2.5e15),  # GB200 NVL72: BF16 360 PF with sparsity / 72
    ],
)
def test_datasheet_figures_are_usable(catalog: Catalog, chip: str, flops: float) -> None:
    c = catalog.chip(chip)
    assert c is not None and c.peak_dense_flops.usable and c.peak_dense_flops.value == flops


@pytest.mark.parametrize(
    ("api_name", "chip"),
    [
        ("H100", "H100"),
        ("a100", "A100"),
        ("Trainium2", "Trainium2"),
        ("Radeon Pro V520", "Radeon-Pro-V520"),
        ("Z9000", None),
    ],
)
def test_api_names_map_to_canonical_chips(
    catalog: Catalog, api_name: str, chip: str | None
) -> None:
    assert catalog.canonical_chip(api_name) == chip


def test_3a090_classes(catalog: Catalog) -> None:
    assert catalog.is_3a090("H100") and catalog.is_3a090("A100") and catalog.is_3a090("L40S")
    assert not catalog.is_3a090("T4") and not catalog.is_3a090("A10G")
    assert catalog.chip("A10G").controlled_3a090 is None  # type: ignore[union-attr]


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
