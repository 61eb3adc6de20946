"""The oracle's price series: it advances one step per block, each step derived from that block's hash, so nobody
knows it before the block exists and every replay of the same log gives the same series.

Integer arithmetic only (the same series on every machine). A price is a fixed-point integer (``SCALE`` = 1.0).
Block b's return, in parts per billion, is its regime's drift plus noise: the noise is the sum of twelve 16-bit
words of the block hash, centred (an Irwin-Hall approximation of a normal draw), times ``SIGMA_PPB``. The regime
persists: a block switches it with chance 1/``SWITCH`` (another word of its hash), to a drift another byte picks;
away from the start price by more than a factor 2 the new drift points back towards it. Block 0 has the start
price and the first regime.
"""

from __future__ import annotations

import attrs

__all__ = ["DRIFTS_PPB", "PPB", "SCALE", "SIGMA_PPB", "START_PRICE", "SWITCH", "SeriesPoint", "advance", "genesis"]

SCALE = 10**8
"""Fixed-point scale of a price: ``price / SCALE`` is the price."""
PPB = 10**9
START_PRICE = 100 * SCALE
SIGMA_PPB = 2_000_000
"""Noise of one block's return: 0.2%."""
DRIFTS_PPB = (-4_000_000, -2_000_000, 2_000_000, 4_000_000)
"""The regimes' drift per block (-0.4%, -0.2%, +0.2%, +0.4%)."""
SWITCH = 48
"""A block switches the regime with chance 1/SWITCH."""


@attrs.frozen
class SeriesPoint:
    """The series at one block: its price and the regime in force."""

    block: int
    price: int
    regime: int


def genesis() -> SeriesPoint:
    """The series at block 0."""
    return SeriesPoint(block=0, price=START_PRICE, regime=2)


def _word(h: bytes, i: int) -> int:
    return int.from_bytes(h[2 * i: 2 * i + 2], "big")


def advance(point: SeriesPoint, block_hash: bytes) -> SeriesPoint:
    """The series at ``point.block + 1``, whose block has hash ``block_hash`` (32 bytes)."""
    if len(block_hash) != 32:
        raise ValueError("a block hash is 32 bytes")
    regime = point.regime
    if _word(block_hash, 12) * SWITCH < 65536:  # chance 1/SWITCH
        pick = block_hash[26] % len(DRIFTS_PPB)
        if point.price > 2 * START_PRICE:
            pick = pick % 2  # a falling regime
        elif 2 * point.price < START_PRICE:
            pick = 2 + pick % 2  # a rising one
        regime = pick
    noise = sum(_word(block_hash, i) for i in range(12)) - 6 * 65536  # ~ N(0, 65536^2 / 12 * 12)
    ret = DRIFTS_PPB[regime] + noise * SIGMA_PPB // 65536
    price = max(1, point.price * (PPB + ret) // PPB)
    return SeriesPoint(block=point.block + 1, price=price, regime=regime)
