"""scripts/benchmark's ratio interval: the bootstrap that says whether a --against ratio is noise."""

from __future__ import annotations

import random

from scripts.benchmark.measure import ratio_interval


def readings(center: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(center, center * 0.2) for _ in range(n)]


def test_the_interval_holds_the_true_ratio_and_narrows_with_more_readings() -> None:
    few = ratio_interval(readings(3.3, 20, 1), readings(3.0, 20, 2))
    many = ratio_interval(readings(3.3, 400, 3), readings(3.0, 400, 4))
    assert few is not None and many is not None
    assert few[0] < 1.1 < few[1] and many[0] < 1.1 < many[1]
    assert many[1] - many[0] < few[1] - few[0]
    assert many[0] > 1.0  # 10 % apart over 400 readings a side: told from noise


def test_the_same_code_twice_reads_an_interval_around_one() -> None:
    interval = ratio_interval(readings(3.0, 200, 5), readings(3.0, 200, 6))
    assert interval is not None and interval[0] < 1.0 < interval[1]


def test_too_few_readings_give_no_interval() -> None:
    assert ratio_interval([1.0] * 7, [1.0] * 50) is None
    assert ratio_interval([1.0] * 8, [0.0] * 8) is None
