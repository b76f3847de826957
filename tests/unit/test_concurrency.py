"""The true simultaneous peak from stored intervals, beside the per-region figure."""

from datetime import timedelta

from computewatch.domain import Observation, Window, utc
from computewatch.domain.concurrency import simultaneous_peaks

OCT = Window.month("2026-10")


def obs(
    region: str, rid: str, start_h: float, end_h: float, count: float = 1, chip: str = "H100"
) -> Observation:
    t0 = OCT.start
    return Observation(
        "aws",
        "111",
        region,
        "aws.ec2",
        rid,
        t0 + timedelta(hours=end_h),
        "p5",
        chip,
        count,
        "stopped",
        t0 + timedelta(hours=start_h),
        t0 + timedelta(hours=end_h),
    )


def test_one_gpu_stopped_a_second_before_another_started_elsewhere_is_one() -> None:
    a = obs("us-east-1", "i-a", 0, 10)
    b = obs("eu-west-1", "i-b", 10, 20)  # starts the instant a ends
    (peak,) = simultaneous_peaks([a, b], OCT).values()
    assert peak.total == 1 and peak.by_chip == {"H100": 1}
    assert peak.by_region == {"eu-west-1": {"H100": 1}, "us-east-1": {"H100": 1}}
    # the daily per-region figure summed over regions would say 2 for that day


def test_overlaps_count_and_repeated_observations_of_one_resource_do_not() -> None:
    items = [
        obs("us-east-1", "i-a", 0, 10, 8),
        obs("us-east-1", "i-a", 0, 12, 8),  # a later observation of the same instance
        obs("us-west-2", "i-b", 11, 30, 8),
        obs("us-west-2", "i-c", 5, 6, 4, chip="A100"),
    ]
    (peak,) = simultaneous_peaks(items, OCT).values()
    assert peak.by_chip == {"A100": 4, "H100": 16}
    assert peak.total == 16  # 8 + 8 between hour 11 and 12; A100 ran at hour 5 with 8 H100
    assert peak.by_region["us-west-2"] == {"A100": 4, "H100": 8}


def test_clipped_to_the_window() -> None:
    before = obs("us-east-1", "i-a", -48, -1)
    assert simultaneous_peaks([before], OCT) == {}
    assert utc(2026, 10, 1) == OCT.start
