"""Figures every bench reports the same way: nearest-rank percentiles and pinning a measurement to one core."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 < q <= 1) of ``values`` (NaN when there are none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def p99(values: Sequence[float]) -> float:
    """The nearest-rank 99th percentile (NaN when empty)."""
    return percentile(values, 0.99)


def median_p99(values: Sequence[float], scale: float = 1.0) -> tuple[float, float]:
    """(median, p99) of ``values``, each multiplied by ``scale`` (1000 turns seconds into ms)."""
    return statistics.median(values) * scale, p99(values) * scale


def pin_one_core() -> str:
    """Pin this process to the last CPU it may use, so a one-core figure is one core's; says what it did."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return f"pinned to cpu {cpus[-1]}"
    return "not pinned"
