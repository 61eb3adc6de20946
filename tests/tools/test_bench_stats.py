"""The benches' shared figures: nearest-rank percentiles, so p99 of 100 samples is the 99th, not the largest."""

import math

import pytest

from taonet.tools.bench._stats import median_p99, p99, percentile


def test_p99_of_a_hundred_samples_is_the_ninety_ninth_not_the_largest() -> None:
    samples = [float(x) for x in range(100, 0, -1)]
    assert p99(samples) == 99.0
    assert percentile(samples, 0.5) == 50.0
    assert percentile(samples, 1.0) == 100.0


def test_few_samples_give_their_largest_as_p99_and_none_give_nan() -> None:
    assert p99([3.0, 1.0, 2.0]) == 3.0
    assert math.isnan(p99([]))


def test_median_p99_scales_both() -> None:
    assert median_p99([0.001, 0.002, 0.003], 1000) == pytest.approx((2.0, 3.0))


def test_p50_is_the_median_and_p99_the_nearest_rank_in_ms() -> None:
    """The 99th of 100, the 198th of 200 (moved here from the wire bench's tests when the benches shared it)."""
    hundred = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert median_p99(hundred, 1000) == pytest.approx((50.5, 99.0))
    assert median_p99([0.001] * 197 + [0.9, 0.4, 0.5], 1000)[1] == pytest.approx(400.0)
    assert median_p99([0.002], 1000) == pytest.approx((2.0, 2.0))
