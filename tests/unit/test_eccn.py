"""ECCN 3A090 classes derived from TPP and die area, with figures read off the vendors' datasheets
and the thresholds of 15 CFR 774 Supp. 1 (88 FR 73458); see agent/domain/data/accelerators.yaml."""

import pytest

from computewatch.domain import eccn
from computewatch.domain.catalog import Catalog


@pytest.mark.parametrize(
    ("tpp", "area", "expected"),
    [
        (4800, 10_000, eccn.A),  # a.1: TPP alone
        (1600, 1600 / 5.92, eccn.A),  # a.2: PD exactly 5.92
        (2400, 2400 / 1.6, eccn.B),  # b.1 lower corner
        (1600, 1600 / 3.2, eccn.B),  # b.2 lower corner
        (1599, 1.0, eccn.NOT_3A090),  # every paragraph needs TPP >= 1600
        (2000, 628.4, eccn.NOT_3A090),  # A10: PD 3.18 < 3.2
    ],
)
def test_thresholds_of_774(tpp: float, area: float, expected: str) -> None:
    assert eccn.classify(tpp, area) == expected


def test_l4_is_3a090_a(catalog: Catalog) -> None:
    # NVIDIA L4 datasheet: FP8 485 TFLOPS with sparsity -> 242.5 dense x 8 bits = TPP 1,940;
    # Ada whitepaper: AD104 294.5 mm2 -> PD 6.59 >= 5.92.
    l4 = catalog.chip("L4")
    assert l4 is not None and l4.tpp.value == 1940 and l4.die_area_mm2.value == 294.5
    assert l4.performance_density == pytest.approx(6.59, abs=0.01)
    assert l4.eccn_3a090 == eccn.A and catalog.is_3a090("L4")


@pytest.mark.parametrize(
    ("chip", "expected"),
    [
        ("H100", eccn.A),
        ("H100-NVL", eccn.A),
        ("A100", eccn.A),  # 624 INT8 TOPS x 8 = 4,992
        ("L40S", eccn.A),
        ("B200", eccn.A),  # die area unpublished; TPP 36,000 decides
        ("GB200", eccn.A),
        ("B300", eccn.A),
        ("GB300", eccn.A),
        ("MI300X", eccn.A),
        ("Trainium2", eccn.A),
        ("V100", eccn.NOT_3A090),  # 125 x 16 = 2,000, PD 2.45
        ("T4", eccn.NOT_3A090),
        ("A10", eccn.NOT_3A090),
        ("Inferentia", eccn.NOT_3A090),  # 1,024 < 1,600 whatever the die
        ("Radeon-Pro-V520", eccn.NOT_3A090),
    ],
)
def test_catalog_classes(catalog: Catalog, chip: str, expected: str) -> None:
    c = catalog.chip(chip)
    assert c is not None and c.eccn_3a090 == expected


@pytest.mark.parametrize("chip", ["Trainium", "Inferentia2", "Qualcomm-AI100"])
def test_unknown_die_area_is_classed_as_far_as_physics_allows(catalog: Catalog, chip: str) -> None:
    # TPP 3,040 (Neuron docs: 380 INT8 TOPS = 190 BF16 TFLOPS x 16): at any area up to two
    # reticle-sized dies PD >= 1.6, so at least 3A090.b; the paragraph itself stays open.
    c = catalog.chip(chip)
    assert c is not None and c.eccn_3a090 == eccn.A_OR_B
    assert catalog.is_3a090(chip) and c.controlled_3a090 is True


@pytest.mark.parametrize("chip", ["A10G", "H20", "H800", "A800", "RTX-PRO-6000", "Gaudi"])
def test_unsourced_figures_leave_the_class_unconfirmed_never_no(
    catalog: Catalog, chip: str
) -> None:
    c = catalog.chip(chip)
    assert c is not None and c.eccn_3a090 == eccn.UNCONFIRMED and c.controlled_3a090 is None
    assert not catalog.is_3a090(chip)


def test_bounded_classification_without_area() -> None:
    assert eccn.classify_bounded(None, 100.0, 1716) == eccn.UNCONFIRMED
    assert eccn.classify_bounded(2000, None, 1716) == eccn.UNCONFIRMED  # PD 1.17 at the bound
    assert eccn.classify_bounded(5000, None, 1716) == eccn.A
