"""The oracle subnet's one message: the recent prices, and a forecast to fill."""

from __future__ import annotations

from typing import ClassVar

from taonet.kernel import Synapse

__all__ = ["Forecast"]


class Forecast(Synapse):
    """The validator sends the prices of the blocks up to ``block`` (oldest first, fixed-point: ``SCALE`` is 1.0) and
    the ``horizon``; the miner fills ``prediction``: the price it expects at block ``block + horizon``."""

    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("prediction",)
    block: int
    horizon: int
    prices: list[int]
    prediction: int | None = None

    def deserialize(self) -> int | None:
        """The miner's forecast."""
        return self.prediction
