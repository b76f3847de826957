"""The compute-capacity band must contain the training compute of documented public training runs
given their published accelerator-hours (the band is a screen; these runs are its calibration).

Published FLOP is the paper's figure where one is stated, else 6 x parameters x tokens from the
published parameter and token counts (the standard dense-transformer estimate the papers use).
"""

import pytest

from computewatch.config.settings import Utilization
from computewatch.domain.catalog import Catalog
from computewatch.engine.estimates import training_flop

# (name, chip, published accelerator-hours, published training FLOP, source)
RUNS = [
    (
        "LLaMA 7B",
        "A100",
        82_432,
        6 * 6.7e9 * 1.0e12,
        "Touvron et al. 2023, LLaMA, Table 15 (GPU-hours); 6.7B params, 1.0T tokens",
    ),
    (
        "LLaMA 65B",
        "A100",
        1_022_362,
        6 * 65.2e9 * 1.4e12,
        "Touvron et al. 2023, LLaMA, Table 15; 65.2B params, 1.4T tokens",
    ),
    (
        "Llama 2 7B",
        "A100",
        184_320,
        6 * 7e9 * 2.0e12,
        "Meta Llama 2 model card (A100-80GB GPU-hours); 2.0T tokens",
    ),
    (
        "Llama 2 70B",
        "A100",
        1_720_320,
        6 * 70e9 * 2.0e12,
        "Meta Llama 2 model card; 2.0T tokens",
    ),
    (
        "Llama 3.1 8B",
        "H100",
        1_460_000,
        6 * 8.03e9 * 15.6e12,
        "Meta Llama 3.1 model card (H100-80GB GPU-hours); 15.6T tokens (Llama 3 paper)",
    ),
    (
        "Llama 3.1 70B",
        "H100",
        7_000_000,
        6 * 70.6e9 * 15.6e12,
        "Meta Llama 3.1 model card; 15.6T tokens",
    ),
    (
        "Llama 3.1 405B",
        "H100",
        30_840_000,
        3.8e25,
        "Meta Llama 3.1 model card (hours); Llama 3 paper, 3.8e25 FLOP stated",
    ),
    (
        # H800 = H100 compute with reduced NVLink; trained in FP8 (mixed precision).
        "DeepSeek-V3",
        "H100",
        2_788_000,
        6 * 37e9 * 14.8e12,
        "DeepSeek-V3 technical report: 2.788M H800 GPU-hours, 37B activated params, 14.8T tokens",
    ),
]


@pytest.mark.parametrize(("name", "chip", "hours", "flop", "source"), RUNS)
def test_band_contains_published_runs(
    catalog: Catalog, name: str, chip: str, hours: float, flop: float, source: str
) -> None:
    u = Utilization()  # the shipped defaults
    band = training_flop({chip: hours}, catalog, u.low, u.central, u.high)
    assert band.low <= flop <= band.high, (
        f"{name}: {flop:.3g} outside {band.low:.3g}-{band.high:.3g}"
    )


def test_the_old_band_missed_small_models(catalog: Catalog) -> None:
    # At 25 % of BF16 peak the low end sits above Llama 3.1 8B's published compute: the reason the
    # default low bound is 10 %.
    _, chip, hours, flop, _ = RUNS[4]
    assert training_flop({chip: hours}, catalog, 0.25, 0.40, 0.55).low > flop


def test_high_end_uses_fp8_where_the_chip_has_it(catalog: Catalog) -> None:
    h100 = training_flop({"H100": 1.0}, catalog, 0.1, 0.4, 0.6)
    a100 = training_flop({"A100": 1.0}, catalog, 0.1, 0.4, 0.6)
    assert h100.high == pytest.approx(3600 * 1.979e15 * 0.6)  # FP8 dense
    assert a100.high == pytest.approx(3600 * 3.12e14 * 0.6)  # no FP8: BF16
